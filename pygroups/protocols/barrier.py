"""BARRIER (org.jgroups.protocols.BARRIER): hold back incoming messages while a state is cut.

Mirrors BARRIER 5.5.6. STATE_TRANSFER closes the barrier (`CloseBarrier`) around taking the
digest on the provider and around installing digest and state on the requester, so that no
message is delivered between the digest and the state it belongs to; `OpenBarrier` opens it.
In 5.5.6 only the state-transfer protocols send these events (GMS does not).

Rules of this module:

1. Messages pass while the barrier is open. While it is closed, a message passes only if it is
   flagged SKIP_BARRIER, or if it is a unicast that is OOB or comes from a member with a hole
   punched (`PunchHole` / `CloseHole`: the other side of a state transfer). Java's rule, JGRP-1341.
2. Every other message is *queued and dropped*, as in Java: one message per sender is kept for
   multicasts and one for unicasts (the latest replaces the earlier); NAKACK2 and UNICAST3 above
   see the gaps after the barrier opens and get the rest retransmitted.
3. Opening releases the kept messages, multicasts first, at the end of the current input (so an
   `OpenBarrier` sent down by a layer above never re-enters it). Java re-injects them at the
   transport; here they continue upwards from BARRIER: the layers below have already seen them.
4. A barrier closed longer than ``max_close_time`` ms (0 = forever) opens by itself. Java's
   ``flush_timeout`` (waiting for threads already past the barrier) has nothing to wait for in a
   single-threaded stack: it is accepted and unused. Stopping the stack opens the barrier and
   drops what it held (the layers above are already stopped).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pygroups.clock import MS, TimerHandle
from pygroups.events import CloseBarrier, CloseHole, Event, OpenBarrier, PunchHole
from pygroups.message import Flag, Message
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Duration, prop
from pygroups.stack.registry import protocol

if TYPE_CHECKING:
    from pygroups.address import Address


@protocol("BARRIER")
class BARRIER(Layer):
    """Holds up incoming messages while closed (see the module docstring)."""

    name = "BARRIER"
    provides = frozenset({CloseBarrier, OpenBarrier, PunchHole, CloseHole})

    max_close_time: int = prop(Duration, 60000, "Max time barrier can be closed. Default is 60000 ms")
    flush_timeout: int = prop(Duration, 5000, "Max time (in ms) to wait until the threads which passed the "
                                              "barrier before it was closed have completed (unused: one thread)")

    def __init__(self) -> None:
        super().__init__()
        self.closed = False
        self.holes: set[Address] = set()
        self.mcast_queue: dict[Address | None, Message] = {}
        self.ucast_queue: dict[Address | None, Message] = {}
        self._opener: TimerHandle | None = None

    # --- lifecycle ------------------------------------------------------------------------------------

    def stop(self) -> None:
        dropped = len(self.mcast_queue) + len(self.ucast_queue)
        if dropped:
            self.counters["messages dropped at stop"] += dropped
        self.mcast_queue.clear()
        self.ucast_queue.clear()
        self.holes.clear()
        self._cancel_opener()
        self.closed = False

    # --- events ---------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case CloseBarrier():
                self.close_barrier()
            case OpenBarrier():
                self.open_barrier()
            case PunchHole(member=m):
                self.holes.add(m)
            case CloseHole(member=m):
                self.holes.discard(m)
            case _:
                self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        match evt:
            case CloseBarrier():
                self.close_barrier()
            case OpenBarrier():
                self.open_barrier()
            case _:
                self.up_layer.up(evt)

    # --- messages -------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        if not self.closed or self._passes(msg):
            self.up_layer.up_msg(msg)
            return
        queue = self.mcast_queue if msg.dest is None else self.ucast_queue
        if msg.src in queue:
            self.counters["queued messages replaced"] += 1
        queue[msg.src] = msg
        self.counters["messages queued"] += 1

    def _passes(self, msg: Message) -> bool:
        if msg.flags & Flag.SKIP_BARRIER:
            return True
        return msg.dest is not None and bool(msg.flags & Flag.OOB or msg.src in self.holes)

    # --- closing and opening --------------------------------------------------------------------------

    def close_barrier(self) -> None:
        """BARRIER.closeBarrier: a no-op if already closed; arms the ``max_close_time`` opener."""
        if self.closed:
            return
        self.closed = True
        self.counters["num_closings"] += 1
        if self.max_close_time > 0 and self._opener is None:
            self._opener = self.timers.call_later(self.max_close_time * MS, self._on_max_close_time)

    def open_barrier(self) -> None:
        """BARRIER.openBarrier: a no-op if already open; releases the kept messages."""
        if not self.closed:
            return
        self.closed = False
        self._cancel_opener()
        held = [*self.mcast_queue.values(), *self.ucast_queue.values()]
        self.mcast_queue.clear()
        self.ucast_queue.clear()
        if held:
            self.counters["messages released"] += len(held)
            self.stack.call_soon(self._release, held)

    def _release(self, held: list[Message]) -> None:
        for msg in held:
            self.up_layer.up_msg(msg)

    def _on_max_close_time(self) -> None:
        self._opener = None
        if self.closed:
            self.counters["opened by max_close_time"] += 1
            self.log.warning("barrier closed for %d ms: opening it", self.max_close_time)
            self.open_barrier()

    def _cancel_opener(self) -> None:
        if self._opener is not None:
            self._opener.cancel()
            self._opener = None

    @property
    def opener_scheduled(self) -> bool:
        return self._opener is not None

    def statistics(self) -> Mapping[str, int | float]:
        stats = dict(self.counters)
        stats["closed"] = int(self.closed)
        stats["holes"] = len(self.holes)
        stats["queued"] = len(self.mcast_queue) + len(self.ucast_queue)
        return MappingProxyType(stats)


__all__ = ["BARRIER"]
