package io.pygroups.peer;

import org.jgroups.*;
import org.jgroups.blocks.RequestCorrelator;
import org.jgroups.protocols.*;
import org.jgroups.protocols.pbcast.*;
import org.jgroups.protocols.relay.SiteMaster;
import org.jgroups.protocols.relay.SiteUUID;
import org.jgroups.stack.IpAddress;
import org.jgroups.util.*;

import java.nio.ByteBuffer;
import java.util.*;

import static io.pygroups.peer.Fixtures.*;
import static org.jgroups.Message.Flag.*;

/**
 * Golden vectors: fixed inputs serialized by the real jar. Every entry is written by {@link Codec#encode}, i.e.
 * by JGroups' own writeTo/Util/Bits methods. Entries are documented by their "desc".
 */
public final class Catalogue {
    public record Entry(String name, String kind, byte[] bytes, String desc) {}

    private final List<Entry> entries=new ArrayList<>();
    private final Set<String> names=new HashSet<>();

    public static List<Entry> build() throws Exception {
        Catalogue c=new Catalogue();
        c.primitives();
        c.addresses();
        c.objects();
        c.messageTypes();
        c.flags();
        c.frames();
        c.transportHeaders();
        c.discovery();
        c.gms();
        c.nakack2();
        c.unicast3();
        c.stable();
        c.failureDetection();
        c.merge3();
        c.fragmentation();
        c.flowControl();
        c.stateTransfer();
        c.nakack4Unicast4();
        c.bench();
        return c.entries;
    }

    void add(String name, String kind, Object obj, String desc) throws Exception {
        if(!names.add(name))
            throw new IllegalStateException("duplicate catalogue name " + name);
        entries.add(new Entry(name, kind, Codec.encode(kind, obj), desc));
    }

    void frame(String name, Message msg, String desc) throws Exception {
        add(name, "frame", Codec.Frame.single(msg), desc);
    }

    // ------------------------------------------------------------------ primitives

    void primitives() throws Exception {
        long[] longs={0, 1, 255, 256, 65536, (1L << 40) + 5, -1, Long.MIN_VALUE, Long.MAX_VALUE};
        String[] lnames={"0", "1", "255", "256", "65536", "2p40-plus-5", "neg1", "long-min", "long-max"};
        for(int i=0; i < longs.length; i++)
            add("vlong-" + lnames[i], "vlong", longs[i], "Bits.writeLongCompressed(" + longs[i] + ")");
        int[] ints={0, 1, 255, 256, 300, 65536, 70000, -1, Integer.MIN_VALUE, Integer.MAX_VALUE};
        String[] inames={"0", "1", "255", "256", "300", "65536", "70000", "neg1", "int-min", "int-max"};
        for(int i=0; i < ints.length; i++)
            add("vint-" + inames[i], "vint", ints[i], "Bits.writeIntCompressed(" + ints[i] + ")");
        long[][] pairs={{0, 0}, {0, 5}, {5, 5}, {300, 310}, {1000, 70000}, {1L << 40, (1L << 40) + 1},
          {1, Long.MAX_VALUE}};
        for(long[] p: pairs)
            add("seqpair-" + p[0] + "-" + p[1], "seqpair", new Codec.SeqPair(p[0], p[1]),
                "Bits.writeLongSequence(hd=" + p[0] + ", hr=" + p[1] + ")");

        add("seqnolist-single", "SeqnoList", new SeqnoList(1, 37).add(37), "SeqnoList(size 1, offset 37) {37}");
        add("seqnolist-34-35-40", "SeqnoList", new SeqnoList(10, 34).add(34, 35, 40),
            "SeqnoList(size 10, offset 34) {34, 35, 40}");
        add("seqnolist-multiword", "SeqnoList", new SeqnoList(130, 1000).add(1000, 1063, 1064, 1129),
            "SeqnoList(size 130, offset 1000) {1000, 1063, 1064, 1129}: 3 words, bits 63/64 straddle a word");
        add("seqnolist-empty", "SeqnoList", new SeqnoList(0, 5), "SeqnoList(size 0, offset 5): no words");
    }

    // ------------------------------------------------------------------ addresses

    void addresses() throws Exception {
        add("addr-null", "Address", new Codec.Addr(null), "Util.writeAddress(null)");
        add("addr-uuid-a", "Address", new Codec.Addr(A), "UUID A 91cebc7e-0d62-4778-9dc0-5a9805a43cab");
        add("addr-uuid-b", "Address", new Codec.Addr(B), "UUID B 523c54d9-3ea9-4e0a-baa2-daf63e689d8b");
        add("addr-uuid-c", "Address", new Codec.Addr(C), "UUID C 00000000-0000-0001-0000-000000000002");
        add("addr-uuid-d-negative", "Address", new Codec.Addr(D), "UUID D with negative halves (msb -1, lsb -2)");

        FlagsUUID f0=new FlagsUUID(A.getMostSignificantBits(), A.getLeastSignificantBits());
        add("addr-flags-uuid-0", "Address", new Codec.Addr(f0), "FlagsUUID(A), flags 0 (generic tag 0x00 + magic 19)");
        FlagsUUID f5=new FlagsUUID(B.getMostSignificantBits(), B.getLeastSignificantBits()).setFlag((short)0x4005);
        add("addr-flags-uuid-4005", "Address", new Codec.Addr(f5), "FlagsUUID(B), flags 0x4005");

        ExtendedUUID e=new ExtendedUUID(A.getMostSignificantBits(), A.getLeastSignificantBits())
          .put("site", "NYC".getBytes()).put("rack", "r1".getBytes());
        add("addr-extended-uuid", "Address", new Codec.Addr(e), "ExtendedUUID(A) keys site=NYC, rack=r1 (magic 12)");
        ExtendedUUID en=new ExtendedUUID(B.getMostSignificantBits(), B.getLeastSignificantBits())
          .put("k", null).put("v", new byte[]{1, 2, (byte)0xff});
        en.setFlag((short)2);
        add("addr-extended-uuid-null-value", "Address", new Codec.Addr(en),
            "ExtendedUUID(B) flags 2, keys k=null (written as length 0), v=0102ff");
        add("addr-extended-uuid-empty", "Address",
            new Codec.Addr(new ExtendedUUID(C.getMostSignificantBits(), C.getLeastSignificantBits())),
            "ExtendedUUID(C) without keys");
        ExtendedUUID removed=new ExtendedUUID(D.getMostSignificantBits(), D.getLeastSignificantBits())
          .put("a", new byte[]{1}).put("b", new byte[]{2});
        removed.remove("a");
        add("addr-extended-uuid-removed-key", "Address", new Codec.Addr(removed),
            "ExtendedUUID(D): key a removed, b=02 left (the removed slot is skipped when writing)");

        add("addr-site-uuid", "Address", new Codec.Addr(new SiteUUID(A, "A", "nyc")), "SiteUUID(A, name A, site nyc): tag 0x04");
        add("addr-site-uuid-null-name", "Address", new Codec.Addr(new SiteUUID(B, null, "lon")),
            "SiteUUID(B, name null, site lon)");
        SiteUUID sk=new SiteUUID(C, "C", "sfo");
        sk.put("x", new byte[]{7});
        add("addr-site-uuid-keys", "Address", new Codec.Addr(sk), "SiteUUID(C, name C, site sfo) with key x=07");
        add("addr-site-master", "Address", new Codec.Addr(new SiteMaster("nyc")), "SiteMaster(nyc): tag 0x08, UUID 0/0");
        add("addr-site-master-all", "Address", new Codec.Addr(new SiteMaster(null)), "SiteMaster(null) = all site masters");

        add("addr-ip-v4", "Address", new Codec.Addr(PA), "IpAddress 127.0.0.1:7800 (tag 0x10)");
        add("addr-ip-v4-b", "Address", new Codec.Addr(PB), "IpAddress 127.0.0.2:7801");
        add("addr-ip-v4-port-65535", "Address", new Codec.Addr(ip("10.1.2.3", 65535)),
            "IpAddress 10.1.2.3:65535 (port is read as unsigned short)");
        add("addr-ip-v6", "Address", new Codec.Addr(P6), "IpAddress [::1]:7802 (16 bytes + scope id 0)");
        add("addr-ip-v6-scope", "Address", new Codec.Addr(P6_SCOPED), "IpAddress [fe80::1:2:3:4%3]:7803 (scope id 3)");
        add("addr-ip-v6-global", "Address", new Codec.Addr(ip("2001:db8::a:0:0:1", 443)),
            "IpAddress [2001:db8::a:0:0:1]:443 (RFC 5952 compresses the first longest zero run)");
        add("addr-ip-no-ip", "Address", new Codec.Addr(new IpAddress((java.net.InetAddress)null, 7800)),
            "IpAddress with no InetAddress (length byte 0), port 7800");
        add("addr-millis", "Address", new Codec.Addr(new MillisAddress(1700000000123L)),
            "MillisAddress(1700000000123): generic tag 0x00 + magic 22 + i64");

        add("ipaddr-v4", "IpAddress", PA, "IpAddress body only (as in the TCP preamble): 127.0.0.1:7800");
        add("ipaddr-v6", "IpAddress", P6, "IpAddress body only: [::1]:7802");
        add("ipaddr-v6-scope", "IpAddress", P6_SCOPED, "IpAddress body only: [fe80::1:2:3:4%3]:7803");
        add("ipaddr-no-ip", "IpAddress", new IpAddress((java.net.InetAddress)null, 0), "IpAddress body: no ip, port 0");

        add("preamble-v4", "Preamble", new Codec.Preamble(Version.version, PB),
            "TCP preamble of a node listening on 127.0.0.2:7801");
        add("preamble-v4-spec-example", "Preamble", new Codec.Preamble(Version.version, ip("127.0.0.1", 7801)),
            "TCP preamble for 127.0.0.1:7801 (spec 9.1, with this jar's version)");
        add("preamble-v6", "Preamble", new Codec.Preamble(Version.version, P6), "TCP preamble for [::1]:7802 (address length 23)");
        add("preamble-v6-scope", "Preamble", new Codec.Preamble(Version.version, P6_SCOPED),
            "TCP preamble for [fe80::1:2:3:4%3]:7803");
    }

    // ------------------------------------------------------------------ views, digests, join responses, discovery data

    static View view(Address creator, long id, Address... mbrs) {
        return View.create(creator, id, mbrs);
    }

    static MutableDigest digest(Address[] mbrs, long... hdhr) {
        MutableDigest d=new MutableDigest(mbrs);
        for(int i=0; i < mbrs.length; i++)
            d.set(mbrs[i], hdhr[2 * i], hdhr[2 * i + 1]);
        return d;
    }

    static MergeView mergeView() {
        // creators B (member, index 1) and D (not a member: index -1 + address); member D likewise
        List<View> subgroups=List.of(view(B, 5, B, A), view(D, 7, C, D));
        return new MergeView(new ViewId(A, 8), new Address[]{A, B, C}, subgroups);
    }

    void objects() throws Exception {
        add("viewid-a-1", "ViewId", new ViewId(A, 1), "ViewId [A|1]");
        add("viewid-b-300", "ViewId", new ViewId(B, 300), "ViewId [B|300]");
        add("viewid-d-max", "ViewId", new ViewId(D, Long.MAX_VALUE), "ViewId [D|Long.MAX_VALUE]");

        add("view-a-1", "View", view(A, 1, A, B), "View [A|1] {A, B}");
        add("view-a-3-abcd", "View", view(A, 3, A, B, C, D), "View [A|3] {A, B, C, D}");
        add("view-single", "View", view(C, 1, C), "View [C|1] {C}");
        add("view-empty", "View", new View(new ViewId(A, 2), new Address[0]), "View [A|2] with no members");

        add("mergeview-subgroups", "MergeView", mergeView(),
            "MergeView [A|8] {A,B,C} subgroups [B|5]{B,A} and [D|7]{C,D}: D is no member, written as index -1 + address");
        add("mergeview-no-subgroups", "MergeView", new MergeView(new ViewId(B, 2), new Address[]{B, A}, null),
            "MergeView [B|2] {B,A} with null subgroups (count 0)");
        add("mergeview-all-members", "MergeView",
            new MergeView(new ViewId(A, 4), new Address[]{A, B, C}, List.of(view(A, 3, A, C), view(B, 2, B))),
            "MergeView [A|4] {A,B,C} subgroups [A|3]{A,C}, [B|2]{B}: every address written as index");

        add("digest-abc", "Digest", digest(new Address[]{A, B, C}, 0, 0, 5, 5, 300, 310),
            "Digest with members {A:(0,0), B:(5,5), C:(300,310)}");
        add("digest-large", "Digest", digest(new Address[]{D, A}, 1000, 70000, 1L << 40, (1L << 40) + 1),
            "Digest {D:(1000,70000), A:(2^40, 2^40+1)}");
        add("digest-empty", "Digest", new Digest(new Address[0], new long[0]), "Digest with no members");

        Digest jd=digest(new Address[]{A, B}, 0, 0, 0, 0);
        add("joinrsp-view-digest", "JoinRsp", new JoinRsp(view(A, 1, A, B), jd),
            "JoinRsp: view [A|1]{A,B} + digest without members {(0,0),(0,0)} (flags 03; spec 9.3 without presence byte)");
        add("joinrsp-view-digest-3", "JoinRsp",
            new JoinRsp(view(A, 2, A, B, C), digest(new Address[]{A, B, C}, 1, 1, 0, 0, 0, 0)),
            "JoinRsp: view [A|2]{A,B,C} + digest {A:(1,1), B:(0,0), C:(0,0)}");
        add("joinrsp-fail-reason", "JoinRsp", new JoinRsp("authentication failed: bad token"),
            "JoinRsp with only a fail reason (flags 04, writeUTF)");
        JoinRsp jrAll=new JoinRsp(view(B, 9, B, C), digest(new Address[]{B, C}, 3, 4, 5, 6));
        jrAll.setFailReason("rejected \u00e9");
        add("joinrsp-all", "JoinRsp", jrAll, "JoinRsp with view, digest and a non-ASCII fail reason (flags 07)");
        add("joinrsp-view-only", "JoinRsp", new JoinRsp(view(A, 5, A), null), "JoinRsp with view [A|5]{A} and no digest");
        add("joinrsp-empty", "JoinRsp", new JoinRsp(), "JoinRsp with nothing set (flags 00)");

        PingData coord=new PingData(A, true, "A", PA).coord(true);
        PingData server=new PingData(B, true, "B", PB);
        PingData client=new PingData(C, false, null, null);
        PingData withMbrs=new PingData(B, false, "B", PB).mbrs(List.of(A, C));
        PingData v6=new PingData(D, true, "D-\u00fc", P6_SCOPED);
        add("pingdata-coord", "PingData", coord, "PingData(A, server+coord (03), name A, 127.0.0.1:7800, mbrs null)");
        add("pingdata-server", "PingData", server, "PingData(B, server (01), name B, 127.0.0.2:7801)");
        add("pingdata-client-nulls", "PingData", client, "PingData(C, flags 0, name null, physical null, mbrs null)");
        add("pingdata-mbrs", "PingData", withMbrs, "PingData(B, flags 0, name B, 127.0.0.2:7801, mbrs [A, C])");
        add("pingdata-v6-nonascii", "PingData", v6, "PingData(D, server, name 'D-\u00fc', [fe80::1:2:3:4%3]:7803)");
        add("pingdata-empty-mbrs", "PingData", new PingData(A, false, "A", PA).mbrs(List.of()),
            "PingData with an empty (not null) mbrs list");
        add("pingdatalist-1", "PingDataList", List.of(coord), "Discovery.marshal([coord]): i32 count 1 + PingData");
        add("pingdatalist-3", "PingDataList", List.of(coord, server, client), "Discovery.marshal of 3 entries");
        add("pingdatalist-empty", "PingDataList", List.of(), "Discovery.marshal of an empty list (count 0)");

        View va1=view(A, 1, A, B);
        View va2=view(A, 2, A, B, C);
        add("vdb-full-view", "ViewDigestBlock", new Codec.ViewDigest(va1, null),
            "GMS.marshal(view [A|1]{A,B}, null): flags 0x0011 (full VIEW)");
        add("vdb-delta-view", "ViewDigestBlock",
            new Codec.ViewDigest(new DeltaView(new ViewId(A, 2), new ViewId(A, 1), new Address[0], new Address[]{C}), null),
            "GMS.marshal(DeltaView [A|2] ref [A|1] left {} joined {C}, null): flags 0x0019");
        add("vdb-delta-view-left", "ViewDigestBlock",
            new Codec.ViewDigest(new DeltaView(new ViewId(A, 4), new ViewId(A, 3), new Address[]{C}, new Address[0]), null),
            "DeltaView [A|4] ref [A|3] left {C} joined {}");
        add("vdb-view-digest-same-members", "ViewDigestBlock",
            new Codec.ViewDigest(va2, digest(new Address[]{A, B, C}, 4, 4, 0, 0, 2, 3)),
            "GMS.marshal(view, digest with the view's members): flags 0x0003, digest without members (MERGE_RSP)");
        add("vdb-view-digest-other-members", "ViewDigestBlock",
            new Codec.ViewDigest(va2, digest(new Address[]{A, B}, 4, 4, 1, 1)),
            "view {A,B,C} with digest {A,B}: member arrays differ so flags 0x0013 and the digest carries members");
        add("vdb-merge-view-digest", "ViewDigestBlock",
            new Codec.ViewDigest(mergeView(), digest(new Address[]{A, B, C}, 10, 10, 20, 21, 0, 0)),
            "GMS.marshal(MergeView, digest): flags 0x0007");
        add("vdb-digest-only", "ViewDigestBlock", new Codec.ViewDigest(null, digest(new Address[]{B}, 36, 36)),
            "GMS.marshal(null, digest {B:(36,36)}): flags 0x0012 (GET_DIGEST_RSP)");
        add("vdb-empty", "ViewDigestBlock", new Codec.ViewDigest(null, null), "GMS.marshal(null, null): flags 0x0010");
    }

    // ------------------------------------------------------------------ message types (kind "message")

    static Message ab(Message m) {
        return m.setDest(B).setSrc(A);
    }

    void messageTypes() throws Exception {
        add("msg-bytes-null-array", "message", ab(new BytesMessage()), "BytesMessage without array (length -1)");
        add("msg-bytes-empty-array", "message", ab(new BytesMessage(null, new byte[0])), "BytesMessage with an empty array");
        add("msg-bytes-1k", "message", ab(new BytesMessage(null, pattern(1024, 7))), "BytesMessage with 1024 pattern bytes");
        add("msg-bytes-slice-offset", "message", ab(new BytesMessage(null, pattern(100, 1), 10, 20)),
            "BytesMessage over array[100] with offset 10, length 20: only the slice is written");
        add("msg-bytes-1-byte", "message", ab(new BytesMessage(null, new byte[]{(byte)0x80})), "BytesMessage with one byte 80");

        add("msg-nio-heap", "message", ab(new NioMessage(null, ByteBuffer.wrap(pattern(16, 3)))),
            "NioMessage with a heap ByteBuffer (16 bytes), use_direct_memory false");
        ByteBuffer direct=ByteBuffer.allocateDirect(12);
        direct.put(pattern(12, 9)).flip();
        add("msg-nio-direct", "message", ab(new NioMessage(null, direct)),
            "NioMessage with a direct ByteBuffer (12 bytes); the flag written is use_direct_memory (false), not isDirect()");
        ByteBuffer direct2=ByteBuffer.allocateDirect(5);
        direct2.put(pattern(5, 4)).flip();
        add("msg-nio-direct-flag", "message", ab(new NioMessage(null, direct2).useDirectMemory(true)),
            "NioMessage with a direct ByteBuffer and useDirectMemory(true)");
        ByteBuffer sliced=ByteBuffer.wrap(pattern(32, 5), 4, 8);
        add("msg-nio-heap-position", "message", ab(new NioMessage(null, sliced)),
            "NioMessage over a heap buffer with position 4, limit 12: 8 bytes written");
        add("msg-nio-null", "message", ab(new NioMessage()), "NioMessage without buffer (length -1)");

        add("msg-empty", "message", ab(new EmptyMessage()), "EmptyMessage");

        add("msg-object-null", "message", ab(new ObjectMessage(null, (Object)null)), "ObjectMessage with no object (presence 0)");
        Object[][] prims={
          {"boolean-true", true}, {"boolean-false", false}, {"byte", (byte)-7}, {"char", 'Z'},
          {"char-nonbmp-high-surrogate", '\ud834'}, {"double", 3.141592653589793}, {"double-neg-zero", -0.0d},
          {"float", 1.5f}, {"float-nan", Float.intBitsToFloat(0x7fc00001)}, {"int", -123456}, {"int-max", Integer.MAX_VALUE},
          {"long", 1L << 40}, {"long-min", Long.MIN_VALUE}, {"short", (short)-2}, {"string-ascii", "hello world"},
          {"string-empty", ""}, {"string-ascii-nul", "a\u0000b\u007f"}, {"string-nonascii", "h\u00e9llo w\u00f6rld \u20ac \ud834\udd1e \u0000"},
          {"bytearray", new byte[]{0, 1, (byte)0xfe, (byte)0xff}}, {"bytearray-empty", new byte[0]},
          {"class", Integer.class}};
        for(Object[] p: prims) {
            String desc="ObjectMessage(" + p[1].getClass().getSimpleName() + ") -> ObjectWrapperPrimitive (magic 21), SERIALIZED flag";
            if("float-nan".equals(p[0]))
                desc+="; input NaN bits 0x7fc00001, DataOutput.writeFloat canonicalises to 0x7fc00000";
            if("string-ascii-nul".equals(p[0]))
                desc+="; all chars < 128 (NUL included) so the 1-byte-per-char path is used, not writeUTF";
            if("string-nonascii".equals(p[0]))
                desc+="; non-ASCII so writeUTF (modified UTF-8: NUL as c0 80, U+1D11E as two 3-byte surrogates)";
            if("class".equals(p[0]))
                desc+="; a Class is written as tag 19 followed by the class' own type byte (12 = Integer)";
            add("msg-object-" + p[0], "message", ab(new ObjectMessage(null, p[1])), desc);
        }
        add("msg-object-primitive-null", "message", ab(new ObjectMessage(null, (SizeStreamable)new ObjectWrapperPrimitive(null))),
            "ObjectMessage holding ObjectWrapperPrimitive(null): magic 21, tag 0 (no SERIALIZED flag: set via SizeStreamable)");
        add("msg-object-serializable", "message", ab(new ObjectMessage(null, new ArrayList<>(List.of(1, 2, 3)))),
            "ObjectMessage(ArrayList[1,2,3]) -> ObjectWrapperSerializable (magic 20), Java serialization bytes");
        add("msg-object-serializable-null", "message",
            ab(new ObjectMessage(null, (SizeStreamable)new ObjectWrapperSerializable(null))),
            "ObjectMessage holding ObjectWrapperSerializable(null): magic 20, length -1");
        add("msg-object-seqnolist", "message", ab(new ObjectMessage(null, new SeqnoList(10, 34).add(34, 35, 40))),
            "ObjectMessage(SeqnoList {34,35,40}): magic 15, as in XMIT_REQ");
        add("msg-object-digest", "message", ab(new ObjectMessage(null, new Digest(digest(new Address[]{A, B}, 2, 2, 36, 36)))),
            "ObjectMessage(Digest {A:(2,2), B:(36,36)}): magic 9");
        add("msg-object-mutable-digest", "message",
            ab(new ObjectMessage(null, digest(new Address[]{A, B, C}, 2, 2, 36, 36, 1, 1))),
            "ObjectMessage(MutableDigest {A:(2,2), B:(36,36), C:(1,1)}): magic 10, as in STABLE");
        add("msg-object-view", "message", ab(new ObjectMessage(null, view(A, 1, A, B))),
            "ObjectMessage(View): magic 4, an 'opaque' payload in the canonical JSON");

        long[] lv={0, 1, 1600012, -1, Long.MAX_VALUE};
        for(long v: lv)
            add("msg-long-" + (v == -1? "neg1" : v == Long.MAX_VALUE? "max" : String.valueOf(v)), "message",
                ab(new LongMessage(null, v)), "LongMessage(" + v + "): vlong payload");

        CompositeMessage comp=new CompositeMessage(B,
                                                   new BytesMessage(B, new byte[]{1, 2, 3}),
                                                   new EmptyMessage(B).setFlag(OOB),
                                                   new ObjectMessage(B, "part3").setSrc(C));
        comp.setSrc(A);
        add("msg-composite", "message", comp,
            "CompositeMessage A->B of BytesMessage(010203), EmptyMessage(OOB), ObjectMessage('part3', src C written)");
        CompositeMessage coll=new CompositeMessage(B, new BytesMessage(B, new byte[]{1, 2}), new BytesMessage(B, new byte[]{3}))
          .collapse(true);
        coll.setSrc(A);
        add("msg-composite-collapsed", "message", coll,
            "CompositeMessage with collapse=true: written as type 0 (BytesMessage) with the concatenated payloads");

        Message orig=headers(new ObjectMessage(B, "a message that FRAG4 cut into pieces").setSrc(A), UNICAST3_ID,
                             UnicastHeader3.createDataHeader(3, (short)0, false));
        int size=orig.size();
        add("msg-fragmented-0", "message", fragment4(orig, 0, 20, 0, 2),
            "FragmentedMessage (FRAG4): bytes [0,20) of the original ObjectMessage's writeTo(), FragHeader original_type 3");
        add("msg-fragmented-1", "message", fragment4(orig, 20, size - 20, 1, 2),
            "FragmentedMessage (FRAG4): bytes [20," + size + ") of the same original");

        Message[] inner={new BytesMessage(B, new byte[]{9}).setSrc(A),
                         new EmptyMessage(B).setSrc(A).setFlag(OOB),
                         new LongMessage(B, 42).setSrc(A)};
        add("msg-batch", "message", new BatchMessage(B, A, inner, inner.length).setSrc(A),
            "BatchMessage (EARLYBATCH_MSG 7) A->B, orig_src A, 3 messages whose src equals the batch's (not written)");
        Message[] inner2={new ObjectMessage(B, 7).setSrc(C), new BytesMessage(B, new byte[0]).setSrc(C)};
        add("msg-batch-other-orig-src", "message", new BatchMessage(B, C, inner2, inner2.length).setSrc(A),
            "BatchMessage src A, orig_src C; inner src C differs from the batch src so it is written");
    }

    static Message fragment4(Message orig, int off, int len, int fragId, int numFrags) {
        // as FRAG4.fragment() does for a message without an array
        return new FragmentedMessage(orig, off, len).setDest(orig.getDest()).setSrc(orig.getSrc())
          .setFlag(orig.getFlags(false), false)
          .putHeader(FRAG4_ID, new FragHeader(5, fragId, numFrags).setOriginalType(orig.getType()))
          .putHeader(UNICAST3_ID, UnicastHeader3.createDataHeader(10 + fragId, (short)1, false))
          .putHeader(TP_ID, tp());
    }

    // ------------------------------------------------------------------ flags and addressing (kind "message")

    void flags() throws Exception {
        Message.Flag[] all=Message.Flag.values();
        for(Message.Flag f: all)
            add("msg-flag-" + f.name().toLowerCase().replace('_', '-'), "message",
                ab(new EmptyMessage()).setFlag(f), "EmptyMessage with only flag " + f.name() + " (0x" +
                  String.format("%04x", f.value()) + ")");
        add("msg-flags-all", "message", ab(new EmptyMessage()).setFlag(all), "EmptyMessage with every Message.Flag set");
        add("msg-flags-oob-dont-bundle", "message", ab(new BytesMessage()).setFlag(OOB, DONT_BUNDLE),
            "flags 0x0003 as on discovery and credit messages");
        add("msg-flags-view", "message", ab(new EmptyMessage()).setFlag(NO_FC, NO_RELAY), "flags 0x0044 as on GMS VIEW");
        add("msg-flags-stability", "message", ab(new EmptyMessage()).setFlag(OOB, NO_RELIABILITY, NO_RELAY, NO_FC),
            "flags 0x0055 as on STABILITY");
        for(int bit: new int[]{3, 9, 12, 15})
            add("msg-flag-unknown-bit" + bit, "message", ab(new EmptyMessage()).setFlag((short)(1 << bit), false, false),
                "EmptyMessage with the unassigned flag bit " + bit + " set (canonical name 0x" +
                  String.format("%04x", 1 << bit) + ")");
        Message transientFlags=ab(new EmptyMessage()).setFlag(OOB);
        transientFlags.setFlag(Message.TransientFlag.DONT_LOOPBACK, Message.TransientFlag.DONT_BLOCK,
                               Message.TransientFlag.OOB_DELIVERED);
        add("msg-transient-flags-not-written", "message", transientFlags,
            "EmptyMessage OOB plus all transient flags: only OOB reaches the wire");

        add("msg-addr-both-set", "message", new BytesMessage(B, new byte[]{1}).setSrc(A), "dest B, src A (leading 03)");
        add("msg-addr-dest-null", "message", new BytesMessage(null, new byte[]{1}).setSrc(A), "dest null, src A (leading 02)");
        add("msg-addr-src-null", "message", new BytesMessage(B, new byte[]{1}), "dest B, src null (leading 01)");
        add("msg-addr-both-null", "message", new BytesMessage(null, new byte[]{1}), "dest null, src null (leading 00)");
        add("msg-addr-ip-dest", "message", new EmptyMessage(PB).setSrc(A), "dest IpAddress 127.0.0.2:7801 (discovery, MERGE3 INFO)");
        add("msg-addr-extended-src", "message",
            new EmptyMessage(B).setSrc(new ExtendedUUID(A.getMostSignificantBits(), A.getLeastSignificantBits())
                                          .put("site", "NYC".getBytes())),
            "src is an ExtendedUUID (generic address tag inside a message)");
        add("msg-addr-site-uuids", "message", new EmptyMessage(new SiteMaster("lon")).setSrc(new SiteUUID(A, "A", "nyc")),
            "dest SiteMaster(lon), src SiteUUID(A, nyc)");
    }

    // ------------------------------------------------------------------ frames

    static Message app(Address dest, Address src, byte[] payload) {
        return new BytesMessage(dest, payload).setSrc(src);
    }

    void frames() throws Exception {
        frame("frame-single-unicast",
              headers(app(B, A, "hello B".getBytes()), UNICAST3_ID, UnicastHeader3.createDataHeader(1, (short)0, true), TP_ID, tp()),
              "application unicast A->B: BytesMessage [UNICAST3 DATA #1 conn 0 first, TP demo]");
        frame("frame-single-multicast",
              headers(app(null, A, "hello all".getBytes()), NAKACK2_ID, NakAckHeader2.createMessageHeader(1), TP_ID, tp()),
              "application multicast from A: BytesMessage [NAKACK2 MSG #1, TP demo], TP flags 02");

        List<Message> ul=List.of(
          headers(new EmptyMessage(B).setSrc(A).setFlag(NO_FC), UNICAST3_ID, UnicastHeader3.createAckHeader(36, (short)0, 9),
                  TP_ID, tp()),
          headers(new ObjectMessage(B, new SeqnoList(1, 37).add(37)).setSrc(C).setFlag(OOB, NO_FC),
                  UNICAST3_ID, UnicastHeader3.createXmitReqHeader(), TP_ID, tp()),
          headers(app(B, null, new byte[]{5}), UNICAST3_ID, UnicastHeader3.createDataHeader(7, (short)0, false), TP_ID, tp()));
        add("frame-list-unicast", "frame", Codec.Frame.list(B, A, CLUSTER, ul),
            "unicast list A->B: UNICAST3 ACK (src = list src, omitted), XMIT_REQ with src C (written), DATA with src null");
        List<Message> ml=new ArrayList<>();
        for(int i=0; i < 3; i++)
            ml.add(headers(app(null, A, pattern(10 + i, i)), NAKACK2_ID, NakAckHeader2.createMessageHeader(20 + i), TP_ID, tp()));
        add("frame-list-multicast", "frame", Codec.Frame.list(null, A, CLUSTER, ml),
            "multicast list from A: 3 BytesMessages [NAKACK2 MSG #20..22, TP], TP flags 03");
        add("frame-list-null-cluster", "frame",
            Codec.Frame.list(B, A, null, List.of(headers(new EmptyMessage(B).setSrc(A), TP_ID, new TpHeader((byte[])null)))),
            "list with a null cluster name (length -1) and a TpHeader with null cluster");
        List<Message> pl=List.of(
          headers(new BytesMessage(PB, Discovery.marshal(new PingData(A, true, "A", PA).coord(true))).setSrc(A).setFlag(OOB, DONT_BUNDLE),
                  TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_RSP), TP_ID, tp()),
          headers(new BytesMessage(PB, Discovery.marshal(new PingData(C, true, "C", ip("127.0.0.1", 7802)))).setSrc(A)
                    .setFlag(OOB, DONT_BUNDLE), TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_RSP), TP_ID, tp()));
        add("frame-list-ip-dest", "frame", Codec.Frame.list(PB, A, CLUSTER, pl),
            "list to a physical address (discovery responses bundled): list dest is an IpAddress");
        List<Message> one=List.of(headers(app(B, A, new byte[0]), UNICAST3_ID, UnicastHeader3.createDataHeader(2, (short)0, false),
                                          TP_ID, tp()));
        add("frame-list-single-element", "frame", Codec.Frame.list(B, A, CLUSTER, one), "a list holding one message");
        List<Message> mixed=List.of(
          headers(app(B, A, new byte[]{1}), UNICAST3_ID, UnicastHeader3.createDataHeader(3, (short)0, false), TP_ID, tp()),
          headers(new ObjectMessage(B, "x").setSrc(A).setFlag(OOB), UNICAST3_ID,
                  UnicastHeader3.createDataHeader(4, (short)0, false), TP_ID, tp()),
          headers(new LongMessage(B, 1600012).setSrc(A).setFlag(OOB, DONT_BUNDLE), UFC_ID, new FcHeader(FcHeader.REPLENISH),
                  UNICAST3_ID, UnicastHeader3.createDataHeader(5, (short)0, false), TP_ID, tp()));
        add("frame-list-mixed-types", "frame", Codec.Frame.list(B, A, CLUSTER, mixed),
            "unicast list of a BytesMessage, an OOB ObjectMessage and a UFC REPLENISH LongMessage");
    }

    // ------------------------------------------------------------------ TP header

    void transportHeaders() throws Exception {
        frame("hdr-tp-plain", headers(new EmptyMessage(B).setSrc(A), TP_ID, tp()), "EmptyMessage with only a TpHeader('demo'), rtt flag 0");
        frame("hdr-tp-rtt-req", headers(new EmptyMessage(B).setSrc(A), TP_ID, new TpHeader(CLUSTER, TpHeader.REQ, 17)),
              "TpHeader with rtt flag 1 (request) and index 17");
        frame("hdr-tp-rtt-rsp", headers(new EmptyMessage(A).setSrc(B), TP_ID, new TpHeader(CLUSTER, TpHeader.RSP, 17)),
              "TpHeader with rtt flag 2 (response) and index 17");
        frame("hdr-tp-null-cluster", headers(new EmptyMessage(B).setSrc(A), TP_ID, new TpHeader((byte[])null)),
              "TpHeader with a null cluster name (i16 -1)");
        frame("hdr-tp-long-cluster", headers(new EmptyMessage(B).setSrc(A), TP_ID,
                                             new TpHeader("a-much-longer-cluster-name-0123456789")),
              "TpHeader with a 36-character cluster name");
    }

    // ------------------------------------------------------------------ discovery

    void discovery() throws Exception {
        Object[][] protos={{"tcpping", TCPPING_ID}, {"dns-ping", DNS_PING_ID}, {"kube-ping", KUBE_PING_ID}, {"mping", MPING_ID}};
        for(Object[] p: protos) {
            String n=(String)p[0];
            short id=(Short)p[1];
            frame("hdr-ping-" + n + "-req",
                  headers(new BytesMessage(PA, Discovery.marshal(new PingData(B, false, "B", PB))).setSrc(B).setFlag(OOB, DONT_BUNDLE),
                          id, new PingHeader(PingHeader.GET_MBRS_REQ).clusterName(CLUSTER).initialDiscovery(true), TP_ID, tp()),
                  "GET_MBRS_REQ under protocol id " + id + " from joiner B to 127.0.0.1:7800, initial discovery, PingData(B, flags 0)");
            frame("hdr-ping-" + n + "-rsp",
                  headers(new BytesMessage(B, Discovery.marshal(new PingData(A, true, "A", PA).coord(true))).setSrc(A)
                            .setFlag(OOB, DONT_BUNDLE), id, new PingHeader(PingHeader.GET_MBRS_RSP), TP_ID, tp()),
                  "GET_MBRS_RSP under protocol id " + id + " from coordinator A: PingData(A, server+coord)");
        }
        frame("hdr-ping-tcpping-req-mbrs",
              headers(new BytesMessage(PB, Discovery.marshal(new PingData(A, true, "A", PA).mbrs(List.of(C)))).setSrc(A)
                        .setFlag(OOB, DONT_BUNDLE),
                      TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_REQ).clusterName(CLUSTER).initialDiscovery(false), TP_ID, tp()),
              "non-initial GET_MBRS_REQ asking for member C (who-has), PingData flags server");
        frame("hdr-ping-tcpping-rsp-multi",
              headers(new BytesMessage(B, Discovery.marshal(List.of(new PingData(A, true, "A", PA).coord(true),
                                                                    new PingData(C, true, "C", ip("127.0.0.1", 7802)),
                                                                    new PingData(D, false, null, null)))).setSrc(A)
                        .setFlag(OOB, DONT_BUNDLE), TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_RSP), TP_ID, tp()),
              "GET_MBRS_RSP with 3 PingData entries (return_entire_cache style), one with null name and address");
        frame("hdr-ping-tcpping-rsp-server",
              headers(new BytesMessage(C, Discovery.marshal(new PingData(B, true, "B", PB))).setSrc(A)
                        .setFlag(OOB, DONT_BUNDLE), TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_RSP), TP_ID, tp()),
              "unsolicited GET_MBRS_RSP (cache dissemination on join): A tells C about B (server flag only)");
        frame("hdr-ping-tcpping-req-null-cluster",
              headers(new BytesMessage(PA, Discovery.marshal(new PingData(B, false, null, PB))).setSrc(B).setFlag(OOB, DONT_BUNDLE),
                      TCPPING_ID, new PingHeader(PingHeader.GET_MBRS_REQ), TP_ID, tp()),
              "GET_MBRS_REQ with null cluster name and null logical name");
    }

    // ------------------------------------------------------------------ GMS

    static GMS.GmsHeader gms(byte type) {
        return new GMS.GmsHeader(type);
    }

    static MergeId mergeId(Address initiator, int id) {
        return Access.construct(MergeId.class, new Class<?>[]{Address.class, int.class}, initiator, id);
    }

    static UnicastHeader3 data(long seqno, boolean first) {
        return UnicastHeader3.createDataHeader(seqno, (short)0, first);
    }

    void gms() throws Exception {
        View va1=view(A, 1, A, B);
        MergeId mid=mergeId(A, 7);
        frame("hdr-gms-join-req",
              headers(new BytesMessage(A).setSrc(B).setFlag(OOB), GMS_ID, new GMS.GmsHeader(GMS.GmsHeader.JOIN_REQ, B),
                      UNICAST3_ID, data(1, true), TP_ID, tp()),
              "JOIN_REQ (1) B->A: BytesMessage without array, OOB, mbr B, UNICAST3 DATA #1 first (spec 9.2)");
        frame("hdr-gms-join-rsp",
              headers(new BytesMessage(B, GMS.marshal(new JoinRsp(va1, digest(new Address[]{A, B}, 0, 0, 0, 0)))).setSrc(A),
                      GMS_ID, gms(GMS.GmsHeader.JOIN_RSP), UNICAST3_ID, data(1, true), TP_ID, tp()),
              "JOIN_RSP (2) A->B: presence byte + JoinRsp(view [A|1]{A,B}, digest {(0,0),(0,0)}) (spec 9.3)");
        frame("hdr-gms-join-rsp-oob",
              headers(new BytesMessage(B, GMS.marshal(new JoinRsp(view(A, 2, A, B, C), digest(new Address[]{A, B, C}, 1, 1, 0, 0, 0, 0))))
                        .setSrc(A).setFlag(OOB), GMS_ID, gms(GMS.GmsHeader.JOIN_RSP), UNICAST3_ID, data(4, false), TP_ID, tp()),
              "JOIN_RSP re-sent (OOB) to an already joined member, view [A|2]{A,B,C}");
        frame("hdr-gms-join-rsp-fail",
              headers(new BytesMessage(B, GMS.marshal(new JoinRsp("JOIN rejected by AUTH"))).setSrc(A).setFlag(OOB),
                      GMS_ID, gms(GMS.GmsHeader.JOIN_RSP), UNICAST3_ID, data(1, true), TP_ID, tp()),
              "JOIN_RSP carrying only a fail reason");
        frame("hdr-gms-leave-req",
              headers(new EmptyMessage(A).setSrc(C).setFlag(OOB), GMS_ID, new GMS.GmsHeader(GMS.GmsHeader.LEAVE_REQ, C),
                      UNICAST3_ID, data(5, false), TP_ID, tp()),
              "LEAVE_REQ (3) C->A: EmptyMessage OOB, mbr C");
        frame("hdr-gms-leave-rsp",
              headers(new EmptyMessage(C).setSrc(A).setFlag(OOB, NO_RELIABILITY), GMS_ID, gms(GMS.GmsHeader.LEAVE_RSP), TP_ID, tp()),
              "LEAVE_RSP (4) A->C: EmptyMessage OOB|NO_RELIABILITY, no UNICAST3 header");
        frame("hdr-gms-view-full",
              headers(new BytesMessage(null, Access.Gms.viewAndDigest(va1, null)).setSrc(A).setFlag(NO_RELAY, NO_FC),
                      GMS_ID, gms(GMS.GmsHeader.VIEW), NAKACK2_ID, NakAckHeader2.createMessageHeader(1), TP_ID, tp()),
              "VIEW (5) multicast: full view [A|1]{A,B}, block flags 0x0011, NAKACK2 MSG #1, message flags 0x0044");
        frame("hdr-gms-view-delta",
              headers(new BytesMessage(null, Access.Gms.viewAndDigest(
                        new DeltaView(new ViewId(A, 2), new ViewId(A, 1), new Address[0], new Address[]{C}), null))
                        .setSrc(A).setFlag(NO_RELAY, NO_FC),
                      GMS_ID, gms(GMS.GmsHeader.VIEW), NAKACK2_ID, NakAckHeader2.createMessageHeader(2), TP_ID, tp()),
              "VIEW delta: [A|2] ref [A|1] joined {C}, block flags 0x0019, NAKACK2 MSG #2");
        frame("hdr-gms-view-merge",
              headers(new BytesMessage(null, Access.Gms.viewAndDigest(mergeView(), digest(new Address[]{A, B, C}, 10, 10, 20, 21, 0, 0)))
                        .setSrc(A).setFlag(NO_RELAY, NO_FC, NO_TOTAL_ORDER),
                      GMS_ID, gms(GMS.GmsHeader.VIEW), NAKACK2_ID, NakAckHeader2.createMessageHeader(11), TP_ID, tp()),
              "VIEW with a MergeView and digest (block flags 0x0007), message flags 0x0064");
        frame("hdr-gms-view-unicast-reply",
              headers(new BytesMessage(B, Access.Gms.viewAndDigest(view(A, 3, A, B, C), null)).setSrc(A).setFlag(OOB, NO_FC),
                      GMS_ID, gms(GMS.GmsHeader.VIEW), UNICAST3_ID, data(6, false), TP_ID, tp()),
              "VIEW sent as the unicast answer to GET_CURRENT_VIEW (OOB|NO_FC, via UNICAST3)");
        frame("hdr-gms-merge-req",
              headers(new BytesMessage(B, Access.Gms.members(List.of(B, C))).setSrc(A).setFlag(OOB),
                      GMS_ID, gms(GMS.GmsHeader.MERGE_REQ).mbr(A).mergeId(mid), UNICAST3_ID, data(8, false), TP_ID, tp()),
              "MERGE_REQ (6) A->B: mbr A, merge id A::7 (flags 0x0004), payload = member list {B, C}");
        frame("hdr-gms-merge-rsp",
              headers(new BytesMessage(A, Access.Gms.viewAndDigest(view(B, 5, B, C), digest(new Address[]{B, C}, 3, 3, 4, 4)))
                        .setSrc(B).setFlag(OOB),
                      GMS_ID, gms(GMS.GmsHeader.MERGE_RSP).mergeId(mid), UNICAST3_ID, data(9, false), TP_ID, tp()),
              "MERGE_RSP (7) B->A: merge id, view [B|5]{B,C} + digest (block flags 0x0003)");
        frame("hdr-gms-merge-rsp-rejected",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB),
                      GMS_ID, gms(GMS.GmsHeader.MERGE_RSP).mergeId(mid).mergeRejected(true), UNICAST3_ID, data(10, false),
                      TP_ID, tp()),
              "MERGE_RSP with MERGE_REJECTED: GmsHeader flags 0x0014");
        frame("hdr-gms-merge-rejected-no-merge-id",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB), GMS_ID, gms(GMS.GmsHeader.MERGE_RSP).mergeRejected(true),
                      UNICAST3_ID, data(11, false), TP_ID, tp()),
              "MERGE_RSP rejected without merge id: GmsHeader flags 0x0010");
        frame("hdr-gms-install-merge-view",
              headers(new BytesMessage(B, Access.Gms.viewAndDigest(mergeView(), digest(new Address[]{A, B, C}, 10, 10, 20, 21, 0, 0)))
                        .setSrc(A),
                      GMS_ID, gms(GMS.GmsHeader.INSTALL_MERGE_VIEW).mergeId(mid), UNICAST3_ID, data(12, false), TP_ID, tp()),
              "INSTALL_MERGE_VIEW (8) A->B: MergeView + digest");
        frame("hdr-gms-cancel-merge",
              headers(new EmptyMessage(B).setSrc(A), GMS_ID, gms(GMS.GmsHeader.CANCEL_MERGE).mergeId(mid),
                      UNICAST3_ID, data(13, false), TP_ID, tp()),
              "CANCEL_MERGE (9) A->B with merge id");
        frame("hdr-gms-view-ack",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB, NO_FC), GMS_ID, gms(GMS.GmsHeader.VIEW_ACK),
                      UNICAST3_ID, data(2, false), TP_ID, tp()),
              "VIEW_ACK (10) B->A: EmptyMessage OOB|NO_FC, UNICAST3 DATA #2");
        frame("hdr-gms-join-req-with-state-transfer",
              headers(new BytesMessage(A).setSrc(C).setFlag(OOB),
                      GMS_ID, new GMS.GmsHeader(GMS.GmsHeader.JOIN_REQ_WITH_STATE_TRANSFER, C), UNICAST3_ID, data(1, true),
                      TP_ID, tp()),
              "JOIN_REQ_WITH_STATE_TRANSFER (11) C->A");
        frame("hdr-gms-get-digest-req",
              headers(new EmptyMessage().setSrc(B).setFlag(OOB), GMS_ID, gms(GMS.GmsHeader.GET_DIGEST_REQ).mergeId(mid),
                      NAKACK2_ID, NakAckHeader2.createMessageHeader(4), TP_ID, tp()),
              "GET_DIGEST_REQ (13) multicast from subgroup coordinator B during a merge (NAKACK2 MSG #4)");
        frame("hdr-gms-get-digest-rsp",
              headers(new BytesMessage(B, Access.Gms.viewAndDigest(null, digest(new Address[]{C}, 7, 8))).setSrc(C)
                        .setFlag(OOB, NO_FC), GMS_ID, gms(GMS.GmsHeader.GET_DIGEST_RSP), UNICAST3_ID, data(3, false), TP_ID, tp()),
              "GET_DIGEST_RSP (14) C->B: block flags 0x0012, digest {C:(7,8)} with members");
        frame("hdr-gms-install-digest",
              headers(new BytesMessage(null, Access.Gms.viewAndDigest(null, digest(new Address[]{A, B}, 5, 5, 6, 6))).setSrc(A),
                      GMS_ID, gms(GMS.GmsHeader.INSTALL_DIGEST), NAKACK2_ID, NakAckHeader2.createMessageHeader(12), TP_ID, tp()),
              "INSTALL_DIGEST (15) multicast from A");
        frame("hdr-gms-get-current-view",
              headers(new BytesMessage(A, Access.Gms.viewId(new ViewId(A, 2))).setSrc(C).setFlag(OOB, NO_FC),
                      GMS_ID, gms(GMS.GmsHeader.GET_CURRENT_VIEW), UNICAST3_ID, data(2, false), TP_ID, tp()),
              "GET_CURRENT_VIEW (16) C->A: payload Util.writeViewId([A|2]) with presence byte");
        frame("hdr-gms-get-current-view-empty",
              headers(new EmptyMessage(A).setSrc(C).setFlag(OOB, NO_FC), GMS_ID, gms(GMS.GmsHeader.GET_CURRENT_VIEW),
                      UNICAST3_ID, data(3, false), TP_ID, tp()),
              "GET_CURRENT_VIEW as an EmptyMessage (as GMS sends it when a delta view cannot be applied)");
    }

    // ------------------------------------------------------------------ NAKACK2

    void nakack2() throws Exception {
        frame("hdr-nakack2-msg",
              headers(app(null, B, "multicast #300".getBytes()), NAKACK2_ID, NakAckHeader2.createMessageHeader(300), TP_ID, tp()),
              "NAKACK2 MSG #300 (vlong 02 2c 01) on an application multicast from B");
        frame("hdr-nakack2-xmit-req",
              headers(new ObjectMessage(A, new SeqnoList(10, 34).add(34, 35, 40)).setSrc(B).setFlag(OOB, NO_FC),
                      NAKACK2_ID, NakAckHeader2.createXmitRequestHeader(A), TP_ID, tp()),
              "NAKACK2 XMIT_REQ B->A for original sender A: ObjectMessage OOB|NO_FC with SeqnoList {34,35,40}");
        NakAckHeader2 rsp=NakAckHeader2.createMessageHeader(35).copy();
        Access.set(rsp, NakAckHeader2.class, "type", NakAckHeader2.XMIT_RSP); // NAKACK2 flips the type of a copy
        frame("hdr-nakack2-xmit-rsp",
              headers(app(B, A, "multicast #35".getBytes()), NAKACK2_ID, rsp, TP_ID, tp()),
              "NAKACK2 XMIT_RSP A->B: copy of A's multicast #35 with the header type changed, no UNICAST3 header");
        frame("hdr-nakack2-highest-seqno",
              headers(new EmptyMessage().setSrc(A).setFlag(OOB, NO_FC), NAKACK2_ID, NakAckHeader2.createHighestSeqnoHeader(42),
                      TP_ID, tp()),
              "NAKACK2 HIGHEST_SEQNO 42: multicast EmptyMessage OOB|NO_FC");
        frame("hdr-nakack2-xmit-req-multiword",
              headers(new ObjectMessage(C, new SeqnoList(130, 1000).add(1000, 1063, 1064, 1129)).setSrc(B).setFlag(OOB, NO_FC),
                      NAKACK2_ID, NakAckHeader2.createXmitRequestHeader(C), TP_ID, tp()),
              "NAKACK2 XMIT_REQ with a 3-word SeqnoList");
    }

    // ------------------------------------------------------------------ UNICAST3

    void unicast3() throws Exception {
        frame("hdr-unicast3-data-first", headers(app(B, A, "first".getBytes()), UNICAST3_ID, data(1, true), TP_ID, tp()),
              "UNICAST3 DATA seqno 1 conn_id 0 first=true");
        frame("hdr-unicast3-data-not-first",
              headers(app(B, A, "later".getBytes()), UNICAST3_ID, UnicastHeader3.createDataHeader(300, (short)7, false), TP_ID, tp()),
              "UNICAST3 DATA seqno 300 conn_id 7 first=false");
        frame("hdr-unicast3-data-conn-max",
              headers(app(B, A, new byte[0]), UNICAST3_ID, UnicastHeader3.createDataHeader(70000, Short.MAX_VALUE, true), TP_ID, tp()),
              "UNICAST3 DATA seqno 70000 conn_id 32767 first=true");
        frame("hdr-unicast3-ack",
              headers(new EmptyMessage(A).setSrc(B).setFlag(NO_FC), UNICAST3_ID, UnicastHeader3.createAckHeader(36, (short)0, 9),
                      TP_ID, tp()),
              "UNICAST3 ACK seqno 36 conn_id 0 timestamp 9 (EmptyMessage NO_FC)");
        frame("hdr-unicast3-send-first-seqno",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB, NO_FC), UNICAST3_ID, UnicastHeader3.createSendFirstSeqnoHeader(3),
                      TP_ID, tp()),
              "UNICAST3 SEND_FIRST_SEQNO timestamp 3");
        frame("hdr-unicast3-xmit-req",
              headers(new ObjectMessage(A, new SeqnoList(3, 5).add(5, 7)).setSrc(B).setFlag(OOB, NO_FC),
                      UNICAST3_ID, UnicastHeader3.createXmitReqHeader(), TP_ID, tp()),
              "UNICAST3 XMIT_REQ B->A: ObjectMessage SeqnoList {5,7}");
        frame("hdr-unicast3-close",
              headers(new EmptyMessage(B).setSrc(A).setFlag(NO_FC), UNICAST3_ID, UnicastHeader3.createCloseHeader((short)7),
                      TP_ID, tp()),
              "UNICAST3 CLOSE conn_id 7");
    }

    // ------------------------------------------------------------------ STABLE

    void stable() throws Exception {
        frame("hdr-stable-gossip",
              headers(new ObjectMessage(A, digest(new Address[]{A, B, C}, 2, 2, 36, 36, 1, 1)).setSrc(B)
                        .setFlag(OOB, NO_RELIABILITY, NO_FC), STABLE_ID,
                      new STABLE.StableHeader(STABLE.StableHeader.STABLE_GOSSIP, new ViewId(A, 2)), TP_ID, tp()),
              "STABLE_GOSSIP B->A, view [A|2], MutableDigest {A:(2,2), B:(36,36), C:(1,1)}, flags 0x0015");
        frame("hdr-stable-stability",
              headers(new ObjectMessage(null, digest(new Address[]{A, B, C}, 2, 2, 36, 36, 1, 1)).setSrc(A)
                        .setFlag(OOB, NO_RELIABILITY, NO_RELAY, NO_FC), STABLE_ID,
                      new STABLE.StableHeader(STABLE.StableHeader.STABILITY, new ViewId(A, 2)), TP_ID, tp()),
              "STABILITY multicast from A, MutableDigest payload, flags 0x0055");
        frame("hdr-stable-stability-digest",
              headers(new ObjectMessage(null, new Digest(digest(new Address[]{A, B}, 9, 9, 3, 4))).setSrc(A)
                        .setFlag(OOB, NO_RELIABILITY, NO_RELAY, NO_FC), STABLE_ID,
                      new STABLE.StableHeader(STABLE.StableHeader.STABILITY, new ViewId(A, 3)), TP_ID, tp()),
              "STABILITY with a plain Digest payload (magic 9)");
        frame("hdr-stable-null-viewid",
              headers(new ObjectMessage(A, digest(new Address[]{B}, 1, 1)).setSrc(B).setFlag(OOB, NO_RELIABILITY, NO_FC),
                      STABLE_ID, new STABLE.StableHeader(STABLE.StableHeader.STABLE_GOSSIP, null), TP_ID, tp()),
              "STABLE_GOSSIP with a null view id (presence byte 0)");
    }

    // ------------------------------------------------------------------ FD_ALL3, FD_SOCK2, VERIFY_SUSPECT2

    static FD_SOCK2.FdHeader fd(byte type) {
        return new FD_SOCK2.FdHeader(type);
    }

    static VERIFY_SUSPECT2.VerifyHeader verify(short type, Address from) {
        return Access.construct(VERIFY_SUSPECT2.VerifyHeader.class, new Class<?>[]{short.class, Address.class}, type, from);
    }

    void failureDetection() throws Exception {
        frame("hdr-fdall3-heartbeat", headers(new EmptyMessage().setSrc(A), FD_ALL3_ID, new FailureDetection.HeartbeatHeader(),
                                              TP_ID, tp()),
              "FD_ALL3 heartbeat: multicast EmptyMessage [HeartbeatHeader (empty body), TP]");

        // FdHeader.readFrom() collects members into a HashSet: use one here too so the order survives a round trip
        frame("hdr-fdsock2-suspect", headers(new EmptyMessage().setSrc(A), FD_SOCK2_ID,
                                             fd(FD_SOCK2.FdHeader.SUSPECT).mbrs(new HashSet<>(List.of(C))), TP_ID, tp()),
              "FD_SOCK2 SUSPECT {C}: multicast EmptyMessage");
        frame("hdr-fdsock2-suspect-two", headers(new EmptyMessage().setSrc(A), FD_SOCK2_ID,
                                                 fd(FD_SOCK2.FdHeader.SUSPECT).mbrs(new HashSet<>(List.of(B, C))), TP_ID, tp()),
              "FD_SOCK2 SUSPECT {B, C} (HashSet order)");
        frame("hdr-fdsock2-unsuspect", headers(new EmptyMessage().setSrc(A), FD_SOCK2_ID,
                                               fd(FD_SOCK2.FdHeader.UNSUSPECT).mbrs(new HashSet<>(List.of(B))), TP_ID, tp()),
              "FD_SOCK2 UNSUSPECT {B}");
        frame("hdr-fdsock2-connect", headers(new EmptyMessage().setSrc(A), FD_SOCK2_ID,
                                             fd(FD_SOCK2.FdHeader.CONNECT).serverAddress(B), TP_ID, tp()),
              "FD_SOCK2 CONNECT(srv B) framed like a TP message (normally sent bare, see bare-fdsock2-connect)");
        frame("hdr-fdsock2-connect-rsp", headers(new EmptyMessage().setSrc(B), FD_SOCK2_ID,
                                                 fd(FD_SOCK2.FdHeader.CONNECT_RSP).cluster(CLUSTER).serverAddress(B), TP_ID, tp()),
              "FD_SOCK2 CONNECT_RSP(cluster demo, srv B) framed like a TP message");
        add("bare-fdsock2-connect", "bare", new EmptyMessage().setSrc(A).putHeader(FD_SOCK2_ID,
                                                                                   fd(FD_SOCK2.FdHeader.CONNECT).serverAddress(B)),
            "FD_SOCK2 CONNECT A->B on the FD_SOCK2 socket: bare EmptyMessage.writeTo (spec 9.5 fdsock2-connect)");
        add("bare-fdsock2-connect-rsp", "bare",
            new EmptyMessage().setSrc(B).putHeader(FD_SOCK2_ID, fd(FD_SOCK2.FdHeader.CONNECT_RSP).cluster(CLUSTER).serverAddress(B)),
            "FD_SOCK2 CONNECT_RSP from B: cluster demo, srv B");
        add("bare-fdsock2-suspect", "bare",
            new EmptyMessage().setSrc(A).putHeader(FD_SOCK2_ID, fd(FD_SOCK2.FdHeader.SUSPECT).mbrs(new HashSet<>(List.of(C)))),
            "bare EmptyMessage with SUSPECT {C} (FD_SOCK2's receive() ignores it, but it parses)");

        frame("hdr-verify-are-you-dead",
              headers(new EmptyMessage(B).setSrc(A), VERIFY_SUSPECT2_ID, verify((short)1, A), TP_ID, tp()),
              "VERIFY_SUSPECT2 ARE_YOU_DEAD A->B, from A (type is an i16)");
        frame("hdr-verify-i-am-not-dead",
              headers(new EmptyMessage(A).setSrc(B), VERIFY_SUSPECT2_ID, verify((short)2, B), TP_ID, tp()),
              "VERIFY_SUSPECT2 I_AM_NOT_DEAD B->A, from B");
        frame("hdr-verify-i-am-not-dead-mcast",
              headers(new EmptyMessage().setSrc(B), VERIFY_SUSPECT2_ID, verify((short)2, B), TP_ID, tp()),
              "VERIFY_SUSPECT2 I_AM_NOT_DEAD as a multicast (use_mcast_rsps)");
    }

    // ------------------------------------------------------------------ MERGE3

    void merge3() throws Exception {
        frame("hdr-merge3-info",
              headers(new EmptyMessage(PB).setSrc(A), MERGE3_ID, MERGE3.MergeHeader.createInfo(new ViewId(A, 3), "A", PA), TP_ID, tp()),
              "MERGE3 INFO A->127.0.0.2:7801 (physical dest): view id [A|3], name A, physical 127.0.0.1:7800");
        frame("hdr-merge3-info-v6-null-name",
              headers(new EmptyMessage(P6).setSrc(B), MERGE3_ID, MERGE3.MergeHeader.createInfo(new ViewId(B, 1), null, P6_SCOPED),
                      TP_ID, tp()),
              "MERGE3 INFO with null name and an IPv6 scoped physical address");
        frame("hdr-merge3-view-req",
              headers(new EmptyMessage(B).setSrc(A), MERGE3_ID, MERGE3.MergeHeader.createViewRequest(), TP_ID, tp()),
              "MERGE3 VIEW_REQ A->B");
        frame("hdr-merge3-view-rsp",
              headers(new BytesMessage(A, Util.streamableToBuffer(view(B, 4, B, C))).setSrc(B), MERGE3_ID,
                      MERGE3.MergeHeader.createViewResponse(), TP_ID, tp()),
              "MERGE3 VIEW_RSP B->A: BytesMessage with presence byte + View [B|4]{B,C}");
    }

    // ------------------------------------------------------------------ FRAG2 / FRAG3 / FRAG4

    void fragmentation() throws Exception {
        // FRAG2 with an array: slices of the array, headers of fragment 0 copied (here: none above FRAG2)
        byte[] big=pattern(100, 11);
        frame("hdr-frag2-first",
              headers(new BytesMessage(null, big, 0, 60).setSrc(A), FRAG2_ID, new FragHeader(1, 0, 2),
                      NAKACK2_ID, NakAckHeader2.createMessageHeader(7), TP_ID, tp()),
              "FRAG2 fragment 0 of 2 of a 100-byte multicast (slice [0,60)), needs_deserialization false");
        frame("hdr-frag2-last",
              headers(new BytesMessage(null, big, 60, 40).setSrc(A), FRAG2_ID, new FragHeader(1, 1, 2),
                      NAKACK2_ID, NakAckHeader2.createMessageHeader(8), TP_ID, tp()),
              "FRAG2 fragment 1 of 2 (slice [60,100))");
        // FRAG2 of a message without an array: the serialized message (type + writeTo) is sliced
        Message obj=new ObjectMessage(B, "an object message split by FRAG2").setSrc(A);
        byte[] ser=Util.messageToBuffer(obj).bytes();
        frame("hdr-frag2-needs-deserialization",
              headers(new BytesMessage(B, ser, 0, 25).setSrc(A), FRAG2_ID, new FragHeader(2, 0, 2).needsDeserialization(true),
                      UNICAST3_ID, data(4, false), TP_ID, tp()),
              "FRAG2 fragment 0 of a serialized ObjectMessage (Util.messageToBuffer), needs_deserialization true");
        frame("hdr-frag2-needs-deserialization-last",
              headers(new BytesMessage(B, ser, 25, ser.length - 25).setSrc(A), FRAG2_ID,
                      new FragHeader(2, 1, 2).needsDeserialization(true), UNICAST3_ID, data(5, false), TP_ID, tp()),
              "FRAG2 last fragment of the serialized ObjectMessage");
        frame("hdr-frag2-large-id",
              headers(new BytesMessage(B, new byte[]{1}).setSrc(A), FRAG2_ID, new FragHeader(1L << 33, 300, 70000),
                      UNICAST3_ID, data(6, false), TP_ID, tp()),
              "FragHeader with id 2^33, frag_id 300, num_frags 70000");

        frame("hdr-frag3",
              headers(new BytesMessage(null, big, 0, 60).setSrc(A), FRAG3_ID, new Frag3Header(1, 0, 2, 100, 0),
                      NAKACK2_ID, NakAckHeader2.createMessageHeader(9), TP_ID, tp()),
              "FRAG3 Frag3Header id 1, frag 0/2, original_length 100, offset 0");
        frame("hdr-frag3-last-deser",
              headers(new BytesMessage(B, ser, 25, ser.length - 25).setSrc(A), FRAG3_ID,
                      new Frag3Header(2, 1, 2, ser.length, 25).needsDeserialization(true), UNICAST3_ID, data(7, false), TP_ID, tp()),
              "FRAG3 last fragment of a serialized message: offset 25, needs_deserialization true");

        Message orig=headers(new ObjectMessage(null, "FRAG4 cuts the serialized form of this ObjectMessage").setSrc(A),
                             NAKACK2_ID, NakAckHeader2.createMessageHeader(50));
        int size=orig.size();
        frame("hdr-frag4-fragmented-0", fragmentForFrame(orig, 0, 30, 0),
              "FRAG4: FragmentedMessage (type 6) with bytes [0,30) of the original's writeTo(), FragHeader original_type 3");
        frame("hdr-frag4-fragmented-1", fragmentForFrame(orig, 30, size - 30, 1),
              "FRAG4: second FragmentedMessage with the rest of the original");
        frame("hdr-frag4-bytes",
              headers(new BytesMessage(null, big, 0, 60).setSrc(A), FRAG4_ID, new FragHeader(4, 0, 2),
                      NAKACK2_ID, NakAckHeader2.createMessageHeader(52), TP_ID, tp()),
              "FRAG4 with a BytesMessage: array slices, FragHeader (magic 52) original_type 0");
    }

    static Message fragmentForFrame(Message orig, int off, int len, int fragId) {
        return new FragmentedMessage(orig, off, len).setDest(orig.getDest()).setSrc(orig.getSrc())
          .setFlag(orig.getFlags(false), false)
          .putHeader(FRAG4_ID, new FragHeader(3, fragId, 2).setOriginalType(orig.getType()))
          .putHeader(NAKACK2_ID, NakAckHeader2.createMessageHeader(60 + fragId))
          .putHeader(TP_ID, tp());
    }

    // ------------------------------------------------------------------ MFC / UFC

    void flowControl() throws Exception {
        Object[][] fcs={{"mfc", MFC_ID}, {"ufc", UFC_ID}};
        for(Object[] f: fcs) {
            short id=(Short)f[1];
            frame("hdr-" + f[0] + "-replenish",
                  headers(new LongMessage(A, 1600012).setSrc(B).setFlag(OOB, DONT_BUNDLE), id, new FcHeader(FcHeader.REPLENISH),
                          UNICAST3_ID, data(14, false), TP_ID, tp()),
                  f[0].toString().toUpperCase() + " REPLENISH 1600012 credits B->A: LongMessage OOB|DONT_BUNDLE via UNICAST3 (spec 9.5)");
            frame("hdr-" + f[0] + "-credit-request",
                  headers(new LongMessage(B, 1200000).setSrc(A).setFlag(OOB, DONT_BUNDLE), id, new FcHeader(FcHeader.CREDIT_REQUEST),
                          UNICAST3_ID, data(15, false), TP_ID, tp()),
                  f[0].toString().toUpperCase() + " CREDIT_REQUEST for 1200000 credits A->B");
        }
    }

    // ------------------------------------------------------------------ STATE_TRANSFER

    void stateTransfer() throws Exception {
        frame("hdr-state-req",
              headers(new EmptyMessage(A).setSrc(C).setFlag(DONT_BUNDLE, OOB, SKIP_BARRIER), STATE_TRANSFER_ID,
                      new STATE_TRANSFER.StateHeader(STATE_TRANSFER.StateHeader.STATE_REQ), UNICAST3_ID, data(3, false), TP_ID, tp()),
              "STATE_TRANSFER STATE_REQ C->A: no digest (presence 0), flags OOB|DONT_BUNDLE|SKIP_BARRIER");
        frame("hdr-state-rsp",
              headers(new BytesMessage(C, "the state".getBytes()).setSrc(A), STATE_TRANSFER_ID,
                      new STATE_TRANSFER.StateHeader(STATE_TRANSFER.StateHeader.STATE_RSP, digest(new Address[]{A, B, C}, 5, 5, 2, 2, 0, 0)),
                      UNICAST3_ID, data(7, false), TP_ID, tp()),
              "STATE_TRANSFER STATE_RSP A->C with digest (with members) and the state bytes");
        frame("hdr-state-ex",
              headers(new BytesMessage(C, new byte[]{1, 2, 3}).setSrc(A), STATE_TRANSFER_ID,
                      new STATE_TRANSFER.StateHeader(STATE_TRANSFER.StateHeader.STATE_EX), UNICAST3_ID, data(8, false), TP_ID, tp()),
              "STATE_TRANSFER STATE_EX (the payload would be a serialized exception; 3 dummy bytes here)");
    }

    // ------------------------------------------------------------------ NAKACK4 / UNICAST4 (5.4+)

    void nakack4Unicast4() throws Exception {
        frame("hdr-nakack4-msg", headers(app(null, A, "n4".getBytes()), NAKACK4_ID, NakAckHeader.createMessageHeader(5), TP_ID, tp()),
              "NAKACK4 NakAckHeader (magic 99) MSG #5");
        frame("hdr-nakack4-xmit-req",
              headers(new ObjectMessage(A, new SeqnoList(2, 3).add(3, 4)).setSrc(B).setFlag(OOB, NO_FC), NAKACK4_ID,
                      NakAckHeader.createXmitRequestHeader(A), TP_ID, tp()),
              "NAKACK4 XMIT_REQ for original sender A");
        NakAckHeader x=NakAckHeader.createMessageHeader(6).copy();
        Access.set(x, NakAckHeader.class, "type", NakAckHeader.XMIT_RSP);
        frame("hdr-nakack4-xmit-rsp", headers(app(B, A, "n4".getBytes()), NAKACK4_ID, x, TP_ID, tp()),
              "NAKACK4 XMIT_RSP seqno 6");
        frame("hdr-nakack4-highest-seqno",
              headers(new EmptyMessage().setSrc(A).setFlag(OOB, NO_FC), NAKACK4_ID, NakAckHeader.createHighestSeqnoHeader(77),
                      TP_ID, tp()), "NAKACK4 HIGHEST_SEQNO 77");
        frame("hdr-nakack4-ack",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB, NO_FC), NAKACK4_ID, NakAckHeader.createAckHeader(1234), TP_ID, tp()),
              "NAKACK4 ACK (type 5) seqno 1234");
        frame("hdr-unicast4-data", headers(app(B, A, "u4".getBytes()), UNICAST4_ID, UnicastHeader.createDataHeader(1, (short)0, true),
                                           TP_ID, tp()), "UNICAST4 UnicastHeader (magic 100) DATA #1 first");
        frame("hdr-unicast4-ack",
              headers(new EmptyMessage(A).setSrc(B).setFlag(NO_FC), UNICAST4_ID, UnicastHeader.createAckHeader(9, (short)2, 4),
                      TP_ID, tp()), "UNICAST4 ACK seqno 9 conn_id 2 timestamp 4");
        frame("hdr-unicast4-send-first-seqno",
              headers(new EmptyMessage(A).setSrc(B).setFlag(OOB, NO_FC), UNICAST4_ID, UnicastHeader.createSendFirstSeqnoHeader(2),
                      TP_ID, tp()), "UNICAST4 SEND_FIRST_SEQNO timestamp 2");
        frame("hdr-unicast4-xmit-req",
              headers(new ObjectMessage(A, new SeqnoList(1, 8).add(8)).setSrc(B).setFlag(OOB, NO_FC), UNICAST4_ID,
                      UnicastHeader.createXmitReqHeader(), TP_ID, tp()), "UNICAST4 XMIT_REQ {8}");
        frame("hdr-unicast4-close",
              headers(new EmptyMessage(B).setSrc(A).setFlag(NO_FC), UNICAST4_ID, UnicastHeader.createCloseHeader((short)3),
                      TP_ID, tp()), "UNICAST4 CLOSE conn_id 3");
    }

    // ------------------------------------------------------------------ benchmark messages

    /**
     * A typical data message: an RpcDispatcher multicast. Headers in wire order: RequestCorrelator.Header (id 200,
     * magic 67: type REQ, request id, corr id 200), NakAckHeader2 MSG, TpHeader. No FRAG2 header (small message),
     * no MFC header (MFC adds none to data messages).
     */
    public static Message typical(long seqno) {
        return headers(new BytesMessage(null, pattern(1024, 42)).setSrc(A),
                       REQUEST_CORRELATOR_ID, new RequestCorrelator.Header(RequestCorrelator.Header.REQ, 4000 + seqno,
                                                                           REQUEST_CORRELATOR_ID),
                       NAKACK2_ID, NakAckHeader2.createMessageHeader(seqno), TP_ID, tp());
    }

    public static List<Message> batch10() {
        List<Message> l=new ArrayList<>();
        for(int i=0; i < 10; i++)
            l.add(typical(1234 + i));
        return l;
    }

    void bench() throws Exception {
        frame("bench-typical", typical(1234),
              "typical multicast: 1 KB BytesMessage from A, headers [RequestCorrelator REQ (id 200), NAKACK2 MSG #1234, TP]");
        add("bench-batch10", "frame", Codec.Frame.list(null, A, CLUSTER, batch10()),
            "multicast list from A of 10 bench-typical messages (NAKACK2 #1234..#1243)");
    }
}
