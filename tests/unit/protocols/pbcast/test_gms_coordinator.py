"""GMS coordinator role: JOIN handling (view id, member order, JOIN_RSP with digest, VIEW cast as Java
writes it), VIEW_ACK collection and timeout, view bundling, LEAVE, suspicion, coordinator leave."""

from __future__ import annotations

from pygroups.clock import MS
from pygroups.events import Disconnect, ResumeStable, Suspect, SuspendStable, TmpView, ViewChange
from pygroups.message import Flag, MsgType, TransientFlag
from pygroups.protocols.pbcast.gms import GMS
from pygroups.protocols.pbcast.gms.membership import apply_delta_view, default_membership
from pygroups.testing.harness import LayerHarness
from pygroups.view import DeltaView
from pygroups.wire.headers.gms import decode_join_rsp, decode_view_digest
from tests.unit.protocols.pbcast.test_gms_helpers import (
    PID,
    A,
    B,
    C,
    D,
    StubNakack,
    T,
    catalogue_message,
    discovery,
    gms_msg,
    make_gms,
    of_type,
    v,
    zero_digest,
)


def singleton(local: object = A, **props: object) -> tuple[LayerHarness, GMS, StubNakack]:
    h, gms, nak = make_gms(local, **props)  # type: ignore[arg-type]
    discovery(h)
    h.take_down_events()
    h.take_up_events()
    return h, gms, nak


def join_req(mbr: object) -> object:
    return gms_msg(T.JOIN_REQ, src=mbr, dest=A, mbr=mbr)  # type: ignore[arg-type]


def with_members(*others: object) -> tuple[LayerHarness, GMS, StubNakack]:
    """Coordinator A whose view has acquired ``others`` one by one (all acks received)."""
    h, gms, nak = singleton()
    for m in others:
        h.receive(join_req(m))  # type: ignore[arg-type]
        for x in gms.view.members if gms.view else ():
            if x != A:
                h.receive(gms_msg(T.VIEW_ACK, src=x, dest=A))
    h.take_down(), h.take_down_events(), h.take_up_events()
    return h, gms, nak


def test_first_join_builds_view_1_and_sends_view_then_join_rsp_as_java() -> None:
    h, gms, nak = singleton()
    nak.seqnos[A] = (0, 0)
    h.receive(join_req(B))
    new_view = v(A, 1, A, B)
    events = h.take_down_events()
    assert events[:3] == [SuspendStable(30_000), TmpView(new_view), ViewChange(new_view)]
    assert ResumeStable() not in events  # STABLE stays suspended until the acks are in
    assert TmpView(new_view) in h.take_up_events()
    view_msg, rsp = h.take_down()
    java_view = catalogue_message("hdr-gms-view-full")  # A -> *: full view [A|1]{A,B}, flags 0x0011
    assert view_msg.dest is None and view_msg.type is MsgType.BYTES
    assert view_msg.flags == java_view.flags == Flag.NO_RELAY | Flag.NO_FC
    assert view_msg.transient_flags == TransientFlag.DONT_LOOPBACK | TransientFlag.DONT_BLOCK
    assert view_msg.payload == java_view.payload
    assert view_msg.headers[PID] == java_view.headers[PID]
    # JOIN_RSP: flags 0, payload = 01 + catalogue joinrsp-view-digest
    assert (rsp.dest, rsp.flags, rsp.type) == (B, 0, MsgType.BYTES)
    assert rsp.payload == bytes.fromhex(
        "0103029dc05a9805a43cab91cebc7e0d62477801010002029dc05a9805a43cab91cebc7e0d62477802baa2daf63e689d8b"
        "523c54d93ea94e0a00020000")
    assert gms.view == new_view and gms.is_coordinator
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    assert h.take_down_events() == [ResumeStable()]


def test_join_rsp_digest_has_nakack_seqnos_for_members_and_zero_for_joiners() -> None:
    """§8.3: C's JOIN_RSP carries {A:1/1, B:0/0, C:0/0}."""
    h, _gms, nak = with_members(B)
    nak.seqnos[A] = (1, 1)
    h.receive(join_req(C))
    (rsp,) = of_type(h.take_down(), T.JOIN_RSP)
    assert rsp.payload is not None
    jr = decode_join_rsp(rsp.payload)
    assert jr is not None and jr.view == v(A, 2, A, B, C)
    assert jr.digest == type(jr.digest)((A, B, C), ((1, 1), (0, 0), (0, 0)))  # type: ignore[misc]


def test_second_view_is_a_delta_view_like_the_capture() -> None:
    h, _gms, _nak = with_members(B)
    h.receive(join_req(C))
    (view_msg,) = of_type(h.take_down(), T.VIEW)
    assert view_msg.payload is not None and view_msg.payload[:2] == b"\x00\x19"  # VIEW|DELTA|READ_ADDRS
    delta = decode_view_digest(view_msg.payload).view
    assert delta == DeltaView(v(A, 2).view_id, v(A, 1).view_id, (), (C,))
    assert apply_delta_view(v(A, 1, A, B), delta, default_membership) == v(A, 2, A, B, C)


def test_full_views_only_without_use_delta_views() -> None:
    h, _gms, _nak = singleton(use_delta_views=False)
    h.receive(join_req(B))
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    h.take_down()
    h.receive(join_req(C))
    (view_msg,) = of_type(h.take_down(), T.VIEW)
    assert decode_view_digest(view_msg.payload).view == v(A, 2, A, B, C)  # type: ignore[arg-type]


def test_no_join_rsp_when_nakack_digest_is_missing() -> None:
    h, gms, nak = singleton()
    nak.answer = False
    h.receive(join_req(B))
    msgs = h.take_down()
    assert of_type(msgs, T.JOIN_RSP) == [] and len(of_type(msgs, T.VIEW)) == 1
    assert gms.counters["JOIN_RSP dropped (digest incomplete)"] == 1


def test_ack_timeout_is_not_fatal_and_releases_the_next_batch() -> None:
    h, gms, _nak = singleton(view_ack_collection_timeout=2000)
    h.receive(join_req(B))
    h.take_down()
    h.receive(join_req(C))  # queued behind B's view change
    assert h.take_down() == [] and gms.view == v(A, 1, A, B)
    h.advance(1999 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    assert gms.counters["VIEW_ACK collections timed out"] == 1
    assert ResumeStable() in h.take_down_events()
    assert gms.view == v(A, 2, A, B, C)
    assert len(of_type(h.take_down(), T.JOIN_RSP)) == 1


def test_requests_arriving_during_ack_collection_form_one_view() -> None:
    h, gms, _nak = singleton()
    h.receive(join_req(B))
    h.take_down()
    h.receive(join_req(C))
    h.receive(join_req(D))
    h.receive(join_req(C))  # duplicate request
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    msgs = h.take_down()
    assert gms.view == v(A, 2, A, B, C, D)
    assert [m.dest for m in of_type(msgs, T.JOIN_RSP)] == [C, D]
    assert len(of_type(msgs, T.VIEW)) == 1


def test_joins_in_one_batch_form_one_view() -> None:
    h, gms, _nak = singleton()
    h.stack.run_input(h.bottom.up_batch, [join_req(B), join_req(C)])
    assert gms.view == v(A, 1, A, B, C)
    assert len(of_type(h.take_down(), T.VIEW)) == 1


def test_join_from_existing_member_gets_current_view_oob_and_no_new_view() -> None:
    h, gms, _nak = with_members(B)
    h.receive(join_req(B))
    (rsp,) = h.take_down()
    assert rsp.flags == Flag.OOB and rsp.dest == B
    jr = decode_join_rsp(rsp.payload)  # type: ignore[arg-type]
    assert jr is not None and jr.view == v(A, 1, A, B) and jr.digest == zero_digest(A, B)
    assert gms.view == v(A, 1, A, B)


def test_leave_req_gets_leave_rsp_first_then_the_view_without_the_leaver() -> None:
    h, gms, _nak = with_members(B, C)
    h.receive(gms_msg(T.LEAVE_REQ, src=B, dest=A, mbr=B))
    leave_rsp, view_msg = h.take_down()
    java = catalogue_message("hdr-gms-leave-rsp")
    assert (leave_rsp.type, leave_rsp.dest, leave_rsp.flags) == (java.type, B, java.flags)
    assert leave_rsp.headers == {PID: java.headers[PID]}
    delta = decode_view_digest(view_msg.payload).view  # type: ignore[arg-type]
    assert delta == DeltaView(v(A, 3).view_id, v(A, 2).view_id, (B,), ())
    assert gms.view == v(A, 3, A, C)


def test_suspect_excludes_the_member_and_passes_up() -> None:
    h, gms, _nak = with_members(B, C)
    h.up(Suspect(frozenset({B})))
    assert Suspect(frozenset({B})) in h.take_up_events()
    assert gms.view == v(A, 3, A, C)
    assert of_type(h.take_down(), T.LEAVE_RSP) == []


def test_suspected_member_is_not_waited_for() -> None:
    h, gms, _nak = with_members(B)
    h.receive(join_req(C))
    h.up(Suspect(frozenset({C})))
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    assert gms.view == v(A, 3, A, B)  # the suspect's request ran right after B's ack


def test_coordinator_disconnect_sends_leave_req_to_next_in_line() -> None:
    h, gms, _nak = with_members(B, C)
    h.down(Disconnect())
    (req,) = h.take_down()
    assert req.dest == B and req.flags == Flag.OOB and req.type is MsgType.EMPTY
    assert req.get_header(PID).mbr == A  # type: ignore[union-attr]
    assert gms.view is None


def test_lone_coordinator_disconnect_sends_nothing() -> None:
    h, _gms, _nak = singleton()
    h.down(Disconnect())
    assert h.take_down() == []


def test_get_current_view_gets_a_full_view_unicast() -> None:
    h, _gms, _nak = with_members(B, C)
    h.receive(gms_msg(T.GET_CURRENT_VIEW, src=C, dest=A))
    (rsp,) = h.take_down()
    assert rsp.dest == C and rsp.flags == Flag.OOB | Flag.NO_FC
    assert decode_view_digest(rsp.payload).view == v(A, 2, A, B, C)  # type: ignore[arg-type]


def test_coordinator_graceful_leave_waits_for_the_view_change_in_flight_then_hands_over() -> None:
    from pygroups.protocols.pbcast.gms import Leave, LeaveComplete

    h, gms, _ = with_members(B)
    h.receive(join_req(C))  # view [A|2] waits for acks from B and C
    h.take_down()
    h.down(Leave())
    assert gms.is_leaving and h.take_down() == []
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    h.receive(gms_msg(T.VIEW_ACK, src=C, dest=A))
    (req,) = h.take_down()
    assert req.dest == B and req.get_header(PID).mbr == A  # type: ignore[union-attr]
    h.receive(gms_msg(T.JOIN_REQ, src=D, dest=A, mbr=D))  # the view handler is suspended now
    assert h.take_down() == []
    h.receive(gms_msg(T.LEAVE_RSP, src=B, dest=A))
    assert LeaveComplete(True) in h.take_up_events()
    assert not gms.is_leaving and gms.view is None
