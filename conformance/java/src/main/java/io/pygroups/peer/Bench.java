package io.pygroups.peer;

import org.jgroups.Message;
import org.jgroups.Version;
import org.jgroups.util.ByteArrayDataInputStream;
import org.jgroups.util.ByteArrayDataOutputStream;
import org.jgroups.util.MessageBatch;
import org.jgroups.util.Util;

import java.io.PrintStream;
import java.util.List;

/**
 * Times JGroups' own marshalling of the catalogue's "bench-batch10" list (10 x bench-typical), single-threaded:
 * encode = Util.writeMessageList into a reused output buffer, decode = the list read back the way TP does
 * (skip version/flags, Util.readMessageBatch). Rates are messages per second (10 per list).
 * Options: --warmup S (default 2), --seconds S per direction (default 3), or --iterations N lists per direction.
 */
public final class Bench {
    private Bench() {}

    static volatile long sink; // keeps the JIT from discarding work

    public static int run(String[] args, PrintStream out) throws Exception {
        double seconds=3, warmup=2;
        long iterations=0; // > 0: time exactly this many list encodes and decodes instead of a duration
        for(int i=0; i < args.length; i++) {
            switch(args[i]) {
                case "--seconds" -> seconds=Double.parseDouble(args[++i]);
                case "--warmup" -> warmup=Double.parseDouble(args[++i]);
                case "--iterations" -> iterations=Long.parseLong(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        List<Message> list=Catalogue.batch10();
        byte[] cluster=Fixtures.CLUSTER.getBytes();
        ByteArrayDataOutputStream buf=new ByteArrayDataOutputStream(16 * 1024);
        Util.writeMessageList(null, Fixtures.A, cluster, list, buf, true);
        byte[] encoded=java.util.Arrays.copyOf(buf.buffer(), buf.position());

        // warm-up both paths
        long end=System.nanoTime() + (long)(warmup * 1e9);
        while(System.nanoTime() < end) {
            encodeOnce(list, cluster, buf, 200);
            decodeOnce(encoded, 200);
        }
        long[] enc, dec;
        if(iterations > 0) {
            final long n=iterations;
            enc=counted(() -> encodeOnce(list, cluster, buf, 1), n);
            dec=counted(() -> decodeOnce(encoded, 1), n);
        }
        else {
            enc=timed(() -> encodeOnce(list, cluster, buf, 100), seconds, 100);
            dec=timed(() -> decodeOnce(encoded, 100), seconds, 100);
        }
        int perList=list.size();
        double encRate=enc[0] * (double)perList / (enc[1] / 1e9), decRate=dec[0] * (double)perList / (dec[1] / 1e9);
        // "iterations": list encodes + list decodes that were timed (each list holds msgs_per_list messages)
        out.println(Json.write(Json.obj(
          "encode_msgs_per_s", Math.round(encRate), "decode_msgs_per_s", Math.round(decRate),
          "iterations", enc[0] + dec[0], "encode_lists", enc[0], "decode_lists", dec[0],
          "list_bytes", encoded.length, "msgs_per_list", perList, "jgroups", Version.printVersion(),
          "java", System.getProperty("java.version"))));
        out.flush();
        return 0;
    }

    interface Block {void run() throws Exception;}

    /** Runs block (which does perCall lists) until the time is up; returns {lists, elapsed nanos}. */
    static long[] timed(Block b, double seconds, int perCall) throws Exception {
        long start=System.nanoTime(), deadline=start + (long)(seconds * 1e9), calls=0, now;
        do {
            b.run();
            calls++;
        }
        while((now=System.nanoTime()) < deadline);
        return new long[]{calls * perCall, now - start};
    }

    static long[] counted(Block b, long n) throws Exception {
        long start=System.nanoTime();
        for(long i=0; i < n; i++)
            b.run();
        return new long[]{n, System.nanoTime() - start};
    }

    static void encodeOnce(List<Message> list, byte[] cluster, ByteArrayDataOutputStream buf, int n) throws Exception {
        for(int i=0; i < n; i++) {
            buf.position(0);
            Util.writeMessageList(null, Fixtures.A, cluster, list, buf, true);
        }
        sink+=buf.position();
    }

    static void decodeOnce(byte[] encoded, int n) throws Exception {
        for(int i=0; i < n; i++) {
            ByteArrayDataInputStream in=new ByteArrayDataInputStream(encoded, 3, encoded.length - 3); // version + flags
            MessageBatch[] batches=Util.readMessageBatch(in, true);
            sink+=batches[0].size();
        }
    }
}
