"""NAKACK2's send side: a multicast gets the next seqno and stays in our own table until STABLE purges
it (for retransmission); the transport loops it back and the stored message is delivered then."""

from __future__ import annotations

from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols.reliable import no_delivery_needed
from pygroups.wire.headers.nakack import MSG, NakAckHeader2

from .base import NakAck2Base


class Sender(NakAck2Base):
    def down_msg(self, msg: Message) -> None:
        if msg.dest is not None or msg.flags & Flag.NO_RELIABILITY:
            self.down_layer.down_msg(msg)
            return
        self.send_msg(msg)

    def send_msg(self, msg: Message) -> None:
        if not self.running:
            self.counters["msgs_dropped_not_running"] += 1
            self.log.debug("discarded message as not running: %s", msg)
            return
        local = self.local_addr
        buf = self.xmit_table.get(local) if local is not None else None
        if buf is None:
            self.counters["msgs_dropped_no_own_table"] += 1
            self.log.debug("discarded multicast: no retransmission table for ourselves yet")
            return
        if msg.src is None:
            msg.src = local
        self.seqno += 1
        msg.put_header(self.protocol_id, NakAckHeader2(MSG, self.seqno))
        dont_loopback = bool(msg.transient_flags & TransientFlag.DONT_LOOPBACK)
        # never looped back: such slots count as delivered at once, or they would block our own window
        buf.add(self.seqno, msg, no_delivery_needed if dont_loopback else None)
        self.down_layer.down_msg(msg)
        self.counters["num_messages_sent"] += 1
        if self.resend_last_seqno:
            self._skip_next_resend = True
