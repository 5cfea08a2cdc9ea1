package io.pygroups.peer;

import org.jgroups.*;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.relay.SiteUUID;
import org.jgroups.stack.IpAddress;
import org.jgroups.util.*;
import org.jgroups.util.UUID;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.*;

/**
 * Canonical JSON for decoded JGroups objects. The contract is documented in CANONICAL_JSON.md and must match
 * what the Python side prints, so keep both in sync.
 */
public final class Canon {
    private Canon() {}

    // bit -> name; other set bits are printed as "0x%04x"
    private static final String[] FLAG_NAMES=new String[16];
    static {
        FLAG_NAMES[0]="OOB";
        FLAG_NAMES[1]="DONT_BUNDLE";
        FLAG_NAMES[2]="NO_FC";
        FLAG_NAMES[4]="NO_RELIABILITY";
        FLAG_NAMES[5]="NO_TOTAL_ORDER";
        FLAG_NAMES[6]="NO_RELAY";
        FLAG_NAMES[7]="RSVP";
        FLAG_NAMES[8]="RSVP_NB";
        FLAG_NAMES[10]="SKIP_BARRIER";
        FLAG_NAMES[11]="SERIALIZED";
    }

    /** Checked at start-up: the fixed table above must agree with Message.Flag of the jar in use. */
    public static List<String> checkFlagTable() {
        List<String> problems=new ArrayList<>();
        Set<Integer> seen=new HashSet<>();
        for(Message.Flag f: Message.Flag.values()) {
            int bit=Integer.numberOfTrailingZeros(f.value() & 0xffff);
            seen.add(bit);
            if(!f.name().equals(FLAG_NAMES[bit]))
                problems.add(String.format("Message.Flag.%s is bit %d, table says %s", f.name(), bit, FLAG_NAMES[bit]));
        }
        for(int i=0; i < 16; i++)
            if(FLAG_NAMES[i] != null && !seen.contains(i))
                problems.add("table has " + FLAG_NAMES[i] + " at bit " + i + " but Message.Flag has no such flag");
        return problems;
    }

    // ------------------------------------------------------------------ hex

    public static String hex(byte[] b) {
        return b == null? null : hex(b, 0, b.length);
    }

    public static String hex(byte[] b, int off, int len) {
        StringBuilder sb=new StringBuilder(len * 2);
        for(int i=off; i < off + len; i++)
            sb.append(Character.forDigit((b[i] >> 4) & 0xf, 16)).append(Character.forDigit(b[i] & 0xf, 16));
        return sb.toString();
    }

    public static byte[] unhex(String s) {
        s=s.trim();
        if(s.length() % 2 != 0)
            throw new IllegalArgumentException("odd number of hex digits");
        byte[] b=new byte[s.length() / 2];
        for(int i=0; i < b.length; i++) {
            int hi=Character.digit(s.charAt(2 * i), 16), lo=Character.digit(s.charAt(2 * i + 1), 16);
            if(hi < 0 || lo < 0)
                throw new IllegalArgumentException("bad hex digit near offset " + (2 * i));
            b[i]=(byte)((hi << 4) | lo);
        }
        return b;
    }

    // ------------------------------------------------------------------ addresses

    public static Object addr(Address a) {
        if(a == null)
            return null;
        if(a instanceof IpAddress ip)
            return ipAddr(ip);
        if(a instanceof UUID u) {
            Map<String,Object> m=new LinkedHashMap<>();
            if(a.getClass() != UUID.class)
                m.put("class", a.getClass().getSimpleName());
            m.put("uuid", u.toStringLong());
            if(a instanceof FlagsUUID)
                m.put("flags", Access.get(a, FlagsUUID.class, "flags"));
            if(a instanceof ExtendedUUID e)
                m.put("keys", keys(e));
            if(a instanceof SiteUUID s) {
                m.put("site", s.getSite());
                m.put("name", s.getName());
            }
            return m;
        }
        if(a instanceof MillisAddress ma)
            return Json.obj("class", "MillisAddress", "millis", ma.millis());
        return Json.obj("class", a.getClass().getSimpleName(), "string", a.toString());
    }

    static Map<String,Object> keys(ExtendedUUID e) {
        byte[][] keys=(byte[][])Access.get(e, ExtendedUUID.class, "keys");
        byte[][] vals=(byte[][])Access.get(e, ExtendedUUID.class, "values");
        Map<String,Object> m=new LinkedHashMap<>();
        if(keys != null)
            for(int i=0; i < keys.length; i++)
                if(keys[i] != null)
                    m.put(new String(keys[i], StandardCharsets.ISO_8859_1), vals[i] == null? null : hex(vals[i]));
        return m;
    }

    public static Map<String,Object> ipAddr(IpAddress ip) {
        Map<String,Object> m=new LinkedHashMap<>();
        InetAddress ia=ip.getIpAddress();
        m.put("ip", ia == null? null : ipString(ia));
        m.put("port", ip.getPort());
        if(ia instanceof Inet6Address i6 && i6.getScopeId() != 0)
            m.put("scope", i6.getScopeId());
        return m;
    }

    /** Dotted IPv4, or RFC 5952 IPv6: lowercase, no leading zeros, longest run (>= 2) of zero groups as "::". */
    public static String ipString(InetAddress ia) {
        byte[] b=ia.getAddress();
        if(b.length == 4)
            return (b[0] & 0xff) + "." + (b[1] & 0xff) + "." + (b[2] & 0xff) + "." + (b[3] & 0xff);
        int[] g=new int[8];
        for(int i=0; i < 8; i++)
            g[i]=((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        int best=-1, bestLen=0;
        for(int i=0; i < 8; ) {
            if(g[i] != 0) {i++; continue;}
            int j=i;
            while(j < 8 && g[j] == 0) j++;
            if(j - i > bestLen) {best=i; bestLen=j - i;}
            i=j;
        }
        if(bestLen < 2)
            best=-1;
        StringBuilder sb=new StringBuilder();
        for(int i=0; i < 8; i++) {
            if(i == best) {
                sb.append("::");
                i+=bestLen - 1;
                continue;
            }
            if(sb.length() > 0 && sb.charAt(sb.length() - 1) != ':')
                sb.append(':');
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    public static List<Object> addrs(Collection<? extends Address> c) {
        if(c == null)
            return null;
        List<Object> l=new ArrayList<>();
        for(Address a: c)
            l.add(addr(a));
        return l;
    }

    // ------------------------------------------------------------------ messages

    public static List<String> flags(short flags) {
        List<String> l=new ArrayList<>();
        int f=flags & 0xffff;
        for(int bit=0; bit < 16; bit++)
            if((f & (1 << bit)) != 0)
                l.add(FLAG_NAMES[bit] != null? FLAG_NAMES[bit] : String.format("0x%04x", 1 << bit));
        return l;
    }

    public static String protocolName(short id) {
        Class<?> p=ClassConfigurator.getProtocol(id);
        return p != null? p.getSimpleName() : String.valueOf(id);
    }

    public static Map<String,Object> message(Message msg) throws IOException {
        Map<String,Object> m=new LinkedHashMap<>();
        m.put("type", msg.getClass().getSimpleName());
        m.put("dest", addr(msg.getDest()));
        m.put("src", addr(msg.getSrc()));
        m.put("flags", flags(msg.getFlags(false)));
        Map<String,Object> hdrs=new LinkedHashMap<>();
        Header[] arr=((BaseMessage)msg).headers();
        if(arr != null)
            for(Header h: arr) {
                if(h == null)
                    break;
                hdrs.put(protocolName(h.getProtId()),
                         Json.obj("protocol_id", (int)h.getProtId(), "magic", (int)h.getMagicId(), "class", h.getClass().getSimpleName()));
            }
        m.put("headers", hdrs);
        m.put("length", msg.getLength());
        m.put("payload", payload(msg));
        return m;
    }

    public static List<Object> messages(Iterable<Message> msgs) throws IOException {
        List<Object> l=new ArrayList<>();
        for(Message msg: msgs)
            l.add(message(msg));
        return l;
    }

    static Object payload(Message msg) throws IOException {
        if(msg instanceof FragmentedMessage fm) { // before BytesMessage: it is a subclass
            byte[] a=fm.getArray();
            return a == null? "" : hex(a, fm.getOffset(), fm.getLength());
        }
        if(msg instanceof BytesMessage bm)
            return bm.getArray() == null? null : hex(bm.getArray(), bm.getOffset(), bm.getLength());
        if(msg instanceof NioMessage nm) {
            ByteBuffer buf=nm.getBuf();
            String data=null;
            if(buf != null) {
                ByteBuffer dup=buf.duplicate();
                byte[] tmp=new byte[dup.remaining()];
                dup.get(tmp);
                data=hex(tmp);
            }
            return Json.obj("direct", nm.useDirectMemory(), "data", data);
        }
        if(msg instanceof EmptyMessage)
            return null;
        if(msg instanceof LongMessage lm)
            return lm.getValue();
        if(msg instanceof CompositeMessage cm) {
            List<Object> l=new ArrayList<>();
            for(Message m: cm)
                l.add(message(m));
            return l;
        }
        if(msg instanceof BatchMessage bm) {
            List<Object> l=new ArrayList<>();
            for(Message m: bm)
                l.add(message(m));
            return Json.obj("orig_src", addr(bm.getOrigSender()), "messages", l);
        }
        if(msg instanceof ObjectMessage om)
            return object((SizeStreamable)Access.get(om, ObjectMessage.class, "obj"));
        return Json.obj("unknown_message_class", msg.getClass().getName());
    }

    static byte[] serialize(Streamable s) throws IOException {
        ByteArrayDataOutputStream out=new ByteArrayDataOutputStream(64);
        s.writeTo(out);
        return Arrays.copyOf(out.buffer(), out.position());
    }

    /** The payload of an ObjectMessage (the object inside the generic-streamable wrapper). */
    public static Object object(SizeStreamable obj) throws IOException {
        if(obj == null)
            return null;
        int magic=ClassConfigurator.getMagicNumber(obj.getClass());
        if(obj instanceof ObjectWrapperSerializable ows) {
            // what was read from the wire if decoded, else Java's serialization of the wrapped object
            ByteArray ser=(ByteArray)Access.get(ows, ObjectWrapperSerializable.class, "serialized");
            if(ser == null && ows.getObject() != null)
                ser=ows.getSerialized();
            String data=ser == null? null : hex(ser.bytes());
            return Json.obj("magic", magic, "data", data);
        }
        if(obj instanceof ObjectWrapperPrimitive owp) {
            // the tag is what Java writes for this value (its own serialization's first byte)
            byte[] ser=serialize(owp);
            int tag=ser[0];
            return Json.obj("magic", magic, "tag", tag, "value", primitive(owp.getObject(), ser));
        }
        if(obj instanceof SeqnoList sl) {
            List<Object> l=new ArrayList<>();
            for(long s: sl)
                l.add(s);
            return Json.obj("magic", magic, "seqnos", l);
        }
        if(obj instanceof Digest d)
            return Json.obj("magic", magic, "digest", digest(d));
        return Json.obj("magic", magic, "opaque", hex(serialize(obj)));
    }

    static Object primitive(Object v, byte[] ser) {
        if(v == null)
            return null;
        if(v instanceof Boolean || v instanceof String)
            return v;
        if(v instanceof Byte || v instanceof Short || v instanceof Integer || v instanceof Long)
            return ((Number)v).longValue();
        if(v instanceof Character c)
            return (int)c;
        if(v instanceof Float f)
            return String.format("0x%08x", Float.floatToRawIntBits(f));
        if(v instanceof Double d)
            return String.format("0x%016x", Double.doubleToRawLongBits(d));
        if(v instanceof byte[] b)
            return hex(b);
        if(v instanceof Class<?>)
            return (int)ser[1]; // TYPE_CLASS is followed by the class' primitive type byte
        return String.valueOf(v);
    }

    public static Map<String,Object> digest(Digest d) {
        List<Object> mbrs=new ArrayList<>(), seqnos=new ArrayList<>();
        Address[] raw=d.getMembersRaw();
        if(raw != null)
            for(Address a: raw)
                mbrs.add(addr(a));
        for(Digest.Entry e: d)
            seqnos.add(List.of(e.hd(), e.hr()));
        return Json.obj("members", mbrs, "seqnos", seqnos);
    }
}
