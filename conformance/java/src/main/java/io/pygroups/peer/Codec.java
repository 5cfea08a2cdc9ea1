package io.pygroups.peer;

import org.jgroups.*;
import org.jgroups.blocks.cs.Connection;
import org.jgroups.protocols.Discovery;
import org.jgroups.protocols.FD_SOCK2;
import org.jgroups.protocols.PingData;
import org.jgroups.protocols.pbcast.DeltaView;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.protocols.pbcast.JoinRsp;
import org.jgroups.stack.IpAddress;
import org.jgroups.util.*;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.*;

/**
 * Writes and reads every catalogue "kind" with JGroups' own serialization code. encode() is used by the
 * catalogue and to re-encode what decode() read, so a round trip goes through the jar in both directions.
 */
public final class Codec {
    private Codec() {}

    public static final List<String> KINDS=List.of(
      "frame", "message", "bare", "Address", "IpAddress", "ViewId", "View", "MergeView", "Digest", "JoinRsp",
      "PingData", "PingDataList", "SeqnoList", "vlong", "vint", "seqpair", "ViewDigestBlock", "Preamble");

    // TP flags byte
    static final byte LIST=org.jgroups.protocols.TP.LIST, MULTICAST=org.jgroups.protocols.TP.MULTICAST;

    /** A TP payload: a single message or a message list, as written into one TCP frame. */
    public record Frame(short version, boolean list, boolean multicast, Address dest, Address src,
                        byte[] cluster, List<Message> msgs) {
        static Frame single(Message msg) {
            return new Frame(Version.version, false, msg.getDest() == null, null, null, null, List.of(msg));
        }
        static Frame list(Address dest, Address src, String cluster, List<Message> msgs) {
            return new Frame(Version.version, true, dest == null, dest, src,
                             cluster == null? null : cluster.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1), msgs);
        }
    }

    /** Wrapper so that a null address can be an object too. */
    public record Addr(Address addr) {}
    public record SeqPair(long hd, long hr) {}
    public record ViewDigest(View view, Digest digest) {}
    /** TCP connection preamble: cookie "bela", version, serialized address size, IpAddress body. */
    public record Preamble(short version, IpAddress addr) {}

    public record Decoded(Object obj, int consumed) {}

    // ------------------------------------------------------------------ encoding

    public static byte[] encode(String kind, Object o) throws Exception {
        ByteArrayDataOutputStream out=new ByteArrayDataOutputStream(256);
        switch(kind) {
            case "frame" -> {
                Frame f=(Frame)o;
                if(f.list())
                    Util.writeMessageList(f.dest(), f.src(), f.cluster(), f.msgs(), out, f.multicast());
                else
                    Util.writeMessage(f.msgs().get(0), out, f.multicast());
                // Util writes this jar's version; keep the one the frame carried (decode of other 5.x micros)
                byte[] b=bytes(out);
                b[0]=(byte)(f.version() >> 8);
                b[1]=(byte)f.version();
                return b;
            }
            case "message" -> {
                Message m=(Message)o;
                out.writeShort(m.getType());
                m.writeTo(out);
            }
            case "bare" -> {
                ByteArray b=FD_SOCK2.messageToBuffer((Message)o);
                return b.bytes();
            }
            case "Address" -> Util.writeAddress(((Addr)o).addr(), out);
            case "IpAddress", "ViewId", "View", "MergeView", "PingData", "SeqnoList", "JoinRsp" ->
              ((Streamable)o).writeTo(out);
            case "Digest" -> ((Digest)o).writeTo(out, true);
            case "PingDataList" -> {
                @SuppressWarnings("unchecked") List<PingData> l=(List<PingData>)o;
                return Discovery.marshal(l).bytes();
            }
            case "vlong" -> Bits.writeLongCompressed((Long)o, out);
            case "vint" -> Bits.writeIntCompressed((Integer)o, out);
            case "seqpair" -> Bits.writeLongSequence(((SeqPair)o).hd(), ((SeqPair)o).hr(), out);
            case "ViewDigestBlock" -> {
                ViewDigest vd=(ViewDigest)o;
                return Access.Gms.viewAndDigest(vd.view(), vd.digest()).bytes();
            }
            case "Preamble" -> {
                // Same field sequence as TcpConnection.sendLocalAddress() (which needs a live socket)
                Preamble p=(Preamble)o;
                out.write(Connection.cookie, 0, Connection.cookie.length);
                out.writeShort(p.version());
                out.writeShort(p.addr().serializedSize());
                p.addr().writeTo(out);
            }
            default -> throw new IllegalArgumentException("unknown kind " + kind);
        }
        return bytes(out);
    }

    static byte[] bytes(ByteArrayDataOutputStream out) {
        return Arrays.copyOf(out.buffer(), out.position());
    }

    // ------------------------------------------------------------------ decoding

    public static Decoded decode(String kind, byte[] data) throws Exception {
        ByteArrayDataInputStream in=new ByteArrayDataInputStream(data);
        Object obj;
        switch(kind) {
            case "frame" -> obj=readFrame(in);
            case "message" -> obj=Util.readMessage(in);
            case "bare" -> { // as FD_SOCK2.receive(): the frame body is an EmptyMessage's writeTo()
                Message m=new EmptyMessage();
                m.readFrom(in);
                obj=m;
            }
            case "Address" -> obj=new Addr(Util.readAddress(in));
            case "IpAddress" -> obj=read(new IpAddress(), in);
            case "ViewId" -> obj=read(new ViewId(), in);
            case "View" -> obj=read(new View(), in);
            case "MergeView" -> obj=read(new MergeView(), in);
            case "Digest" -> {
                Digest d=new Digest();
                d.readFrom(in, true);
                obj=d;
            }
            case "JoinRsp" -> obj=read(new JoinRsp(), in);
            case "PingData" -> obj=read(new PingData(), in);
            case "PingDataList" -> {
                // Discovery.deserialize() is the real reader but hides how much it consumed: run both
                int n=in.readInt();
                for(int i=0; i < n; i++)
                    new PingData().readFrom(in);
                List<PingData> l=Discovery.deserialize(data, 0, in.position());
                obj=l == null? new ArrayList<PingData>() : l;
            }
            case "SeqnoList" -> obj=read(new SeqnoList(), in);
            case "vlong" -> obj=Bits.readLongCompressed(in);
            case "vint" -> obj=Bits.readIntCompressed(in);
            case "seqpair" -> {
                long[] s=new long[2];
                Bits.readLongSequence(in, s, 0);
                obj=new SeqPair(s[0], s[1]);
            }
            case "ViewDigestBlock" -> {
                // GMS._readViewAndDigest() is the real reader; the walk below only measures the consumed length
                short flags=in.readShort();
                View v=null;
                if((flags & GMS.VIEW_PRESENT) != 0) {
                    v=(flags & GMS.MERGE_VIEW) != 0? new MergeView() : (flags & GMS.DELTA_VIEW) != 0? new DeltaView() : new View();
                    v.readFrom(in);
                }
                if((flags & GMS.DIGEST_PRESENT) != 0) {
                    boolean addrs=(flags & GMS.READ_ADDRS) != 0;
                    Digest d=addrs? new Digest() : new Digest(v.getMembersRaw());
                    d.readFrom(in, addrs);
                }
                Tuple<View,Digest> t=GMS._readViewAndDigest(data, 0, in.position());
                obj=new ViewDigest(t.val1(), t.val2());
            }
            case "Preamble" -> obj=readPreamble(in);
            default -> throw new IllegalArgumentException("unknown kind " + kind);
        }
        fixFragments(obj);
        return new Decoded(obj, in.position());
    }

    static <T extends Streamable> T read(T obj, DataInput in) throws IOException, ClassNotFoundException {
        obj.readFrom(in);
        return obj;
    }

    /** TP.receive() + TP.handleSingleMessage() / Util.readMessageBatch(), keeping the list in wire order. */
    static Frame readFrame(ByteArrayDataInputStream in) throws IOException, ClassNotFoundException {
        short version=in.readShort();
        byte flags=in.readByte();
        boolean list=(flags & LIST) == LIST, multicast=(flags & MULTICAST) == MULTICAST;
        if(!list) {
            Message msg=Util.readMessage(in);
            return new Frame(version, false, multicast, null, null, null, List.of(msg));
        }
        // Same steps as Util.readMessageBatch(), which would split the list into OOB and regular batches
        Address dest=Util.readAddress(in);
        Address src=Util.readAddress(in);
        short len=in.readShort();
        byte[] cluster=len >= 0? new byte[len] : null;
        if(cluster != null)
            in.readFully(cluster, 0, cluster.length);
        int count=in.readInt();
        List<Message> msgs=new ArrayList<>();
        for(int i=0; i < count; i++) {
            short type=in.readShort();
            Message msg=MessageFactory.create(type).setDest(dest).setSrc(src);
            msg.readFrom(in);
            msgs.add(msg);
        }
        return new Frame(version, true, multicast, dest, src, cluster, msgs);
    }

    /** Same steps as TcpConnection.readPeerAddress(), including its version check. */
    static Preamble readPreamble(DataInput in) throws IOException {
        byte[] cookie=new byte[Connection.cookie.length];
        in.readFully(cookie);
        if(!Arrays.equals(cookie, Connection.cookie))
            throw new IOException("readPeerAddress(): cookie " + Canon.hex(cookie) + " does not match");
        short version=in.readShort();
        if(!Version.isBinaryCompatible(version))
            throw new IOException(String.format("readPeerAddress(): different version (%s) from ours (%s)",
                                                Version.print(version), Version.printVersion()));
        in.readShort(); // address length: skipped by TcpConnection, used by NioConnection
        IpAddress addr=new IpAddress();
        addr.readFrom(in);
        return new Preamble(version, addr);
    }

    // ------------------------------------------------------------------ FragmentedMessage

    /**
     * A FragmentedMessage read from the wire has only its byte slice; its writePayload() would dereference the
     * (absent) original message. Re-attach the received slice as the "original" so that JGroups' own
     * FragmentedMessage.writePayload() emits exactly that slice again.
     */
    static void fixFragments(Object obj) {
        if(obj instanceof Frame f)
            f.msgs().forEach(Codec::fixFragment);
        else if(obj instanceof Message m)
            fixFragment(m);
    }

    static void fixFragment(Message m) {
        if(m instanceof FragmentedMessage fm && fm.getOriginalMessage() == null) {
            byte[] a=fm.getArray();
            Access.set(fm, FragmentedMessage.class, "original_msg", new RawSlice(a == null? new byte[0] : a));
        }
        else if(m instanceof CompositeMessage cm)
            cm.forEach(Codec::fixFragment);
        else if(m instanceof BatchMessage bm)
            bm.forEach(Codec::fixFragment);
    }

    /** Stands in for the original message of a received fragment: its "serialization" is the slice itself. */
    static final class RawSlice extends BytesMessage {
        RawSlice(byte[] slice) {super(null, slice);}
        @Override public void writeTo(DataOutput out) throws IOException {
            out.write(array, offset, length);
        }
    }

    // ------------------------------------------------------------------ JSON and toString of decoded objects

    /** Canonical JSON (CANONICAL_JSON.md) where one is defined for the kind, else null. */
    public static Object json(String kind, Object obj) throws IOException {
        switch(kind) {
            case "frame": {
                Frame f=(Frame)obj;
                Map<String,Object> m=new LinkedHashMap<>();
                m.put("version", f.version() & 0xffff); // unsigned, as the Python side prints it
                m.put("list", f.list());
                m.put("multicast", f.multicast());
                if(f.list()) {
                    m.put("dest", Canon.addr(f.dest()));
                    m.put("src", Canon.addr(f.src()));
                    m.put("cluster", f.cluster() == null? null : new String(f.cluster(), java.nio.charset.StandardCharsets.ISO_8859_1));
                }
                m.put("messages", Canon.messages(f.msgs()));
                return m;
            }
            case "message", "bare": return Canon.message((Message)obj);
            case "Address": return Canon.addr(((Addr)obj).addr());
            case "IpAddress": return Canon.addr((IpAddress)obj);
            case "vlong", "vint": return obj;
            case "seqpair": return List.of(((SeqPair)obj).hd(), ((SeqPair)obj).hr());
            case "SeqnoList": {
                List<Object> l=new ArrayList<>();
                for(long s: (SeqnoList)obj)
                    l.add(s);
                return l;
            }
            case "Digest": return Canon.digest((Digest)obj);
            default: return null;
        }
    }

    public static String string(String kind, Object obj) {
        if(obj instanceof Frame f)
            return f.list()? String.format("list dest=%s src=%s cluster=%s %s", f.dest(), f.src(),
                                           f.cluster() == null? null : new String(f.cluster()), f.msgs())
              : String.valueOf(f.msgs().get(0));
        if(obj instanceof Addr a)
            return String.valueOf(a.addr());
        if(obj instanceof ViewDigest vd)
            return String.format("view=%s digest=%s", vd.view(), vd.digest());
        if(obj instanceof Preamble p)
            return String.format("version=%s addr=%s", Version.print(p.version()), p.addr());
        return String.valueOf(obj);
    }
}
