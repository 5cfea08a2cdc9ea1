"""pbcast.NAKACK2: reliable, FIFO-per-sender multicast with negative acknowledgements.

Mirrors org.jgroups.protocols.pbcast.NAKACK2 (5.5.6):

* down: a multicast (dest None, no NO_RELIABILITY) gets the next seqno in a MSG header and is kept
  in our own `Table` until STABLE purges it; the transport loops it back to us, and the looped-back
  copy is delivered *from the table* (the copy itself is never added). Unicasts pass through.
* up: MSG (and XMIT_RSP, turned back into MSG) goes into the sender's table; regular messages are
  delivered in seqno order, OOB ones at once and exactly once (a dummy keeps their slot so the FIFO
  stream continues). Senders without a table (non-members) are dropped. Before the join completes
  (`BecomeServer`), up to ``become_server_queue_size`` messages are queued and replayed.
* retransmission: every ``xmit_interval`` each table with gaps is examined; a gap seen on two
  consecutive runs is asked for with an XMIT_REQ (ObjectMessage OOB|NO_FC, `SeqnoList` payload) to
  the original sender. XMIT_REQ is answered with copies marked XMIT_RSP (or the original re-multicast
  with ``use_mcast_xmit``, which is forced off for transports without IP multicast). HIGHEST_SEQNO
  (``resend_last_seqno``) lets receivers detect a lost last message.
* digests: answers `GetDigest`; handles `SetDigest`, `OverwriteDigest`, `MergeDigest` and
  `Stable` (purge delivered messages up to the stable seqnos).

`statistics()` keys (counters, then gauges):

========================================  ===========================================================
``num_messages_sent`` / ``_received``     multicasts sent / MSG+XMIT_RSP received (JMX names)
``xmit_reqs_sent`` / ``_received``        seqnos asked for / asked of us (Java counts seqnos)
``xmit_rsps_sent`` / ``_received``        retransmitted messages sent / received
``msgs_dropped_non_member``               messages from senders without a table
``msgs_queued_not_server``                messages queued before BecomeServer
``msgs_dropped_queue_full``               messages discarded because that queue was full
``msgs_dropped_not_running``              multicasts sent before start / after stop
``msgs_dropped_no_own_table``             multicasts sent before our own table exists (no digest)
``msgs_dropped_bad_header``               unknown header type, missing src/seqno/sender, bad payload
``xmit_reqs_unknown_sender``              XMIT_REQ for a sender we have no table for
``xmit_req_msgs_not_found``               requested seqnos no longer (or never) buffered
``deliver_errors``                        exceptions raised by the layers above on delivery
``current_seqno``                         gauge: the last seqno we assigned
``xmit_table_undelivered_msgs``           gauge: received but not yet deliverable (all senders)
``xmit_table_missing_messages``           gauge: gaps in all tables
``xmit_table_num_current_msgs``           gauge: messages held in all tables (delivered-but-unpurged
                                          included): bounded when STABLE works
``xmit_table_max_current_msgs``           gauge: the largest per-sender count of the above
``become_server_queue_size_actual``       gauge
========================================  ===========================================================

`window(sender)` and `table_sizes()` give per-sender tables and their sizes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from pygroups.address import Address
from pygroups.clock import TimerHandle
from pygroups.errors import ConfigError
from pygroups.events import (
    BecomeServer,
    Disconnect,
    Event,
    GetDigest,
    MergeDigest,
    OverwriteDigest,
    SetDigest,
    Stable,
    TmpView,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.objects import SeqnoList
from pygroups.stack.layer import Layer, answers
from pygroups.stack.properties import Bool, Duration, Float, Int, prop
from pygroups.stack.registry import protocol
from pygroups.protocols.reliable.table import Table, seqno_list, seqnos_of
from pygroups.view import Digest, View
from pygroups.wire.headers.nakack import HIGHEST_SEQNO, MSG, XMIT_REQ, XMIT_RSP, NakAckHeader2

_NS_PER_MS = 1_000_000
_ALWAYS_REPORTED = (
    "num_messages_sent",
    "num_messages_received",
    "xmit_reqs_sent",
    "xmit_reqs_received",
    "xmit_rsps_sent",
    "xmit_rsps_received",
    "msgs_dropped_non_member",
)

# Stands in for a remote OOB message already delivered on arrival (Java's DUMMY_OOB_MSG).
_DUMMY_OOB = Message(MsgType.EMPTY, flags=Flag.OOB)


def _skip_at_once(m: Message) -> bool:
    """Java's dont_loopback_filter: slots the sender's own window may count as delivered at once."""
    return bool(m.transient_flags & (TransientFlag.DONT_LOOPBACK | TransientFlag.OOB_DELIVERED)) or m is _DUMMY_OOB


@protocol("pbcast.NAKACK2")
class NAKACK2(Layer):
    """Reliable FIFO multicast (see the module docstring)."""

    name = "pbcast.NAKACK2"  # explicit: Layer would default it to the class name, which @protocol rejects

    use_mcast_xmit: bool = prop(Bool, True, "Retransmit by re-multicasting (off without IP multicast)")
    use_mcast_xmit_req: bool = prop(Bool, False, "Multicast retransmission requests")
    xmit_from_random_member: bool = prop(Bool, False, "Ask a random member for retransmission")
    discard_delivered_msgs: bool = prop(Bool, True, "Receivers drop messages once delivered")
    log_discard_msgs: bool = prop(Bool, True, "Warn about messages from non-members")
    log_not_found_msgs: bool = prop(Bool, True, "Warn about requested messages no longer buffered")
    xmit_interval: int = prop(Duration, 1000, "ms between runs of the retransmit task")
    xmit_table_num_rows: int = prop(Int, 100, "Java Table layout (accepted, not needed by the dict-based Table)")
    xmit_table_msgs_per_row: int = prop(Int, 1024, "Java Table layout (accepted, not needed)")
    xmit_table_resize_factor: float = prop(Float, 1.2, "Java Table layout (accepted, not needed)")
    xmit_table_max_compaction_time: int = prop(Duration, 10000, "Java Table layout (accepted, not needed)")
    become_server_queue_size: int = prop(Int, 50, "Messages queued until the join completes")
    suppress_time_non_member_warnings: int = prop(Duration, 60000, "ms between warnings about one non-member")
    max_xmit_req_size: int = prop(Int, 1024, "Max seqnos in one XMIT_REQ")
    max_batch_size: int = prop(Int, 0, "Max messages delivered in one batch (0 = unbounded)")
    reuse_message_batches: bool = prop(Bool, True, "Java batch caching (accepted, no effect here)")
    resend_last_seqno: bool = prop(Bool, True, "Multicast HIGHEST_SEQNO every xmit_interval after sending")
    resend_last_seqno_max_times: int = prop(Int, 1, "HIGHEST_SEQNO sends per unchanged seqno")

    def __init__(self) -> None:
        super().__init__()
        self.is_server = False
        self.running = False
        self.leaving = False
        self.members: tuple[Address, ...] = ()
        self.view: View | None = None
        self.seqno = 0
        self.xmit_table: dict[Address, Table[Message]] = {}
        self._xmit_task_map: dict[Address, int] = {}
        self._stable_xmit_map: dict[Address, int] = {}
        self._become_server_queue: list[Message] = []
        self._xmit_timer: TimerHandle | None = None
        self._delivering: dict[Address, bool] = {}  # sender -> "more arrived while delivering"
        self._non_member_warned: dict[Address, int] = {}
        # LastSeqnoResender state
        self._skip_next_resend = False
        self._last_seqno_resent = 0
        self._num_resends = 0

    # --- lifecycle ------------------------------------------------------------------------------------

    def validate(self) -> None:
        if self.xmit_interval <= 0:
            raise ConfigError("pbcast.NAKACK2: xmit_interval has to be > 0")

    def init(self) -> None:
        if self.xmit_from_random_member and self.discard_delivered_msgs:
            self.discard_delivered_msgs = False  # other members must be able to serve retransmissions
        if not getattr(self.stack.transport, "supports_multicasting", False):
            self.use_mcast_xmit = False  # TCP: a "multicast" is N unicasts; answer the requester only
            self.use_mcast_xmit_req = False
        if self.become_server_queue_size <= 0:
            self.log.warning("become_server_queue_size <= 0; using 10")
            self.become_server_queue_size = 10

    def start(self) -> None:
        self.running = True
        self.leaving = False
        self._cancel_xmit_task()
        self._xmit_timer = self.timers.call_later(0, self._retransmit_task)

    def stop(self) -> None:
        self.running = False
        self.is_server = False
        self._become_server_queue.clear()
        self._cancel_xmit_task()
        self._xmit_task_map.clear()
        self._stable_xmit_map.clear()
        self._reset()

    def _reset(self) -> None:
        self.seqno = 0
        self.xmit_table.clear()

    # --- events -----------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case Stable(digest=d):
                self._stable(d)
                return
            case SetDigest(digest=d):
                self._set_digest(d, merge=False)
                return
            case MergeDigest(digest=d):
                self._set_digest(d, merge=True)
                return
            case OverwriteDigest(digest=d):
                self._overwrite_digest(d)
                return
            case TmpView(view=v):
                self.members = v.members
            case ViewChange(view=v):
                self.members = v.members
                self.view = v
                self._adjust_receivers(v.members)
                self.is_server = True
                keep = set(v.members)
                for m in (self._xmit_task_map, self._stable_xmit_map, self._non_member_warned):
                    for a in [a for a in m if a not in keep]:
                        del m[a]
            case BecomeServer():
                self.is_server = True
                self._flush_become_server_queue()
            case Disconnect():
                self.leaving = True
                self._reset()
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        if isinstance(evt, Stable):
            self._stable(evt.digest)
            return
        self.up_layer.up(evt)

    @answers(GetDigest)
    def answer_digest(self, q: GetDigest) -> Digest | None:
        if q.member is None:
            return self.digest()
        buf = self.xmit_table.get(q.member)
        return None if buf is None else Digest((q.member,), (buf.digest(),))

    def digest(self) -> Digest:
        """(highest delivered, highest received) for every sender we have a table for."""
        return Digest(tuple(self.xmit_table), tuple(t.digest() for t in self.xmit_table.values()))

    # --- sending ----------------------------------------------------------------------------------------

    def down_msg(self, msg: Message) -> None:
        if msg.dest is not None or msg.flags & Flag.NO_RELIABILITY:
            self.down_layer.down_msg(msg)
            return
        self._send(msg)

    def _send(self, msg: Message) -> None:
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
        buf.add(self.seqno, msg, _skip_at_once if dont_loopback else None)
        self.down_layer.down_msg(msg)
        self.counters["num_messages_sent"] += 1
        if self.resend_last_seqno:
            self._skip_next_resend = True

    # --- receiving --------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        hdr = self._header_of(msg)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        if not self.is_server:
            self._queue_message(msg)
            return
        match hdr.type:
            case NakAckHeader2.Type.MSG:
                self._handle_message(msg, hdr)
            case NakAckHeader2.Type.XMIT_REQ:
                self._handle_xmit_req_msg(msg, hdr)
            case NakAckHeader2.Type.XMIT_RSP:
                self.counters["xmit_rsps_received"] += 1
                back = self._msg_from_xmit_rsp(msg, hdr)
                self._handle_message(msg, back)
            case NakAckHeader2.Type.HIGHEST_SEQNO:
                if msg.src is not None and hdr.seqno is not None:
                    self._handle_highest_seqno(msg.src, hdr.seqno)
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
            hdr = self._header_of(msg)
            if hdr is None:
                rest.append(msg)
                continue
            if not self.is_server:
                self._queue_message(msg)
                continue
            if hdr.type == XMIT_RSP:
                self.counters["xmit_rsps_received"] += 1
                hdr = self._msg_from_xmit_rsp(msg, hdr)
            if hdr.type == MSG:
                by_sender.setdefault(msg.src, []).append((msg, hdr))
            else:
                self.up_msg(msg)
        for sender, msgs in by_sender.items():
            self._handle_messages(sender, msgs)
        if rest:
            self.up_layer.up_batch(rest)

    def _header_of(self, msg: Message) -> NakAckHeader2 | None:
        if msg.flags & Flag.NO_RELIABILITY:
            return None
        hdr = msg.headers.get(self.protocol_id)
        return hdr if isinstance(hdr, NakAckHeader2) else None

    def _queue_message(self, msg: Message) -> None:
        if len(self._become_server_queue) < self.become_server_queue_size:
            self._become_server_queue.append(msg)
            self.counters["msgs_queued_not_server"] += 1
        else:
            self.counters["msgs_dropped_queue_full"] += 1
            self.log.debug("message from %s discarded (not yet server, queue full)", msg.src)

    def _flush_become_server_queue(self) -> None:
        if not self._become_server_queue:
            return
        queued, self._become_server_queue = self._become_server_queue, []
        # Java replays them on the thread pool, i.e. after GMS has finished installing the view.
        self.stack.call_soon(self._replay, queued)

    def _replay(self, queued: list[Message]) -> None:
        for msg in queued:
            self.up_msg(msg)

    def _msg_from_xmit_rsp(self, msg: Message, hdr: NakAckHeader2) -> NakAckHeader2:
        msg.dest = None
        back = NakAckHeader2(MSG, hdr.seqno)
        msg.put_header(self.protocol_id, back)
        return back

    def _handle_message(self, msg: Message, hdr: NakAckHeader2) -> None:
        self._handle_messages(msg.src, [(msg, hdr)])

    def _handle_messages(self, sender: Address | None, msgs: list[tuple[Message, NakAckHeader2]]) -> None:
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
        for msg, hdr in msgs:
            seqno = hdr.seqno
            assert seqno is not None
            oob = bool(msg.flags & Flag.OOB)
            if loopback:
                # Our own message is already in the table (added by _send); deliver the stored one.
                if oob:
                    stored = buf.get(seqno)
                    if stored is not None and self._mark_oob_delivered(stored):
                        oob_now.append(stored)
            elif buf.add(seqno, _DUMMY_OOB if oob else msg) and oob:
                oob_now.append(msg)
        if oob_now:
            self._deliver(oob_now)
        self._remove_and_deliver(buf, sender, loopback)

    @staticmethod
    def _mark_oob_delivered(msg: Message) -> bool:
        """Java's setFlagIfAbsent(OOB_DELIVERED): True the first time only (exactly-once OOB)."""
        if not msg.flags & Flag.OOB or msg.transient_flags & TransientFlag.OOB_DELIVERED:
            return False
        msg.transient_flags |= TransientFlag.OOB_DELIVERED
        return True

    def _deliverable(self, msg: Message) -> bool:
        """Java's no_dummy_and_no_oob_delivered_msgs_and_no_dont_loopback_msgs."""
        if msg is _DUMMY_OOB:
            return False
        if msg.flags & Flag.OOB and not self._mark_oob_delivered(msg):
            return False
        return not (msg.transient_flags & TransientFlag.DONT_LOOPBACK and msg.src == self.local_addr)

    def _remove_and_deliver(self, buf: Table[Message], sender: Address, loopback: bool) -> None:
        # Java lets one thread per sender deliver; here a re-entrant call (a layer above reacting
        # synchronously) just asks the running loop to look again.
        if sender in self._delivering:
            self._delivering[sender] = True
            return
        self._delivering[sender] = False
        nullify = self.discard_delivered_msgs and not loopback
        try:
            while True:
                batch = buf.remove_many(nullify, self.max_batch_size, self._deliverable)
                if batch:
                    self._deliver(batch)
                    continue
                if not self._delivering[sender]:
                    break
                self._delivering[sender] = False
        finally:
            del self._delivering[sender]

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
        suppress = self.suppress_time_non_member_warnings * _NS_PER_MS
        if last is not None and suppress > 0 and now - last < suppress:
            return
        self._non_member_warned[sender] = now
        self.log.warning("dropped message from %s (not in table %s), view=%s", sender, list(self.xmit_table), self.view)

    # --- retransmission ---------------------------------------------------------------------------------

    def _handle_xmit_req_msg(self, msg: Message, hdr: NakAckHeader2) -> None:
        missing = msg.payload
        if msg.src is None or hdr.sender is None or not isinstance(missing, SeqnoList):
            self.counters["msgs_dropped_bad_header"] += 1
            self.log.error("bad XMIT_REQ from %s: sender=%s payload=%r", msg.src, hdr.sender, missing)
            return
        self._handle_xmit_req(msg.src, missing, hdr.sender)

    def _handle_xmit_req(self, requester: Address, missing: SeqnoList, original_sender: Address) -> None:
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
            self._send_xmit_rsp(requester, msg)

    def _send_xmit_rsp(self, dest: Address, msg: Message) -> None:
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

    def _handle_highest_seqno(self, sender: Address, seqno: int) -> None:
        buf = self.xmit_table.get(sender)
        if buf is None:
            return
        if buf.hr >= 0 and seqno > buf.hr:
            self.log.debug("highest received from %s is %d < %d: asking for it", sender, buf.hr, seqno)
            self._retransmit_range(seqno, seqno, sender)

    def _retransmit_range(self, first: int, last: int, sender: Address) -> None:
        if first > last:
            return
        self._retransmit(seqno_list(last - first + 1, first, range(first, last + 1)), sender)

    def _retransmit(self, missing: SeqnoList, sender: Address, multicast_req: bool = False) -> None:
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

    def _cancel_xmit_task(self) -> None:
        if self._xmit_timer is not None:
            self._xmit_timer.cancel()
            self._xmit_timer = None

    def _retransmit_task(self) -> None:
        # fixed delay: the next run is scheduled first so a failure in this one cannot stop the task
        self._xmit_timer = self.timers.call_later(self.xmit_interval * _NS_PER_MS, self._retransmit_task)
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
                self._retransmit(seqno_list(missing.size, missing.offset, keep), target)
        if self.resend_last_seqno:
            self._resend_last_seqno(self.seqno)

    def _resend_last_seqno(self, seqno: int) -> None:
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

    # --- digests and stability --------------------------------------------------------------------------

    def _adjust_receivers(self, members: Sequence[Address]) -> None:
        """Drop the tables of members who left (never our own); new members start at seqno 0."""
        keep = set(members)
        local = self.local_addr
        for mbr in [m for m in self.xmit_table if m not in keep and m != local]:
            del self.xmit_table[mbr]
            self.log.debug("removed %s from xmit_table (not member anymore)", mbr)
        for mbr in members:
            if mbr not in self.xmit_table:
                self.xmit_table[mbr] = Table(0)

    def _set_digest(self, digest: Digest, merge: bool) -> None:
        """SetDigest: create tables for members we lack. MergeDigest also replaces tables that are
        behind the digest (never our own)."""
        local = self.local_addr
        for mbr, (hd, _hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None:
                if not merge or mbr == local or buf.hd >= hd:
                    continue
                del self.xmit_table[mbr]
            self.xmit_table[mbr] = Table(hd)
        self.log.debug("%s: digest now %s", "merge_digest" if merge else "set_digest", self.digest())

    def _overwrite_digest(self, digest: Digest) -> None:
        """Replace the tables of the digest's members (ours only gets its hd adjusted, JGRP-1251);
        members missing from the digest keep theirs."""
        local = self.local_addr
        for mbr, (hd, _hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None:
                if mbr == local:
                    buf.set_highest_delivered(hd)
                    continue
                del self.xmit_table[mbr]
            self.xmit_table[mbr] = Table(hd)
        self.log.debug("overwrite_digest: digest now %s", self.digest())

    def _stable(self, digest: Digest) -> None:
        """Purge delivered messages up to each member's stable hd; if a member's hr from the
        previous stability round is still above ours, ask for it (a lost last message)."""
        if self.local_addr is None:
            return
        self.log.debug("received stable digest %s", digest)
        for mbr, (hd, hr) in zip(digest.members, digest.seqnos, strict=False):
            if mbr is None:
                continue
            buf = self.xmit_table.get(mbr)
            if buf is not None and self.xmit_interval > 0:
                prev_hr = self._stable_xmit_map.get(mbr)
                if prev_hr is not None and prev_hr > buf.hr:
                    self.log.debug("stability hr %d of %s > my hr %d: asking for it", prev_hr, mbr, buf.hr)
                    self._retransmit_range(prev_hr, prev_hr, mbr)
                self._stable_xmit_map[mbr] = hr
            if hd >= 0 and buf is not None:
                buf.purge(hd)

    # --- introspection ----------------------------------------------------------------------------------

    def window(self, sender: Address) -> Table[Message] | None:
        """The retransmission table of ``sender`` (Java's getWindow)."""
        return self.xmit_table.get(sender)

    def table_sizes(self) -> dict[Address, int]:
        """Messages held per sender (delivered-but-unpurged included)."""
        return {a: t.num_stored for a, t in self.xmit_table.items()}

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict.fromkeys(_ALWAYS_REPORTED, 0)
        stats.update(self.counters)
        tables = list(self.xmit_table.values())
        stats["current_seqno"] = self.seqno
        stats["xmit_table_undelivered_msgs"] = sum(t.size for t in tables)
        stats["xmit_table_missing_messages"] = sum(t.num_missing for t in tables)
        stats["xmit_table_num_current_msgs"] = sum(t.num_stored for t in tables)
        stats["xmit_table_max_current_msgs"] = max((t.num_stored for t in tables), default=0)
        stats["become_server_queue_size_actual"] = len(self._become_server_queue)
        return MappingProxyType(stats)
