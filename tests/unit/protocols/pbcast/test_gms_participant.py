"""GMS participant role: VIEW installation (full, delta, stale, excluded), VIEW_ACK, leaving,
taking over as coordinator, malformed input."""

from __future__ import annotations

from pygroups.clock import MS
from pygroups.events import Disconnect, SetDigest, Suspect, ViewChange
from pygroups.message import Flag, Message, MsgType
from pygroups.protocols.pbcast.gms import Leave, LeaveComplete
from pygroups.protocols.pbcast.gms.coordinator import CoordinatorRole
from pygroups.protocols.pbcast.gms.participant import ParticipantRole
from pygroups.testing.harness import LayerHarness
from pygroups.view import DeltaView
from pygroups.wire.headers.gms import GmsHeader, decode_view_digest
from tests.unit.protocols.pbcast.test_gms_helpers import (
    PID,
    A,
    B,
    C,
    D,
    T,
    gms_msg,
    join_as,
    make_gms,
    of_type,
    v,
    view_msg,
)


def participant(view_members: tuple[object, ...] = (A, B), local: object = B, **props: object) -> tuple[
        LayerHarness, object]:
    h, gms, _ = make_gms(local, **props)  # type: ignore[arg-type]
    join_as(h, v(A, 1, *view_members), A)  # type: ignore[arg-type]
    assert isinstance(gms.role, ParticipantRole)
    return h, gms


def test_full_view_is_installed_and_acked_after_installing() -> None:
    h, _gms = participant()
    h.receive(view_msg(v(A, 2, A, B, C), src=A))
    assert h.take_down_events() == [ViewChange(v(A, 2, A, B, C))]
    assert h.take_up_events() == [ViewChange(v(A, 2, A, B, C))]
    (ack,) = h.take_down()
    assert ack.dest == A and ack.flags == Flag.OOB | Flag.NO_FC and ack.type is MsgType.EMPTY


def test_delta_view_is_applied_to_the_current_view() -> None:
    h, gms = participant((A, B, C))
    delta = DeltaView(v(A, 2).view_id, v(A, 1).view_id, (C,), (D,))
    h.receive(view_msg(delta, src=A))
    assert gms.view == v(A, 2, A, B, D)  # type: ignore[attr-defined]
    assert len(of_type(h.take_down(), T.VIEW_ACK)) == 1


def test_delta_view_with_another_ref_asks_for_the_full_view() -> None:
    h, gms = participant()
    delta = DeltaView(v(A, 3).view_id, v(A, 2).view_id, (), (C,))
    h.receive(view_msg(delta, src=A))
    assert gms.view == v(A, 1, A, B)  # type: ignore[attr-defined]
    (req,) = h.take_down()
    assert req.get_header(PID) == GmsHeader(T.GET_CURRENT_VIEW) and req.dest == A
    assert req.flags == Flag.OOB | Flag.NO_FC and req.type is MsgType.EMPTY
    h.receive(gms_msg(T.VIEW, src=A, dest=B, payload=view_msg(v(A, 3, A, B, C), src=A).payload))
    assert gms.view == v(A, 3, A, B, C)  # type: ignore[attr-defined]


def test_stale_view_is_dropped_without_ack() -> None:
    h, gms = participant()
    h.receive(view_msg(v(A, 1, A, B, C), src=A))
    assert h.take_down() == [] and gms.view == v(A, 1, A, B)  # type: ignore[attr-defined]
    assert gms.counters["stale views dropped"] == 1  # type: ignore[attr-defined]


def test_view_without_me_is_not_installed() -> None:
    h, gms = participant((A, B, C))
    h.receive(view_msg(v(A, 2, A, C), src=A))
    assert gms.view == v(A, 1, A, B, C)  # type: ignore[attr-defined]
    assert gms.counters["views without me dropped"] == 1  # type: ignore[attr-defined]


def test_view_from_a_sender_outside_the_view_is_acked_first() -> None:
    h, gms = participant((A, B, C))
    h.receive(view_msg(v(B, 2, B, C), src=A))  # A handed over and is not in the view
    (ack,) = h.take_down()
    assert ack.dest == A
    assert isinstance(gms.role, CoordinatorRole)  # type: ignore[attr-defined]


def test_graceful_leave_waits_for_leave_rsp() -> None:
    h, gms = participant(leave_timeout=1000)
    h.down(Leave())
    (req,) = h.take_down()
    assert (req.dest, req.type, req.flags) == (A, MsgType.EMPTY, Flag.OOB)
    assert req.get_header(PID) == GmsHeader(T.LEAVE_REQ, mbr=B)
    assert gms.is_leaving  # type: ignore[attr-defined]
    h.receive(gms_msg(T.LEAVE_RSP, src=A, dest=B))
    assert LeaveComplete(True) in h.take_up_events()
    assert not gms.is_leaving and gms.view is None  # type: ignore[attr-defined]


def test_leave_times_out_after_leave_timeout() -> None:
    h, gms = participant(leave_timeout=1000)
    h.down(Leave())
    h.advance(999 * MS)
    assert gms.is_leaving  # type: ignore[attr-defined]
    h.advance(1 * MS)
    assert LeaveComplete(False) in h.take_up_events()


def test_leave_req_is_resent_to_a_new_coordinator() -> None:
    h, _gms = participant((A, B, C), local=C)
    h.down(Leave())
    h.take_down()
    h.receive(view_msg(v(B, 2, B, C), src=B))
    reqs = of_type(h.take_down(), T.LEAVE_REQ)
    assert [r.dest for r in reqs] == [B]


def test_disconnect_sends_leave_req_before_passing_down() -> None:
    h, _gms = participant()
    h.down(Disconnect())
    (req,) = h.take_down()
    assert req.get_header(PID) == GmsHeader(T.LEAVE_REQ, mbr=B)
    assert any(isinstance(e, Disconnect) for e in h.take_down_events())


def test_participant_takes_over_when_the_coordinator_leaves() -> None:
    """5.5.6: a leaving coordinator sends LEAVE_REQ to the next in line, which becomes coordinator."""
    h, gms = participant((A, B, C))
    h.receive(gms_msg(T.LEAVE_REQ, src=A, dest=B, mbr=A))
    assert isinstance(gms.role, CoordinatorRole)  # type: ignore[attr-defined]
    leave_rsp, view = h.take_down()
    assert leave_rsp.dest == A and leave_rsp.flags == Flag.OOB | Flag.NO_RELIABILITY
    assert decode_view_digest(view.payload).view == v(B, 2, B, C)  # type: ignore[arg-type]  # first view: full
    assert gms.view == v(B, 2, B, C)  # type: ignore[attr-defined]


def test_participant_takes_over_when_the_coordinator_is_suspected() -> None:
    h, gms = participant((A, B, C))
    h.up(Suspect(frozenset({A})))
    assert gms.view == v(B, 2, B, C)  # type: ignore[attr-defined]


def test_participant_not_next_in_line_only_remembers_suspects() -> None:
    h, gms = participant((A, B, C), local=C)
    h.up(Suspect(frozenset({A})))
    assert gms.view == v(A, 1, A, B, C) and isinstance(gms.role, ParticipantRole)  # type: ignore[attr-defined]


def test_messages_without_gms_header_pass_up_untouched() -> None:
    h, _gms = participant()
    msg = Message(MsgType.BYTES, src=A, dest=B, payload=b"x")
    h.receive(msg)
    assert h.take_up() == [msg]


def test_malformed_payloads_are_counted_and_dropped() -> None:
    h, gms = participant()
    h.receive(gms_msg(T.VIEW, src=A, dest=None, payload=b"\x00\x01\xff"))
    h.receive(gms_msg(T.JOIN_RSP, src=A, dest=B, payload=b"\x01\x07"))
    h.receive(gms_msg(T.VIEW, src=A, dest=None, type=MsgType.EMPTY))
    assert gms.counters["malformed VIEW"] == 2  # type: ignore[attr-defined]
    assert gms.counters["malformed JOIN_RSP"] == 1  # type: ignore[attr-defined]
    assert h.take_up() == [] and gms.view == v(A, 1, A, B)  # type: ignore[attr-defined]


def test_get_digest_req_from_a_member_is_answered_with_own_entry() -> None:
    h, _gms = participant()
    h.receive(gms_msg(T.GET_DIGEST_REQ, src=A, dest=None))
    (rsp,) = h.take_down()
    assert rsp.dest == A and rsp.flags == Flag.OOB | Flag.NO_FC
    assert rsp.payload is not None and rsp.payload[:2] == b"\x00\x12"  # DIGEST_PRESENT | READ_ADDRS
    assert decode_view_digest(rsp.payload).digest.members == (B,)  # type: ignore[union-attr]


def test_set_digest_only_from_join_rsp_not_from_plain_views() -> None:
    h, _gms = participant()
    h.receive(view_msg(v(A, 2, A, B, C), src=A))
    assert not any(isinstance(e, SetDigest) for e in h.take_down_events())
