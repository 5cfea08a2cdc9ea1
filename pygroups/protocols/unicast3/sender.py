"""UNICAST3's send side: per destination a `SenderEntry` with a conn_id from a node-wide counter (0, 1,
... wrapping to 0 after 32767) and seqnos from 1 (``first`` set on seqno 1); every message is kept until
an ACK with the entry's conn_id and a newer timestamp purges it. Unicasts to ourselves go through the
same window and are delivered from it when the transport loops them back, unless ``loopback`` is set.
Inbound here: ACK, SEND_FIRST_SEQNO and XMIT_REQ, which all concern what we sent."""

from __future__ import annotations

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Message
from pygroups.objects import SeqnoList
from pygroups.protocols.reliable import is_message, no_delivery_needed
from pygroups.wire.headers.unicast import DATA, UnicastHeader3

from .base import DONT_BLOCK, DONT_LOOPBACK, NO_RELIABILITY
from .connections import Connections
from .entries import DEFAULT_FIRST_SEQNO, SHORT_MAX, SenderEntry, State


class Sender(Connections):
    def down_msg(self, msg: Message) -> None:
        dst = msg.dest
        if dst is None or msg.flags & NO_RELIABILITY:
            self.down_layer.down_msg(msg)
            return
        if not self._running:
            self.counters["dropped_not_running"] += 1
            self.log.debug("discarded message to %s: not started", dst)
            return
        local = self.local_addr
        if msg.src is None:
            msg.src = local
        if self.loopback and dst == local:
            if msg.transient_flags & DONT_LOOPBACK:
                return
            self.counters["num_loopbacks"] += 1
            self.stack.call_soon(self.up_layer.up_msg, msg)
            return
        entry = self.get_sender_entry(dst)
        seqno = entry.next_seqno
        entry.next_seqno += 1
        msg.put_header(self.protocol_id, UnicastHeader3(DATA, seqno, entry.conn_id, seqno == DEFAULT_FIRST_SEQNO))
        never_looped_back = bool(msg.transient_flags & DONT_LOOPBACK) and dst == local
        # never looped back: consume it (and anything after it that needs no delivery) at once
        entry.win.add(seqno, msg, no_delivery_needed if never_looped_back else None)
        if self.conn_expiry_timeout > 0:
            entry.timestamp_ns = self.now_ns()
        if never_looped_back:
            entry.win.purge(entry.win.hd, force=True)
        self.counters["num_msgs_sent"] += 1
        self.down_layer.down_msg(msg)

    def get_sender_entry(self, dst: Address) -> SenderEntry:
        entry = self.send_table.get(dst)
        now = self.now_ns()
        if entry is None or entry.state is State.CLOSED:
            entry = SenderEntry(self._new_conn_id(), now)
            self.send_table[dst] = entry
            self.log.debug("created sender window for %s (conn-id=%d)", dst, entry.conn_id)
            if self.max_retransmit_time > 0 and dst not in self.members and dst not in self._age_out:
                self._age_out[dst] = self.timers.call_later(self.max_retransmit_time * MS, self.on_age_out, dst)
        if entry.state is State.CLOSING:
            entry.set_state(State.OPEN, now)
        return entry

    def _new_conn_id(self) -> int:
        conn_id = self._last_conn_id
        self._last_conn_id = 0 if self._last_conn_id >= SHORT_MAX or self._last_conn_id < 0 else conn_id + 1
        return conn_id

    # --- inbound: ACK, SEND_FIRST_SEQNO, XMIT_REQ -----------------------------------------------------

    def handle_ack(self, sender: Address, seqno: int, conn_id: int, timestamp: int) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            return
        if entry.conn_id != conn_id:
            self.counters["dropped_ack_wrong_conn_id"] += 1
            self.log.debug("my conn_id (%d) != received conn_id (%d); discarding ACK", entry.conn_id, conn_id)
            return
        if entry.update_last_timestamp(timestamp):
            entry.win.purge(seqno, force=True)
            self.counters["num_acks_received"] += 1

    def handle_send_first_seqno(self, sender: Address, timestamp: int) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            self.counters["dropped_first_seqno_no_entry"] += 1
            self.log.warning("SEND_FIRST_SEQNO from %s: no send entry", sender)
            return
        if not entry.update_last_timestamp(timestamp):
            return
        win = entry.win
        rsp = win.get(win.low + 1)
        if is_message(rsp):
            hdr = rsp.get_header(self.protocol_id)
            assert isinstance(hdr, UnicastHeader3)
            copy = rsp.copy()
            copy.put_header(self.protocol_id, UnicastHeader3(DATA, hdr.seqno, hdr.conn_id, True))
            copy.transient_flags |= DONT_BLOCK
            self.counters["num_first_seqno_resends"] += 1
            self.down_layer.down_msg(copy)

    def handle_xmit_req(self, sender: Address, missing: SeqnoList) -> None:
        entry = self.send_table.get(sender)
        seqnos = missing.seqnos
        self.counters["xmit_reqs_received"] += len(seqnos)
        if entry is None:
            return
        win = entry.win
        for seqno in seqnos:
            msg = win.get(seqno)
            if not is_message(msg):
                if self.log_not_found_msgs and sender != self.local_addr and seqno > win.low:
                    self.log.warning("%s: (requester=%s) message %d not found in retransmission table",
                                     self.local_addr, sender, seqno)
                continue
            msg.transient_flags |= DONT_BLOCK
            self.counters["xmit_rsps_sent"] += 1
            self.down_layer.down_msg(msg.copy())
