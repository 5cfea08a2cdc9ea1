"""UNICAST3: reliable, FIFO unicast with positive (ACK) and negative (XMIT_REQ) acks, as in JGroups 5.5.6.

Why it looks the way it does: Java nodes talk to us through it, so conn_ids, seqnos, the `first`
flag, ACK timestamps, SEND_FIRST_SEQNO and XMIT_REQ follow org.jgroups.protocols.UNICAST3 exactly.

- Send side (per destination): a `_SenderEntry` with a conn_id from a node-wide counter (0, 1, ...
  wrapping to 0 after 32767), seqnos from 1 (``first`` set on seqno 1), every message kept until
  an ACK with the entry's conn_id and a newer timestamp purges it. Unicasts to ourselves go through
  the same send window and are delivered from it when the transport loops them back (Java's
  ``handleDataReceivedFromSelf``), unless ``loopback`` is set (then they bypass the window).
- Receive side (per sender): a `_ReceiverEntry` keyed by the sender's conn_id, created by a DATA
  with ``first``; a DATA that finds no entry (or another conn_id) without ``first`` is cached and
  answered with SEND_FIRST_SEQNO (rate-limited by ``sync_min_interval``). OOB messages are
  delivered on arrival and tracked with a placeholder so they are never delivered twice.
- The retransmit task (every ``xmit_interval``) sends pending ACKs, XMIT_REQs for gaps seen on two
  consecutive runs, re-sends the highest unacked message when nothing moved since the last run,
  and ages connections out (``conn_expiry_timeout`` -> CLOSING, ``conn_close_timeout`` -> removed,
  CLOSE sent to members). A batch of >= ``ack_threshold`` messages is acked at once.
- ``max_retransmit_time``: send entries to non-members are closed after that long (AgeOutCache).

Events: handles `ViewChange` going down (closes entries of non-members, reopens members'); stop()
(after `Disconnect`) sends pending acks and clears all state. Everything else passes through.

Statistics keys (`statistics()`): counters ``num_msgs_sent``, ``num_msgs_received``,
``num_msgs_delivered``, ``num_acks_sent``, ``num_acks_received``, ``num_xmits`` (sender-side
re-sends of the highest unacked message), ``xmit_reqs_sent`` / ``xmit_reqs_received`` (seqnos
asked for), ``xmit_rsps_sent``, ``num_loopbacks``, ``num_duplicates``, ``num_first_seqno_reqs_sent``,
``num_first_seqno_resends``, ``num_close_sent``, ``num_close_received``, ``dropped_*`` (bad input);
gauges ``num_unacked_msgs`` (messages held in all send windows), ``num_send_connections``,
``num_receive_connections``, ``xmit_table_undelivered_msgs`` (messages held in receive windows),
``xmit_table_missing_msgs``, ``num_cached_msgs`` (messages waiting for a receive entry),
``age_out_cache_size``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING

from pygroups.events import Event, ViewChange
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.objects import SeqnoList
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Duration, Float, Int, prop
from pygroups.stack.registry import protocol
from pygroups.wire.headers.unicast import ACK, CLOSE, DATA, SEND_FIRST_SEQNO, XMIT_REQ, UnicastHeader3

if TYPE_CHECKING:
    from pygroups.address import Address
    from pygroups.clock import TimerHandle

MS = 1_000_000
DEFAULT_FIRST_SEQNO = 1
_SHORT_MAX = 32767
# Java derives max_xmit_req_size from the bundler's max size (64000 by default) when it is 0.
_DEFAULT_BUNDLER_MAX_SIZE = 64000

_OOB = int(Flag.OOB)
_NO_FC = int(Flag.NO_FC)
_NO_RELIABILITY = int(Flag.NO_RELIABILITY)
_OOB_DELIVERED = int(TransientFlag.OOB_DELIVERED)
_DONT_LOOPBACK = int(TransientFlag.DONT_LOOPBACK)
_DONT_BLOCK = int(TransientFlag.DONT_BLOCK)


def _int32(v: int) -> int:
    """Java int arithmetic (the ACK timestamper wraps like AtomicInteger)."""
    return ((v + 2**31) % 2**32) - 2**31


def _newer(ts1: int, ts2: int) -> bool:
    """UNICAST3.compare(ts1, ts2) > 0: overflow-aware 'ts1 is after ts2'."""
    return _int32(ts1 - ts2) > 0


class _OobPlaceholder:
    """Stored in receive windows instead of an OOB message that was already delivered (DUMMY_OOB_MSG)."""

    __slots__ = ()


_DELIVERED_OOB = _OobPlaceholder()
_Item = Message | _OobPlaceholder


def seqno_list(size: int, offset: int, seqnos: Iterable[int]) -> SeqnoList:
    """A SeqnoList of ``size`` bits from ``offset`` with ``seqnos`` set (Java keeps the size when bits
    are cleared, so the bytes match Java's only if we do the same)."""
    words = [0] * (((size - 1) >> 6) + 1 if size > 0 else 0)
    for s in seqnos:
        i = s - offset
        words[i >> 6] |= 1 << (i & 63)
    return SeqnoList(size, offset, tuple(w - (1 << 64) if w >> 63 else w for w in words))


class _Window:
    """Messages keyed by seqno: ``low`` (purged up to), ``hd`` (delivered / acked up to), ``hr``
    (highest added). The subset of util.Table that UNICAST3 uses, on a dict."""

    __slots__ = ("delivering", "hd", "hr", "low", "more", "msgs")

    def __init__(self, offset: int) -> None:
        self.low = self.hd = self.hr = offset
        self.msgs: dict[int, _Item] = {}
        self.delivering = False  # Table.adders: one delivery loop per window at a time
        self.more = False

    def add(self, seqno: int, item: _Item) -> bool:
        if seqno <= self.hd or seqno in self.msgs:
            return False
        self.msgs[seqno] = item
        if seqno > self.hr:
            self.hr = seqno
        return True

    def get(self, seqno: int) -> _Item | None:
        return self.msgs.get(seqno)

    def highest_deliverable(self) -> int:
        s = self.hd
        while s + 1 in self.msgs:
            s += 1
        return s

    def remove_deliverable(self, max_results: int = 0) -> list[_Item]:
        """Table.removeMany(nullify=true): everything contiguous after hd (at most max_results if > 0)."""
        out: list[_Item] = []
        msgs, hd = self.msgs, self.hd
        while hd + 1 in msgs and (max_results <= 0 or len(out) < max_results):
            hd += 1
            out.append(msgs.pop(hd))
        if hd > self.hd:
            self.hd = self.low = hd
        return out

    def purge(self, seqno: int) -> None:
        """Table.purge(seqno, force=true): drop everything <= seqno (capped at hr); hd follows."""
        if seqno <= self.low:
            return
        seqno = min(seqno, self.hr)
        msgs = self.msgs
        if seqno - self.low > len(msgs):
            for s in [s for s in msgs if s <= seqno]:
                del msgs[s]
        else:
            for s in range(self.low + 1, seqno + 1):
                msgs.pop(s, None)
        self.low = max(self.low, seqno)
        if seqno > self.hd:
            self.hd = self.low = seqno

    def num_missing(self) -> int:
        return self.hr - self.hd - len(self.msgs)

    def missing(self, max_msgs: int) -> tuple[int, int, list[int]] | None:
        """Table.getMissing(max_msgs) as (size, offset, seqnos), or None."""
        if not self.msgs:
            return None
        start = self.highest_deliverable() + 1
        capacity = self.hr - start
        max_size = min(max_msgs, capacity) if max_msgs > 0 else capacity
        if max_size <= 0:
            return None
        out: list[int] = []
        for s in range(start, min(start + max_size - 1, self.hr - 1) + 1):
            if s not in self.msgs:
                if len(out) >= max_size:
                    break
                out.append(s)
        return max_size, start, out


class _State(enum.Enum):
    OPEN = 0
    CLOSING = 1
    CLOSED = 2


class _Entry:
    __slots__ = ("conn_id", "state", "timestamp_ns", "win")

    def __init__(self, conn_id: int, win: _Window, now_ns: int) -> None:
        self.conn_id = conn_id
        self.win = win
        self.timestamp_ns = now_ns
        self.state = _State.OPEN

    def set_state(self, state: _State, now_ns: int) -> None:
        if self.state is not state:
            self.state = state
            self.timestamp_ns = now_ns

    def age_ms(self, now_ns: int) -> int:
        return (now_ns - self.timestamp_ns) // MS


class _SenderEntry(_Entry):
    __slots__ = ("last_timestamp", "next_seqno", "watermark")

    def __init__(self, conn_id: int, now_ns: int) -> None:
        super().__init__(conn_id, _Window(0), now_ns)
        self.next_seqno = DEFAULT_FIRST_SEQNO
        self.watermark = (0, 0)  # highest acked, highest sent at the previous retransmit run
        self.last_timestamp = 0

    def update_last_timestamp(self, ts: int) -> bool:
        """True if ``ts`` is newer than the last accepted ACK/SEND_FIRST_SEQNO timestamp (or the first)."""
        if self.last_timestamp == 0 or _newer(ts, self.last_timestamp):
            self.last_timestamp = ts
            return True
        return False


class _ReceiverEntry(_Entry):
    __slots__ = ("send_ack",)

    def __init__(self, conn_id: int, first_seqno: int, now_ns: int) -> None:
        super().__init__(conn_id, _Window(first_seqno - 1), now_ns)
        self.send_ack = False


@protocol("UNICAST3")
class UNICAST3(Layer):
    conn_expiry_timeout: int = prop(Duration, 120_000, "idle connections are closed after this many ms (0: never)")
    conn_close_timeout: int = prop(Duration, 240_000, "closed connections are removed after this many ms (0: never)")
    xmit_table_num_rows: int = prop(Int, 100, "Java Table geometry (accepted, unused: windows are dicts)")
    xmit_table_msgs_per_row: int = prop(Int, 1024, "Java Table geometry (accepted, unused)")
    xmit_table_resize_factor: float = prop(Float, 1.2, "Java Table geometry (accepted, unused)")
    xmit_table_max_compaction_time: int = prop(Duration, 600_000, "Java Table compaction (accepted, unused)")
    max_retransmit_time: int = prop(Duration, 60_000, "send entries to non-members are closed after this many ms")
    xmit_interval: int = prop(Duration, 500, "period of the retransmit/ACK task in ms")
    xmits_enabled: bool = prop(Bool, True, "ignored (deprecated in JGroups)", deprecated="is ignored")
    log_not_found_msgs: bool = prop(Bool, True, "warn when a requested retransmission is gone")
    ack_threshold: int = prop(Int, 100, "ack a batch of this many messages at once; 1 acks every message")
    sync_min_interval: int = prop(Duration, 2000, "min ms between two SEND_FIRST_SEQNO to the same sender")
    max_xmit_req_size: int = prop(Int, 0, "max seqnos in one XMIT_REQ (0: derived from the bundle size)")
    max_batch_size: int = prop(Int, 0, "max messages delivered in one batch (0: unbounded)")
    reuse_message_batches: bool = prop(Bool, True, "Java batch reuse (accepted, no effect here)")
    loopback: bool = prop(Bool, False, "deliver unicasts to self directly instead of through the transport")

    def __init__(self) -> None:
        super().__init__()
        self.send_table: dict[Address, _SenderEntry] = {}
        self.recv_table: dict[Address, _ReceiverEntry] = {}
        self.members: frozenset[Address] = frozenset()
        self._running = False
        self._last_conn_id = 0
        self._timestamper = 0
        self._xmit_task_map: dict[Address, int] = {}
        self._last_sync_sent: dict[Address, int] = {}  # sender -> when SEND_FIRST_SEQNO was sent (ns)
        self._msg_cache: dict[Address, list[Message]] = {}
        self._age_out: dict[Address, TimerHandle] = {}
        self._xmit_task: TimerHandle | None = None
        self._max_xmit_req = 0

    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        max_size = getattr(self.stack.transport, "max_bundle_size", _DEFAULT_BUNDLER_MAX_SIZE)
        estimated = ((max_size if isinstance(max_size, int) else _DEFAULT_BUNDLER_MAX_SIZE) - 50) * 8
        self._max_xmit_req = estimated if self.max_xmit_req_size <= 0 else min(self.max_xmit_req_size, estimated)
        if self.xmit_interval <= 0:
            self.log.warning("xmit_interval (%d) has to be > 0; using 500", self.xmit_interval)
            self.xmit_interval = 500

    def start(self) -> None:
        self._msg_cache.clear()
        self._running = True
        if self._xmit_task is None:
            self._xmit_task = self.timers.call_later(0, self._run_xmit_task)

    def stop(self) -> None:
        self.send_pending_acks()
        self._running = False
        if self._xmit_task is not None:
            self._xmit_task.cancel()
            self._xmit_task = None
        self._xmit_task_map.clear()
        for handle in self._age_out.values():
            handle.cancel()
        self._age_out.clear()
        self.remove_all_connections()
        self._msg_cache.clear()

    # --- down -----------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        if isinstance(evt, ViewChange):
            self._handle_view(evt.view.members)
        self.down_layer.down(evt)

    def _handle_view(self, new_members: Sequence[Address]) -> None:
        now = self.now_ns()
        self.members = member_set = frozenset(new_members)
        for mbr in new_members:
            handle = self._age_out.pop(mbr, None)
            if handle is not None:
                handle.cancel()
        non_members = (set(self.send_table) | set(self.recv_table)) - member_set
        for addr in non_members:
            self.close_connection(addr)
        for mbr in new_members:
            s = self.send_table.get(mbr)
            if s is not None and s.state is _State.CLOSING:
                s.set_state(_State.OPEN, now)
            r = self.recv_table.get(mbr)
            if r is not None and r.state is _State.CLOSING:
                r.set_state(_State.OPEN, now)
        for addr in [a for a in self._xmit_task_map if a not in member_set]:
            del self._xmit_task_map[addr]
        limit = self.sync_min_interval * MS
        for addr in [a for a, t in self._last_sync_sent.items() if now - t >= limit]:
            del self._last_sync_sent[addr]

    def down_msg(self, msg: Message) -> None:
        dst = msg.dest
        if dst is None or msg.flags & _NO_RELIABILITY:
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
            if msg.transient_flags & _DONT_LOOPBACK:
                return
            self.counters["num_loopbacks"] += 1
            self.stack.call_soon(self.up_layer.up_msg, msg)
            return
        entry = self._get_sender_entry(dst)
        seqno = entry.next_seqno
        entry.next_seqno += 1
        msg.put_header(self.protocol_id, UnicastHeader3(DATA, seqno, entry.conn_id, seqno == DEFAULT_FIRST_SEQNO))
        entry.win.add(seqno, msg)
        if self.conn_expiry_timeout > 0:
            entry.timestamp_ns = self.now_ns()
        if msg.transient_flags & _DONT_LOOPBACK and dst == local:
            # never looped back: consume it (and anything after it that needs no delivery) at once
            win = entry.win
            while win.hd + 1 in win.msgs and _no_delivery_needed(win.msgs[win.hd + 1]):
                win.hd += 1
                del win.msgs[win.hd]
            win.purge(win.hd)
        self.counters["num_msgs_sent"] += 1
        self.down_layer.down_msg(msg)

    def _get_sender_entry(self, dst: Address) -> _SenderEntry:
        entry = self.send_table.get(dst)
        now = self.now_ns()
        if entry is None or entry.state is _State.CLOSED:
            entry = _SenderEntry(self._new_conn_id(), now)
            self.send_table[dst] = entry
            self.log.debug("created sender window for %s (conn-id=%d)", dst, entry.conn_id)
            if self.max_retransmit_time > 0 and dst not in self.members and dst not in self._age_out:
                self._age_out[dst] = self.timers.call_later(self.max_retransmit_time * MS, self._expired, dst)
        if entry.state is _State.CLOSING:
            entry.set_state(_State.OPEN, now)
        return entry

    def _new_conn_id(self) -> int:
        conn_id = self._last_conn_id
        self._last_conn_id = 0 if self._last_conn_id >= _SHORT_MAX or self._last_conn_id < 0 else conn_id + 1
        return conn_id

    def _next_timestamp(self) -> int:
        self._timestamper = _int32(self._timestamper + 1)
        return self._timestamper

    def _expired(self, addr: Address) -> None:
        """AgeOutCache: a send entry to a non-member lived max_retransmit_time."""
        self._age_out.pop(addr, None)
        self.log.debug("removing expired connection to %s", addr)
        self.close_connection(addr)

    # --- up -------------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        if msg.dest is None or msg.flags & _NO_RELIABILITY:
            self.up_layer.up_msg(msg)
            return
        hdr = msg.get_header(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        sender = msg.src
        if not isinstance(hdr, UnicastHeader3) or sender is None:
            self.counters["dropped_malformed"] += 1
            self.log.debug("dropped malformed UNICAST3 message %r", msg)
            return
        if hdr.type == DATA:
            if sender == self.local_addr:
                self._handle_data_from_self(sender, _seqno(hdr), msg)
            else:
                self._handle_data(sender, _seqno(hdr), _conn_id(hdr), bool(hdr.first), msg)
        else:
            self._handle_control(sender, msg, hdr)

    def up_batch(self, batch: Sequence[Message]) -> None:
        """Java's up(MessageBatch), per sender (a Python batch may mix senders)."""
        rest: list[Message] = []
        by_sender: dict[Address, list[tuple[Message, UnicastHeader3]]] = {}
        for msg in batch:
            hdr = msg.get_header(self.protocol_id)
            if msg.dest is None or msg.flags & _NO_RELIABILITY or hdr is None:
                rest.append(msg)
            elif not isinstance(hdr, UnicastHeader3) or msg.src is None:
                self.counters["dropped_malformed"] += 1
            else:
                by_sender.setdefault(msg.src, []).append((msg, hdr))
        for sender, items in by_sender.items():
            if sender == self.local_addr:
                self._handle_batch_from_self(sender, items)
            else:
                self._handle_batch(sender, items)
        if rest:
            self.up_layer.up_batch(rest)

    def _handle_control(self, sender: Address, msg: Message, hdr: UnicastHeader3) -> None:
        t = hdr.type
        if t == ACK:
            self._handle_ack(sender, _seqno(hdr), _conn_id(hdr), hdr.timestamp or 0)
        elif t == SEND_FIRST_SEQNO:
            self._handle_send_first_seqno(sender, hdr.timestamp or 0)
        elif t == XMIT_REQ:
            if not isinstance(msg.payload, SeqnoList):
                self.counters["dropped_malformed"] += 1
                self.log.debug("XMIT_REQ from %s without a SeqnoList: %r", sender, msg.payload)
                return
            self._handle_xmit_req(sender, msg.payload)
        elif t == CLOSE:
            self.counters["num_close_received"] += 1
            entry = self.recv_table.get(sender)
            if entry is not None and entry.conn_id == hdr.conn_id:
                del self.recv_table[sender]
                self.log.debug("removed receive connection for %s (CLOSE)", sender)
        else:
            self.counters["dropped_unknown_type"] += 1
            self.log.debug("unknown UNICAST3 header type %d from %s", t, sender)

    # --- receive side ---------------------------------------------------------------------------------

    def _get_receiver_entry(self, sender: Address, seqno: int, first: bool, conn_id: int) -> _ReceiverEntry | None:
        entry = self.recv_table.get(sender)
        if entry is not None and entry.conn_id == conn_id:
            return entry
        if not first:
            self._send_request_for_first_seqno(sender)
            return None
        if entry is not None:
            self.log.debug("conn_id=%d != %d; resetting receiver window for %s", conn_id, entry.conn_id, sender)
        entry = _ReceiverEntry(conn_id, seqno, self.now_ns())
        self.recv_table[sender] = entry
        return entry

    def _handle_data(self, sender: Address, seqno: int, conn_id: int, first: bool, msg: Message) -> None:
        entry = self._get_receiver_entry(sender, seqno, first, conn_id)
        if entry is None:
            self._msg_cache.setdefault(sender, []).append(msg)
            return
        self._drain_cache(sender, entry)
        self._add_message(entry, sender, seqno, msg)
        self._remove_and_deliver(entry.win)

    def _drain_cache(self, sender: Address, entry: _ReceiverEntry) -> None:
        queued = self._msg_cache.pop(sender, None) if self._msg_cache else None
        for m in queued or ():
            h = m.get_header(self.protocol_id)
            assert isinstance(h, UnicastHeader3)
            if h.conn_id != entry.conn_id:
                self.counters["dropped_cached_wrong_conn_id"] += 1
                continue
            self._add_message(entry, sender, _seqno(h), m)

    def _touch(self, entry: _Entry, num_received: int) -> None:
        """UNICAST3.update(): an entry in use is fresh and OPEN."""
        now = self.now_ns()
        if self.conn_expiry_timeout > 0:
            entry.timestamp_ns = now
        if entry.state is _State.CLOSING:
            entry.set_state(_State.OPEN, now)
        self.counters["num_msgs_received"] += num_received

    def _add_message(self, entry: _ReceiverEntry, sender: Address, seqno: int, msg: Message) -> None:
        win = entry.win
        self._touch(entry, 1)
        oob = bool(msg.flags & _OOB)
        added = win.add(seqno, _DELIVERED_OOB if oob else msg)
        if not added:
            self.counters["num_duplicates"] += 1
        if self.ack_threshold <= 1:
            self._send_ack(sender, win.highest_deliverable(), entry.conn_id)
        else:
            entry.send_ack = True
        if oob and added:
            self._deliver([msg])

    def _handle_batch(self, sender: Address, items: list[tuple[Message, UnicastHeader3]]) -> None:
        by_conn: dict[int, list[tuple[int, Message]]] = {}
        entry = self.recv_table.get(sender)
        for msg, hdr in items:
            if hdr.type != DATA:
                self._handle_control(sender, msg, hdr)
                continue
            seqno = _seqno(hdr)
            by_conn.setdefault(_conn_id(hdr), []).append((seqno, msg))
            if hdr.first:
                entry = self._get_receiver_entry(sender, seqno, True, _conn_id(hdr))
            elif entry is None:
                self._msg_cache.setdefault(sender, []).append(msg)
        if not by_conn:
            return
        if entry is None:
            self._send_request_for_first_seqno(sender)
            return
        self._drain_cache(sender, entry)
        if any(c != entry.conn_id for c in by_conn):
            self._send_request_for_first_seqno(sender)
        msgs = by_conn.get(entry.conn_id)
        if msgs:
            self._handle_batch_received(entry, sender, msgs)

    def _handle_batch_received(self, entry: _ReceiverEntry, sender: Address, msgs: list[tuple[int, Message]]) -> None:
        win = entry.win
        oob_added: list[Message] = []
        for seqno, msg in msgs:
            oob = bool(msg.flags & _OOB)
            if win.add(seqno, _DELIVERED_OOB if oob else msg):
                if oob:
                    oob_added.append(msg)
            else:
                self.counters["num_duplicates"] += 1
        self._touch(entry, len(msgs))
        if len(msgs) >= self.ack_threshold:
            self._send_ack(sender, win.highest_deliverable(), entry.conn_id)
        else:
            entry.send_ack = True
        if oob_added:
            self._deliver(oob_added)
        self._remove_and_deliver(win)

    def _handle_data_from_self(self, sender: Address, seqno: int, msg: Message) -> None:
        entry = self.send_table.get(sender)
        if entry is None or entry.state is _State.CLOSED:
            self.counters["dropped_self_no_entry"] += 1
            self.log.warning("entry not found for %s; dropping message", sender)
            return
        self._touch(entry, 1)
        if msg.flags & _OOB:
            self._deliver_oob_from_self(entry.win, [seqno])
        self._remove_and_deliver(entry.win)

    def _handle_batch_from_self(self, sender: Address, items: list[tuple[Message, UnicastHeader3]]) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            self.counters["dropped_self_no_entry"] += len(items)
            return
        seqnos: list[int] = []
        oob: list[int] = []
        for msg, hdr in items:
            if hdr.type != DATA:
                self._handle_control(sender, msg, hdr)
            elif hdr.conn_id == entry.conn_id:
                seqnos.append(_seqno(hdr))
                if msg.flags & _OOB:
                    oob.append(_seqno(hdr))
        if seqnos:
            self._touch(entry, len(seqnos))
            self._deliver_oob_from_self(entry.win, oob)
            self._remove_and_deliver(entry.win)

    def _deliver_oob_from_self(self, win: _Window, seqnos: list[int]) -> None:
        # the looped-back copy may differ from the stored message: deliver (and flag) the stored one
        out: list[Message] = []
        for seqno in seqnos:
            m = win.get(seqno)
            if isinstance(m, Message) and m.flags & _OOB and not m.transient_flags & _OOB_DELIVERED:
                m.transient_flags |= _OOB_DELIVERED
                out.append(m)
        if out:
            self._deliver(out)

    def _remove_and_deliver(self, win: _Window) -> None:
        """Deliver everything contiguous, one delivery loop per window (Java's ``adders`` guard)."""
        if win.delivering:
            win.more = True
            return
        win.delivering = True
        local = self.local_addr
        try:
            while True:
                win.more = False
                removed = win.remove_deliverable(self.max_batch_size)
                if removed:
                    batch = [m for m in removed if isinstance(m, Message) and _deliverable(m, local)]
                    if batch:
                        self._deliver(batch)
                    continue
                if not win.more:
                    break
        finally:
            win.delivering = False

    def _deliver(self, batch: list[Message]) -> None:
        self.counters["num_msgs_delivered"] += len(batch)
        if len(batch) == 1:
            self.up_layer.up_msg(batch[0])
        else:
            self.up_layer.up_batch(batch)

    def _send_request_for_first_seqno(self, dest: Address) -> None:
        now = self.now_ns()
        last = self._last_sync_sent.get(dest)
        if last is not None and now - last < self.sync_min_interval * MS:
            return
        self._last_sync_sent[dest] = now
        msg = Message(MsgType.EMPTY, dest=dest, flags=_OOB | _NO_FC, transient_flags=_DONT_BLOCK)
        msg.put_header(self.protocol_id, UnicastHeader3(SEND_FIRST_SEQNO, timestamp=self._next_timestamp()))
        self.log.debug("--> %s: SEND_FIRST_SEQNO", dest)
        self.counters["num_first_seqno_reqs_sent"] += 1
        self.down_layer.down_msg(msg)

    def _send_ack(self, dest: Address, seqno: int, conn_id: int) -> None:
        if not self._running:
            return
        msg = Message(MsgType.EMPTY, dest=dest, flags=_NO_FC, transient_flags=_DONT_BLOCK)
        msg.put_header(self.protocol_id, UnicastHeader3(ACK, seqno, conn_id, timestamp=self._next_timestamp()))
        self.counters["num_acks_sent"] += 1
        self.down_layer.down_msg(msg)

    def send_pending_acks(self) -> None:
        for target, entry in list(self.recv_table.items()):
            if entry.send_ack:
                entry.send_ack = False
                self._send_ack(target, entry.win.highest_deliverable(), entry.conn_id)

    # --- send side: ACK, SEND_FIRST_SEQNO, XMIT_REQ ---------------------------------------------------

    def _handle_ack(self, sender: Address, seqno: int, conn_id: int, timestamp: int) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            return
        if entry.conn_id != conn_id:
            self.counters["dropped_ack_wrong_conn_id"] += 1
            self.log.debug("my conn_id (%d) != received conn_id (%d); discarding ACK", entry.conn_id, conn_id)
            return
        if entry.update_last_timestamp(timestamp):
            entry.win.purge(seqno)
            self.counters["num_acks_received"] += 1

    def _handle_send_first_seqno(self, sender: Address, timestamp: int) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            self.counters["dropped_first_seqno_no_entry"] += 1
            self.log.warning("SEND_FIRST_SEQNO from %s: no send entry", sender)
            return
        if not entry.update_last_timestamp(timestamp):
            return
        win = entry.win
        rsp = win.get(win.low + 1)
        if isinstance(rsp, Message):
            hdr = rsp.get_header(self.protocol_id)
            assert isinstance(hdr, UnicastHeader3)
            copy = rsp.copy()
            copy.put_header(self.protocol_id, UnicastHeader3(DATA, hdr.seqno, hdr.conn_id, True))
            copy.transient_flags |= _DONT_BLOCK
            self.counters["num_first_seqno_resends"] += 1
            self.down_layer.down_msg(copy)

    def _handle_xmit_req(self, sender: Address, missing: SeqnoList) -> None:
        entry = self.send_table.get(sender)
        seqnos = missing.seqnos
        self.counters["xmit_reqs_received"] += len(seqnos)
        if entry is None:
            return
        win = entry.win
        for seqno in seqnos:
            msg = win.get(seqno)
            if not isinstance(msg, Message):
                if self.log_not_found_msgs and sender != self.local_addr and seqno > win.low:
                    self.log.warning("%s: (requester=%s) message %d not found in retransmission table",
                                     self.local_addr, sender, seqno)
                continue
            msg.transient_flags |= _DONT_BLOCK
            self.counters["xmit_rsps_sent"] += 1
            self.down_layer.down_msg(msg.copy())

    # --- retransmit task ------------------------------------------------------------------------------

    def _run_xmit_task(self) -> None:
        self._xmit_task = None
        if not self._running:
            return
        try:
            self.trigger_xmit()
        finally:
            if self._running:
                self._xmit_task = self.timers.call_later(self.xmit_interval * MS, self._run_xmit_task)

    def trigger_xmit(self) -> None:
        """One run of the RetransmitTask (UNICAST3.triggerXmit)."""
        for target, r in list(self.recv_table.items()):
            win = r.win
            if r.send_ack:
                r.send_ack = False
                self._send_ack(target, win.highest_deliverable(), r.conn_id)
            missing = win.missing(self._max_xmit_req) if win.num_missing() > 0 else None
            if missing is not None and missing[2]:
                size, offset, seqnos = missing
                highest = seqnos[-1]
                prev = self._xmit_task_map.get(target)
                if prev is None:
                    self._xmit_task_map[target] = highest
                else:
                    seqnos = [s for s in seqnos if s <= prev]  # only the previous run's gaps
                    if highest > prev:
                        self._xmit_task_map[target] = highest
                    if seqnos:
                        hd = win.highest_deliverable()
                        if seqnos[0] < hd:
                            seqnos = [s for s in seqnos if s > hd]
                        self._send_xmit_req(target, seqno_list(size, offset, seqnos), len(seqnos))
            else:
                self._xmit_task_map.pop(target, None)

        for dest, s in list(self.send_table.items()):
            win = s.win
            highest_acked, highest_sent = win.hd, win.hr
            if highest_acked < highest_sent and s.watermark == (highest_acked, highest_sent):
                msg = win.get(highest_sent)
                if isinstance(msg, Message):
                    self.log.debug("--> %s: resending #%d", dest, highest_sent)
                    self.counters["num_xmits"] += 1
                    self.down_layer.down_msg(msg.copy())
            else:
                s.watermark = (highest_acked, highest_sent)

        if self.conn_expiry_timeout > 0:
            self.close_idle_connections()
        if self.conn_close_timeout > 0:
            self.remove_expired_connections()

    def _send_xmit_req(self, target: Address, missing: SeqnoList, count: int) -> None:
        msg = Message(MsgType.OBJECT, dest=target, flags=_OOB | _NO_FC, payload=missing)
        msg.put_header(self.protocol_id, UnicastHeader3(XMIT_REQ))
        self.log.debug("--> %s: XMIT_REQ(%s)", target, missing.seqnos)
        self.counters["xmit_reqs_sent"] += count
        self.down_layer.down_msg(msg)

    # --- connection management ------------------------------------------------------------------------

    def close_connection(self, mbr: Address) -> None:
        now = self.now_ns()
        s = self.send_table.get(mbr)
        if s is not None:
            s.set_state(_State.CLOSING, now)
        r = self.recv_table.get(mbr)
        if r is not None:
            r.set_state(_State.CLOSING, now)

    def close_idle_connections(self) -> None:
        now = self.now_ns()
        table: Mapping[Address, _Entry]
        for table in (self.send_table, self.recv_table):
            for addr, e in table.items():
                if e.state is _State.OPEN and e.age_ms(now) >= self.conn_expiry_timeout:
                    self.log.debug("closing idle connection for %s (%d ms old)", addr, e.age_ms(now))
                    e.set_state(_State.CLOSING, now)

    def remove_expired_connections(self) -> int:
        now = self.now_ns()
        removed = 0
        for addr, s in list(self.send_table.items()):
            if s.state is not _State.OPEN and s.age_ms(now) >= self.conn_close_timeout:
                self._remove_send_connection(addr)
                removed += 1
        for addr, r in list(self.recv_table.items()):
            if r.state is not _State.OPEN and r.age_ms(now) >= self.conn_close_timeout:
                self.send_pending_acks()
                entry = self.recv_table.pop(addr, None)
                if entry is not None:
                    entry.set_state(_State.CLOSED, now)
                removed += 1
        return removed

    def _remove_send_connection(self, mbr: Address) -> None:
        entry = self.send_table.pop(mbr, None)
        if entry is None:
            return
        entry.set_state(_State.CLOSED, self.now_ns())
        if mbr in self.members:
            msg = Message(MsgType.EMPTY, dest=mbr, flags=_NO_FC)
            msg.put_header(self.protocol_id, UnicastHeader3(CLOSE, conn_id=entry.conn_id))
            self.counters["num_close_sent"] += 1
            self.down_layer.down_msg(msg)

    def remove_all_connections(self) -> None:
        self.send_table.clear()
        self.recv_table.clear()

    # --- introspection --------------------------------------------------------------------------------

    def num_unacked_messages(self, dest: Address | None = None) -> int:
        if dest is not None:
            entry = self.send_table.get(dest)
            return len(entry.win.msgs) if entry is not None else 0
        return sum(len(e.win.msgs) for e in self.send_table.values())

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats.update(
            num_unacked_msgs=self.num_unacked_messages(),
            num_send_connections=len(self.send_table),
            num_receive_connections=len(self.recv_table),
            xmit_table_undelivered_msgs=sum(len(e.win.msgs) for e in self.recv_table.values()),
            xmit_table_missing_msgs=sum(e.win.num_missing() for e in self.recv_table.values()),
            num_cached_msgs=sum(len(v) for v in self._msg_cache.values()),
            age_out_cache_size=len(self._age_out),
        )
        return MappingProxyType(stats)


def _seqno(hdr: UnicastHeader3) -> int:
    return hdr.seqno if hdr.seqno is not None else 0


def _conn_id(hdr: UnicastHeader3) -> int:
    return hdr.conn_id if hdr.conn_id is not None else 0


def _no_delivery_needed(item: _Item) -> bool:
    """UNICAST3.dont_loopback_filter."""
    return not isinstance(item, Message) or bool(item.transient_flags & (_DONT_LOOPBACK | _OOB_DELIVERED))


def _deliverable(msg: Message, local: Address | None) -> bool:
    """UNICAST3.drop_oob_and_dont_loopback_msgs_filter (the placeholder is filtered by the caller)."""
    if msg.flags & _OOB:
        if msg.transient_flags & _OOB_DELIVERED:
            return False
        msg.transient_flags |= _OOB_DELIVERED
    return not (msg.transient_flags & _DONT_LOOPBACK and msg.src == local)


__all__ = ["UNICAST3", "seqno_list"]
