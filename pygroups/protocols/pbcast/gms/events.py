"""Events GMS adds to the typed event set (pygroups.events), kept here until they move there."""

from __future__ import annotations

from dataclasses import dataclass

from pygroups.events import Event


@dataclass(frozen=True, slots=True)
class JoinFailed(Event):
    """Travels up when the coordinator refused our JOIN (JoinRsp.fail_reason, e.g. AUTH).

    Java throws a SecurityException out of JChannel.connect(); the channel should do the same with
    ``reason``. GMS stays a client and stops joining."""

    reason: str


@dataclass(frozen=True, slots=True)
class Leave(Event):
    """Sent down by a channel that wants a graceful leave *before* DISCONNECT: GMS sends LEAVE_REQ and
    waits up to ``leave_timeout`` for LEAVE_RSP; `GMS.leaving` turns False when done, and
    `LeaveComplete` travels up. A plain DISCONNECT still sends LEAVE_REQ, without waiting."""


@dataclass(frozen=True, slots=True)
class LeaveComplete(Event):
    """Travels up when a leave started with `Leave` is done (LEAVE_RSP, timeout, or nobody to ask)."""

    got_response: bool
