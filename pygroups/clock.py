"""Injected time: the `Clock` protocol, a `ManualClock` for tests, and the per-stack `TimerService`.

Rules of this module:

1. Time is an ``int`` of nanoseconds from an arbitrary origin; it never goes backwards.
2. Nothing here reads a real clock. The asyncio driver supplies ``int(loop.time() * 1e9)``;
   tests and the simulator supply a `ManualClock`.
3. Timers fire in ``(deadline_ns, seq)`` order, where ``seq`` is the scheduling order, so two
   timers with the same deadline always fire in the order they were scheduled.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import Any, Protocol

from pygroups.errors import LocalProtocolError

#: Nanoseconds per millisecond: JGroups properties are in ms, this clock in ns.
MS = 1_000_000


class Clock(Protocol):
    """Anything that tells monotonic time in integer nanoseconds."""

    def now_ns(self) -> int: ...


class ManualClock:
    """A clock that only moves when told to (tests, simulation)."""

    __slots__ = ("_now_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def now_ns(self) -> int:
        return self._now_ns

    def advance(self, ns: int) -> int:
        """Move forward by ``ns`` (>= 0) and return the new time."""
        if ns < 0:
            raise LocalProtocolError(f"a clock cannot go backwards (advance by {ns} ns)")
        self._now_ns += ns
        return self._now_ns

    def set(self, ns: int) -> None:
        """Jump to the absolute time ``ns``, which must not be in the past."""
        if ns < self._now_ns:
            raise LocalProtocolError(f"a clock cannot go backwards ({self._now_ns} -> {ns} ns)")
        self._now_ns = ns

    def __repr__(self) -> str:
        return f"ManualClock({self._now_ns})"


class TimerHandle:
    """A scheduled call; `cancel()` it to stop it from firing. Ordered by (deadline, seq)."""

    __slots__ = ("_args", "_fn", "_service", "_state", "deadline_ns", "seq")

    _PENDING, _CANCELLED, _FIRED = 0, 1, 2

    def __init__(
        self,
        service: TimerService,
        deadline_ns: int,
        seq: int,
        fn: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        self._service = service
        self.deadline_ns = deadline_ns
        self.seq = seq
        self._fn = fn
        self._args = args
        self._state = TimerHandle._PENDING

    def cancel(self) -> None:
        """Idempotent; a no-op once the timer has fired."""
        if self._state == TimerHandle._PENDING:
            self._state = TimerHandle._CANCELLED
            self._fn, self._args = _noop, ()  # drop references early
            self._service._cancelled_one()

    @property
    def cancelled(self) -> bool:
        return self._state == TimerHandle._CANCELLED

    @property
    def pending(self) -> bool:
        """True until the timer fires or is cancelled."""
        return self._state == TimerHandle._PENDING

    def _fire(self) -> None:
        self._state = TimerHandle._FIRED
        fn, args = self._fn, self._args
        self._fn, self._args = _noop, ()
        fn(*args)

    def __lt__(self, other: TimerHandle) -> bool:
        return (self.deadline_ns, self.seq) < (other.deadline_ns, other.seq)

    def __repr__(self) -> str:
        state = ("pending", "cancelled", "fired")[self._state]
        fn = getattr(self._fn, "__qualname__", "")
        return f"<TimerHandle {state} at {self.deadline_ns} ns #{self.seq} {fn}>"


def _noop(*_args: object) -> None:
    return None


class TimerService:
    """A heap of `TimerHandle`s; one per stack. The driver asks `next_deadline_ns()` and calls `run_due()`.

    Cancelled handles stay in the heap until they reach the top or until they make up more than half
    of it (then the heap is compacted), as asyncio does.
    """

    # A run_due() that fires this many timers is a timer that keeps rescheduling itself for "now".
    MAX_FIRES_PER_RUN = 1_000_000

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._heap: list[TimerHandle] = []
        self._seq = 0
        self._cancelled = 0

    def call_at(self, deadline_ns: int, fn: Callable[..., object], *args: Any) -> TimerHandle:
        """Call ``fn(*args)`` at ``deadline_ns``; a deadline in the past fires at the next `run_due`."""
        handle = TimerHandle(self, deadline_ns, self._seq, fn, args)
        self._seq += 1
        heapq.heappush(self._heap, handle)
        return handle

    def call_later(self, delay_ns: int, fn: Callable[..., object], *args: Any) -> TimerHandle:
        """Call ``fn(*args)`` ``delay_ns`` (>= 0) from the clock's now."""
        if delay_ns < 0:
            raise LocalProtocolError(f"negative timer delay: {delay_ns} ns")
        return self.call_at(self._clock.now_ns() + delay_ns, fn, *args)

    def next_deadline_ns(self) -> int | None:
        """The earliest pending deadline, or None when nothing is scheduled."""
        heap = self._heap
        while heap and not heap[0].pending:
            heapq.heappop(heap)
            self._cancelled -= 1
        return heap[0].deadline_ns if heap else None

    def run_due(self, now_ns: int) -> int:
        """Fire every timer due at ``now_ns``, including ones scheduled meanwhile; return the count."""
        fired = 0
        heap = self._heap
        while heap and heap[0].deadline_ns <= now_ns:
            handle = heapq.heappop(heap)
            if not handle.pending:
                self._cancelled -= 1
                continue
            fired += 1
            if fired > self.MAX_FIRES_PER_RUN:
                heapq.heappush(heap, handle)
                raise RuntimeError(f"timer livelock: {handle!r} keeps being scheduled for <= {now_ns} ns")
            handle._fire()
        return fired

    def clear(self) -> None:
        """Cancel everything (used when a stack disconnects)."""
        for handle in self._heap:
            if handle.pending:
                handle._state = TimerHandle._CANCELLED
                handle._fn, handle._args = _noop, ()
        self._heap.clear()
        self._cancelled = 0

    def __len__(self) -> int:
        """The number of pending (not cancelled, not fired) timers."""
        return len(self._heap) - self._cancelled

    def _cancelled_one(self) -> None:
        self._cancelled += 1
        if self._cancelled > 64 and self._cancelled * 2 > len(self._heap):
            self._heap = [h for h in self._heap if h.pending]
            heapq.heapify(self._heap)
            self._cancelled = 0
