"""The shared reliable-delivery toolkit: the table against the window UNICAST3 used to keep (a model of
it, so the move to the shared Table is checked to keep UNICAST3's decisions), the OOB placeholder, the
delivery filters and the delivery guard."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID
from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols.reliable import (
    DUMMY_OOB,
    DeliveryGuard,
    Table,
    add_received,
    deliverable,
    is_message,
    mark_oob_delivered,
    no_delivery_needed,
    oob_from_self,
    seqnos_of,
)

ME = UUID(0, 1)
OTHER = UUID(0, 2)


class OldWindow:
    """UNICAST3's former ``_Window`` (dict-based), kept as the model the shared Table must match."""

    def __init__(self, offset: int) -> None:
        self.low = self.hd = self.hr = offset
        self.msgs: dict[int, int] = {}

    def add(self, seqno: int) -> bool:
        if seqno <= self.hd or seqno in self.msgs:
            return False
        self.msgs[seqno] = seqno
        self.hr = max(self.hr, seqno)
        return True

    def highest_deliverable(self) -> int:
        s = self.hd
        while s + 1 in self.msgs:
            s += 1
        return s

    def remove_deliverable(self, max_results: int) -> list[int]:
        out: list[int] = []
        hd = self.hd
        while hd + 1 in self.msgs and (max_results <= 0 or len(out) < max_results):
            hd += 1
            out.append(self.msgs.pop(hd))
        if hd > self.hd:
            self.hd = self.low = hd
        return out

    def purge(self, seqno: int) -> None:
        if seqno <= self.low:
            return
        seqno = min(seqno, self.hr)
        for s in [s for s in self.msgs if s <= seqno]:
            del self.msgs[s]
        self.low = max(self.low, seqno)
        if seqno > self.hd:
            self.hd = self.low = seqno

    def missing(self, max_msgs: int) -> tuple[int, int, list[int]] | None:
        if not self.msgs:
            return None
        start = self.highest_deliverable() + 1
        capacity = self.hr - start
        max_size = min(max_msgs, capacity) if max_msgs > 0 else capacity
        if max_size <= 0:
            return None
        out = [s for s in range(start, min(start + max_size - 1, self.hr - 1) + 1) if s not in self.msgs]
        return max_size, start, out[:max_size]


window_ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 40)),
        st.tuples(st.just("remove"), st.integers(0, 3)),
        st.tuples(st.just("ack"), st.integers(0, 45)),
        st.tuples(st.just("missing"), st.integers(0, 6)),
    ),
    max_size=60,
)


@given(offset=st.integers(0, 3), operations=window_ops)
def test_table_decides_as_unicast3s_old_window(offset: int, operations: list[tuple[str, int]]) -> None:
    """Receive windows (nullify) and send windows (ACK = forced purge) behave as before the merge."""
    t: Table[int] = Table(offset)
    w = OldWindow(offset)
    for op, arg in operations:
        if op == "add":
            assert t.add(arg, arg) == w.add(arg)
        elif op == "remove":
            assert t.remove_many(True, arg) == w.remove_deliverable(arg)
        elif op == "ack":
            t.purge(arg, force=True)
            w.purge(arg)
        else:
            m = t.missing(arg) if t.num_missing > 0 else None
            old = w.missing(arg) if w.hr - w.hd - len(w.msgs) > 0 else None
            assert (None if m is None else (m.size, m.offset, seqnos_of(m))) == old
        assert (t.low, t.hd, t.hr, t.num_stored) == (w.low, w.hd, w.hr, len(w.msgs))
        assert t.highest_deliverable() == w.highest_deliverable()
        assert all(t.get(s) == w.msgs.get(s) for s in range(offset, t.hr + 2))


@given(st.lists(st.tuples(st.integers(1, 12), st.booleans()), max_size=30))
def test_add_received_delivers_each_oob_message_once_and_keeps_fifo(arrivals: list[tuple[int, bool]]) -> None:
    """OOB messages go up on first arrival, regular ones in seqno order, each exactly once."""
    t: Table[Message] = Table(0)
    delivered: list[tuple[int, bool]] = []
    for seqno, oob in arrivals:
        msg = Message(flags=Flag.OOB if oob else 0, payload=seqno, src=OTHER)
        if add_received(t, seqno, msg) and oob:
            delivered.append((seqno, True))
        for m in t.remove_many(True, 0, lambda m: deliverable(m, ME)):
            assert isinstance(m.payload, int)
            delivered.append((m.payload, False))
    seqnos = [s for s, _ in delivered]
    assert len(seqnos) == len(set(seqnos))
    regular = [s for s, oob in delivered if not oob]
    assert regular == sorted(regular)
    assert set(seqnos) == {s for s in range(1, t.hd + 1)} | {s for s, oob in delivered if oob}


def test_the_placeholder_is_never_delivered_nor_a_message() -> None:
    assert not deliverable(DUMMY_OOB, ME)
    assert not is_message(DUMMY_OOB) and not is_message(None)
    assert no_delivery_needed(DUMMY_OOB)
    t: Table[Message] = Table(0)
    oob = Message(flags=Flag.OOB, src=OTHER)
    assert add_received(t, 1, oob)
    assert t.get(1) is DUMMY_OOB
    assert not add_received(t, 1, oob)  # a duplicate


def test_mark_oob_delivered_is_true_once_and_only_for_oob() -> None:
    oob, regular = Message(flags=Flag.OOB), Message()
    assert mark_oob_delivered(oob)
    assert not mark_oob_delivered(oob)
    assert not mark_oob_delivered(regular)
    assert not deliverable(oob, ME)  # delivered on arrival already


def test_deliverable_drops_our_own_dont_loopback_messages_only() -> None:
    mine = Message(src=ME, transient_flags=TransientFlag.DONT_LOOPBACK)
    theirs = Message(src=OTHER, transient_flags=TransientFlag.DONT_LOOPBACK)
    assert not deliverable(mine, ME)
    assert deliverable(theirs, ME)
    assert no_delivery_needed(mine) and not no_delivery_needed(Message())


def test_oob_from_self_delivers_the_stored_message_once() -> None:
    t: Table[Message] = Table(0)
    stored = Message(flags=Flag.OOB, src=ME, payload=b"stored")
    t.add(1, stored)
    regular = Message(src=ME)
    t.add(2, regular)
    assert oob_from_self(t, [1, 2, 3]) == [stored]
    assert oob_from_self(t, [1]) == []
    assert t.remove_many(True, 0, lambda m: deliverable(m, ME)) == [regular]  # the OOB one went up already


def test_delivery_guard_runs_one_loop_per_key_and_looks_again_when_asked() -> None:
    guard: DeliveryGuard[str] = DeliveryGuard()
    work = {"a": [1, 2], "b": [3]}
    seen: list[int] = []

    def step_for(key: str) -> bool:
        if not work[key]:
            return False
        seen.append(work[key].pop(0))
        if seen == [1]:
            work["a"].append(9)
            guard.run("a", lambda: step_for("a"))  # re-entrant: only asks the running loop
            guard.run("b", lambda: step_for("b"))  # another key runs its own loop
        return True

    guard.run("a", lambda: step_for("a"))
    assert seen == [1, 3, 2, 9]
    guard.run("a", lambda: step_for("a"))  # the guard was released
    assert seen == [1, 3, 2, 9]
