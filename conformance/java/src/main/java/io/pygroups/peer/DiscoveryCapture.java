package io.pygroups.peer;

import org.jgroups.Address;
import org.jgroups.Message;
import org.jgroups.protocols.PingHeader;
import org.jgroups.stack.Protocol;

import java.util.ArrayList;
import java.util.List;

/**
 * Sits right above the transport and, while a capture runs on the calling thread, swallows the discovery
 * requests (PingHeader GET_MBRS_REQ under the discovery protocol's id) that thread sends and records their
 * destinations, in send order. This is the harness's way to read the target list KUBE_PING.findMembers
 * computes, the same way jgroups-kubernetes' RollingUpdateTest overrides sendDiscoveryRequest, but on the
 * unmodified KUBE_PING of a stock stack. Everything else, and other threads' requests, pass through.
 */
public final class DiscoveryCapture extends Protocol {
    private final short discoveryId;
    private volatile Thread capturing;
    private final List<Address> captured=new ArrayList<>();

    public DiscoveryCapture(short discoveryId) {
        this.discoveryId=discoveryId;
    }

    public synchronized void begin() {
        captured.clear();
        capturing=Thread.currentThread();
    }

    public synchronized List<Address> end() {
        capturing=null;
        return new ArrayList<>(captured);
    }

    @Override
    public Object down(Message msg) {
        if(capturing == Thread.currentThread()) {
            PingHeader hdr=msg.getHeader(discoveryId);
            if(hdr != null && hdr.type() == PingHeader.GET_MBRS_REQ) {
                synchronized(this) {
                    captured.add(msg.dest());
                }
                return null;
            }
        }
        return down_prot.down(msg);
    }
}
