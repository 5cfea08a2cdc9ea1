"""GMS (org.jgroups.protocols.pbcast.GMS): group membership - joins, leaves, views, coordinator role.

Rules of this module:

1. The layer owns the shared state (view, members, ack collection, view handler, leaver) and sends;
   handlers.py reads incoming GMS messages; the roles in client.py / participant.py /
   coordinator.py decide (Java's GmsImpl split).
2. Every Java wait is state plus a timer: the join loop (client.py), the LEAVE_RSP wait (leaver.py)
   and the VIEW_ACK collection here, during which the view handler holds back further requests.
3. Message types and flags are Java's exactly:
   JOIN_REQ BytesMessage OOB; JOIN_RSP BytesMessage flags 0 (OOB when re-sent to a member);
   LEAVE_REQ EmptyMessage OOB; LEAVE_RSP EmptyMessage OOB|NO_RELIABILITY; VIEW BytesMessage
   NO_RELAY|NO_FC multicast (through NAKACK2, never looped back); VIEW_ACK EmptyMessage OOB|NO_FC.
4. Bad GMS payloads are counted (``counters["malformed ..."]``) and dropped; messages without a
   GmsHeader pass up untouched.
"""

from __future__ import annotations

import importlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from pygroups.address import Address
from pygroups.clock import MS, TimerHandle
from pygroups.errors import ConfigError
from pygroups.events import (
    Connect,
    Disconnect,
    DiscoveryResponse,
    Event,
    GetDigest,
    GetPhysicalAddress,
    GetViewFromCoord,
    IsLeaving,
    IsMergeInProgress,
    Leave,
    LeaveComplete,
    Merge,
    MergeDigest,
    NewMembership,
    ResumeStable,
    SetDigest,
    Suspect,
    TmpView,
    Unsuspect,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.stack.layer import Layer, MembershipChange, answers
from pygroups.stack.properties import Bool, Duration, Int, Str, prop
from pygroups.stack.registry import protocol
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId
from pygroups.wire.headers.gms import (
    GmsHeader,
    JoinRsp,
    encode_current_view_id,
    encode_join_rsp,
    encode_view_digest,
)

from .ack_collector import AckCollector
from .client import ClientRole
from .coordinator import CoordinatorRole
from .handlers import DISPATCH
from .leaver import Leaver
from .membership import (
    MembershipPolicy,
    default_membership,
    digest_for,
    make_delta_view,
)
from .merger import Merger
from .participant import ParticipantRole
from .role import GmsRole
from .view_handler import ReqType, Request, ViewHandler

T = GmsHeader.Type
banner_log = logging.getLogger("pygroups.gms.banner")
_DEFAULT_POLICIES = ("", "org.jgroups.protocols.pbcast.GMS$DefaultMembershipPolicy",
                     "org.jgroups.protocols.pbcast.GMS.DefaultMembershipPolicy")


@protocol("pbcast.GMS")
class GMS(Layer):
    name = "pbcast.GMS"

    join_timeout: int = prop(Duration, 2000, "Join timeout")
    max_join_attempts: int = prop(Int, 10, "Number of join attempts before we give up and become a singleton. "
                                           "0 means 'never give up'")
    all_clients_retry_timeout: int = prop(Duration, 100, "Time (in ms) to wait for another discovery round "
                                                         "when all discovery responses were clients")
    leave_timeout: int = prop(Duration, 1000, "Max time (in ms) to wait for a LEAVE response")
    max_leave_attempts: int = prop(Int, 1, "Ignored", deprecated="ignored")
    merge_timeout: int = prop(Duration, 5000, "Timeout (in ms) to complete merge")
    print_local_addr: bool = prop(Bool, True, "Print local address of this member after connect")
    print_physical_addrs: bool = prop(Bool, True, "Print physical address(es) on startup")
    use_delta_views: bool = prop(Bool, True, "Send VIEW messages with delta views (the first view of a "
                                             "coordinator is always full)")
    num_prev_mbrs: int = prop(Int, 50, "Max number of old members to keep in history")
    num_prev_views: int = prop(Int, 10, "Number of views to store in history")
    view_ack_collection_timeout: int = prop(Duration, 2000, "Time in ms to wait for all VIEW acks")
    log_collect_msgs: bool = prop(Bool, False, "Logs failures for collecting all view acks if true")
    log_view_warnings: bool = prop(Bool, True, "Logs warnings for views less than the current, and for "
                                               "views which don't include self")
    print_view_details: bool = prop(Bool, True, "When true, left and joined members are printed with the view")
    membership_change_policy: str = prop(Str, "", "A Python callable or class (module:name) computing new "
                                                  "memberships; empty = DefaultMembershipPolicy")

    def __init__(self) -> None:
        super().__init__()
        self.view: View | None = None
        self.members: list[Address] = []
        self.tmp_members: list[Address] = []  # base for the next view: members + joining - leaving
        self.joining: list[Address] = []
        self.leaving: list[Address] = []
        self.suspected_mbrs: list[Address] = []
        self.ltime = 0  # highest view id seen
        self.num_views = 0
        self.prev_views: deque[tuple[int, View]] = deque(maxlen=10)
        self.prev_members: deque[Address] = deque(maxlen=50)
        self.first_view_sent = False
        self.join_failure: str | None = None
        self.ack_collector = AckCollector()
        self.leaver = Leaver(self)
        self.view_handler = ViewHandler(self._process, lambda: self._view_change_in_flight,
                                        lambda fn: self.stack.call_soon(fn))
        self.role: GmsRole = ClientRole(self)
        self._policy: MembershipPolicy = default_membership
        self._view_change_in_flight = False
        self._ack_timer: TimerHandle | None = None
        self._resume_stable = False
        self._ack_view_id: ViewId | None = None
        self._leave_requested = False
        self.merger = Merger(self)
        self.on_view_change_done: Callable[[], None] | None = None  # the merger ends a merge after the acks

    # --- lifecycle ------------------------------------------------------------------------------------

    def init(self) -> None:
        if self.view_ack_collection_timeout <= 0:
            raise ConfigError("view_ack_collection_timeout has to be greater than 0")
        if self.merge_timeout <= 0:
            raise ConfigError("merge_timeout has to be greater than 0")
        self.prev_views = deque(maxlen=max(self.num_prev_views, 0))
        self.prev_members = deque(maxlen=max(self.num_prev_mbrs, 0))
        self._policy = _load_policy(self.membership_change_policy)
        if self._policy is not default_membership and any(layer.name == "MERGE3" for layer in self.stack.layers):
            # no silent downgrade: merges always use the default order (the merge paths do not call the policy)
            raise ConfigError(f"membership_change_policy {self.membership_change_policy!r}: pygroups applies a "
                              "custom policy to joins, leaves and crashes but not yet to merges; remove it or MERGE3")

    def start(self) -> None:
        self.leaver.reset()
        self._leave_requested = False
        self.join_failure = None
        self.init_state()

    def stop(self) -> None:
        self.role.stop()
        self.merger.stop()
        self.on_view_change_done = None
        self.leaver.reset()
        self.prev_members.clear()
        self._end_ack_collection()
        self.view_handler.reset()

    # --- public state ---------------------------------------------------------------------------------

    @property
    def coordinator(self) -> Address | None:
        return self.view.coordinator if self.view is not None else None

    @property
    def is_coordinator(self) -> bool:
        return isinstance(self.role, CoordinatorRole)

    @property
    def is_leaving(self) -> bool:
        """A graceful leave (`Leave`) was asked for and is not complete yet (LeaveComplete follows)."""
        return self._leave_requested or self.leaver.leaving

    @property
    def view_change_in_flight(self) -> bool:
        """A VIEW was cast and its VIEW_ACKs are being collected."""
        return self._view_change_in_flight

    @property
    def view_id(self) -> ViewId | None:
        return self.view.view_id if self.view is not None else None

    # --- roles ----------------------------------------------------------------------------------------

    def _set_role(self, role: GmsRole) -> None:
        if role is not self.role:
            self.role.stop()
        self.role = role
        role.start()

    def become_client(self) -> None:
        self._set_role(ClientRole(self))

    def become_participant(self) -> None:
        self._set_role(ParticipantRole(self))

    def become_coordinator(self) -> None:
        self.first_view_sent = False
        self._set_role(CoordinatorRole(self))

    def init_state(self) -> None:
        """GMS.initState: back to client with no view (after a leave, or before a (re)connect)."""
        self.become_client()
        self.view = None
        self.first_view_sent = False

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case Connect():
                self._print_banner(evt.cluster)
                self.down_layer.down(evt)
                self.role.join()
            case Disconnect():
                self.role.leave(wait=False)
                self.down_layer.down(evt)
            case Leave():
                self._leave_requested = True
                self.role.leave(wait=True)
            case GetViewFromCoord():
                self.send_get_current_view()
            case _:
                self.down_layer.down(evt)

    def send_get_current_view(self) -> None:
        """GMS.down(GET_VIEW_FROM_COORD): ask the view's creator for its view (STATE_TRANSFER, JGRP-1751)."""
        if self.view is None:
            return
        msg = Message(MsgType.BYTES, dest=self.view.view_id.creator, flags=Flag.OOB | Flag.NO_FC,
                      transient_flags=TransientFlag.DONT_BLOCK, payload=encode_current_view_id(self.view.view_id))
        msg.put_header(self.protocol_id, GmsHeader(T.GET_CURRENT_VIEW))
        self.counters["GET_CURRENT_VIEW sent"] += 1
        self.down_layer.down_msg(msg)

    def up(self, evt: Event) -> None:
        match evt:
            case Suspect():
                self.up_layer.up(evt)
                for m in sorted(evt.members):
                    if m not in self.suspected_mbrs:
                        self.suspected_mbrs.append(m)
                self.ack_collector.ack(*self.suspected_mbrs)
                self.check_acks()
                self.view_handler.add_all(Request(ReqType.SUSPECT, m) for m in sorted(evt.members))
            case Unsuspect():
                if evt.member in self.suspected_mbrs:
                    self.suspected_mbrs.remove(evt.member)
                self.role.unsuspect(evt.member)
            case Merge(views=views):
                self.counters["MERGE events received"] += 1
                if self.view_handler.suspended:
                    self.counters["MERGE events discarded (view handler suspended)"] += 1
                self.view_handler.add(Request(ReqType.MERGE, views=tuple(views.items())))
            case DiscoveryResponse() if isinstance(self.role, ClientRole) and self.role.owns(evt.request_id):
                self.role.on_discovery_response(evt)
            case _:
                self.up_layer.up(evt)

    @answers(IsMergeInProgress, up=True)
    def answer_merge_in_progress(self, q: IsMergeInProgress) -> bool:
        return self.merger.in_progress

    @answers(IsLeaving, up=True)
    def answer_is_leaving(self, q: IsLeaving) -> bool:
        """GMS.isLeaving (the leaver's flag), for TCP.enable_suspect_events."""
        return self.leaver.leaving

    @answers(NewMembership, up=True)
    def answer_new_membership(self, q: NewMembership) -> tuple[Address, ...]:
        """computeNewMembership(current, null, leavers, suspects), for FailureDetection.suspect."""
        return tuple(self.compute_new_membership(q.current, (), list(q.leavers), sorted(q.suspects)))

    def pass_up(self, evt: Event) -> None:
        self.up_layer.up(evt)

    # --- messages -------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
        elif not isinstance(hdr, GmsHeader):
            self.counters["malformed: foreign header under GMS id"] += 1
        else:
            self._handle(hdr, msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        self.up_batch_own_then_rest(batch)

    def _handle(self, hdr: GmsHeader, msg: Message) -> None:
        handler = DISPATCH.get(hdr.type)
        if handler is None:
            self.counters["unknown GMS header type"] += 1
            self.log.error("GmsHeader with type=%d not known", hdr.type)
            return
        self.counters[f"received {T(hdr.type).name}"] += 1
        handler(self, hdr, msg)

    # --- sending --------------------------------------------------------------------------------------

    def send_empty(self, dest: Address, kind: int, flags: int) -> None:
        msg = Message(MsgType.EMPTY, dest=dest, flags=flags, transient_flags=TransientFlag.DONT_BLOCK)
        msg.put_header(self.protocol_id, GmsHeader(kind))
        self.down_layer.down_msg(msg)

    def send_view_ack(self, dest: Address) -> None:
        self.counters["VIEW_ACK sent"] += 1
        self.send_empty(dest, T.VIEW_ACK, Flag.OOB | Flag.NO_FC)

    def send_join_rsp(self, rsp: JoinRsp, dest: Address, *, oob: bool = False) -> None:
        msg = Message(MsgType.BYTES, dest=dest, flags=Flag.OOB if oob else 0,
                      transient_flags=TransientFlag.DONT_BLOCK, payload=encode_join_rsp(rsp))
        msg.put_header(self.protocol_id, GmsHeader(T.JOIN_RSP))
        self.counters["JOIN_RSP sent"] += 1
        self.down_layer.down_msg(msg)

    # --- views ----------------------------------------------------------------------------------------

    def compute_new_membership(self, current: Sequence[Address], joiners: Sequence[Address],
                               leavers: Sequence[Address], suspects: Sequence[Address]) -> list[Address]:
        try:
            return list(self._policy(list(current), list(joiners), list(leavers), list(suspects)))
        except Exception:  # a user policy failing falls back to the default, as Java does
            self.log.exception("membership change policy failed; using the default")
            return default_membership(current, joiners, leavers, suspects)

    def next_view(self, joiners: Sequence[Address], leavers: Sequence[Address],
                  suspects: Sequence[Address]) -> View:
        """GMS.getNextView: id = max(current, highest seen) + 1; creator = the new first member."""
        assert self.view is not None
        vid = max(self.view.view_id.id, self.ltime) + 1
        self.ltime = vid
        mbrs = self.compute_new_membership(self.tmp_members, joiners, leavers, suspects)
        creator = mbrs[0] if mbrs else self.local_addr
        self.tmp_members = list(mbrs)
        self.joining += [m for m in joiners if m not in self.joining]
        self.leaving += [m for m in [*leavers, *suspects] if m not in self.leaving]
        return View(ViewId(creator, vid), tuple(mbrs))

    def get_digest(self) -> Digest | None:
        return self.down_layer.query_down(GetDigest())

    def current_digest_for(self, members: Sequence[Address]) -> Digest | None:
        """GMS.getViewAndDigest: NAKACK2's digest restricted to ``members`` (asked twice), or None."""
        first = self.get_digest()
        return digest_for(members, first) or digest_for(members, first, self.get_digest())

    def install_view(self, new_view: View, digest: Digest | None = None) -> None:
        """GMS.installView: drop stale views and views without us; digest first; then the view down and up."""
        vid = new_view.view_id
        self.ltime = max(vid.id, self.ltime)
        if self.view is not None and vid.id <= self.view.view_id.id:
            self.counters["stale views dropped"] += 1
            return
        me = self.local_addr
        if me not in new_view.members:
            self.counters["views without me dropped"] += 1
            if self.log_view_warnings:
                self.log.warning("not member of view %s; discarding it", vid)
            return
        if digest is not None:
            self.down_layer.down(MergeDigest(digest) if isinstance(new_view, MergeView) else SetDigest(digest))
        if self.log.isEnabledFor(logging.DEBUG):
            joined, left = _diff(self.view, new_view)
            details = f" (joined: {joined}, left: {left})" if self.print_view_details else ""
            self.log.debug("installing view %s%s", new_view, details)
        was_coord = self.view is not None and self.view.coordinator == me
        self.view = new_view
        is_coord = new_view.coordinator == me
        mbrs = list(new_view.members)
        if mbrs:
            self.members = list(mbrs)
            self.joining = [m for m in self.joining if m not in mbrs]
            self.leaving = [m for m in self.leaving if m in mbrs]
            self.tmp_members = [m for m in [*mbrs, *self.joining] if m not in self.leaving]
            self.suspected_mbrs = [m for m in self.suspected_mbrs if m in mbrs]
            for m in mbrs:
                if m not in self.prev_members:
                    self.prev_members.append(m)
        if is_coord:
            if not was_coord:
                self.become_coordinator()
        elif was_coord or isinstance(self.role, ClientRole):
            self.become_participant()
        self.track_view(new_view)  # members_changed: stop waiting for VIEW_ACKs from non-members
        self.num_views += 1
        self.prev_views.append((self.now_ns(), new_view))
        evt = ViewChange(new_view)
        self.down_layer.down(evt)
        self.up_layer.up(evt)
        if isinstance(new_view, MergeView) and not is_coord:
            # everybody but the new coordinator ends the merge here; it ends its own after the VIEW_ACKs
            self.merger.force_cancel_merge()
        self.check_acks()

    def members_changed(self, change: MembershipChange) -> None:
        self.ack_collector.retain_all(change.members)

    def cast_view_change(self, new_view: View, digest: Digest | None, expected_acks: Iterable[Address],
                         joiners: Sequence[Address], join_rsp: JoinRsp | None, *, resume_stable: bool) -> None:
        """GMS.castViewChangeAndSendJoinRsps: TMP_VIEW, install locally, multicast VIEW, JOIN_RSPs,
        then collect VIEW_ACKs (the view handler waits until they are in or time out)."""
        if self.view is not None and new_view.view_id.id <= self.view.view_id.id:
            # Beyond Java: the view is installed already (a MergeView can reach the coordinator-to-be as another
            # subgroup coordinator's VIEW before its own INSTALL_MERGE_VIEW) and installView will discard it, so a
            # TMP_VIEW would announce a view that never comes: MERGE3 stops its INFO sender and checker on
            # TMP_VIEW and restarts them only on VIEW_CHANGE, so it would stay silent until the next view.
            self.counters["TMP_VIEW skipped (view already installed)"] += 1
        else:
            tmp = TmpView(new_view)
            self.up_layer.up(tmp)
            self.down_layer.down(tmp)
        sent: View | DeltaView = new_view
        if self.use_delta_views and self.view is not None and not isinstance(new_view, MergeView):
            if not self.first_view_sent:  # a new coordinator's first view is full
                self.first_view_sent = True
            else:
                sent = make_delta_view(self.view, new_view)
        flags = Flag.NO_RELAY | Flag.NO_FC | (Flag.NO_TOTAL_ORDER if isinstance(new_view, MergeView) else 0)
        msg = Message(MsgType.BYTES, flags=flags, payload=encode_view_digest(sent, digest),
                      transient_flags=TransientFlag.DONT_LOOPBACK | TransientFlag.DONT_BLOCK)
        msg.put_header(self.protocol_id, GmsHeader(T.VIEW))
        self.ack_collector.reset(expected_acks, self.local_addr)
        self.ack_collector.ack(*self.suspected_mbrs)
        self._view_change_in_flight = True
        self._resume_stable = resume_stable
        self._ack_view_id = new_view.view_id
        self.role.handle_view_change(new_view, digest)  # install locally first
        self.log.debug("mcasting view %s", sent.view_id)
        self.counters["VIEW sent"] += 1
        self.down_layer.down_msg(msg)
        if join_rsp is not None:
            for joiner in joiners:
                self.send_join_rsp(join_rsp, joiner)
        if self._view_change_in_flight and len(self.ack_collector):
            self._ack_timer = self.timers.call_later(self.view_ack_collection_timeout * MS, self._acks_timed_out)
        else:
            self.check_acks()

    def check_acks(self) -> None:
        if self._view_change_in_flight and not len(self.ack_collector):
            self.log.debug("got all ACKs for view %s", self._ack_view_id)
            self._end_ack_collection()

    def _acks_timed_out(self) -> None:
        self._ack_timer = None
        if not self._view_change_in_flight:
            return
        self.counters["VIEW_ACK collections timed out"] += 1
        if self.log_collect_msgs:
            self.log.warning("failed to collect all ACKs for view %s after %d ms, missing %d ACKs from %s",
                             self._ack_view_id, self.view_ack_collection_timeout, len(self.ack_collector),
                             ", ".join(self.stack.name_of(m) for m in self.ack_collector.missing))
        self._end_ack_collection()

    def _end_ack_collection(self) -> None:
        if self._ack_timer is not None:
            self._ack_timer.cancel()
            self._ack_timer = None
        was_in_flight = self._view_change_in_flight
        self._view_change_in_flight = False
        self.ack_collector.clear()
        if self._resume_stable:
            self._resume_stable = False
            self.down_layer.down(ResumeStable())
        hook, self.on_view_change_done = self.on_view_change_done, None
        if hook is not None:
            hook()
        if was_in_flight and self.stack.connected:
            self.view_handler.batch_done()

    def _process(self, requests: list[Request]) -> None:
        """GMS.process: dispatch one batch from the view handler to the current role."""
        first = requests[0].type
        if first is ReqType.COORD_LEAVE:
            self.role.handle_coord_leave()
        elif first is ReqType.MERGE:
            self.role.merge(dict(requests[0].views or ()))
        else:
            self.role.handle_membership_change(requests)

    # --- leaving --------------------------------------------------------------------------------------

    def leave_target(self) -> Address | None:
        """GMS.getCoord: the coordinator, or for the coordinator itself the next in line."""
        if not self.members:
            return None
        if self.is_coordinator:
            rest = self.compute_new_membership(self.members, (), [self.members[0]], ())
            return rest[0] if rest else None
        return self.members[0]

    def on_leave_done(self, got_response: bool) -> None:
        """Both roles end a leave in GMS.initState (client, no view)."""
        self._leave_requested = False
        self.init_state()
        self.up_layer.up(LeaveComplete(got_response))

    # --- printing -------------------------------------------------------------------------------------

    def _print_banner(self, cluster: str) -> None:
        me = self.local_addr
        physical = None
        if self.print_physical_addrs and me is not None:
            physical = self.down_layer.query_down(GetPhysicalAddress(me))
        line = f"GMS: address={self.stack.name_of(me)}, cluster={cluster}"
        if physical is not None:
            line += f", physical address={physical}"
        if self.print_local_addr:
            rule = "-" * 67
            banner_log.info("\n%s\n%s\n%s", rule, line, rule)
        else:
            self.log.debug("%s", line)


def _diff(old: View | None, new: View) -> tuple[list[Address], list[Address]]:
    old_m = old.members if old is not None else ()
    return [m for m in new.members if m not in old_m], [m for m in old_m if m not in new.members]


def _load_policy(name: str) -> MembershipPolicy:
    """A Java class name cannot be loaded here; accept the default's names and Python ``module:attr``."""
    if name.strip() in _DEFAULT_POLICIES:
        return default_membership
    module, _, attr = name.strip().rpartition(":") if ":" in name else name.strip().rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)  # noqa: TID251 - the user's module, named in the XML
    except (ImportError, AttributeError, ValueError) as e:
        raise ConfigError(f"membership_change_policy {name!r} could not be loaded: {e}") from None
    if isinstance(obj, type):
        obj = obj()
    fn = getattr(obj, "get_new_membership", obj)
    if not callable(fn):
        raise ConfigError(f"membership_change_policy {name!r} is not callable")
    return fn  # type: ignore[no-any-return]


__all__ = ["GMS"]
