"""VERIFY_SUSPECT2: ARE_YOU_DEAD / I_AM_NOT_DEAD, and when a confirmed SUSPECT reaches GMS."""

from __future__ import annotations

import pytest

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.verify_suspect2 import VERIFY_SUSPECT2
from pygroups.stack.properties import properties_of
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire.headers.fd import HeartbeatHeader, VerifyHeader

A, B, C, X = UUID(0, 1), UUID(0, 2), UUID(0, 3), UUID(0, 99)
ARE_YOU_DEAD, I_AM_NOT_DEAD = VerifyHeader.Type.ARE_YOU_DEAD, VerifyHeader.Type.I_AM_NOT_DEAD


def make(*, timeout: int = 1000, num_msgs: int = 1, use_mcast_rsps: bool = False) -> LayerHarness:
    vs = VERIFY_SUSPECT2()
    vs.timeout, vs.num_msgs, vs.use_mcast_rsps = timeout, num_msgs, use_mcast_rsps
    h = LayerHarness(vs, local_addr=A)  # started at t=0: the task runs at 1000, 2000, ... ms
    h.down(ViewChange(View(ViewId(A, 1), (A, B, C))))
    return h


def vs_of(h: LayerHarness) -> VERIFY_SUSPECT2:
    assert isinstance(h.layer, VERIFY_SUSPECT2)
    return h.layer


def verify_msg(kind: int, frm: Address | None, src: Address) -> Message:
    msg = Message(MsgType.EMPTY, src=src, dest=A)
    msg.put_header(VERIFY_SUSPECT2.protocol_id, VerifyHeader(kind, frm))
    return msg


def up_suspects(h: LayerHarness) -> list[frozenset[Address]]:
    return [e.members for e in h.take_up_events() if isinstance(e, Suspect)]


def test_attributes_and_defaults() -> None:
    assert BUILTIN_PROTOCOLS.get("VERIFY_SUSPECT2") is VERIFY_SUSPECT2 and VERIFY_SUSPECT2.protocol_id == 72
    assert set(properties_of(VERIFY_SUSPECT2)) == {"timeout", "num_msgs", "use_mcast_rsps"}
    vs = VERIFY_SUSPECT2()
    assert (vs.timeout, vs.num_msgs, vs.use_mcast_rsps) == (1000, 1, False)


def test_suspect_is_held_back_and_are_you_dead_sent_num_msgs_times() -> None:
    h = make(num_msgs=3)
    h.advance(100 * MS)
    h.up(Suspect(frozenset({B, A})))  # ourselves is never verified
    assert up_suspects(h) == []
    sent = h.take_down()
    assert len(sent) == 3
    for m in sent:
        hdr = m.headers[VERIFY_SUSPECT2.protocol_id]
        assert m.dest == B and m.type is MsgType.EMPTY and m.transient_flags & TransientFlag.DONT_BLOCK
        assert isinstance(hdr, VerifyHeader) and hdr.type == ARE_YOU_DEAD and hdr.from_ == A


@pytest.mark.parametrize(("at_ms", "confirmed_at_ms"), [(0, 1000), (1, 2000), (500, 2000), (999, 2000), (1000, 2000)])
def test_unanswered_suspect_goes_up_at_the_first_run_after_timeout(at_ms: int, confirmed_at_ms: int) -> None:
    """The task runs at a fixed rate of ``timeout``: a suspect reaches GMS timeout..2*timeout later."""
    h = make()
    if at_ms:
        h.advance(at_ms * MS)
    h.up(Suspect(frozenset({B})))
    t = at_ms
    while not (got := up_suspects(h)):
        h.advance(1 * MS)
        t += 1
        assert t < 5000
    assert got == [frozenset({B})] and t == confirmed_at_ms
    assert vs_of(h).counters["num_suspects_confirmed"] == 1 and vs_of(h).suspects == {}


def test_a_member_that_answers_is_not_suspected_and_is_unsuspected_up_and_down() -> None:
    h = make()
    h.up(Suspect(frozenset({B, C})))
    h.receive(verify_msg(I_AM_NOT_DEAD, B, B))
    assert Unsuspect(B) in h.take_up_events() and Unsuspect(B) in h.take_down_events()
    h.advance(3000 * MS)
    assert up_suspects(h) == [frozenset({C})]
    assert vs_of(h).counters["num_unsuspected"] == 1


def test_are_you_dead_is_answered_to_the_asker_or_multicast() -> None:
    for mcast in (False, True):
        h = make(num_msgs=2, use_mcast_rsps=mcast)
        h.receive(verify_msg(ARE_YOU_DEAD, C, C))
        sent = h.take_down()
        assert len(sent) == 2 and h.take_up() == []
        for m in sent:
            hdr = m.headers[VERIFY_SUSPECT2.protocol_id]
            assert isinstance(hdr, VerifyHeader) and hdr.type == I_AM_NOT_DEAD and hdr.from_ == A
            assert m.dest == (None if mcast else C)


def test_a_repeated_suspect_keeps_its_first_expiry_but_is_asked_again() -> None:
    h = make()
    h.advance(1500 * MS)
    h.up(Suspect(frozenset({B})))
    h.advance(400 * MS)
    h.up(Suspect(frozenset({B})))  # would expire at 2900: the first entry (2500) stays
    assert len(h.take_down()) == 2
    h.advance(100 * MS)  # t=2000: not yet expired
    assert up_suspects(h) == []
    h.advance(1000 * MS)  # t=3000
    assert up_suspects(h) == [frozenset({B})]


def test_a_view_without_the_suspect_ends_its_verification() -> None:
    h = make()
    h.up(Suspect(frozenset({B})))
    h.down(ViewChange(View(ViewId(A, 2), (A, C))))
    h.advance(5000 * MS)
    assert up_suspects(h) == []


def test_bad_headers_are_counted_and_dropped() -> None:
    h = make()
    h.up(Suspect(frozenset({B})))
    h.take_down()
    h.receive(verify_msg(ARE_YOU_DEAD, None, X))
    h.receive(verify_msg(I_AM_NOT_DEAD, None, B))
    h.receive(verify_msg(7, B, B))
    foreign = Message(MsgType.EMPTY, src=B)
    foreign.put_header(VERIFY_SUSPECT2.protocol_id, HeartbeatHeader())
    h.receive(foreign)
    c = vs_of(h).counters
    assert c["malformed: ARE_YOU_DEAD without from"] == 1 and c["malformed: I_AM_NOT_DEAD without from"] == 1
    assert c["malformed: unknown VerifyHeader type"] == 1 and c["malformed: foreign header under our id"] == 1
    assert h.take_down() == [] and h.take_up() == []
    h.advance(2000 * MS)
    assert up_suspects(h) == [frozenset({B})]  # none of it counted as an answer


def test_i_am_not_dead_from_a_non_suspect_changes_nothing() -> None:
    h = make()
    h.take_down_events()
    h.receive(verify_msg(I_AM_NOT_DEAD, X, X))
    assert h.take_up_events() == [] and h.take_down_events() == []


def test_other_messages_and_events_pass() -> None:
    h = make()
    h.receive(Message(MsgType.BYTES, src=B, payload=b"x"))
    h.up(Unsuspect(B))
    assert len(h.take_up()) == 1 and h.take_up_events() == [Unsuspect(B)]


def test_stop_cancels_the_task() -> None:
    h = make()
    h.up(Suspect(frozenset({B})))
    h.stack.disconnect()
    assert not vs_of(h).running and vs_of(h).suspects == {}
    assert h.stack.next_deadline_ns() is None
