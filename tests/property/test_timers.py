"""TimerService against a model: timers fire in (deadline, seq) order, never early, never when cancelled.

Callbacks may schedule further timers (at or after their own deadline, possibly for "now"),
which must fire within the same `run_due` when due.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from pygroups.clock import ManualClock, TimerHandle, TimerService


class TimerMachine(RuleBasedStateMachine):
    handles = Bundle("handles")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.timers = TimerService(self.clock)
        self.fired: list[tuple[int, int, int]] = []  # (deadline, seq, fired at)
        self.model: dict[int, int] = {}  # seq -> deadline of pending timers
        self.cancelled: set[int] = set()

    def _callback(self, handle_box: list[TimerHandle], child_delays: tuple[int, ...]) -> None:
        h = handle_box[0]
        now = self.clock.now_ns()
        self.fired.append((h.deadline_ns, h.seq, now))
        del self.model[h.seq]
        for delay in child_delays:
            self._schedule(h.deadline_ns + delay, ())

    def _schedule(self, deadline: int, child_delays: tuple[int, ...]) -> TimerHandle:
        box: list[TimerHandle] = []
        h = self.timers.call_at(deadline, self._callback, box, child_delays)
        box.append(h)
        self.model[h.seq] = deadline
        return h

    @rule(
        target=handles,
        delay=st.integers(0, 1_000),
        children=st.lists(st.integers(0, 50), max_size=2).map(tuple),
    )
    def schedule(self, delay: int, children: tuple[int, ...]) -> TimerHandle:
        return self._schedule(self.clock.now_ns() + delay, children)

    @rule(handle=consumes(handles))
    def cancel(self, handle: TimerHandle) -> None:
        was_pending = handle.pending
        handle.cancel()
        assert not handle.pending
        if was_pending:
            self.cancelled.add(handle.seq)
            del self.model[handle.seq]

    @rule(ns=st.integers(0, 700))
    def advance(self, ns: int) -> None:
        now = self.clock.advance(ns)
        before = len(self.fired)
        count = self.timers.run_due(now)
        assert count == len(self.fired) - before
        assert all(deadline > now for deadline in self.model.values()), "a due timer did not fire"

    @invariant()
    def fired_in_order_never_early_never_cancelled(self) -> None:
        keys = [(d, s) for d, s, _ in self.fired]
        assert keys == sorted(keys)
        assert all(deadline <= at for deadline, _, at in self.fired)
        assert not self.cancelled & {s for _, s, _ in self.fired}

    @invariant()
    def bookkeeping_matches_model(self) -> None:
        assert len(self.timers) == len(self.model)
        expected = min(self.model.values()) if self.model else None
        assert self.timers.next_deadline_ns() == expected


TestTimers = TimerMachine.TestCase
