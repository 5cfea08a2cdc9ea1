"""NAKACK2's receive side: MSG (and XMIT_RSP, turned back into MSG) goes into the sender's table;
regular messages are delivered in seqno order, OOB ones at once and exactly once (the placeholder keeps
their slot). Senders without a table (non-members) are dropped. Before the join completes
(`BecomeServer`), up to ``become_server_queue_size`` messages are queued and replayed."""

from __future__ import annotations

from collections.abc import Sequence

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Flag, Message
from pygroups.protocols.reliable import Table, add_received, deliverable, oob_from_self
from pygroups.wire.headers.nakack import MSG, XMIT_RSP, NakAckHeader2

from .retransmission import Retransmitter


class Receiver(Retransmitter):
    def up_msg(self, msg: Message) -> None:
        hdr = self.header_of(msg)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        if not self.is_server:
            self.queue_message(msg)
            return
        match hdr.type:
            case NakAckHeader2.Type.MSG:
                self.handle_msg(msg, hdr)
            case NakAckHeader2.Type.XMIT_REQ:
                self.handle_xmit_req(msg, hdr)
            case NakAckHeader2.Type.XMIT_RSP:
                self.handle_xmit_rsp(msg, hdr)
            case NakAckHeader2.Type.HIGHEST_SEQNO:
                if msg.src is not None and hdr.seqno is not None:
                    self.handle_highest_seqno(msg.src, hdr.seqno)
                else:
                    self.counters["msgs_dropped_bad_header"] += 1
            case _:
                self.counters["msgs_dropped_bad_header"] += 1
                self.log.error("NakAckHeader2 type %s not known", hdr.type)

    def up_batch(self, batch: Sequence[Message]) -> None:
        """Control messages are handled one by one; MSG/XMIT_RSP are grouped per sender so each
        table is added to once and delivered from once (Java's handleMessageBatch); the rest goes up."""
        rest: list[Message] = []
        by_sender: dict[Address | None, list[tuple[Message, NakAckHeader2]]] = {}
        for msg in batch:
            hdr = self.header_of(msg)
            if hdr is None:
                rest.append(msg)
                continue
            if not self.is_server:
                self.queue_message(msg)
                continue
            if hdr.type == XMIT_RSP:
                self.counters["xmit_rsps_received"] += 1
                hdr = self._msg_from_xmit_rsp(msg, hdr)
            if hdr.type == MSG:
                by_sender.setdefault(msg.src, []).append((msg, hdr))
            else:
                self.up_msg(msg)
        for sender, msgs in by_sender.items():
            self.handle_msgs(sender, msgs)
        if rest:
            self.up_layer.up_batch(rest)

    # --- before the join completes ----------------------------------------------------------------------

    def queue_message(self, msg: Message) -> None:
        if len(self._become_server_queue) < self.become_server_queue_size:
            self._become_server_queue.append(msg)
            self.counters["msgs_queued_not_server"] += 1
        else:
            self.counters["msgs_dropped_queue_full"] += 1
            self.log.debug("message from %s discarded (not yet server, queue full)", msg.src)

    def flush_become_server_queue(self) -> None:
        if not self._become_server_queue:
            return
        queued, self._become_server_queue = self._become_server_queue, []
        # Java replays them on the thread pool, i.e. after GMS has finished installing the view.
        self.stack.call_soon(self._replay, queued)

    def _replay(self, queued: list[Message]) -> None:
        for msg in queued:
            self.up_msg(msg)

    # --- MSG and XMIT_RSP -------------------------------------------------------------------------------

    def handle_xmit_rsp(self, msg: Message, hdr: NakAckHeader2) -> None:
        self.counters["xmit_rsps_received"] += 1
        self.handle_msg(msg, self._msg_from_xmit_rsp(msg, hdr))

    def _msg_from_xmit_rsp(self, msg: Message, hdr: NakAckHeader2) -> NakAckHeader2:
        msg.dest = None
        back = NakAckHeader2(MSG, hdr.seqno)
        msg.put_header(self.protocol_id, back)
        return back

    def handle_msg(self, msg: Message, hdr: NakAckHeader2) -> None:
        self.handle_msgs(msg.src, [(msg, hdr)])

    def handle_msgs(self, sender: Address | None, msgs: list[tuple[Message, NakAckHeader2]]) -> None:
        if sender is None or any(h.seqno is None for _, h in msgs):
            self.counters["msgs_dropped_bad_header"] += len(msgs)
            return
        buf = self.xmit_table.get(sender)
        if buf is None:
            self.counters["msgs_dropped_non_member"] += len(msgs)
            self._unknown_member(sender)
            return
        self.counters["num_messages_received"] += len(msgs)
        loopback = sender == self.local_addr
        oob_now: list[Message] = []
        if loopback:
            # Our own messages are already in the table (added by send_msg); deliver the stored ones.
            oob_now = oob_from_self(buf, [h.seqno for m, h in msgs if h.seqno is not None and m.flags & Flag.OOB])
        else:
            for msg, hdr in msgs:
                assert hdr.seqno is not None
                if add_received(buf, hdr.seqno, msg) and msg.flags & Flag.OOB:
                    oob_now.append(msg)
        if oob_now:
            self._deliver(oob_now)
        self._remove_and_deliver(buf, sender, loopback)

    def _remove_and_deliver(self, buf: Table[Message], sender: Address, loopback: bool) -> None:
        nullify = self.discard_delivered_msgs and not loopback

        def step() -> bool:
            batch = buf.remove_many(nullify, self.max_batch_size, lambda m: deliverable(m, self.local_addr))
            if batch:
                self._deliver(batch)
            return bool(batch)

        self._delivering.run(sender, step)

    def _deliver(self, msgs: list[Message]) -> None:
        try:
            if len(msgs) == 1:
                self.up_layer.up_msg(msgs[0])
            else:
                self.up_layer.up_batch(msgs)
        except Exception:
            # Java logs and carries on: one bad handler above must not stop the stream.
            self.counters["deliver_errors"] += 1
            self.log.exception("failed delivering %d message(s)", len(msgs))

    def _unknown_member(self, sender: Address) -> None:
        if self.leaving or not self.log_discard_msgs:
            return
        now = self.now_ns()
        last = self._non_member_warned.get(sender)
        suppress = self.suppress_time_non_member_warnings * MS
        if last is not None and suppress > 0 and now - last < suppress:
            return
        self._non_member_warned[sender] = now
        self.log.warning("dropped message from %s (not in table %s), view=%s", sender, list(self.xmit_table), self.view)
