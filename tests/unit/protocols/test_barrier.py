"""BARRIER: which messages pass a closed barrier, what is kept, release order, max_close_time."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.clock import MS
from pygroups.events import CloseBarrier, CloseHole, OpenBarrier, PunchHole
from pygroups.message import Flag, Message, MsgType
from pygroups.protocols.barrier import BARRIER
from pygroups.testing.harness import LayerHarness

P, Q = UUID(0, 1), UUID(0, 2)


def msg(src: UUID, payload: bytes, *, dest: UUID | None = None, flags: int = 0) -> Message:
    return Message(MsgType.BYTES, src=src, dest=dest, flags=flags, payload=payload)


def harness(**props: int) -> LayerHarness:
    layer = BARRIER()
    for k, v in props.items():
        setattr(layer, k, v)
    return LayerHarness(layer)


def test_open_barrier_passes_everything() -> None:
    h = harness()
    h.receive(msg(P, b"1"))
    assert [m.payload for m in h.take_up()] == [b"1"]


def test_closed_barrier_keeps_the_last_message_per_sender_and_releases_multicasts_first() -> None:
    h = harness()
    me = h.local_addr
    h.down(CloseBarrier())
    for m in (msg(P, b"p1"), msg(P, b"p2"), msg(Q, b"q1"), msg(P, b"u1", dest=me), msg(P, b"u2", dest=me)):
        h.receive(m)
    assert h.take_up() == []
    h.down(OpenBarrier())
    assert [m.payload for m in h.take_up()] == [b"p2", b"q1", b"u2"]
    stats = h.layer.statistics()
    assert stats["messages queued"] == 5 and stats["queued messages replaced"] == 2 and stats["closed"] == 0


def test_skip_barrier_oob_unicasts_and_holes_pass_a_closed_barrier() -> None:
    h = harness()
    me = h.local_addr
    h.down(CloseBarrier())
    h.receive(msg(P, b"skip", flags=Flag.SKIP_BARRIER))
    h.receive(msg(P, b"oob-unicast", dest=me, flags=Flag.OOB))
    h.receive(msg(P, b"oob-multicast", flags=Flag.OOB))  # held: only unicasts may be OOB-passed
    h.down(PunchHole(Q))
    h.receive(msg(Q, b"hole", dest=me))
    h.receive(msg(Q, b"hole-multicast"))  # held: holes are for unicasts
    h.down(CloseHole(Q))
    h.receive(msg(Q, b"closed-hole", dest=me))
    assert [m.payload for m in h.take_up()] == [b"skip", b"oob-unicast", b"hole"]
    h.down(OpenBarrier())
    assert [m.payload for m in h.take_up()] == [b"oob-multicast", b"hole-multicast", b"closed-hole"]


def test_the_barrier_opens_by_itself_after_max_close_time() -> None:
    h = harness(max_close_time=1000)
    h.down(CloseBarrier())
    h.receive(msg(P, b"x"))
    h.advance(999 * MS)
    assert h.take_up() == [] and h.layer.closed
    h.advance(1 * MS)
    assert [m.payload for m in h.take_up()] == [b"x"] and not h.layer.closed
    assert h.layer.counters["opened by max_close_time"] == 1


def test_opening_cancels_the_opener_and_closing_twice_is_one_close() -> None:
    h = harness(max_close_time=1000)
    h.down(CloseBarrier())
    h.down(CloseBarrier())
    assert h.layer.counters["num_closings"] == 1 and h.layer.opener_scheduled
    h.down(OpenBarrier())
    h.down(OpenBarrier())
    assert not h.layer.opener_scheduled and h.stack.next_deadline_ns() is None


def test_max_close_time_zero_means_forever() -> None:
    h = harness(max_close_time=0)
    h.down(CloseBarrier())
    assert not h.layer.opener_scheduled


def test_close_and_open_barrier_also_work_as_up_events() -> None:
    h = harness()
    h.up(CloseBarrier())
    h.receive(msg(P, b"x"))
    assert h.take_up() == []
    h.up(OpenBarrier())
    assert [m.payload for m in h.take_up()] == [b"x"]
    assert h.take_up_events() == []  # consumed, not passed on


def test_stop_drops_what_was_held() -> None:
    h = harness()
    h.down(CloseBarrier())
    h.receive(msg(P, b"x"))
    h.stack.disconnect()
    assert not h.layer.closed and h.layer.counters["messages dropped at stop"] == 1
