"""UNICAST3's receive side: per sender a `ReceiverEntry` keyed by the sender's conn_id, created by a DATA
with ``first``; a DATA that finds no entry (or another conn_id) without ``first`` is cached and answered
with SEND_FIRST_SEQNO (rate-limited by ``sync_min_interval``). OOB messages are delivered on arrival
and leave the placeholder behind so they are never delivered twice. A batch of >= ``ack_threshold``
messages is acked at once; otherwise the retransmit task sends the ACK."""

from __future__ import annotations

from collections.abc import Sequence

from pygroups.address import Address
from pygroups.clock import MS
from pygroups.message import Message, MsgType
from pygroups.objects import SeqnoList
from pygroups.protocols.reliable import Table, add_received, deliverable, oob_from_self
from pygroups.wire.headers import unicast as h
from pygroups.wire.headers.unicast import DATA, SEND_FIRST_SEQNO, UnicastHeader3

from .base import DONT_BLOCK, NO_FC, NO_RELIABILITY, OOB
from .entries import ReceiverEntry, State
from .sender import Sender


def _seqno(hdr: UnicastHeader3) -> int:
    return hdr.seqno if hdr.seqno is not None else 0


def _conn_id(hdr: UnicastHeader3) -> int:
    return hdr.conn_id if hdr.conn_id is not None else 0


class Receiver(Sender):
    def up_msg(self, msg: Message) -> None:
        if msg.dest is None or msg.flags & NO_RELIABILITY:
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
                self.handle_data_from_self(sender, _seqno(hdr), msg)
            else:
                self.handle_data(sender, _seqno(hdr), _conn_id(hdr), bool(hdr.first), msg)
        else:
            self.handle_control(sender, msg, hdr)

    def up_batch(self, batch: Sequence[Message]) -> None:
        """Java's up(MessageBatch), per sender (a Python batch may mix senders)."""
        rest: list[Message] = []
        by_sender: dict[Address, list[tuple[Message, UnicastHeader3]]] = {}
        for msg in batch:
            hdr = msg.get_header(self.protocol_id)
            if msg.dest is None or msg.flags & NO_RELIABILITY or hdr is None:
                rest.append(msg)
            elif not isinstance(hdr, UnicastHeader3) or msg.src is None:
                self.counters["dropped_malformed"] += 1
            else:
                by_sender.setdefault(msg.src, []).append((msg, hdr))
        for sender, items in by_sender.items():
            if sender == self.local_addr:
                self.handle_batch_from_self(sender, items)
            else:
                self.handle_batch(sender, items)
        if rest:
            self.up_layer.up_batch(rest)

    def handle_control(self, sender: Address, msg: Message, hdr: UnicastHeader3) -> None:
        """Every header type but DATA."""
        match hdr.type:
            case h.ACK:
                self.handle_ack(sender, _seqno(hdr), _conn_id(hdr), hdr.timestamp or 0)
            case h.SEND_FIRST_SEQNO:
                self.handle_send_first_seqno(sender, hdr.timestamp or 0)
            case h.XMIT_REQ:
                if not isinstance(msg.payload, SeqnoList):
                    self.counters["dropped_malformed"] += 1
                    self.log.debug("XMIT_REQ from %s without a SeqnoList: %r", sender, msg.payload)
                    return
                self.handle_xmit_req(sender, msg.payload)
            case h.CLOSE:
                self.handle_close(sender, hdr.conn_id)
            case _:
                self.counters["dropped_unknown_type"] += 1
                self.log.debug("unknown UNICAST3 header type %d from %s", hdr.type, sender)

    # --- DATA from others -----------------------------------------------------------------------------

    def get_receiver_entry(self, sender: Address, seqno: int, first: bool, conn_id: int) -> ReceiverEntry | None:
        entry = self.recv_table.get(sender)
        if entry is not None and entry.conn_id == conn_id:
            return entry
        if not first:
            self.send_first_seqno_request(sender)
            return None
        if entry is not None:
            self.log.debug("conn_id=%d != %d; resetting receiver window for %s", conn_id, entry.conn_id, sender)
        entry = ReceiverEntry(conn_id, seqno, self.now_ns())
        self.recv_table[sender] = entry
        return entry

    def handle_data(self, sender: Address, seqno: int, conn_id: int, first: bool, msg: Message) -> None:
        entry = self.get_receiver_entry(sender, seqno, first, conn_id)
        if entry is None:
            self._msg_cache.setdefault(sender, []).append(msg)
            return
        self._drain_cache(sender, entry)
        self._add_message(entry, sender, seqno, msg)
        self._remove_and_deliver(entry.win)

    def _drain_cache(self, sender: Address, entry: ReceiverEntry) -> None:
        queued = self._msg_cache.pop(sender, None) if self._msg_cache else None
        for m in queued or ():
            hd = m.get_header(self.protocol_id)
            assert isinstance(hd, UnicastHeader3)
            if hd.conn_id != entry.conn_id:
                self.counters["dropped_cached_wrong_conn_id"] += 1
                continue
            self._add_message(entry, sender, _seqno(hd), m)

    def _add_message(self, entry: ReceiverEntry, sender: Address, seqno: int, msg: Message) -> None:
        win = entry.win
        self.touch(entry, 1)
        added = add_received(win, seqno, msg)
        if not added:
            self.counters["num_duplicates"] += 1
        if self.ack_threshold <= 1:
            self.send_ack(sender, win.highest_deliverable(), entry.conn_id)
        else:
            entry.send_ack = True
        if msg.flags & OOB and added:
            self.deliver([msg])

    def handle_batch(self, sender: Address, items: list[tuple[Message, UnicastHeader3]]) -> None:
        by_conn: dict[int, list[tuple[int, Message]]] = {}
        entry = self.recv_table.get(sender)
        for msg, hdr in items:
            if hdr.type != DATA:
                self.handle_control(sender, msg, hdr)
                continue
            seqno = _seqno(hdr)
            by_conn.setdefault(_conn_id(hdr), []).append((seqno, msg))
            if hdr.first:
                entry = self.get_receiver_entry(sender, seqno, True, _conn_id(hdr))
            elif entry is None:
                self._msg_cache.setdefault(sender, []).append(msg)
        if not by_conn:
            return
        if entry is None:
            self.send_first_seqno_request(sender)
            return
        self._drain_cache(sender, entry)
        if any(c != entry.conn_id for c in by_conn):
            self.send_first_seqno_request(sender)
        msgs = by_conn.get(entry.conn_id)
        if msgs:
            self._add_batch(entry, sender, msgs)

    def _add_batch(self, entry: ReceiverEntry, sender: Address, msgs: list[tuple[int, Message]]) -> None:
        win = entry.win
        oob_added: list[Message] = []
        for seqno, msg in msgs:
            if add_received(win, seqno, msg):
                if msg.flags & OOB:
                    oob_added.append(msg)
            else:
                self.counters["num_duplicates"] += 1
        self.touch(entry, len(msgs))
        if len(msgs) >= self.ack_threshold:
            self.send_ack(sender, win.highest_deliverable(), entry.conn_id)
        else:
            entry.send_ack = True
        if oob_added:
            self.deliver(oob_added)
        self._remove_and_deliver(win)

    # --- DATA from ourselves (delivered from our send window) -----------------------------------------

    def handle_data_from_self(self, sender: Address, seqno: int, msg: Message) -> None:
        entry = self.send_table.get(sender)
        if entry is None or entry.state is State.CLOSED:
            self.counters["dropped_self_no_entry"] += 1
            self.log.warning("entry not found for %s; dropping message", sender)
            return
        self.touch(entry, 1)
        if msg.flags & OOB:
            self._deliver_oob_from_self(entry.win, [seqno])
        self._remove_and_deliver(entry.win)

    def handle_batch_from_self(self, sender: Address, items: list[tuple[Message, UnicastHeader3]]) -> None:
        entry = self.send_table.get(sender)
        if entry is None:
            self.counters["dropped_self_no_entry"] += len(items)
            return
        seqnos: list[int] = []
        oob: list[int] = []
        for msg, hdr in items:
            if hdr.type != DATA:
                self.handle_control(sender, msg, hdr)
            elif hdr.conn_id == entry.conn_id:
                seqnos.append(_seqno(hdr))
                if msg.flags & OOB:
                    oob.append(_seqno(hdr))
        if seqnos:
            self.touch(entry, len(seqnos))
            self._deliver_oob_from_self(entry.win, oob)
            self._remove_and_deliver(entry.win)

    def _deliver_oob_from_self(self, win: Table[Message], seqnos: list[int]) -> None:
        out = oob_from_self(win, seqnos)
        if out:
            self.deliver(out)

    def _remove_and_deliver(self, win: Table[Message]) -> None:
        """Deliver everything contiguous, one delivery loop per window (Java's ``adders`` guard);
        ``max_batch_size`` counts placeholders too, as Java's removeMany without a filter does."""
        local = self.local_addr

        def step() -> bool:
            removed = win.remove_many(True, self.max_batch_size)
            if removed:
                batch = [m for m in removed if deliverable(m, local)]
                if batch:
                    self.deliver(batch)
            return bool(removed)

        self._delivering.run(win, step)

    def send_first_seqno_request(self, dest: Address) -> None:
        now = self.now_ns()
        last = self._last_sync_sent.get(dest)
        if last is not None and now - last < self.sync_min_interval * MS:
            return
        self._last_sync_sent[dest] = now
        msg = Message(MsgType.EMPTY, dest=dest, flags=OOB | NO_FC, transient_flags=DONT_BLOCK)
        msg.put_header(self.protocol_id, UnicastHeader3(SEND_FIRST_SEQNO, timestamp=self.next_timestamp()))
        self.log.debug("--> %s: SEND_FIRST_SEQNO", dest)
        self.counters["num_first_seqno_reqs_sent"] += 1
        self.down_layer.down_msg(msg)
