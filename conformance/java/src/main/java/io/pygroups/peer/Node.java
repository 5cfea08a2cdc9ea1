package io.pygroups.peer;

import org.jgroups.*;
import org.jgroups.util.NameCache;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.*;

/**
 * A real JChannel driven by JSON commands on stdin, reporting JSON events on stdout.
 * <pre>
 * events:   {"event": "started", "name", "address", "uuid", "physical", "cluster"}
 *           {"event": "view", "view_id", "number", "members": [names], "coord", "merge"}
 *           {"event": "msg", "src", "dest", "type", "flags", "length", "payload_hex" | "payload_sha256" | "object"}
 *           {"event": "sent", "cmd", "count", "id"}   after a send command has been handed to the channel
 *           {"event": "disconnected" | "exit" | "error", ...}
 * commands: {"cmd": "send", "dest": name|null, "text": str}               ObjectMessage(String), like the Chat demo
 *           {"cmd": "send_bytes", "dest": name|null, "size": n, "count": k, "oob": bool}
 *           {"cmd": "disconnect"} | {"cmd": "exit"}
 * </pre>
 * Commands run one at a time on the main thread; an optional "id" in a command is echoed in its "sent" event.
 * stdin EOF closes the channel and exits, so a parent that dies takes the node with it.
 */
public final class Node implements Receiver {
    private final PrintStream out;
    private final int hexLimit;
    private JChannel ch;

    Node(PrintStream out, int hexLimit) {
        this.out=out;
        this.hexLimit=hexLimit;
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        String config=null, name=null, cluster="chat";
        int hexLimit=2048;
        for(int i=0; i < args.length; i++) {
            switch(args[i]) {
                case "--config" -> config=args[++i];
                case "--name" -> name=args[++i];
                case "--cluster" -> cluster=args[++i];
                case "--hex-limit" -> hexLimit=Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if(config == null || name == null)
            throw new IllegalArgumentException("node needs --config FILE and --name NAME");
        return new Node(out, hexLimit).start(config, name, cluster);
    }

    synchronized void emit(Map<String,Object> event) {
        out.println(Json.write(event));
        out.flush();
    }

    int start(String config, String name, String cluster) throws Exception {
        try {
            ch=new JChannel(config).name(name).setReceiver(this);
            ch.connect(cluster);
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "stage", "connect", "error", t.getClass().getName() + ": " + t.getMessage()));
            return 1;
        }
        Address local=ch.getAddress();
        Object phys=ch.down(new Event(Event.GET_PHYSICAL_ADDRESS, local));
        emit(Json.obj("event", "started", "name", name, "address", String.valueOf(local),
                      "uuid", local instanceof org.jgroups.util.UUID u? u.toStringLong() : String.valueOf(local),
                      "physical", String.valueOf(phys), "cluster", cluster, "jgroups", Version.printVersion()));

        BufferedReader in=new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while((line=in.readLine()) != null) {
            if(line.isBlank())
                continue;
            if(!command(line))
                return 0;
        }
        ch.close(); // stdin closed: parent went away
        emit(Json.obj("event", "exit", "reason", "stdin closed"));
        return 0;
    }

    /** Returns false when the node should exit. */
    @SuppressWarnings("unchecked")
    boolean command(String line) {
        Map<String,Object> cmd;
        try {
            cmd=(Map<String,Object>)Json.parse(line);
        }
        catch(Exception e) {
            emit(Json.obj("event", "error", "error", "bad JSON: " + e.getMessage(), "line", line));
            return true;
        }
        String what=String.valueOf(cmd.get("cmd"));
        Object id=cmd.get("id");
        try {
            switch(what) {
                case "send" -> {
                    Address dest=resolve((String)cmd.get("dest"));
                    ch.send(new ObjectMessage(dest, (String)cmd.get("text")));
                    emit(Json.obj("event", "sent", "cmd", what, "count", 1, "id", id));
                }
                case "send_bytes" -> {
                    Address dest=resolve((String)cmd.get("dest"));
                    int size=((Number)cmd.getOrDefault("size", 0L)).intValue();
                    int count=((Number)cmd.getOrDefault("count", 1L)).intValue();
                    boolean oob=Boolean.TRUE.equals(cmd.get("oob"));
                    for(int i=0; i < count; i++) {
                        Message m=new BytesMessage(dest, Fixtures.pattern(size, i));
                        if(oob)
                            m.setFlag(Message.Flag.OOB);
                        ch.send(m);
                    }
                    emit(Json.obj("event", "sent", "cmd", what, "count", count, "id", id));
                }
                case "disconnect" -> {
                    ch.disconnect();
                    emit(Json.obj("event", "disconnected", "id", id));
                }
                case "exit" -> {
                    ch.close();
                    emit(Json.obj("event", "exit", "id", id));
                    return false;
                }
                default -> emit(Json.obj("event", "error", "error", "unknown cmd " + what, "id", id));
            }
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "cmd", what, "id", id, "error", t.getClass().getName() + ": " + t.getMessage()));
        }
        return true;
    }

    /** Logical name -> member of the current view; null stays null (multicast). */
    Address resolve(String name) {
        if(name == null)
            return null;
        View v=ch.getView();
        if(v != null)
            for(Address a: v)
                if(name.equals(NameCache.get(a)) || name.equals(a.toString()))
                    return a;
        throw new IllegalArgumentException("no member named " + name + " in view " + v);
    }

    static String nameOf(Address a) {
        if(a == null)
            return null;
        String n=NameCache.get(a);
        return n != null? n : a.toString();
    }

    @Override
    public void viewAccepted(View view) {
        List<Object> mbrs=new ArrayList<>();
        for(Address a: view)
            mbrs.add(nameOf(a));
        emit(Json.obj("event", "view", "view_id", view.getViewId().toString(), "number", view.getViewId().getId(),
                      "members", mbrs, "coord", nameOf(view.getCoord()), "merge", view instanceof MergeView));
    }

    @Override
    public void receive(Message msg) {
        Map<String,Object> ev=new LinkedHashMap<>();
        ev.put("event", "msg");
        ev.put("src", nameOf(msg.getSrc()));
        ev.put("dest", nameOf(msg.getDest()));
        ev.put("type", msg.getClass().getSimpleName());
        ev.put("flags", Canon.flags(msg.getFlags(false)));
        ev.put("length", msg.getLength());
        try {
            if(msg instanceof ObjectMessage om) {
                Object o=om.getObject();
                ev.put("object", o == null || o instanceof String? o : String.valueOf(o));
            }
            else if(msg.hasArray() && msg.getArray() != null) {
                byte[] a=msg.getArray();
                if(msg.getLength() <= hexLimit)
                    ev.put("payload_hex", Canon.hex(a, msg.getOffset(), msg.getLength()));
                else {
                    MessageDigest md=MessageDigest.getInstance("SHA-256");
                    md.update(a, msg.getOffset(), msg.getLength());
                    ev.put("payload_sha256", Canon.hex(md.digest()));
                }
            }
        }
        catch(Exception e) {
            ev.put("payload_error", e.toString());
        }
        emit(ev);
    }
}
