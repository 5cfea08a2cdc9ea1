"""FD_ALL3: heartbeats, the per-member bitmaps and exactly when a silent member is suspected."""

from __future__ import annotations

import pytest

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.errors import ConfigError
from pygroups.events import Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.fd_all3 import FD_ALL3, Bitmap
from pygroups.stack.properties import properties_of
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire.headers.fd import HeartbeatHeader, VerifyHeader

A, B, C, X = UUID(0, 1), UUID(0, 2), UUID(0, 3), UUID(0, 99)


def make(*members: Address, local: Address = A, timeout: int = 3000, interval: int = 1000) -> LayerHarness:
    fd = FD_ALL3()
    fd.timeout, fd.interval = timeout, interval
    h = LayerHarness(fd, local_addr=local)
    if members:
        h.down(ViewChange(View(ViewId(members[0], 1), members)))
    return h


def fd_of(h: LayerHarness) -> FD_ALL3:
    assert isinstance(h.layer, FD_ALL3)
    return h.layer


def heartbeat(src: Address) -> Message:
    msg = Message(MsgType.EMPTY, src=src)
    msg.put_header(FD_ALL3.protocol_id, HeartbeatHeader())
    return msg


def data(src: Address) -> Message:
    return Message(MsgType.BYTES, src=src, payload=b"x")


def suspects(h: LayerHarness) -> list[frozenset[Address]]:
    return [e.members for e in h.take_up_events() if isinstance(e, Suspect)]


def first_suspicion_ms(h: LayerHarness, *, step_ms: int = 10, limit_ms: int = 60_000) -> int:
    start = h.clock.now_ns()
    while h.clock.now_ns() - start < limit_ms * MS:
        h.advance(step_ms * MS)
        if suspects(h):
            return (h.clock.now_ns() - start) // MS
    raise AssertionError("no suspicion")


def test_attributes_and_defaults() -> None:
    assert BUILTIN_PROTOCOLS.get("FD_ALL3") is FD_ALL3 and FD_ALL3.protocol_id == 70
    assert set(properties_of(FD_ALL3)) == {"timeout", "interval"}
    fd = FD_ALL3()
    assert (fd.timeout, fd.interval) == (40000, 8000)


def test_interval_must_be_smaller_than_timeout() -> None:
    fd = FD_ALL3()
    fd.timeout, fd.interval = 1000, 1000
    with pytest.raises(ConfigError, match="interval"):
        fd.validate()


@pytest.mark.parametrize(("timeout", "interval", "bits"), [(40000, 8000, 5), (3000, 1000, 3), (3500, 1000, 4)])
def test_num_bits_is_timeout_over_interval_rounded_up(timeout: int, interval: int, bits: int) -> None:
    h = make(A, B, timeout=timeout, interval=interval)
    assert fd_of(h).num_bits == bits == fd_of(h).statistics()["num_bits"]


def test_bitmap_all_ones_then_cleared_one_per_advance() -> None:
    bm = Bitmap(3)
    assert not bm.needs_to_suspect()
    bm.advance()
    bm.advance()
    assert not bm.needs_to_suspect()  # bit 0 is still set
    bm.advance()
    assert bm.needs_to_suspect()
    bm.set()
    assert not bm.needs_to_suspect()


def test_heartbeat_sent_at_once_then_every_interval_unless_a_multicast_went_out() -> None:
    h = make(A, B)
    h.advance(0)
    sent = h.take_down()
    assert len(sent) == 1 and sent[0].dest is None
    assert isinstance(sent[0].headers[FD_ALL3.protocol_id], HeartbeatHeader)
    assert sent[0].transient_flags & TransientFlag.DONT_LOOPBACK and sent[0].type is MsgType.EMPTY
    h.advance(999 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    assert len(h.take_down()) == 1
    h.send(Message(MsgType.BYTES, payload=b"app"))  # a multicast is a heartbeat: the next one is skipped
    h.take_down()
    h.advance(1000 * MS)
    assert h.take_down() == []
    h.advance(1000 * MS)
    assert len(h.take_down()) == 1
    assert fd_of(h).num_heartbeats_sent == 3


def test_no_heartbeats_or_checks_in_a_singleton_view() -> None:
    h = make(A)
    h.advance(10_000 * MS)
    assert h.take_down() == [] and not fd_of(h).running
    h.down(ViewChange(View(ViewId(A, 2), (A, B))))
    assert fd_of(h).running
    h.down(ViewChange(View(ViewId(A, 3), (A,))))
    assert not fd_of(h).running


@pytest.mark.parametrize("offset_ms", [0, 10, 500, 990])
def test_silent_member_is_suspected_between_timeout_and_timeout_plus_interval(offset_ms: int) -> None:
    """The bit set by the last message is cleared by the num_bits-th check after it; the check after
    that sees all zeros: suspected in (timeout, timeout + interval] after the last message."""
    h = make(A, B)  # checks at 1000, 2000, ... ms
    h.advance(5000 * MS + offset_ms * MS + 1 * MS)
    assert suspects(h) == []
    h.receive(heartbeat(B))  # the last sign of life
    after = first_suspicion_ms(h)
    assert 3000 < after <= 4000


def test_any_message_counts_as_a_heartbeat() -> None:
    h = make(A, B)
    for _ in range(20):
        h.advance(900 * MS)
        h.receive(data(B))
    assert suspects(h) == []
    assert len(h.take_up()) == 20  # data passes up; heartbeats would not
    h.receive(heartbeat(B))
    assert h.take_up() == [] and fd_of(h).num_heartbeats_received == 1


def test_only_the_next_coordinator_sends_suspect_up_and_down() -> None:
    coord = make(A, B, C, local=A)
    other = make(A, B, C, local=C)
    for h, alive, silent in ((coord, C, B), (other, B, A)):
        for _ in range(12):
            h.advance(500 * MS)
            h.receive(data(alive))
        assert fd_of(h).suspected_mbrs == {silent}
    assert suspects(coord) == [frozenset({B})] * 3  # 6 s of silence: checks at 4, 5 and 6 s
    assert Suspect(frozenset({B})) in coord.take_down_events()
    # C suspects A (the coordinator) but B would be the next coordinator: C only remembers it
    assert suspects(other) == [] and Suspect(frozenset({A})) not in other.take_down_events()
    assert fd_of(other).num_suspect_events == 3


def test_suspect_goes_down_too_and_repeats_every_check_until_the_view_drops_it() -> None:
    h = make(A, B)
    first_suspicion_ms(h)
    assert Suspect(frozenset({B})) in h.take_down_events()
    h.advance(1000 * MS)
    assert suspects(h) == [frozenset({B})]
    h.advance(1000 * MS)
    assert suspects(h) == [frozenset({B})]
    h.down(ViewChange(View(ViewId(A, 2), (A,))))
    h.advance(5000 * MS)
    assert suspects(h) == [] and fd_of(h).suspected_mbrs == set() and fd_of(h).timestamps == {}
    assert fd_of(h).counters["members_suspected"] == 1


def test_a_suspect_heard_from_again_is_unsuspected_up_and_down() -> None:
    h = make(A, B)
    first_suspicion_ms(h)
    h.take_down_events()
    h.receive(data(B))
    assert Unsuspect(B) in h.take_up_events() and Unsuspect(B) in h.take_down_events()
    assert not fd_of(h).has_suspected_mbrs
    h.advance(3000 * MS)
    assert suspects(h) == []


def test_unsuspect_from_above_resets_the_bitmap() -> None:
    h = make(A, B)
    first_suspicion_ms(h)
    h.down(Unsuspect(B))  # VERIFY_SUSPECT2 got I_AM_NOT_DEAD
    assert fd_of(h).suspected_mbrs == set()
    h.advance(1000 * MS)
    assert suspects(h) == []


def test_non_members_are_counted_and_dropped_at_the_next_check() -> None:
    h = make(A, B)
    h.receive(heartbeat(X))
    assert X in fd_of(h).timestamps and fd_of(h).counters["heartbeats_from_non_members"] == 1
    h.advance(1000 * MS)
    assert X not in fd_of(h).timestamps
    h.advance(10_000 * MS)
    assert all(X not in s for s in suspects(h))


def test_foreign_header_under_our_id_is_counted_and_dropped() -> None:
    h = make(A, B)
    msg = Message(MsgType.EMPTY, src=B)
    msg.put_header(FD_ALL3.protocol_id, VerifyHeader(1, B))
    h.receive(msg)
    assert h.take_up() == [] and fd_of(h).counters["malformed: foreign header under our id"] == 1


def test_stop_cancels_the_tasks_and_forgets_suspects() -> None:
    h = make(A, B)
    first_suspicion_ms(h)
    h.stack.disconnect()
    assert not fd_of(h).running and fd_of(h).suspected_mbrs == set()


def test_statistics_use_java_attribute_names() -> None:
    h = make(A, B)
    h.advance(0)
    h.receive(heartbeat(B))
    stats = fd_of(h).statistics()
    assert stats["num_heartbeats_sent"] == 1 and stats["num_heartbeats_received"] == 1
    assert stats["num_suspect_events"] == 0 and stats["running"] and not stats["has_suspected_mbrs"]


def test_probe_jmx_shows_java_attribute_names() -> None:
    from pygroups.protocols.diagnostics import attributes

    h = make(A, B)
    h.advance(0)
    attrs = attributes(fd_of(h))
    for name in ("timeout", "interval", "num_heartbeats_sent", "num_heartbeats_received", "num_suspect_events",
                 "num_bits", "has_suspected_mbrs", "running"):
        assert name in attrs, name
    assert attrs["num_heartbeats_sent"] == "1" and attrs["num_bits"] == "3"
