package io.pygroups.peer;

import org.jgroups.*;
import org.jgroups.protocols.DISCARD;
import org.jgroups.protocols.TP;
import org.jgroups.protocols.kubernetes.KUBE_PING;
import org.jgroups.protocols.kubernetes.Pod;
import org.jgroups.util.Responses;
import org.jgroups.stack.ProtocolStack;
import org.jgroups.util.NameCache;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.*;
import java.util.concurrent.*;

/**
 * A real JChannel driven by JSON commands on stdin, reporting JSON events on stdout.
 * <pre>
 * options:  --config FILE --name NAME [--cluster C] [--hex-limit BYTES] [-Dkey=value ...] [--discard RATE]
 *           (-D sets a system property before the XML is read, i.e. a ${key} value; --discard inserts DISCARD
 *           above the transport, with the up discard rate RATE set by the "discard" command)
 * events:   {"event": "started", "name", "address", "uuid", "physical", "cluster", "lang", "connect_ms"}
 *           {"event": "view", "view_id", "number", "creator", "creator_uuid", "members": [names],
 *            "member_uuids", "coord", "merge"}   (also "current_view" as the answer to {"cmd": "view"})
 *           {"event": "msg", "src", "dest", "type", "flags", "length", "payload_hex" | "payload_sha256" | "object"}
 *           {"event": "sent", "cmd", "count", "id"}   after a send/send_bytes command has been handed to the channel
 *           {"event": "sent_done", "id", ...}          after a send_seq/send_big command (run on a sender thread)
 *           {"event": "big", "src", "dest", "length", "sha256"}   a received send_big message
 *           {"event": "stats", "id", "streams": {"SRC/KIND": {count, distinct, dups, ooo, min, max, missing, ...}},
 *            "discarded": messages dropped by DISCARD (-1 without --discard)}
 *           {"event": "rtt_done", "id", "p50_us", "p99_us", ...}
 *           {"event": "disconnected" | "left" | "exit" | "error", ...}
 *           {"event": "kube_pods", "id", "text", "pods": [{"name", "ip", "group", "ready"}]}
 *           {"event": "kube_targets", "id", "targets": ["ip:port", ...], "own": "ip:port", "settings": {...}}
 *           (event "kube_targets_failed" with "error" when findMembers threw, targets = what it sent before)
 * commands: {"cmd": "send", "dest": name|null, "text": str}               ObjectMessage(String), like the Chat demo
 *           {"cmd": "send_bytes", "dest": name|null, "size": n, "count": k, "oob": bool}
 *           {"cmd": "send_seq", "dest": name|null, "count": k, "size": n, "oob": bool}  tracked messages
 *           {"cmd": "send_big", "dest": name|null, "size": n}
 *           {"cmd": "rtt", "dest": name, "count": k, "size": n, "warmup": w}
 *           {"cmd": "discard", ["rate": r]}   start dropping incoming messages (needs --discard)
 *           {"cmd": "kube_pods"}   KUBE_PING asks the Kubernetes API now (its readAll(), what fetchFromKube() prints)
 *           {"cmd": "kube_targets", ["port_range": n], ["useNotReadyAddresses": b],
 *            ["split_clusters_during_rolling_update": b]}   runs KUBE_PING.findMembers once (with these attribute
 *            values, restored afterwards) and reports the destinations of its discovery requests in order; the
 *            requests are swallowed by DiscoveryCapture above the transport, nothing is sent
 *           {"cmd": "stats"} | {"cmd": "reset"} (clears received streams and send seqnos) | {"cmd": "view"} | {"cmd": "disconnect"} | {"cmd": "exit"}
 * payloads: tracked = "PGT1", kind (0 mcast, 1 mcast_oob, 2 ucast, 3 ucast_oob), seqno (8 bytes BE), padding;
 *           big = "PGB1" + bytes; request = "PGQ1" + seqno (8 bytes) + padding, answered by "PGR1" + the same.
 * </pre>
 * Commands are read on the main thread; sends of send_seq/send_big/rtt run in order on one sender thread so that
 * stats can be asked for meanwhile. An optional "id" in a command is echoed in its answer event.
 * stdin EOF closes the channel and exits, so a parent that dies takes the node with it.
 */
public final class Node implements Receiver {
    volatile byte[] state=new byte[0]; // the application state (set_state / setState)
    /** Payload magics shared with conformance/pypeer.py (4 ASCII bytes, then big-endian fields). */
    static final byte[] TRACKED={'P','G','T','1'}, BIG={'P','G','B','1'}, REQ={'P','G','Q','1'}, RSP={'P','G','R','1'};
    static final String[] KINDS={"mcast", "mcast_oob", "ucast", "ucast_oob"};
    static final int TRACKED_HEADER=13; // magic, kind (1 byte), seqno (8 bytes)

    private final PrintStream out;
    private final int hexLimit;
    private final double discardRate;
    private JChannel ch;
    private DISCARD discard;
    private KUBE_PING kube;
    private DiscoveryCapture capture;
    private final Map<String,Stream> streams=new TreeMap<>();
    private final Map<String,Long> sendSeqnos=new HashMap<>();
    private int bigCount;
    private final BlockingQueue<Long> responses=new LinkedBlockingQueue<>();
    private final ExecutorService sender=Executors.newSingleThreadExecutor(r -> {
        Thread t=new Thread(r, "peer-sender");
        t.setDaemon(true);
        return t;
    });

    Node(PrintStream out, int hexLimit, double discardRate) {
        this.out=out;
        this.hexLimit=hexLimit;
        this.discardRate=discardRate;
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        String config=null, name=null, cluster="chat";
        int hexLimit=2048;
        double discard=0;
        for(int i=0; i < args.length; i++) {
            String a=args[i];
            if(a.startsWith("-D") && a.contains("=")) { // -Dkey=value: a ${key} in the XML
                int eq=a.indexOf('=');
                System.setProperty(a.substring(2, eq), a.substring(eq + 1));
                continue;
            }
            switch(a) {
                case "--config" -> config=args[++i];
                case "--name" -> name=args[++i];
                case "--cluster" -> cluster=args[++i];
                case "--hex-limit" -> hexLimit=Integer.parseInt(args[++i]);
                case "--discard" -> discard=Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if(config == null || name == null)
            throw new IllegalArgumentException("node needs --config FILE and --name NAME");
        return new Node(out, hexLimit, discard).start(config, name, cluster);
    }

    synchronized void emit(Map<String,Object> event) {
        out.println(Json.write(event));
        out.flush();
    }

    int start(String config, String name, String cluster) throws Exception {
        long connectNs;
        try {
            ch=new JChannel(config).name(name).setReceiver(this);
            if(discardRate > 0) {
                // above the transport, the XML stays unmodified; the rate applies with the "discard" command, once
                // the cluster has formed (the stock stacks have no MERGE3: a lost discovery message would split it)
                discard=new DISCARD();
                ch.getProtocolStack().insertProtocol(discard, ProtocolStack.Position.ABOVE, TP.class);
            }
            kube=ch.getProtocolStack().findProtocol(KUBE_PING.class);
            if(kube != null) { // lets kube_targets read KUBE_PING's target list (passes everything else through)
                capture=new DiscoveryCapture(kube.getId());
                ch.getProtocolStack().insertProtocol(capture, ProtocolStack.Position.ABOVE, TP.class);
            }
            long t0=System.nanoTime();
            ch.connect(cluster);
            connectNs=System.nanoTime() - t0;
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "stage", "connect", "error", t.getClass().getName() + ": " + t.getMessage()));
            return 1;
        }
        Address local=ch.getAddress();
        Object phys=ch.down(new Event(Event.GET_PHYSICAL_ADDRESS, local));
        emit(Json.obj("event", "started", "name", name, "address", String.valueOf(local),
                      "uuid", uuidOf(local), "physical", String.valueOf(phys), "cluster", cluster,
                      "jgroups", Version.printVersion(), "lang", "java", "connect_ms", connectNs / 1e6,
                      "discard", discardRate));

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
                    int size=num(cmd, "size", 0);
                    int count=num(cmd, "count", 1);
                    boolean oob=Boolean.TRUE.equals(cmd.get("oob"));
                    for(int i=0; i < count; i++) {
                        Message m=new BytesMessage(dest, Fixtures.pattern(size, i));
                        if(oob)
                            m.setFlag(Message.Flag.OOB);
                        ch.send(m);
                    }
                    emit(Json.obj("event", "sent", "cmd", what, "count", count, "id", id));
                }
                case "send_seq" -> {
                    String destName=(String)cmd.get("dest");
                    Address dest=resolve(destName);
                    int count=num(cmd, "count", 1), size=Math.max(TRACKED_HEADER, num(cmd, "size", TRACKED_HEADER));
                    boolean oob=Boolean.TRUE.equals(cmd.get("oob"));
                    int kind=(dest == null? 0 : 2) + (oob? 1 : 0);
                    sender.execute(() -> sendSeq(id, dest, destName, kind, count, size));
                }
                case "send_big" -> {
                    Address dest=resolve((String)cmd.get("dest"));
                    int size=num(cmd, "size", 5_000_000);
                    sender.execute(() -> sendBig(id, dest, size));
                }
                case "partition" -> { // DISCARD drops everything from these members (Java's addIgnoreMember)
                    if(discard == null)
                        throw new IllegalStateException("the node was started without --discard");
                    List<Object> names=(List<Object>)cmd.get("ignore");
                    for(Object n: names)
                        discard.addIgnoreMember(resolve((String)n));
                    emit(Json.obj("event", "partitioned", "id", id, "ignored", names));
                }
                case "heal" -> {
                    if(discard == null)
                        throw new IllegalStateException("the node was started without --discard");
                    discard.resetIgnoredMembers();
                    emit(Json.obj("event", "healed", "id", id));
                }
                case "set_state" -> { // the application state getState() hands out: `size` pattern bytes
                    state=Fixtures.pattern(num(cmd, "size", 0), num(cmd, "seed", 0));
                    emit(Json.obj("event", "state_stored", "id", id, "size", state.length, "sha256", sha256(state)));
                }
                case "get_state" -> { // JChannel.getState(target, timeout): blocks until setState() ran
                    Address target=resolve((String)cmd.get("target"));
                    long timeout=num(cmd, "timeout", 30_000);
                    sender.execute(() -> {
                        try {
                            ch.getState(target, timeout);
                            emit(Json.obj("event", "state_done", "id", id, "ok", true));
                        }
                        catch(Exception e) {
                            emit(Json.obj("event", "state_done", "id", id, "ok", false, "error", String.valueOf(e)));
                        }
                    });
                }
                case "rtt" -> {
                    Address dest=resolve((String)cmd.get("dest"));
                    int count=num(cmd, "count", 1000), size=Math.max(12, num(cmd, "size", 100)), warmup=num(cmd, "warmup", 100);
                    sender.execute(() -> rtt(id, dest, count, size, warmup));
                }
                case "discard" -> {
                    if(discard == null)
                        throw new IllegalStateException("the node was started without --discard");
                    double rate=cmd.get("rate") instanceof Number n? n.doubleValue() : discardRate;
                    discard.setUpDiscardRate(rate);
                    emit(Json.obj("event", "discarding", "id", id, "rate", rate));
                }
                case "stats" -> emit(Json.obj("event", "stats", "id", id, "streams", snapshot(), "discarded", discarded()));
                case "reset" -> {
                    // forget what was received, and restart every send stream at seqno 0 (after the sender
                    // thread's queued work)
                    synchronized(streams) {
                        streams.clear();
                    }
                    sender.submit(sendSeqnos::clear).get();
                    emit(Json.obj("event", "reset", "id", id));
                }
                case "view" -> emit(viewEvent(ch.getView(), "current_view", id));
                case "kube_pods" -> {
                    List<Pod> pods=kubePods();
                    List<Object> list=new ArrayList<>();
                    for(Pod p: pods)
                        list.add(Json.obj("name", p.getName(), "ip", p.getIp(), "group", p.getPodGroup(), "ready", p.isReady()));
                    emit(Json.obj("event", "kube_pods", "id", id, "text", pods.toString(), "pods", list));
                }
                case "kube_targets" -> emit(kubeTargets(cmd, id));
                case "disconnect" -> {
                    ch.disconnect();
                    emit(Json.obj("event", "disconnected", "id", id));
                    emit(Json.obj("event", "left", "id", id));
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

    KUBE_PING kube() {
        if(kube == null)
            throw new IllegalStateException("the stack has no KUBE_PING");
        return kube;
    }

    /** KUBE_PING's readAll(): one API call, the parsed pods (empty after a failure, which it logs). */
    @SuppressWarnings("unchecked")
    List<Pod> kubePods() throws Exception {
        java.lang.reflect.Method m=KUBE_PING.class.getDeclaredMethod("readAll");
        m.setAccessible(true);
        return (List<Pod>)m.invoke(kube());
    }

    static final String[] KUBE_SETTINGS={"port_range", "useNotReadyAddresses", "split_clusters_during_rolling_update"};

    Map<String,Object> kubeTargets(Map<String,Object> cmd, Object id) {
        KUBE_PING k=kube();
        Map<String,Object> saved=new LinkedHashMap<>(), used=new LinkedHashMap<>();
        for(String s: KUBE_SETTINGS)
            saved.put(s, k.getValue(s));
        List<Address> dests;
        String error=null;
        try {
            for(String s: KUBE_SETTINGS) {
                Object v=cmd.get(s);
                if(v instanceof Number n)
                    k.setValue(s, n.intValue());
                else if(v instanceof Boolean b)
                    k.setValue(s, b);
                used.put(s, k.getValue(s));
            }
            capture.begin();
            try {
                k.findMembers(null, true, new Responses(false));
            }
            catch(RuntimeException e) { // e.g. split on and the own pod has no group: findFirst() throws an NPE
                error=e.getClass().getName() + ": " + e.getMessage();
            }
            finally {
                dests=capture.end();
            }
        }
        finally {
            for(Map.Entry<String,Object> e: saved.entrySet())
                k.setValue(e.getKey(), e.getValue());
        }
        List<Object> targets=new ArrayList<>();
        for(Address a: dests)
            targets.add(hostPort(a));
        Object own=ch.down(new Event(Event.GET_PHYSICAL_ADDRESS, ch.getAddress()));
        Map<String,Object> ev=Json.obj("event", error == null? "kube_targets" : "kube_targets_failed", "id", id,
                                       "targets", targets, "own", hostPort((Address)own), "settings", used);
        if(error != null)
            ev.put("error", error);
        return ev;
    }

    /** "ip:port" of an IpAddress (textual IP as Java prints it), else its toString(). */
    static String hostPort(Address a) {
        if(a instanceof org.jgroups.stack.IpAddress ip)
            return ip.getIpAddress().getHostAddress() + ":" + ip.getPort();
        return String.valueOf(a);
    }

    /** Messages DISCARD dropped so far (its num_up field has no getter), -1 without --discard. */
    long discarded() {
        if(discard == null)
            return -1;
        try {
            java.lang.reflect.Field f=DISCARD.class.getDeclaredField("num_up");
            f.setAccessible(true);
            return ((Number)f.get(discard)).longValue();
        }
        catch(Exception e) {
            return -2;
        }
    }

    static int num(Map<String,Object> cmd, String key, int dflt) {
        Object v=cmd.get(key);
        return v instanceof Number n? n.intValue() : dflt;
    }

    /** Sends count tracked messages; seqnos continue per (kind, destination) across commands. */
    void sendSeq(Object id, Address dest, String destName, int kind, int count, int size) {
        String key=KINDS[kind] + "/" + destName;
        long first=sendSeqnos.getOrDefault(key, 0L);
        long t0=System.nanoTime();
        try {
            for(int i=0; i < count; i++) {
                byte[] buf=new byte[size];
                System.arraycopy(TRACKED, 0, buf, 0, 4);
                buf[4]=(byte)kind;
                putLong(buf, 5, first + i);
                Message m=new BytesMessage(dest, buf);
                if(kind % 2 == 1)
                    m.setFlag(Message.Flag.OOB);
                ch.send(m);
            }
            sendSeqnos.put(key, first + count);
            emit(Json.obj("event", "sent_done", "id", id, "cmd", "send_seq", "kind", KINDS[kind], "dest", destName,
                          "count", count, "first", first, "last", first + count - 1, "size", size,
                          "seconds", (System.nanoTime() - t0) / 1e9));
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "cmd", "send_seq", "id", id, "error", t.getClass().getName() + ": " + t.getMessage()));
        }
    }

    void sendBig(Object id, Address dest, int size) {
        try {
            byte[] buf=new byte[size];
            new Random(size * 31L + bigCount++).nextBytes(buf); // distinct contents per message
            System.arraycopy(BIG, 0, buf, 0, 4);
            long t0=System.nanoTime();
            ch.send(new BytesMessage(dest, buf));
            emit(Json.obj("event", "sent_done", "id", id, "cmd", "send_big", "dest", nameOf(dest), "size", size,
                          "sha256", sha256(buf, 0, size), "seconds", (System.nanoTime() - t0) / 1e9));
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "cmd", "send_big", "id", id, "error", t.getClass().getName() + ": " + t.getMessage()));
        }
    }

    /** Sequential unicast request/response round trips to dest (answered by its receive()). */
    void rtt(Object id, Address dest, int count, int size, int warmup) {
        try {
            responses.clear();
            long[] times=new long[count];
            for(int i=-warmup; i < count; i++) {
                byte[] buf=new byte[size];
                System.arraycopy(REQ, 0, buf, 0, 4);
                putLong(buf, 4, i + warmup);
                long t0=System.nanoTime();
                ch.send(new BytesMessage(dest, buf));
                while(true) {
                    Long got=responses.poll(10, TimeUnit.SECONDS);
                    if(got == null)
                        throw new IllegalStateException("no response to request " + (i + warmup) + " within 10s");
                    if(got == i + warmup)
                        break;
                }
                if(i >= 0)
                    times[i]=System.nanoTime() - t0;
            }
            Arrays.sort(times);
            long total=0;
            for(long t: times)
                total+=t;
            emit(Json.obj("event", "rtt_done", "id", id, "count", count, "size", size,
                          "p50_us", times[count / 2] / 1e3, "p99_us", times[Math.min(count - 1, (int)(count * 0.99))] / 1e3,
                          "mean_us", total / 1e3 / count, "min_us", times[0] / 1e3, "max_us", times[count - 1] / 1e3));
        }
        catch(Throwable t) {
            emit(Json.obj("event", "error", "cmd", "rtt", "id", id, "error", t.getClass().getName() + ": " + t.getMessage()));
        }
    }

    static void putLong(byte[] b, int off, long v) {
        for(int i=7; i >= 0; i--, v>>>=8)
            b[off + i]=(byte)v;
    }

    static long getLong(byte[] b, int off) {
        long v=0;
        for(int i=0; i < 8; i++)
            v=(v << 8) | (b[off + i] & 0xff);
        return v;
    }

    static boolean hasMagic(byte[] b, int off, int len, byte[] magic) {
        if(len < 4)
            return false;
        for(int i=0; i < 4; i++)
            if(b[off + i] != magic[i])
                return false;
        return true;
    }

    static String sha256(byte[] b, int off, int len) throws Exception {
        MessageDigest md=MessageDigest.getInstance("SHA-256");
        md.update(b, off, len);
        return Canon.hex(md.digest());
    }

    /** Receiver-side record of one (sender, kind) stream of tracked messages. */
    static final class Stream {
        final String src, kind;
        final BitSet seen=new BitSet();
        long count, dups, ooo, last=-1, max=-1, min=Long.MAX_VALUE;
        double firstT, lastT;

        Stream(String src, String kind) {
            this.src=src;
            this.kind=kind;
        }

        synchronized void add(long seqno) {
            double now=System.nanoTime() / 1e9;
            if(count++ == 0)
                firstT=now;
            lastT=now;
            if(seen.get((int)seqno)) {
                dups++;
                return;
            }
            seen.set((int)seqno);
            if(seqno < max)
                ooo++;
            last=seqno;
            max=Math.max(max, seqno);
            min=Math.min(min, seqno);
        }

        synchronized Map<String,Object> summary() {
            List<Object> missing=new ArrayList<>();
            int gaps=0;
            for(int i=seen.nextClearBit(0); i >= 0 && i <= max; ) {
                int end=seen.nextSetBit(i) - 1;
                if(++gaps <= 20)
                    missing.add(List.of(i, end));
                i=seen.nextClearBit(end + 1);
            }
            return Json.obj("src", src, "kind", kind, "count", count, "distinct", (long)seen.cardinality(), "dups", dups,
                            "ooo", ooo, "min", min == Long.MAX_VALUE? -1 : min, "max", max, "missing", missing,
                            "gaps", gaps, "first_t", firstT, "last_t", lastT);
        }
    }

    Map<String,Object> snapshot() {
        Map<String,Object> m=new TreeMap<>();
        synchronized(streams) {
            for(Map.Entry<String,Stream> e: streams.entrySet())
                m.put(e.getKey(), e.getValue().summary());
        }
        return m;
    }

    void track(String src, int kind, long seqno) {
        String k=kind >= 0 && kind < KINDS.length? KINDS[kind] : "kind" + kind;
        String key=src + "/" + k;
        Stream s;
        synchronized(streams) {
            s=streams.computeIfAbsent(key, x -> new Stream(src, k));
        }
        s.add(seqno);
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

    static String uuidOf(Address a) {
        return a instanceof org.jgroups.util.UUID u? u.toStringLong() : String.valueOf(a);
    }

    static Map<String,Object> viewEvent(View view, String event, Object id) {
        List<Object> mbrs=new ArrayList<>(), uuids=new ArrayList<>();
        for(Address a: view) {
            mbrs.add(nameOf(a));
            uuids.add(uuidOf(a));
        }
        ViewId vid=view.getViewId();
        Map<String,Object> m=Json.obj("event", event, "view_id", vid.toString(), "number", vid.getId(),
                                      "creator", nameOf(vid.getCreator()), "creator_uuid", uuidOf(vid.getCreator()),
                                      "members", mbrs, "member_uuids", uuids, "coord", nameOf(view.getCoord()),
                                      "merge", view instanceof MergeView);
        if(id != null)
            m.put("id", id);
        return m;
    }

    @Override
    public void getState(java.io.OutputStream output) throws Exception {
        byte[] copy=state;
        output.write(copy);
        emit(Json.obj("event", "state_provided", "size", copy.length));
    }

    public void setState(java.io.InputStream input) throws Exception {
        byte[] got=input.readAllBytes();
        state=got;
        emit(Json.obj("event", "state_set", "size", got.length, "sha256", sha256(got)));
    }

    static String sha256(byte[] data) {
        try {
            return Canon.hex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        }
        catch(java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public void viewAccepted(View view) {
        emit(viewEvent(view, "view", null));
    }

    @Override
    public void receive(Message msg) {
        if(msg instanceof BytesMessage && msg.hasArray() && msg.getArray() != null) {
            byte[] a=msg.getArray();
            int off=msg.getOffset(), len=msg.getLength();
            try {
                if(len >= TRACKED_HEADER && hasMagic(a, off, len, TRACKED)) {
                    track(nameOf(msg.getSrc()), a[off + 4], getLong(a, off + 5));
                    return;
                }
                if(len >= 12 && hasMagic(a, off, len, REQ)) {
                    byte[] rsp=Arrays.copyOfRange(a, off, off + len);
                    System.arraycopy(RSP, 0, rsp, 0, 4);
                    ch.send(new BytesMessage(msg.getSrc(), rsp));
                    return;
                }
                if(len >= 12 && hasMagic(a, off, len, RSP)) {
                    responses.add(getLong(a, off + 4));
                    return;
                }
                if(hasMagic(a, off, len, BIG)) {
                    emit(Json.obj("event", "big", "src", nameOf(msg.getSrc()), "dest", nameOf(msg.getDest()),
                                  "length", len, "sha256", sha256(a, off, len)));
                    return;
                }
            }
            catch(Exception e) {
                emit(Json.obj("event", "error", "stage", "receive", "error", e.toString()));
                return;
            }
        }
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
                else
                    ev.put("payload_sha256", sha256(a, msg.getOffset(), msg.getLength()));
            }
        }
        catch(Exception e) {
            ev.put("payload_error", e.toString());
        }
        emit(ev);
    }
}
