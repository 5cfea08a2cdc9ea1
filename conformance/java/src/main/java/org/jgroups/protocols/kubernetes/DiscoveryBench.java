package org.jgroups.protocols.kubernetes;

import org.jgroups.JChannel;
import org.jgroups.Message;
import org.jgroups.protocols.TCP;
import org.jgroups.protocols.UNICAST3;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.NAKACK2;
import org.jgroups.protocols.pbcast.STABLE;
import org.jgroups.util.Responses;

import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Times jgroups-kubernetes' own discovery path for a canned API answer: {@code KUBE_PING.findMembers} with the pods
 * JSON served by a Client whose HTTP fetch is replaced by the file's text (parse with Parsson, readiness, the
 * rolling-update split, port expansion, one PingData marshalled per request). The requests are counted, never sent.
 * Lives in KUBE_PING's package to set its protected client. Single-threaded; rates are discoveries per second.
 * <pre>
 * Peer kubebench --pods FILE [--port-range N] [--split] [--not-ready-off] [--seconds S] [--warmup S]
 * </pre>
 * The channel binds 127.0.0.1 on a free port (nothing is sent anywhere); the JSON should list a pod with IP
 * 127.0.0.1 if the split is to find its own group.
 */
public final class DiscoveryBench {
    private DiscoveryBench() {}

    static final class CannedClient extends Client {
        final String body;

        CannedClient(String body, org.jgroups.logging.Log log) {
            super("canned://", null, 0, 0, 1, 0, null, log);
            this.body=body;
        }

        @Override
        protected String fetchFromKubernetes(String op, String namespace, String labels, boolean dump) {
            return body;
        }
    }

    static final class CountingKubePing extends KUBE_PING {
        String body;
        long requests;

        @Override
        public void init() throws Exception {
            super.init();
            client=new CannedClient(body, log);
        }

        @Override
        protected void sendDiscoveryRequest(Message req) {
            requests++;
        }
    }

    public static int run(String[] args, PrintStream out) throws Exception {
        String file=null;
        int portRange=1;
        boolean split=false, notReady=true;
        double seconds=3, warmup=2;
        for(int i=0; i < args.length; i++) {
            switch(args[i]) {
                case "--pods" -> file=args[++i];
                case "--port-range" -> portRange=Integer.parseInt(args[++i]);
                case "--split" -> split=true;
                case "--not-ready-off" -> notReady=false;
                case "--seconds" -> seconds=Double.parseDouble(args[++i]);
                case "--warmup" -> warmup=Double.parseDouble(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if(file == null)
            throw new IllegalArgumentException("--pods FILE is required");
        String body=Files.readString(Path.of(file), StandardCharsets.ISO_8859_1); // Java reads the answer byte-wise
        int port;
        try(ServerSocket s=new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port=s.getLocalPort();
        }
        CountingKubePing kube=new CountingKubePing();
        kube.body=body;
        kube.setValue("port_range", portRange);
        kube.setValue("split_clusters_during_rolling_update", split);
        kube.setValue("useNotReadyAddresses", notReady);
        kube.setValue("namespace", "bench");
        kube.setValue("masterHost", "127.0.0.1");
        TCP tcp=new TCP();
        tcp.setBindAddress(InetAddress.getLoopbackAddress());
        tcp.setBindPort(port);
        tcp.setPortRange(0);
        GMS gms=new GMS();
        gms.setJoinTimeout(50);
        try(JChannel ch=new JChannel(tcp, kube, new NAKACK2(), new UNICAST3(), new STABLE(), gms)) {
            ch.setName("bench");
            ch.connect("kubebench");
            long perRound=time(kube, warmup);
            kube.requests=0;
            long start=System.nanoTime(), n=0, deadline=start + (long)(seconds * 1e9);
            while(System.nanoTime() < deadline) {
                kube.findMembers(null, true, new Responses(false));
                n++;
            }
            double elapsed=(System.nanoTime() - start) / 1e9;
            out.printf("{\"discoveries\": %d, \"seconds\": %.3f, \"per_second\": %.2f, \"ms_per_discovery\": %.4f, "
                         + "\"requests_per_discovery\": %d, \"bytes\": %d}%n",
                       n, elapsed, n / elapsed, elapsed * 1e3 / n, n == 0? 0 : kube.requests / n, body.length());
            if(perRound < 0)
                return 1;
        }
        return 0;
    }

    private static long time(CountingKubePing kube, double seconds) {
        long deadline=System.nanoTime() + (long)(seconds * 1e9), n=0;
        while(System.nanoTime() < deadline) {
            kube.findMembers(null, true, new Responses(false));
            n++;
        }
        return n;
    }
}
