"""pbcast.STATE_TRANSFER: fetch the application state, with the digest it belongs to, from a member.

Mirrors org.jgroups.protocols.pbcast.STATE_TRANSFER (5.5.6), the byte-array state transfer:

* requester (`GetState` sent down by the channel): STATE_REQ to the target (None: the first member
  of the view that is not us), an EmptyMessage ``DONT_BUNDLE|OOB|SKIP_BARRIER``; with nobody to ask
  `GetStateOk` (no state) goes up at once;
* provider, on STATE_REQ: punch a hole for the requester, close BARRIER, suspend STABLE, take
  NAKACK2's digest (`GetDigest`), open BARRIER; ask the application for its state (`GetApplState`,
  Java's Receiver.getState into a ByteArrayOutputStream); send STATE_RSP = a BytesMessage (flags 0,
  so through UNICAST3 and FRAG2 like any unicast) whose array is exactly the application's bytes
  (no array when it has none) with ``StateHeader(STATE_RSP, digest)``; close the hole, resume STABLE.
  If the application fails, STATE_EX carries a Java exception (`pygroups.wire.throwable`);
* requester, on STATE_RSP: punch a hole, close BARRIER, suspend STABLE, `OverwriteDigest`
  (NAKACK2 now expects exactly the messages after the state), `GetStateOk(state)` up (Java's
  Receiver.setState), `GetViewFromCoord` down (JGRP-1751), close the hole, open BARRIER, resume STABLE;
* a view without the provider while waiting fails the transfer (`GetStateOk(error=...)`), as does
  STATE_EX.

The channel, not this layer, enforces the caller's timeout, as JChannel.getState does. Both sides
run in one stack input each, so no message can slip in between the digest and the state.

Differences from Java, all on bad or unexpected input: a STATE_RSP or STATE_EX from anyone but the
member we asked, or when we asked nobody, is counted and dropped (Java would install it); the
transfer fails when *the member we asked* leaves (Java checks the old coordinator only); an
unreadable STATE_EX fails the transfer (Java logs it and lets the caller time out).

`statistics()` adds Java's ``num_state_reqs``, ``num_bytes_sent`` and ``avg_state_size``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pygroups.errors import MalformedMessage
from pygroups.events import (
    CloseBarrier,
    CloseHole,
    Event,
    GetApplState,
    GetDigest,
    GetState,
    GetStateOk,
    GetViewFromCoord,
    OpenBarrier,
    OverwriteDigest,
    PunchHole,
    ResumeStable,
    SuspendStable,
    TmpView,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType
from pygroups.stack.layer import Layer
from pygroups.stack.registry import protocol
from pygroups.wire.headers.state import StateHeader
from pygroups.wire.throwable import JavaThrowable, decode_throwable, encode_throwable

if TYPE_CHECKING:
    from pygroups.address import Address
    from pygroups.view import Digest, View

T = StateHeader.Type
#: A JDK class a Java requester can instantiate when reading our STATE_EX (Util.readException).
EXCEPTION_CLASS = "java.lang.RuntimeException"


@protocol("pbcast.STATE_TRANSFER")
class STATE_TRANSFER(Layer):
    """Byte-array state transfer (see the module docstring)."""

    name = "pbcast.STATE_TRANSFER"
    provides = frozenset({GetState})
    requires_below = frozenset({GetDigest})

    def __init__(self) -> None:
        super().__init__()
        self.view: View | None = None
        self.members: list[Address] = []
        self.waiting_for_state_response = False
        self.target: Address | None = None
        self._start_ns = 0
        self.num_state_reqs = 0
        self.num_bytes_sent = 0

    def stop(self) -> None:
        self.waiting_for_state_response = False
        self.target = None

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=v) | TmpView(view=v):
                self._handle_view_change(v)
            case GetState(target=target):
                self._get_state(target)
                return
            case _:
                pass
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=v) | TmpView(view=v):
                self._handle_view_change(v)
            case _:
                pass
        self.up_layer.up(evt)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        if not isinstance(hdr, StateHeader):
            self.counters["malformed: foreign header under STATE_TRANSFER id"] += 1
            return
        match hdr.type:
            case T.STATE_REQ:
                self._handle_state_req(msg.src)
            case T.STATE_RSP:
                self._handle_state_rsp(hdr.digest, msg.src, _array(msg))
            case T.STATE_EX:
                self._handle_state_ex(msg)
            case _:
                self.counters["unknown StateHeader type"] += 1
                self.log.error("type %s not known in StateHeader", hdr.type)

    # --- requester ------------------------------------------------------------------------------------

    def _get_state(self, target: Address | None) -> None:
        me = self.local_addr
        if target is None:
            target = self._determine_coordinator()
        elif target == me:
            self.log.error("cannot fetch state from myself")
            target = None
        if target is None:
            self.log.debug("first member (no state)")
            self.up_layer.up(GetStateOk())
            return
        msg = Message(MsgType.EMPTY, dest=target, flags=Flag.DONT_BUNDLE | Flag.OOB | Flag.SKIP_BARRIER)
        msg.put_header(self.protocol_id, StateHeader(T.STATE_REQ))
        self.log.debug("asking %s for state", self.stack.name_of(target))
        self.waiting_for_state_response = True
        self.target = target
        self._start_ns = self.now_ns()
        self.counters["STATE_REQ sent"] += 1
        self.down_layer.down_msg(msg)

    def _determine_coordinator(self) -> Address | None:
        """The first member that is not us (STATE_TRANSFER.determineCoordinator)."""
        return next((m for m in self.members if m != self.local_addr), None)

    def _handle_state_rsp(self, digest: Digest | None, sender: Address | None, state: bytes | None) -> None:
        if not self.waiting_for_state_response or sender is None or sender != self.target:
            self.counters["unsolicited STATE_RSP dropped"] += 1
            self.log.warning("dropped a STATE_RSP from %s: no state was asked of it", self.stack.name_of(sender))
            return
        self.counters["STATE_RSP received"] += 1
        self.down_layer.down(PunchHole(sender))
        self._close_barrier_and_suspend_stable()
        try:
            if digest is not None:
                self.down_layer.down(OverwriteDigest(digest))
            self.waiting_for_state_response = False
            self.target = None
            self.log.debug("received state, size=%d bytes, time=%d ms", len(state or b""),
                           (self.now_ns() - self._start_ns) // 1_000_000)
            self.up_layer.up(GetStateOk(state=state))
            self.down_layer.down(GetViewFromCoord())
        finally:
            self.down_layer.down(CloseHole(sender))
            self._open_barrier_and_resume_stable()

    def _handle_state_ex(self, msg: Message) -> None:
        sender = msg.src
        if sender is not None:
            self.down_layer.down(CloseHole(sender))
        if not self.waiting_for_state_response or sender != self.target:
            self.counters["unsolicited STATE_EX dropped"] += 1
            return
        try:
            exc = decode_throwable(_array(msg) or b"")
            reason = str(exc) if exc is not None else "the state provider failed (no exception given)"
        except (MalformedMessage, ValueError) as e:
            self.counters["malformed STATE_EX"] += 1
            reason = f"the state provider failed; its exception could not be read ({e})"
        self.counters["STATE_EX received"] += 1
        self._fail(reason)

    def _fail(self, reason: str) -> None:
        """STATE_TRANSFER.handleException: open the barrier, resume STABLE, report the failure."""
        self.waiting_for_state_response = False
        self.target = None
        self._open_barrier_and_resume_stable()
        self.up_layer.up(GetStateOk(error=reason))

    def _handle_view_change(self, view: View) -> None:
        self.view = view
        self.members = list(view.members)
        target = self.target
        if self.waiting_for_state_response and target is not None and target not in view.members:
            self.log.warning("discovered that the state provider (%s) left", self.stack.name_of(target))
            self.counters["state providers left"] += 1
            self._fail(f"state provider {self.stack.name_of(target)} left")

    # --- provider -------------------------------------------------------------------------------------

    def _handle_state_req(self, requester: Address | None) -> None:
        if requester is None:
            self.counters["STATE_REQ without sender dropped"] += 1
            return
        self.log.debug("received state request from %s", self.stack.name_of(requester))
        self.down_layer.down(PunchHole(requester))
        self._close_barrier_and_suspend_stable()
        digest = self.down_layer.query_down(GetDigest())
        self.down_layer.down(OpenBarrier())
        try:
            answer = self.up_layer.query_up(GetApplState())
            if answer.error is not None:
                self.log.warning("the application failed to provide its state: %s", answer.error)
                self._send_exception(requester, f"{self.stack.name_of(self.local_addr)}: failed getting "
                                                f"state from application: {answer.error}")
            else:
                self._send_state(requester, answer.state, digest)
        finally:
            self.down_layer.down(CloseHole(requester))
            self.down_layer.down(ResumeStable())

    def _send_state(self, requester: Address, state: bytes | None, digest: Digest | None) -> None:
        self.num_state_reqs += 1
        if state is not None:
            self.num_bytes_sent += len(state)
        msg = Message(MsgType.BYTES, dest=requester, payload=state)
        msg.put_header(self.protocol_id, StateHeader(T.STATE_RSP, digest))
        self.log.debug("sending state to %s (size=%d bytes)", self.stack.name_of(requester), len(state or b""))
        self.down_layer.down_msg(msg)

    def _send_exception(self, requester: Address, text: str) -> None:
        self.counters["STATE_EX sent"] += 1
        payload = encode_throwable(JavaThrowable(EXCEPTION_CLASS, text))
        msg = Message(MsgType.BYTES, dest=requester, payload=payload)
        msg.put_header(self.protocol_id, StateHeader(T.STATE_EX))
        self.down_layer.down_msg(msg)

    # --- barrier and STABLE ---------------------------------------------------------------------------

    def _close_barrier_and_suspend_stable(self) -> None:
        self.down_layer.down(CloseBarrier())
        self.down_layer.down(SuspendStable(0))  # no timeout: STABLE's MAX_SUSPEND_TIME, as Java

    def _open_barrier_and_resume_stable(self) -> None:
        self.down_layer.down(OpenBarrier())
        self.down_layer.down(ResumeStable())

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats["num_state_reqs"] = self.num_state_reqs
        stats["num_bytes_sent"] = self.num_bytes_sent
        stats["avg_state_size"] = self.num_bytes_sent / self.num_state_reqs if self.num_state_reqs else 0.0
        stats["waiting_for_state_response"] = int(self.waiting_for_state_response)
        return MappingProxyType(stats)


def _array(msg: Message) -> bytes | None:
    """The message's byte array (None for a BytesMessage without one), as Java's msg.getArray()."""
    payload = msg.payload
    if payload is None:
        return None
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)
    return None


__all__ = ["STATE_TRANSFER"]
