"""MERGE3: find subgroups after a partition healed and ask GMS to merge them (org.jgroups.protocols.MERGE3).

Mirrors JGroups 5.5.6:

* **INFO.** Every member, once it has a view, sends INFO(view id, logical name, physical address) every
  ``max(min_interval, random(1..max_interval) + max_interval/2)`` ms. With IP multicast (UDP,
  SHARED_LOOPBACK) it is one multicast (DONT_LOOPBACK). Without (TCP), MERGE3 sends `FindMembersNotify`
  (Java's FIND_MBRS_ASYNC) down: discovery runs a non-initial round and hands every PingData it sees to
  `send_info_message`, which sends an EmptyMessage with INFO to that member's *physical* address.
  Receivers record the sender's view id (the highest per sender), its logical name and physical address
  (``ADD_PHYSICAL_ADDRESS`` down, so the transport can reach a member it lost during the partition).
* **Consistency check** every ``check_interval`` ms (default 1.6 x max_interval), on every member: add
  our own INFO; if the recorded view ids differ, the merge participants are the creators of the views
  seen plus the lowest sender of each view id, at most ``max_participants_in_merge`` (Java's
  ``removeIf`` drops the *lowest* addresses). VIEW_REQ goes to each; the VIEW_RSPs are collected for
  ``check_interval/10`` ms (Java blocks; here a timer ends the collection early once all are in). With
  two or more different views, `Merge` (Java's Event.MERGE with a Map<Address,View>) goes up to GMS,
  which decides who leads (the lowest coordinator, Merger.determineMergeLeader). The table of recorded
  view ids is cleared after every check (also INFOs that arrived during the collection, as in Java).
* **VIEW_REQ** is answered with a BytesMessage VIEW_RSP (DONT_BLOCK) carrying ``01`` + our View (a
  MergeView keeps its subgroups, which Java's reader ignores; NOTES 3b).

A view change stops both tasks, clears the table and restarts them; TMP_VIEW and DISCONNECT stop them.
Every MERGE sent up is logged once with the views and who reported them (counter ``num_merge_events``);
bad input (malformed VIEW_RSP, a VIEW_RSP nobody asked for, unknown header types) is counted and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import MS, TimerHandle
from pygroups.errors import ConfigError, RemoteProtocolError
from pygroups.events import (
    AddPhysicalAddress,
    Connect,
    Disconnect,
    Event,
    FindMembersNotify,
    GetPhysicalAddress,
    Merge,
    TmpView,
    ViewChange,
)
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.ping_data import PingData
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Duration, Int, prop
from pygroups.stack.registry import protocol
from pygroups.view import MergeView, View, ViewId
from pygroups.wire.headers.merge3 import MergeHeader, decode_view_rsp, encode_view_rsp

T = MergeHeader.Type
# Transports whose supportsMulticasting() is true in Java (TCP and TCP_NIO2 say false); a transport may
# also say so itself with a ``supports_multicasting`` attribute.
_MULTICAST_TRANSPORTS = frozenset({"UDP", "SHARED_LOOPBACK"})


@protocol("MERGE3")
class MERGE3(Layer):
    """Subgroup discovery by INFO gossip and view-id comparison (see the module docstring)."""

    min_interval: int = prop(Duration, 1000, "Minimum time in ms before sending an info message")
    max_interval: int = prop(Duration, 10000, "Interval (in milliseconds) when the next info message will be "
                                              "sent. A random value is picked from range [1..max_interval]")
    max_participants_in_merge: int = prop(Int, 100, "The max number of merge participants to be involved in a "
                                                    "merge. 0 sets this to unlimited.")
    check_interval: int = prop(Duration, 0, "Interval (in ms) after which we check for view inconsistencies")

    def __init__(self) -> None:
        super().__init__()
        self.view: View | None = None
        self.is_coord = False
        self.cluster_name: str | None = None
        self.transport_supports_multicasting = True
        self.num_merge_events = 0
        self.views: dict[Address, ViewId] = {}  # sender -> highest view id it sent in an INFO
        self._info_timer: TimerHandle | None = None
        self._check_timer: TimerHandle | None = None
        self._collect_timer: TimerHandle | None = None
        self._view_rsps: dict[Address, View | None] | None = None  # VIEW_RSPs of the running check
        self._reason = ""  # the view ids seen and from whom, for the log line of the MERGE event

    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        if self.min_interval >= self.max_interval:
            raise ConfigError(f"min_interval ({self.min_interval}) has to be < max_interval ({self.max_interval})")
        if self.check_interval == 0:
            self.check_interval = self.compute_check_interval()
        elif self.check_interval <= self.max_interval:
            self.log.warning("set check_interval=%d as it is <= max_interval", self.compute_check_interval())
            self.check_interval = self.compute_check_interval()
        if self.max_interval <= 0:
            raise ConfigError("max_interval must be > 0")

    def start(self) -> None:
        transport = self.stack.transport
        flag = getattr(transport, "supports_multicasting", None)
        self.transport_supports_multicasting = (
            bool(flag) if flag is not None else getattr(transport, "name", "") in _MULTICAST_TRANSPORTS)

    def stop(self) -> None:
        self.is_coord = False
        self._stop_checker()
        self._stop_info_sender()

    def compute_check_interval(self) -> int:
        return int(self.max_interval * 1.6)

    def statistics(self) -> Mapping[str, int | float]:
        return MappingProxyType({**self.counters, "num_merge_events": self.num_merge_events,
                                 "views": len(self.views)})

    def managed_attributes(self) -> Mapping[str, object]:
        checker = self._check_timer is not None
        return {"is_coord": self.is_coord, "info_sender_running": self._info_timer is not None,
                "view_consistency_checker_running": checker, "merge_task_running": checker}

    # --- tasks ----------------------------------------------------------------------------------------

    def next_info_interval(self) -> int:
        """InfoSender.nextInterval: max(min_interval, Util.random(max_interval) + max_interval/2)."""
        return max(self.min_interval, self.rng.randint(1, self.max_interval) + self.max_interval // 2)

    def _start_info_sender(self) -> None:
        if self._info_timer is None:
            self._info_timer = self.timers.call_later(self.next_info_interval() * MS, self._info_task)

    def _stop_info_sender(self) -> None:
        if self._info_timer is not None:
            self._info_timer.cancel()
            self._info_timer = None

    def _start_checker(self) -> None:
        if self._check_timer is None and self._view_rsps is None:
            self._check_timer = self.timers.call_later(self.check_interval * MS, self._check_task)

    def _stop_checker(self) -> None:
        for t in (self._check_timer, self._collect_timer):
            if t is not None:
                t.cancel()
        self._check_timer = self._collect_timer = None
        self._view_rsps = None

    def _info_task(self) -> None:
        self._info_timer = self.timers.call_later(self.next_info_interval() * MS, self._info_task)
        self.send_info()

    def _check_task(self) -> None:
        self._check_timer = None
        self.check_inconsistencies()

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case Connect(cluster=cluster):
                self.cluster_name = cluster
            case Disconnect() | TmpView():
                self._stop_checker()
                self._stop_info_sender()
            case ViewChange(view=view):
                self._stop_checker()
                self._stop_info_sender()
                self.down_layer.down(evt)
                self.view = view
                self.views.clear()
                if getattr(self, "ergonomics", True) and self.max_participants_in_merge > 0:
                    self.max_participants_in_merge = max(100, len(view.members) // 3)
                self._start_info_sender()
                self._start_checker()
                self.is_coord = view.coordinator == self.local_addr
                if not self.is_coord:
                    self.views.clear()
                return
            case _:
                pass
        self.down_layer.down(evt)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
        elif not isinstance(hdr, MergeHeader):
            self.counters["malformed: foreign header under MERGE3 id"] += 1
        else:
            self.handle(hdr, msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        self.up_batch_own_then_rest(batch)

    # --- messages -------------------------------------------------------------------------------------

    def handle(self, hdr: MergeHeader, msg: Message) -> None:
        sender = msg.src
        match hdr.type:
            case T.INFO:
                self.counters["INFO received"] += 1
                if sender is None or hdr.view_id is None:
                    self.counters["malformed INFO (no sender or view id)"] += 1
                    return
                self.add_info(sender, hdr.view_id, hdr.logical_name, hdr.physical_addr)
            case T.VIEW_REQ:
                self.counters["VIEW_REQ received"] += 1
                if sender is None:
                    return
                rsp = Message(MsgType.BYTES, dest=sender, transient_flags=TransientFlag.DONT_BLOCK,
                              payload=encode_view_rsp(self.view))
                rsp.put_header(self.protocol_id, MergeHeader(T.VIEW_RSP))
                self.down_layer.down_msg(rsp)
            case T.VIEW_RSP:
                self.counters["VIEW_RSP received"] += 1
                self._handle_view_rsp(sender, msg)
            case _:  # pragma: no cover - the header decoder rejects unknown types
                self.counters["unknown MERGE3 header type"] += 1

    def _handle_view_rsp(self, sender: Address | None, msg: Message) -> None:
        payload = msg.payload if msg.type is MsgType.BYTES else None
        if not isinstance(payload, bytes):
            self.counters["malformed VIEW_RSP"] += 1
            return
        try:
            view = decode_view_rsp(payload)
        except RemoteProtocolError as e:
            self.counters["malformed VIEW_RSP"] += 1
            self.log.error("failed reading View from message from %s: %s", self.stack.name_of(sender), e)
            return
        if view is None or sender is None:
            return
        rsps = self._view_rsps
        if rsps is None or sender not in rsps:  # ResponseCollector.add ignores members it does not expect
            self.counters["VIEW_RSP not expected"] += 1
            return
        # Java reads a plain View (streamableFromBuffer(View::new)): the subgroups of a MergeView are dropped
        rsps[sender] = View(view.view_id, view.members) if isinstance(view, MergeView) else view
        if all(v is not None for v in rsps.values()):
            self._end_collection()

    # --- INFO -----------------------------------------------------------------------------------------

    def create_info(self) -> MergeHeader:
        me = self.local_addr
        physical = self.down_layer.query_down(GetPhysicalAddress(me)) if me is not None else None
        assert self.view is not None
        return MergeHeader(T.INFO, self.view.view_id, self.stack.logical_names.get(me) if me else None, physical)

    def add_info(self, sender: Address, view_id: ViewId, logical_name: str | None,
                 physical: IpAddress | None) -> None:
        """MERGE3.addInfo: name cache, transport cache, and the highest view id per sender."""
        if logical_name is not None and isinstance(sender, UUID):
            self.stack.logical_names[sender] = logical_name
        if physical is not None:
            self.down(AddPhysicalAddress(sender, physical))
        existing = self.views.get(sender)
        if existing is None or _compare_view_ids(existing, view_id) < 0:
            self.views[sender] = view_id

    def send_info(self) -> None:
        """InfoSender.run (also Java's ``sendInfo()`` operation)."""
        if self.view is None:
            self.log.warning("view is null, cannot send INFO message")
            return
        if self.transport_supports_multicasting:
            msg = Message(MsgType.EMPTY, transient_flags=TransientFlag.DONT_LOOPBACK)
            msg.put_header(self.protocol_id, self.create_info())
            self.counters["INFO sent"] += 1
            self.down_layer.down_msg(msg)
        else:
            self.down_layer.down(FindMembersNotify(self.send_info_message))

    def send_info_message(self, data: PingData) -> None:
        """The discovery callback: INFO to the physical address of a member discovery found."""
        if data is None or data.sender == self.local_addr or self.view is None:
            return
        dest = data.physical_addr
        if dest is None:
            self.counters["INFO not sent (no physical address)"] += 1
            self.log.warning("physical address for %s not found; dropping INFO message to %s",
                             self.stack.name_of(data.sender), self.stack.name_of(data.sender))
            return
        msg = Message(MsgType.EMPTY, dest=dest, transient_flags=TransientFlag.DONT_BLOCK)
        msg.put_header(self.protocol_id, self.create_info())
        self.counters["INFO sent"] += 1
        self.down_layer.down_msg(msg)

    # --- the consistency check --------------------------------------------------------------------------

    def converted_views(self) -> dict[ViewId, list[Address]]:
        """MERGE3.convertViews: view id -> its senders, sorted (Java: a ConcurrentSkipListSet)."""
        out: dict[ViewId, list[Address]] = {}
        for sender, vid in self.views.items():
            out.setdefault(vid, []).append(sender)
        return {vid: sorted(senders) for vid, senders in out.items()}

    def different_view_ids(self) -> bool:
        return len(set(self.views.values())) > 1

    def check_inconsistencies(self) -> None:
        """ViewConsistencyChecker.run; also Java's ``checkInconsistencies()`` operation."""
        if self._view_rsps is not None:
            return  # a collection is running
        if self.view is None:
            self._start_checker()
            return
        hdr = self.create_info()
        me = self.local_addr
        assert me is not None and hdr.view_id is not None
        self.add_info(me, hdr.view_id, hdr.logical_name, hdr.physical_addr)
        if not self.different_view_ids():
            self._end_check()
            return
        converted = self.converted_views()
        coords = {vid.creator for vid in converted if vid.creator is not None}
        coords |= {senders[0] for senders in converted.values() if senders}
        participants = sorted(coords)
        if len(participants) <= 1:
            self.log.debug("cancelling merge as we only have 1 coordinator: %s", participants)
            self._end_check()
            return
        limit = self.max_participants_in_merge
        if 0 < limit < len(participants):
            # TreeSet.removeIf(next -> size > max) walks in ascending order: the lowest addresses go
            self.log.debug("reduced %d coords to %d", len(participants), limit)
            participants = participants[len(participants) - limit:]
        self._reason = ", ".join(
            f"{vid} from {', '.join(self.stack.name_of(s) for s in senders)}" for vid, senders in converted.items())
        self._view_rsps = dict.fromkeys(participants)
        for target in participants:
            if target == me:
                self._view_rsps[me] = self.view
                continue
            req = Message(MsgType.EMPTY, dest=target)
            req.put_header(self.protocol_id, MergeHeader(T.VIEW_REQ))
            self.counters["VIEW_REQ sent"] += 1
            self.down_layer.down_msg(req)
        if all(v is not None for v in self._view_rsps.values()):
            self._end_collection()
            return
        wait = self.check_interval // 10 if self.check_interval // 10 > 0 else 2000  # waitForAllResponses
        self._collect_timer = self.timers.call_later(wait * MS, self._end_collection)

    def _end_collection(self) -> None:
        rsps, self._view_rsps = self._view_rsps, None
        if self._collect_timer is not None:
            self._collect_timer.cancel()
            self._collect_timer = None
        if rsps is None:
            return
        merge_views = {addr: v for addr, v in rsps.items() if v is not None}
        if len(merge_views) >= 2:
            if len({v.view_id for v in merge_views.values()}) == 1:  # Util.allEqual: View.equals is by view id
                self.log.debug("all views are the same, suppressing sending MERGE up: %s", merge_views)
            else:
                self.num_merge_events += 1
                self.log.info("view inconsistency (%s): asking GMS to merge %d views: %s", self._reason,
                              len(merge_views), ", ".join(str(v.view_id) for v in merge_views.values()))
                self.up_layer.up(Merge(MappingProxyType(merge_views)))
        else:
            self.counters["checks without enough VIEW_RSPs"] += 1
            self.log.debug("%d merged views. Nothing to do", len(merge_views))
        self._end_check()

    def _end_check(self) -> None:
        """The finally of ViewConsistencyChecker.run, then the next run check_interval later."""
        self.views.clear()
        self._start_checker()

    def dump_views(self) -> str:
        """MERGE3.dumpViews."""
        return "".join(f"{vid}: [{', '.join(map(str, s))}]\n" for vid, s in self.converted_views().items())


def _compare_view_ids(a: ViewId, b: ViewId) -> int:
    """ViewId.compareTo: by id, then by creator."""
    if a.id != b.id:
        return -1 if a.id < b.id else 1
    if a.creator == b.creator or a.creator is None or b.creator is None:
        return 0
    return -1 if a.creator < b.creator else 1


__all__ = ["MERGE3"]
