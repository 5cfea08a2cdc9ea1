package io.pygroups.peer;

import org.jgroups.Address;
import org.jgroups.Header;
import org.jgroups.Message;
import org.jgroups.conf.ClassConfigurator;
import org.jgroups.protocols.TpHeader;
import org.jgroups.stack.IpAddress;
import org.jgroups.util.UUID;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/** Fixed inputs shared by the catalogue and the benchmark. Changing any of them changes golden bytes. */
public final class Fixtures {
    private Fixtures() {}

    public static final UUID A=new UUID(0x91cebc7e0d624778L, 0x9dc05a9805a43cabL);
    public static final UUID B=new UUID(0x523c54d93ea94e0aL, 0xbaa2daf63e689d8bL);
    public static final UUID C=new UUID(0x0000000000000001L, 0x0000000000000002L);
    public static final UUID D=new UUID(-1L, -2L); // both halves negative

    public static final String CLUSTER="demo";

    public static final IpAddress PA=ip("127.0.0.1", 7800);
    public static final IpAddress PB=ip("127.0.0.2", 7801);
    public static final IpAddress P6=ip("::1", 7802);
    /** fe80::1:2:3:4 with scope id 3 (JGroups writes the scope id as an i32 after the 16 address bytes). */
    public static final IpAddress P6_SCOPED;
    static {
        try {
            byte[] ll={(byte)0xfe, (byte)0x80, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 3, 0, 4};
            P6_SCOPED=new IpAddress(Inet6Address.getByAddress(null, ll, 3), 7803);
        }
        catch(UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // Protocol ids, resolved from the jar's own registry (jg-protocol-ids.xml / runtime registration).
    public static final short TP_ID=id("org.jgroups.protocols.TP");
    public static final short TCPPING_ID=id("org.jgroups.protocols.TCPPING");
    public static final short MPING_ID=id("org.jgroups.protocols.MPING");
    public static final short DNS_PING_ID=id("org.jgroups.protocols.dns.DNS_PING");
    public static final short KUBE_PING_ID=id("org.jgroups.protocols.kubernetes.KUBE_PING");
    public static final short GMS_ID=id("org.jgroups.protocols.pbcast.GMS");
    public static final short NAKACK2_ID=id("org.jgroups.protocols.pbcast.NAKACK2");
    public static final short NAKACK4_ID=id("org.jgroups.protocols.NAKACK4");
    public static final short UNICAST3_ID=id("org.jgroups.protocols.UNICAST3");
    public static final short UNICAST4_ID=id("org.jgroups.protocols.UNICAST4");
    public static final short STABLE_ID=id("org.jgroups.protocols.pbcast.STABLE");
    public static final short FD_ALL3_ID=id("org.jgroups.protocols.FD_ALL3");
    public static final short FD_SOCK2_ID=id("org.jgroups.protocols.FD_SOCK2");
    public static final short VERIFY_SUSPECT2_ID=id("org.jgroups.protocols.VERIFY_SUSPECT2");
    public static final short MERGE3_ID=id("org.jgroups.protocols.MERGE3");
    public static final short FRAG2_ID=id("org.jgroups.protocols.FRAG2");
    public static final short FRAG3_ID=id("org.jgroups.protocols.FRAG3");
    public static final short FRAG4_ID=id("org.jgroups.protocols.FRAG4");
    public static final short MFC_ID=id("org.jgroups.protocols.MFC");
    public static final short UFC_ID=id("org.jgroups.protocols.UFC");
    public static final short STATE_TRANSFER_ID=id("org.jgroups.protocols.pbcast.STATE_TRANSFER");
    public static final short REQUEST_CORRELATOR_ID=id("org.jgroups.blocks.RequestCorrelator");

    /** Loads (and so initialises) the class: KUBE_PING registers its id in a static initializer. */
    static short id(String classname) {
        try {
            Class<?> cl=Class.forName(classname, true, Fixtures.class.getClassLoader());
            short id=ClassConfigurator.getProtocolId(cl);
            if(id == 0)
                throw new IllegalStateException("no protocol id registered for " + classname);
            return id;
        }
        catch(ClassNotFoundException | LinkageError e) {
            throw new IllegalStateException("cannot load " + classname + ": " + e, e);
        }
    }

    /** Makes sure ids registered at class-initialisation time (KUBE_PING) are known, e.g. before decoding. */
    public static void init() {
        if(KUBE_PING_ID == 0)
            throw new IllegalStateException("KUBE_PING id not registered");
    }

    static IpAddress ip(String literal, int port) {
        try {
            return new IpAddress(InetAddress.getByName(literal), port); // literal: no name lookup
        }
        catch(UnknownHostException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public static TpHeader tp() {
        return new TpHeader(CLUSTER);
    }

    /** Adds headers in the given order (id, header, id, header, ...); wire order is insertion order. */
    public static <M extends Message> M headers(M msg, Object... idAndHeader) {
        for(int i=0; i < idAndHeader.length; i+=2)
            msg.putHeader((Short)idAndHeader[i], (Header)idAndHeader[i + 1]);
        return msg;
    }

    /** Deterministic payload bytes. */
    public static byte[] pattern(int len, int seed) {
        byte[] b=new byte[len];
        for(int i=0; i < len; i++)
            b[i]=(byte)(i * 31 + seed);
        return b;
    }

    public static <M extends Message> M from(M msg, Address src) {
        msg.setSrc(src);
        return msg;
    }
}
