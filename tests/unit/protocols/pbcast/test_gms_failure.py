"""GMS under failure: exclusion of suspects by the coordinator, takeover by the next in line, what is logged
and counted, suspicions GMS must ignore, and the answers GMS gives failure detection and the transport."""

from __future__ import annotations

import logging

import pytest

from pygroups.clock import MS
from pygroups.events import IsLeaving, Leave, NewMembership, Suspect, Unsuspect
from pygroups.protocols.pbcast.gms.coordinator import CoordinatorRole
from pygroups.protocols.pbcast.gms.participant import ParticipantRole
from pygroups.wire.headers.gms import decode_view_digest
from tests.unit.protocols.pbcast.test_gms_coordinator import with_members
from tests.unit.protocols.pbcast.test_gms_helpers import A, B, C, D, T, gms_msg, of_type, v
from tests.unit.protocols.pbcast.test_gms_participant import participant


def test_exclusion_is_logged_once_with_its_reason_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    h, gms, _ = with_members(B, C)
    with caplog.at_level(logging.INFO):
        h.up(Suspect(frozenset({B})))
        h.up(Suspect(frozenset({B})))  # FD_ALL3 repeats until the view drops B
        h.receive(gms_msg(T.VIEW_ACK, src=C, dest=A))  # view 3 done: the repeat is looked at
    assert gms.view == v(A, 3, A, C)
    assert gms.counters["members_excluded"] == 1
    lines = [r.getMessage() for r in caplog.records if "excluding" in r.getMessage()]
    assert len(lines) == 1 and "suspected by failure detection" in lines[0]
    assert gms.counters["SUSPECT of non-members ignored"] == 1  # the repeat


def test_suspects_that_are_no_members_or_the_coordinator_itself_change_nothing() -> None:
    h, gms, _ = with_members(B, C)
    h.up(Suspect(frozenset({D})))  # a stranger
    h.up(Suspect(frozenset({A})))  # ourselves, the coordinator
    assert gms.view == v(A, 2, A, B, C) and isinstance(gms.role, CoordinatorRole)
    assert gms.counters["SUSPECT of non-members ignored"] == 1
    assert of_type(h.take_down(), T.VIEW) == []


def test_two_suspects_leave_in_one_view_and_the_acks_of_suspects_are_not_awaited() -> None:
    h, gms, _ = with_members(B, C, D)
    h.up(Suspect(frozenset({B, C})))
    assert gms.view == v(A, 4, A, D)
    h.receive(gms_msg(T.VIEW_ACK, src=D, dest=A))
    h.receive(gms_msg(T.JOIN_REQ, src=B, dest=A, mbr=B))  # B was alive after all: it joins again
    assert gms.view == v(A, 5, A, D, B)


def test_a_suspected_member_owing_an_ack_does_not_hold_up_the_next_view() -> None:
    h, gms, _ = with_members(B, C)
    h.receive(gms_msg(T.LEAVE_REQ, src=C, dest=A, mbr=C))  # view 3 waits for B's ack
    assert gms.view == v(A, 3, A, B)
    h.up(Suspect(frozenset({B})))  # B dies before acking: no wait for view_ack_collection_timeout
    assert gms.view == v(A, 4, A)


def test_takeover_is_logged_with_its_reason_counted_and_sends_a_full_view(
        caplog: pytest.LogCaptureFixture) -> None:
    h, gms = participant((A, B, C, D))
    with caplog.at_level(logging.INFO):
        h.up(Suspect(frozenset({A})))
    assert isinstance(gms.role, CoordinatorRole)  # type: ignore[attr-defined]
    assert gms.view == v(B, 2, B, C, D)  # type: ignore[attr-defined]
    assert gms.counters["coordinator_takeovers"] == 1 and gms.counters["members_excluded"] == 1  # type: ignore
    (view_msg,) = of_type(h.take_down(), T.VIEW)
    assert decode_view_digest(view_msg.payload).view == v(B, 2, B, C, D)  # type: ignore[arg-type]
    takeovers = [r.getMessage() for r in caplog.records if "taking over" in r.getMessage()]
    assert len(takeovers) == 1 and f"{h.stack.name_of(A)} suspected" in takeovers[0]
    # the new coordinator waits for C's and D's acks only
    h.receive(gms_msg(T.VIEW_ACK, src=C, dest=B))
    h.receive(gms_msg(T.VIEW_ACK, src=D, dest=B))
    h.up(Suspect(frozenset({D})))
    assert gms.view == v(B, 3, B, C)  # type: ignore[attr-defined]


def test_coordinator_and_next_in_line_suspected_together_the_third_takes_over() -> None:
    h, gms = participant((A, B, C, D), local=C)
    h.up(Suspect(frozenset({A})))
    assert isinstance(gms.role, ParticipantRole)  # type: ignore[attr-defined]  # B would be next
    h.up(Suspect(frozenset({B})))  # the suspicions add up
    assert isinstance(gms.role, CoordinatorRole)  # type: ignore[attr-defined]
    assert gms.view == v(C, 2, C, D)  # type: ignore[attr-defined]


def test_an_unsuspected_coordinator_is_not_taken_over() -> None:
    h, gms = participant((A, B, C, D), local=C)
    h.up(Suspect(frozenset({A})))
    h.up(Unsuspect(A))  # VERIFY_SUSPECT2 got I_AM_NOT_DEAD from A
    h.up(Suspect(frozenset({B})))
    assert isinstance(gms.role, ParticipantRole)  # type: ignore[attr-defined]
    assert gms.view == v(A, 1, A, B, C, D) and gms.counters["coordinator_takeovers"] == 0  # type: ignore


def test_suspecting_the_coordinator_counts_for_nothing_at_a_member_not_next_in_line() -> None:
    h, gms = participant((A, B, C), local=C)
    h.up(Suspect(frozenset({A, D})))  # D: not even a member
    assert isinstance(gms.role, ParticipantRole)  # type: ignore[attr-defined]
    assert h.take_down() == [] and gms.counters["coordinator_takeovers"] == 0  # type: ignore[attr-defined]


def test_a_takeover_view_change_waits_at_most_view_ack_collection_timeout() -> None:
    h, gms = participant((A, B, C), view_ack_collection_timeout=300)
    h.up(Suspect(frozenset({A})))
    h.receive(gms_msg(T.JOIN_REQ, src=D, dest=B, mbr=D))
    assert gms.view == v(B, 2, B, C)  # type: ignore[attr-defined]  # the JOIN waits for C's ack
    h.advance(299 * MS)
    assert gms.view == v(B, 2, B, C)  # type: ignore[attr-defined]
    h.advance(1 * MS)
    assert gms.view == v(B, 3, B, C, D)  # type: ignore[attr-defined]


def test_gms_answers_is_leaving_and_new_membership() -> None:
    h, _gms = participant((A, B, C))
    assert h.stack.transport.query_up(IsLeaving()) is False
    assert h.stack.transport.query_up(NewMembership((A, B, C), suspects=frozenset({A}))) == (B, C)
    h.down(Leave())
    assert h.stack.transport.query_up(IsLeaving()) is True
