"""The state of FD_SOCK2's ring (org.jgroups.protocols.FD_SOCK2's PingDest, Membership.getNext /
getPrevious, one connectTo attempt) and its BroadcastTask, kept apart from the layer
(`pygroups.protocols.fd_sock2`) so that each stays small.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pygroups.address import Address, IpAddress
from pygroups.clock import MS, TimerHandle

if TYPE_CHECKING:
    from pygroups.protocols.fd_sock2 import FD_SOCK2
    from pygroups.protocols.fd_sock2_server import FdConn


class State(enum.Enum):
    """FD_SOCK2.State: the link to the member we watch."""

    DISCONNECTED = "DISCONNECTED"
    CONNECTED = "CONNECTED"


class PingDest:
    """FD_SOCK2.PingDest: the member we watch, the address we reached it at, and the link state."""

    __slots__ = ("dest", "dest_physical", "state")

    def __init__(self) -> None:
        self.dest: Address | None = None
        self.dest_physical: IpAddress | None = None
        self.state = State.DISCONNECTED

    def reset(self) -> PingDest:
        self.dest = self.dest_physical = None
        self.state = State.DISCONNECTED
        return self

    @property
    def connected(self) -> bool:
        return self.state is State.CONNECTED

    def dest_changed(self, a: Address | None) -> bool:
        return a is not None and a != self.dest

    def __str__(self) -> str:
        return f"{self.dest} [{self.dest_physical} {self.state.value}]"


class Attempt:
    """One ``connectTo(new_ping_dest)``: the candidate ports of ``target``, tried in order."""

    __slots__ = ("candidates", "conn", "existing", "index", "old_dest", "old_physical", "retried", "target", "timer")

    def __init__(self, target: Address, candidates: list[IpAddress], old_dest: Address | None,
                 old_physical: IpAddress | None) -> None:
        self.target = target
        self.candidates = candidates
        self.old_dest, self.old_physical = old_dest, old_physical
        self.index = -1
        self.conn: FdConn | None = None
        self.existing = False
        self.retried = False  # CONNECT sent again to this candidate after it closed our connection gracefully
        self.timer: TimerHandle | None = None

    @property
    def candidate(self) -> IpAddress:
        return self.candidates[self.index]


def next_of(members: Sequence[Address], me: Address | None) -> Address | None:
    """Membership.getNext: the member after ``me`` (wrapping), None if ``me`` is absent or alone."""
    if me not in members:
        return None
    nxt = members[(members.index(me) + 1) % len(members)]
    return None if nxt == me else nxt


def previous_of(members: Sequence[Address], me: Address | None) -> Address | None:
    """Membership.getPrevious: the member before ``me`` (wrapping), None if absent or alone."""
    if me not in members or len(members) < 2:
        return None
    prev = members[members.index(me) - 1]
    return None if prev == me else prev


class BroadcastTask:
    """FD_SOCK2.BroadcastTask: SUSPECT is unreliable (it goes below NAKACK2), so the suspects are
    multicast again every ``suspect_msg_interval`` until a view without them arrives."""

    def __init__(self, layer: FD_SOCK2, send: Callable[[list[Address]], None]) -> None:
        self.layer = layer
        self.send = send
        self.suspects: set[Address] = set()
        self._timer: TimerHandle | None = None

    def add(self, mbrs: Sequence[Address], members: Sequence[Address]) -> None:
        """addSuspects: only members are re-sent; starts the task if it gained any."""
        added = {m for m in mbrs if m in members} - self.suspects
        if added:
            self.suspects |= added
            if self._timer is None:
                self._timer = self.layer.timers.call_later(self.layer.suspect_msg_interval * MS, self._run)

    def remove(self, mbr: Address) -> None:
        self.suspects.discard(mbr)
        if not self.suspects:
            self.clear()

    def adjust(self, members: Sequence[Address]) -> None:
        """adjustSuspects: forget the suspects a new view no longer has."""
        if members:
            self.suspects &= set(members)
            if not self.suspects:
                self.clear()

    def clear(self) -> None:
        self.suspects.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _run(self) -> None:
        self._timer = None
        if not self.suspects:
            return
        self.layer.counters["SUSPECT re-sent"] += 1
        self.send(sorted(self.suspects, key=lambda a: a.sort_key()))
        self._timer = self.layer.timers.call_later(self.layer.suspect_msg_interval * MS, self._run)
