"""The NAKACK2 layer: lifecycle, event dispatch and statistics over the section modules.

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

from collections.abc import Mapping
from types import MappingProxyType

from pygroups.address import Address
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
from pygroups.message import Message
from pygroups.protocols.reliable import Table
from pygroups.stack.layer import answers
from pygroups.stack.registry import protocol
from pygroups.view import Digest

from .digests import Digests
from .receiver import Receiver
from .sender import Sender

_ALWAYS_REPORTED = (
    "num_messages_sent",
    "num_messages_received",
    "xmit_reqs_sent",
    "xmit_reqs_received",
    "xmit_rsps_sent",
    "xmit_rsps_received",
    "msgs_dropped_non_member",
)


@protocol("pbcast.NAKACK2")
class NAKACK2(Receiver, Digests, Sender):
    """Reliable FIFO multicast (see the module docstring)."""

    name = "pbcast.NAKACK2"  # explicit: Layer would default it to the class name, which @protocol rejects

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
        self.cancel_xmit_task()
        self._xmit_timer = self.timers.call_later(0, self.on_xmit_timer)

    def stop(self) -> None:
        self.running = False
        self.is_server = False
        self._become_server_queue.clear()
        self.cancel_xmit_task()
        self._xmit_task_map.clear()
        self._announced.clear()
        self._stable_xmit_map.clear()
        self._reset()

    def _reset(self) -> None:
        self.seqno = 0
        self.xmit_table.clear()

    # --- events -----------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case Stable(digest=d):
                self.stable(d)
                return
            case SetDigest(digest=d):
                self.set_digest(d, merge=False)
                return
            case MergeDigest(digest=d):
                self.set_digest(d, merge=True)
                return
            case OverwriteDigest(digest=d):
                self.overwrite_digest(d)
                return
            case TmpView(view=v):
                self.members = v.members
            case ViewChange(view=v):
                self.members = v.members
                self.view = v
                self.track_view(v)  # going down only: NAKACK2 sits below GMS
                self.is_server = True
            case BecomeServer():
                self.is_server = True
                self.flush_become_server_queue()
            case Disconnect():
                self.leaving = True
                self._reset()
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        match evt:
            case Stable(digest=digest):
                self.stable(digest)
            case _:
                self.up_layer.up(evt)

    @answers(GetDigest)
    def answer_digest(self, q: GetDigest) -> Digest | None:
        if q.member is None:
            return self.digest()
        buf = self.xmit_table.get(q.member)
        return None if buf is None else Digest((q.member,), (buf.digest(),))

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
