"""Typed events and queries passed between layers (replacing org.jgroups.Event(int, Object)).

Rules of this module:

1. Names are the JGroups ``Event`` constants in PascalCase; each docstring names the constant.
2. Events are frozen; an event that would block in Java (FIND_INITIAL_MBRS returning a promise)
   becomes a request carrying a ``request_id`` plus a later result event travelling the other way.
3. A `Query` is answered synchronously by the layer that handles it and is typed by its result:
   ``layer.query_down(GetPhysicalAddress(a))`` returns ``IpAddress | None``. A query nobody answers
   ends at the stack's edge, which returns `Query.unanswered()`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from pygroups.address import Address, IpAddress
from pygroups.errors import LocalProtocolError
from pygroups.ping_data import PingData
from pygroups.view import Digest, View

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event passed with `Layer.down` / `Layer.up`."""


@dataclass(frozen=True, slots=True)
class Query(Event, Generic[T_co]):
    """An event answered synchronously with a value of type ``T_co`` (covariant: a query for a
    `Mapping` is also a query for anything a `Mapping` is)."""

    def unanswered(self) -> T_co:
        """The answer when no layer handles this query; by default that is a stack bug."""
        raise LocalProtocolError(f"no layer answered {self!r}")


# --- lifecycle --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connect(Event):
    """CONNECT: join ``cluster``; sent down by the stack after the layers started."""

    cluster: str


@dataclass(frozen=True, slots=True)
class Disconnect(Event):
    """DISCONNECT: leave the cluster; sent down before the layers stop."""


@dataclass(frozen=True, slots=True)
class SetLocalAddress(Event):
    """SET_LOCAL_ADDRESS: the logical address of this member, sent down before CONNECT."""

    addr: Address


@dataclass(frozen=True, slots=True)
class BecomeServer(Event):
    """BECOME_SERVER: GMS has joined; discovery may now answer other members' requests."""


# --- membership -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ViewChange(Event):
    """VIEW_CHANGE: install ``view`` (a `MergeView` after a merge); travels down, then up to the app."""

    view: View


@dataclass(frozen=True, slots=True)
class TmpView(Event):
    """TMP_VIEW: a view about to be installed, so lower layers can already talk to joiners."""

    view: View


@dataclass(frozen=True, slots=True)
class Suspect(Event):
    """SUSPECT: failure detection suspects ``members`` (always a set, unlike Java's Address-or-list)."""

    members: frozenset[Address]


@dataclass(frozen=True, slots=True)
class Unsuspect(Event):
    """UNSUSPECT: ``member`` was heard from again and is no longer suspected."""

    member: Address


@dataclass(frozen=True, slots=True)
class IsLeaving(Query[bool | None]):
    """GMS.isLeaving(), asked upwards by the transport (TCP.enable_suspect_events: a peer closing its
    connection is no suspicion while we leave ourselves). None when there is no GMS above, which
    Java treats like leaving (no SUSPECT)."""

    def unanswered(self) -> bool | None:
        return None


@dataclass(frozen=True, slots=True)
class NewMembership(Query[tuple[Address, ...] | None]):
    """GMS.computeNewMembership(current, null, leavers, suspects), asked upwards by failure detection
    (FailureDetection.suspect, JGRP-2952: am I the next coordinator?); None without GMS."""

    current: tuple[Address, ...]
    leavers: frozenset[Address] = frozenset()
    suspects: frozenset[Address] = frozenset()

    def unanswered(self) -> tuple[Address, ...] | None:
        return None


@dataclass(frozen=True, slots=True)
class FindInitialMembers(Event):
    """FIND_INITIAL_MBRS: discovery for a joining member; answered later by an up event with the same id."""

    request_id: int
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class FindMembers(Event):
    """FIND_MBRS: discovery of ``members`` (None = everyone) used by MERGE3; answered later, by id."""

    request_id: int
    members: tuple[Address, ...] | None = None


@dataclass(frozen=True, slots=True)
class Merge(Event):
    """MERGE: MERGE3 found several coordinators; ``views`` maps each coordinator to its view."""

    views: Mapping[Address, View]


@dataclass(frozen=True, slots=True)
class InstallMergeView(Event):
    """INSTALL_MERGE_VIEW: the merge leader is about to send ``view`` to the subgroup coordinators (sent up
    and down before the INSTALL_MERGE_VIEW messages; Java's AUTH/ASYM_ENCRYPT use it, others ignore it)."""

    view: View


@dataclass(frozen=True, slots=True)
class FindMembersNotify(Event):
    """FIND_MBRS_ASYNC as MERGE3 sends it down on a transport without IP multicast: run one non-initial
    discovery round; from now on discovery hands every response (and the PingData of every request) to
    ``callback`` as it arrives (Java's ``Discovery.discovery_rsp_callback``), which sends INFO to it."""

    callback: Callable[[PingData], None]


@dataclass(frozen=True, slots=True)
class IsMergeInProgress(Query[bool]):
    """IS_MERGE_IN_PROGRESS: asked of GMS; False when no layer knows about merges."""

    def unanswered(self) -> bool:
        return False


# --- reliable delivery --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stable(Event):
    """STABLE: ``digest`` has been seen by all members; NAKACK2 may purge up to it."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class GetDigest(Query[Digest | None]):
    """GET_DIGEST: NAKACK2's digest (restricted to ``member`` if given); None without NAKACK2."""

    member: Address | None = None

    def unanswered(self) -> Digest | None:
        return None


@dataclass(frozen=True, slots=True)
class SetDigest(Event):
    """SET_DIGEST: merge ``digest`` into NAKACK2's (a joiner's JOIN_RSP)."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class OverwriteDigest(Event):
    """OVERWRITE_DIGEST: replace NAKACK2's digest entries with ``digest``."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class MergeDigest(Event):
    """MERGE_DIGEST: combine ``digest`` after a merge."""

    digest: Digest


@dataclass(frozen=True, slots=True)
class SuspendStable(Event):
    """SUSPEND_STABLE: stop STABLE rounds (during a view change) for at most ``max_suspend_ms``."""

    max_suspend_ms: int


@dataclass(frozen=True, slots=True)
class ResumeStable(Event):
    """RESUME_STABLE: STABLE rounds may run again."""


@dataclass(frozen=True, slots=True)
class CloseBarrier(Event):
    """CLOSE_BARRIER: BARRIER holds incoming messages (state transfer, flush)."""


@dataclass(frozen=True, slots=True)
class OpenBarrier(Event):
    """OPEN_BARRIER: BARRIER lets incoming messages pass again."""


@dataclass(frozen=True, slots=True)
class PunchHole(Event):
    """PUNCH_HOLE: BARRIER lets unicasts from ``member`` pass while it is closed (the state requester
    or provider of a state transfer)."""

    member: Address


@dataclass(frozen=True, slots=True)
class CloseHole(Event):
    """CLOSE_HOLE: undo `PunchHole` for ``member``."""

    member: Address


# --- state transfer -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetState(Event):
    """GET_STATE (StateTransferInfo): fetch the application state from ``target`` (None: the
    coordinator). Answered later by `GetStateOk` travelling up. ``timeout_ms`` is informative:
    as in Java, the caller (the channel) enforces it, not the protocol."""

    target: Address | None = None
    timeout_ms: int = 0


@dataclass(frozen=True, slots=True)
class GetStateOk(Event):
    """GET_STATE_OK (StateTransferResult), travelling up: the state fetched with `GetState`
    (``state`` None: the provider had none, or we are the first member), or ``error`` saying why
    the transfer failed (the provider left, or it sent STATE_EX)."""

    state: bytes | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ApplState:
    """The application's answer to `GetApplState`: its state as bytes (None: no state), or
    ``error`` when producing it failed (the provider then sends STATE_EX, as Java does)."""

    state: bytes | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class GetApplState(Query[ApplState]):
    """GET_APPLSTATE, asked of the layers above (the application, JChannel's Receiver.getState):
    the state to send to a requester. Unanswered (no application hook) it is "no state", as a
    JChannel without a Receiver answers null."""

    def unanswered(self) -> ApplState:
        return ApplState()


@dataclass(frozen=True, slots=True)
class GetViewFromCoord(Event):
    """GET_VIEW_FROM_COORD: GMS asks the view's creator for its current view (GET_CURRENT_VIEW);
    STATE_TRANSFER sends it after installing a state (JGRP-1751)."""


@dataclass(frozen=True, slots=True)
class GetSendQueue(Query["SendQueue | None"]):
    """Asked of the transport by RED (Java: ``TP.getBundler().getQueueSize()/getCapacity()``): how
    full the send queue is. None when the transport has no bounded queue (RED then disables
    itself, as with Java's PerDestinationBundler, whose queue size is -1)."""

    def unanswered(self) -> SendQueue | None:
        return None


@dataclass(frozen=True, slots=True)
class SendQueue:
    """A send queue's fill: ``size`` of ``capacity`` (same unit, e.g. bytes not yet written)."""

    size: int
    capacity: int


# --- transport / addressing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GetLocalAddress(Query[Address | None]):
    """GET_LOCAL_ADDRESS: this member's logical address; None before SET_LOCAL_ADDRESS."""

    def unanswered(self) -> Address | None:
        return None


@dataclass(frozen=True, slots=True)
class GetPhysicalAddress(Query[IpAddress | None]):
    """GET_PHYSICAL_ADDRESS: the transport's physical address for logical ``addr``, if known."""

    addr: Address

    def unanswered(self) -> IpAddress | None:
        return None


@dataclass(frozen=True, slots=True)
class GetLogicalPhysicalMappings(Query[Mapping[Address, IpAddress]]):
    """GET_LOGICAL_PHYSICAL_MAPPINGS: a snapshot of the transport's logical-to-physical cache."""

    def unanswered(self) -> Mapping[Address, IpAddress]:
        return {}


@dataclass(frozen=True, slots=True)
class AddPhysicalAddress(Event):
    """ADD_PHYSICAL_ADDRESS: discovery learned that logical ``addr`` listens at ``physical``."""

    addr: Address
    physical: IpAddress


@dataclass(frozen=True, slots=True)
class RemoveAddress(Event):
    """REMOVE_ADDRESS: forget ``addr`` in the transport's caches (it left or crashed)."""

    addr: Address


# --- discovery ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscoveryResponse(Event):
    """The answer to `FindInitialMembers` / `FindMembers` with the same ``request_id``, travelling up.

    ``responses`` are the PingData collected (one per responder, latest wins), in arrival order.
    """

    request_id: int
    responses: tuple[PingData, ...]


@dataclass(frozen=True, slots=True)
class FindMembersAsync(Event):
    """FIND_MBRS_ASYNC: the transport lacks physical addresses for ``members``; discovery asks around
    (travels up from the transport). Answers arrive as `AddPhysicalAddress` sent down by discovery."""

    members: tuple[Address, ...]



# --- membership outcomes (GMS -> channel) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinFailed(Event):
    """Travels up when the coordinator refused our JOIN (JoinRsp.fail_reason, e.g. AUTH).

    Java throws a SecurityException out of JChannel.connect(); the channel should do the same with
    ``reason``. GMS stays a client and stops joining."""

    reason: str


@dataclass(frozen=True, slots=True)
class Leave(Event):
    """Sent down by a channel that wants a graceful leave *before* DISCONNECT: GMS sends LEAVE_REQ and
    waits up to ``leave_timeout`` for LEAVE_RSP; GMS's ``is_leaving`` turns False when done, and
    `LeaveComplete` travels up. A plain DISCONNECT still sends LEAVE_REQ, without waiting."""


@dataclass(frozen=True, slots=True)
class LeaveComplete(Event):
    """Travels up when a leave started with `Leave` is done (LEAVE_RSP, timeout, or nobody to ask)."""

    got_response: bool
