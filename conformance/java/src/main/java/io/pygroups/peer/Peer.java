package io.pygroups.peer;

import org.jgroups.Version;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Entry point of the Java conformance peer.
 * <pre>
 *   Peer catalogue                      golden vectors, one JSON object per line
 *   Peer decode                         JSON lines on stdin -> decode/re-encode results on stdout
 *   Peer node --config F --name N [--cluster C] [--hex-limit BYTES]
 *   Peer bench [--seconds S] [--warmup S]
 *   Peer kubebench --pods FILE [--port-range N] [--split] [--not-ready-off] [--seconds S] [--warmup S]
 *   Peer version
 * </pre>
 * stdout carries only JSON lines. Anything else that writes to System.out (JGroups prints the local address
 * when GMS.print_local_addr is set) is redirected to stderr.
 */
public final class Peer {
    private Peer() {}

    public static void main(String[] args) throws Exception {
        PrintStream json=new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        if(args.length == 0) {
            System.err.println("usage: Peer catalogue | decode | node --config FILE --name NAME [--cluster NAME] | bench | config FILE... | version");
            System.exit(2);
        }
        List<String> problems=Canon.checkFlagTable();
        if(!problems.isEmpty())
            System.err.println("WARNING: canonical flag table differs from Message.Flag: " + problems);
        Fixtures.init();
        String mode=args[0];
        String[] rest=java.util.Arrays.copyOfRange(args, 1, args.length);
        int rc=switch(mode) {
            case "catalogue" -> catalogue(json);
            case "decode" -> decode(json);
            case "node" -> Node.run(rest, json);
            case "bench" -> Bench.run(rest, json);
            case "kubebench" -> org.jgroups.protocols.kubernetes.DiscoveryBench.run(rest, json);
            case "config" -> config(rest, json);
            case "version" -> {
                json.println(Json.write(Json.obj("jgroups", Version.printVersion(), "version_short", (int)Version.version,
                                                 "flag_table_problems", problems)));
                json.flush();
                yield 0;
            }
            default -> {
                System.err.println("unknown mode " + mode);
                yield 2;
            }
        };
        json.flush();
        System.exit(rc);
    }

    /** Builds (but does not connect) a JChannel from each XML file: JGroups parses the file, creates every
     *  protocol, sets its attributes and initialises the stack, so an attribute or protocol JGroups would
     *  refuse fails here. One JSON line per file. */
    static int config(String[] files, PrintStream out) {
        int rc=0;
        for(String file: files) {
            Map<String,Object> m=new LinkedHashMap<>();
            m.put("file", file);
            try(org.jgroups.JChannel ch=new org.jgroups.JChannel(file)) {
                List<Object> names=new java.util.ArrayList<>();
                for(org.jgroups.stack.Protocol p: ch.getProtocolStack().getProtocols())
                    names.add(p.getName());
                java.util.Collections.reverse(names); // bottom (transport) first, as in the XML
                m.put("ok", true);
                m.put("protocols", names);
                // what the transport was configured with (XML, -D system properties, environment: Java's precedence)
                org.jgroups.protocols.TP tp=ch.getProtocolStack().getTransport();
                java.net.InetAddress bind=tp.getBindAddress();
                m.put("transport", Json.obj("bind_addr", bind == null? null : bind.getHostAddress(),
                                            "bind_port", tp.getBindPort()));
            }
            catch(Throwable t) {
                rc=1;
                m.put("ok", false);
                m.put("error", t.getClass().getName() + ": " + t.getMessage());
            }
            out.println(Json.write(m));
            out.flush();
        }
        return rc;
    }

    static int catalogue(PrintStream out) throws Exception {
        for(Catalogue.Entry e: Catalogue.build()) {
            Map<String,Object> m=new LinkedHashMap<>();
            m.put("name", e.name());
            m.put("kind", e.kind());
            m.put("hex", Canon.hex(e.bytes()));
            m.put("desc", e.desc());
            out.println(Json.write(m));
        }
        out.flush();
        return 0;
    }

    /** One request per line; one answer per line, flushed, in the same order. Never exits on a bad request. */
    static int decode(PrintStream out) throws Exception {
        BufferedReader in=new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while((line=in.readLine()) != null) {
            if(line.isBlank())
                continue;
            out.println(Json.write(decodeOne(line)));
            out.flush();
        }
        return 0;
    }

    @SuppressWarnings("unchecked")
    static Map<String,Object> decodeOne(String line) {
        Object id=null;
        try {
            Map<String,Object> req=(Map<String,Object>)Json.parse(line);
            id=req.get("id");
            String kind=(String)req.get("kind");
            if(kind == null || !Codec.KINDS.contains(kind))
                throw new IllegalArgumentException("unknown kind " + kind + "; known: " + Codec.KINDS);
            byte[] data=Canon.unhex((String)req.get("hex"));
            Codec.Decoded d=Codec.decode(kind, data);
            Map<String,Object> rsp=new LinkedHashMap<>();
            rsp.put("id", id);
            rsp.put("ok", true);
            rsp.put("consumed", d.consumed());
            rsp.put("total", data.length);
            rsp.put("reencoded", Canon.hex(Codec.encode(kind, d.obj())));
            Object json=Codec.json(kind, d.obj());
            if(json != null || "Address".equals(kind))
                rsp.put("json", json);
            if(d.obj() instanceof Codec.Frame f)
                rsp.put("version_compatible", Version.isBinaryCompatible(f.version()));
            rsp.put("string", Codec.string(kind, d.obj()));
            return rsp;
        }
        catch(Throwable t) {
            Map<String,Object> rsp=new LinkedHashMap<>();
            rsp.put("id", id);
            rsp.put("ok", false);
            rsp.put("error", t.getClass().getName() + ": " + t.getMessage());
            return rsp;
        }
    }
}
