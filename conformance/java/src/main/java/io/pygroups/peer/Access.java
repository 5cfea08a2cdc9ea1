package io.pygroups.peer;

import org.jgroups.Address;
import org.jgroups.View;
import org.jgroups.ViewId;
import org.jgroups.protocols.pbcast.GMS;
import org.jgroups.util.ByteArray;
import org.jgroups.util.Digest;

import java.lang.reflect.Constructor;
import java.lang.reflect.Field;
import java.util.Collection;

/**
 * Reaches JGroups internals that have no public accessor. Used only to *construct* objects exactly as the
 * protocols do (some constructors and fields are package-private) and to *inspect* decoded objects for the
 * canonical JSON. The bytes themselves are always produced by JGroups' own writeTo methods.
 */
public final class Access {
    private Access() {}

    public static <T> T construct(Class<T> cl, Class<?>[] types, Object... args) {
        try {
            Constructor<T> c=cl.getDeclaredConstructor(types);
            c.setAccessible(true);
            return c.newInstance(args);
        }
        catch(ReflectiveOperationException e) {
            throw new IllegalStateException("cannot construct " + cl.getName() + ": " + e, e);
        }
    }

    public static Object get(Object target, Class<?> declaring, String name) {
        try {
            Field f=declaring.getDeclaredField(name);
            f.setAccessible(true);
            return f.get(target);
        }
        catch(ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + declaring.getName() + "." + name + ": " + e, e);
        }
    }

    public static void set(Object target, Class<?> declaring, String name, Object value) {
        try {
            Field f=declaring.getDeclaredField(name);
            f.setAccessible(true);
            f.set(target, value);
        }
        catch(ReflectiveOperationException e) {
            throw new IllegalStateException("cannot write " + declaring.getName() + "." + name + ": " + e, e);
        }
    }

    /**
     * GMS keeps its payload marshalling methods protected static; a subclass may call them. This gives us the
     * exact view/digest block, member list and view-id payloads GMS puts on the wire.
     */
    public static final class Gms extends GMS {
        private Gms() {}

        public static ByteArray viewAndDigest(View view, Digest digest) {
            ByteArray b=marshal(view, digest);
            if(b == null)
                throw new IllegalStateException("GMS.marshal(view, digest) failed");
            return b;
        }

        public static ByteArray members(Collection<? extends Address> mbrs) {
            return marshal(mbrs);
        }

        public static ByteArray viewId(ViewId vid) {
            return marshal(vid);
        }
    }
}
