"""ManualClock and TimerService: ordering, cancellation, re-entrant scheduling."""

from __future__ import annotations

import pytest

from pygroups.clock import ManualClock, TimerService
from pygroups.errors import LocalProtocolError


def make() -> tuple[ManualClock, TimerService, list[object]]:
    clock = ManualClock()
    return clock, TimerService(clock), []


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(5)
    assert clock.now_ns() == 5
    assert clock.advance(10) == 15
    clock.set(20)
    assert clock.now_ns() == 20
    clock.set(20)
    with pytest.raises(LocalProtocolError):
        clock.set(19)
    with pytest.raises(LocalProtocolError):
        clock.advance(-1)


def test_timers_fire_in_deadline_then_scheduling_order() -> None:
    _, timers, fired = make()
    timers.call_at(30, fired.append, "c")
    timers.call_at(10, fired.append, "a1")
    timers.call_at(10, fired.append, "a2")
    timers.call_later(20, fired.append, "b")
    assert timers.next_deadline_ns() == 10
    assert timers.run_due(9) == 0
    assert timers.run_due(20) == 3
    assert fired == ["a1", "a2", "b"]
    assert timers.next_deadline_ns() == 30
    assert len(timers) == 1


def test_call_later_is_relative_to_clock() -> None:
    clock, timers, _ = make()
    clock.advance(100)
    handle = timers.call_later(5, lambda: None)
    assert handle.deadline_ns == 105
    with pytest.raises(LocalProtocolError):
        timers.call_later(-1, lambda: None)


def test_cancel_prevents_firing_and_is_idempotent() -> None:
    _, timers, fired = make()
    h1 = timers.call_at(1, fired.append, 1)
    h2 = timers.call_at(2, fired.append, 2)
    h1.cancel()
    h1.cancel()
    assert h1.cancelled and not h1.pending
    assert len(timers) == 1
    assert timers.next_deadline_ns() == 2
    timers.run_due(10)
    assert fired == [2]
    assert not h2.pending and not h2.cancelled
    h2.cancel()  # after firing: no-op
    assert not h2.cancelled
    assert timers.next_deadline_ns() is None


def test_timer_scheduled_by_timer_for_now_fires_in_same_run() -> None:
    _, timers, fired = make()

    def first() -> None:
        fired.append("first")
        timers.call_at(5, fired.append, "same-deadline")
        timers.call_at(1, fired.append, "past")
        timers.call_at(6, fired.append, "later")

    timers.call_at(5, first)
    assert timers.run_due(5) == 3
    assert fired == ["first", "past", "same-deadline"]
    assert timers.next_deadline_ns() == 6


def test_timer_cancelled_by_earlier_timer_in_same_run() -> None:
    _, timers, fired = make()
    victim = timers.call_at(2, fired.append, "victim")
    timers.call_at(1, victim.cancel)
    timers.run_due(2)
    assert fired == []


def test_many_cancellations_compact_the_heap() -> None:
    _, timers, fired = make()
    handles = [timers.call_at(i, fired.append, i) for i in range(200)]
    for h in handles[:150]:
        h.cancel()
    assert len(timers) == 50
    assert len(timers._heap) < 200  # compacted
    timers.run_due(1000)
    assert fired == list(range(150, 200))


def test_clear_cancels_everything() -> None:
    _, timers, fired = make()
    h = timers.call_at(1, fired.append, 1)
    timers.clear()
    assert h.cancelled
    assert timers.next_deadline_ns() is None
    assert timers.run_due(10) == 0
    assert fired == []


def test_livelock_is_reported() -> None:
    _, timers, _ = make()
    timers.MAX_FIRES_PER_RUN = 100

    def again() -> None:
        timers.call_at(0, again)

    timers.call_at(0, again)
    with pytest.raises(RuntimeError, match="livelock"):
        timers.run_due(0)


def test_repr_mentions_state() -> None:
    _, timers, _ = make()
    h = timers.call_at(7, test_repr_mentions_state)
    assert "pending at 7 ns" in repr(h)
    assert "test_repr_mentions_state" in repr(h)
    h.cancel()
    assert "cancelled" in repr(h)
