"""NAKACK2's retransmission: every ``xmit_interval`` each table with gaps is examined; a gap seen on two
consecutive runs is asked for with an XMIT_REQ (OOB|NO_FC ObjectMessage, `SeqnoList` payload) to the
original sender. XMIT_REQ is answered with copies marked XMIT_RSP (or the original re-multicast with
``use_mcast_xmit``). HIGHEST_SEQNO (``resend_last_seqno``) lets receivers detect a lost last message."""

from __future__ import annotations

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.objects import SeqnoList
from pygroups.protocols.reliable import seqno_list, seqnos_of
from pygroups.wire.headers.nakack import HIGHEST_SEQNO, XMIT_REQ, XMIT_RSP, NakAckHeader2

from .base import NakAck2Base


class Retransmitter(NakAck2Base):
    # --- inbound ----------------------------------------------------------------------------------------

    def handle_xmit_req(self, msg: Message, hdr: NakAckHeader2) -> None:
        missing = msg.payload
        if msg.src is None or hdr.sender is None or not isinstance(missing, SeqnoList):
            self.counters["msgs_dropped_bad_header"] += 1
            self.log.error("bad XMIT_REQ from %s: sender=%s payload=%r", msg.src, hdr.sender, missing)
            return
        self.answer_xmit_req(msg.src, missing, hdr.sender)

    def answer_xmit_req(self, requester: Address, missing: SeqnoList, original_sender: Address) -> None:
        seqnos = seqnos_of(missing)
        self.counters["xmit_reqs_received"] += len(seqnos)
        buf = self.xmit_table.get(original_sender)
        if buf is None:
            self.counters["xmit_reqs_unknown_sender"] += 1
            self.log.error("XMIT_REQ from %s: sender %s not found", requester, original_sender)
            return
        for s in seqnos:
            msg = buf.get(s)
            if msg is None:
                self.counters["xmit_req_msgs_not_found"] += 1
                if self.log_not_found_msgs and requester != self.local_addr and s > buf.low:
                    self.log.warning("%s#%d not found for retransmission to %s", original_sender, s, requester)
                continue
            self.send_xmit_rsp(requester, msg)

    def handle_highest_seqno(self, sender: Address, seqno: int) -> None:
        """Ask for a sender's announced last message we lack, as Java does, and (beyond Java, which asks
        once and then waits up to STABLE's 50-100 s gossip) keep asking every ``xmit_interval`` until it
        arrives: a lost last message and a lost retransmission of it then cost one interval, not a minute."""
        buf = self.xmit_table.get(sender)
        if buf is None:
            return
        if buf.hr >= 0 and seqno > buf.hr:
            self.log.debug("highest received from %s is %d < %d: asking for it", sender, buf.hr, seqno)
            self.send_xmit_req_range(seqno, seqno, sender)
            if seqno > self._announced.get(sender, 0):
                self._announced[sender] = seqno

    # --- outbound ---------------------------------------------------------------------------------------

    def send_xmit_rsp(self, dest: Address, msg: Message) -> None:
        self.counters["xmit_rsps_sent"] += 1
        if msg.src is None:
            msg.src = self.local_addr
        if self.use_mcast_xmit:
            msg.transient_flags |= TransientFlag.DONT_BLOCK
            self.down_layer.down_msg(msg)
            return
        hdr = msg.headers.get(self.protocol_id)
        seqno = hdr.seqno if isinstance(hdr, NakAckHeader2) else None
        xmit = msg.copy()
        xmit.dest = dest
        xmit.transient_flags = TransientFlag.DONT_BLOCK
        xmit.put_header(self.protocol_id, NakAckHeader2(XMIT_RSP, seqno))
        self.down_layer.down_msg(xmit)

    def send_xmit_req_range(self, first: int, last: int, sender: Address) -> None:
        if first > last:
            return
        self.send_xmit_req(seqno_list(last - first + 1, first, range(first, last + 1)), sender)

    def send_xmit_req(self, missing: SeqnoList, sender: Address, multicast_req: bool = False) -> None:
        dest: Address | None = None if multicast_req or self.use_mcast_xmit_req else sender
        local = self.local_addr
        if self.xmit_from_random_member and sender != local and self.members:
            random_member = self.rng.choice(self.members)
            if random_member != local:
                dest = random_member
        req = Message(
            MsgType.OBJECT,
            dest=dest,
            flags=Flag.OOB | Flag.NO_FC,
            transient_flags=TransientFlag.DONT_BLOCK,
            payload=missing,
        )
        req.put_header(self.protocol_id, NakAckHeader2(XMIT_REQ, sender=sender))
        self.log.debug("--> %s: XMIT_REQ(%s %s)", dest, sender, seqnos_of(missing))
        self.down_layer.down_msg(req)
        self.counters["xmit_reqs_sent"] += len(seqnos_of(missing))

    def send_highest_seqno(self, seqno: int) -> None:
        """Java's LastSeqnoResender: multicast our last seqno, at most ``resend_last_seqno_max_times``
        per seqno and not right after a send (the next message carries it anyway)."""
        if seqno == 0:
            return
        if self._skip_next_resend:
            self._skip_next_resend = False
            return
        if seqno == self._last_seqno_resent and self._num_resends >= self.resend_last_seqno_max_times:
            return
        if seqno > self._last_seqno_resent:
            self._last_seqno_resent = seqno
            self._num_resends = 1
        else:
            self._num_resends += 1
        msg = Message(
            MsgType.EMPTY,
            flags=Flag.OOB | Flag.NO_FC,
            transient_flags=TransientFlag.DONT_LOOPBACK | TransientFlag.DONT_BLOCK,
        )
        msg.put_header(self.protocol_id, NakAckHeader2(HIGHEST_SEQNO, seqno))
        self.down_layer.down_msg(msg)

    # --- the retransmit task ----------------------------------------------------------------------------

    def cancel_xmit_task(self) -> None:
        if self._xmit_timer is not None:
            self._xmit_timer.cancel()
            self._xmit_timer = None

    def on_xmit_timer(self) -> None:
        # fixed delay: the next run is scheduled first so a failure in this one cannot stop the task
        self._xmit_timer = self.timers.call_later(self.xmit_interval * MS, self.on_xmit_timer)
        self.trigger_xmit()

    def trigger_xmit(self) -> None:
        """One run of Java's RetransmitTask: ask for gaps seen on the previous run too, then
        multicast HIGHEST_SEQNO if due."""
        for target, buf in list(self.xmit_table.items()):
            missing = buf.missing(self.max_xmit_req_size) if buf.num_missing > 0 else None
            if missing is None:
                self._xmit_task_map.pop(target, None)  # no current gaps for target
                continue
            seqnos = seqnos_of(missing)
            if not seqnos:
                self._xmit_task_map.pop(target, None)
                continue
            highest = seqnos[-1]
            prev = self._xmit_task_map.get(target)
            if prev is None:
                self._xmit_task_map[target] = highest  # first sighting: only remember it
                continue
            if highest > prev:
                self._xmit_task_map[target] = highest
            # only the gaps already seen last time; and never what is deliverable (JGRP-2574)
            floor = buf.highest_deliverable()
            keep = [s for s in seqnos if floor < s <= prev]
            if keep:
                self.send_xmit_req(seqno_list(missing.size, missing.offset, keep), target)
        self.ask_for_announced()
        if self.resend_last_seqno:
            self.send_highest_seqno(self.seqno)

    def ask_for_announced(self) -> None:
        """Ask again for every announced last message that has not arrived yet (see handle_highest_seqno)."""
        for sender, seqno in list(self._announced.items()):
            buf = self.xmit_table.get(sender)
            if buf is None or buf.hr >= seqno:
                del self._announced[sender]
                continue
            self.counters["xmit_reqs_for_announced_last"] += 1
            self.send_xmit_req_range(seqno, seqno, sender)
