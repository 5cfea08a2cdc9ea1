"""The GMS merge protocol (Merger): leader choice, merge coordinators, MergeView member order and view id,
digest consolidation, Java's HashMap orders; a subgroup coordinator's MERGE_REQ -> GET_DIGEST_REQ ->
MERGE_RSP -> INSTALL_MERGE_VIEW path; the leader's MERGE_REQ/MERGE_RSP/INSTALL_MERGE_VIEW path; CANCEL_MERGE,
the merge killer, a JOIN during a merge, and bad input."""

from __future__ import annotations

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import (
    InstallMergeView,
    IsMergeInProgress,
    Merge,
    MergeDigest,
    ResumeStable,
    SuspendStable,
    TmpView,
)
from pygroups.message import Flag, MsgType, TransientFlag
from pygroups.protocols.pbcast.gms import GMS
from pygroups.protocols.pbcast.gms.merger import (
    consolidate,
    determine_merge_coords,
    determine_merge_leader,
    java_hash,
    java_hash_order,
    merge_membership,
    sanitize_views,
)
from pygroups.testing.harness import LayerHarness
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.headers.gms import (
    GmsHeader,
    MergeId,
    decode_merge_members,
    decode_view_digest,
    encode_merge_members,
    encode_view_digest,
)
from tests.unit.protocols.pbcast.test_gms_helpers import PID, A, B, C, D, StubNakack, T, discovery, gms_msg, make_gms, v

# Java order: A (msb negative) < C < D < B
E = UUID(1, 5)


def views(*vs: tuple[Address, View]) -> dict[Address, View]:
    return dict(vs)


# --- pure functions ---------------------------------------------------------------------------------------


def test_address_order_used_by_these_tests() -> None:
    assert sorted([B, D, C, A]) == [A, C, D, B]


def test_merge_leader_is_the_lowest_actual_coordinator() -> None:
    vc, vb = v(C, 4, C, D), v(B, 2, B, E)
    assert determine_merge_leader(views((C, vc), (D, vc), (B, vb))) == C
    # D reports C's view but is not first in it: not an actual coordinator
    assert determine_merge_leader(views((D, vc), (B, vb))) == B
    # no sender is first in its own view: the lowest creator (JGRP-2092)
    assert determine_merge_leader(views((D, vc), (E, vb))) == C


def test_sanitize_views_removes_members_that_do_not_list_the_sender_jgrp_1061() -> None:
    ab, abc = v(A, 1, A, B), v(C, 2, A, B, C)
    out = sanitize_views(views((A, ab), (B, ab), (C, abc)))
    assert out[A] == ab and out[B] == ab
    assert out[C] == v(C, 2, C)


def test_merge_coords_union_views_per_creator_and_add_lone_participants() -> None:
    vc, vc2 = v(C, 4, C, D), v(C, 5, C, E)
    coords = determine_merge_coords(views((C, vc), (E, vc2), (A, v(A, 3, A))))
    # E is in a view of C's, but not in the view C itself reported: Java lets it speak for itself too
    assert coords == {C: [C, D, E], A: [A], E: [E]}
    # B shows up in a view whose creator A did not report: B is a participant speaking for itself
    coords = determine_merge_coords(views((C, v(A, 7, A, B))))
    assert coords == {A: [A, B], B: [B]}


def test_merge_membership_puts_the_lowest_coordinator_first_then_subviews_in_order() -> None:
    assert merge_membership([[C, D], [B, E], [A]]) == [A, C, D, B, E]
    assert merge_membership([[C, D, A], [A, C]]) == [A, C, D]  # duplicates kept once


def test_consolidate_view_id_is_highest_plus_one_and_digest_takes_the_maximum() -> None:
    va, vc = v(A, 3, A, B), v(C, 9, C, D)
    da = Digest((A, B), ((5, 6), (2, 2)))
    dc = Digest((C, D, B), ((7, 7), (1, 3), (1, 4)))  # B is in both subgroups (no failure detection)
    mv, digest = consolidate([(va, da), (vc, dc)], [va, vc, v(E, 11, E)])  # type: ignore[misc]
    assert isinstance(mv, MergeView)
    assert mv.view_id == ViewId(A, 12)  # the subviews' ids count too (E's 11)
    assert mv.members == (A, B, C, D)
    assert mv.subgroups == (va, vc)  # E is not in the new membership: its subview goes
    assert digest == Digest((A, B, C, D), ((5, 6), (2, 4), (7, 7), (1, 3)))


def test_consolidate_drops_members_without_digest_and_fails_without_any() -> None:
    va = v(A, 3, A, B)
    mv, digest = consolidate([(va, Digest((A,), ((1, 1),)))], [va])  # type: ignore[misc]
    assert mv.members == (A,) and digest.members == (A,)
    assert consolidate([(v(A, 3), None)], []) is None


def test_java_hash_codes_and_hash_map_order() -> None:
    assert java_hash(UUID(0, 7)) == 7
    assert java_hash(UUID(1, 0)) == 1  # (msb >> 32) ^ msb ^ (lsb >> 32) ^ lsb
    assert java_hash(UUID(-1, -1)) == 0
    assert java_hash(ViewId(UUID(0, 7), 3)) == 10
    keys = [UUID(0, 17), UUID(0, 2), UUID(0, 1), UUID(0, 33)]
    assert java_hash_order(keys) == [UUID(0, 17), UUID(0, 1), UUID(0, 33), UUID(0, 2)]
    assert java_hash_order(keys, 32) == [UUID(0, 1), UUID(0, 33), UUID(0, 2), UUID(0, 17)]


# --- a subgroup coordinator -------------------------------------------------------------------------------

MID = MergeId(C, 1)


def coordinator_of(*members: Address) -> tuple[LayerHarness, GMS, StubNakack]:
    """A, coordinator of view [A|5] with ``members`` (no delta views so the VIEW payload reads plainly)."""
    h, gms, nak = make_gms(A, use_delta_views=False)
    discovery(h)
    view = v(A, 5, A, *members)
    gms.install_view(view)  # as if the joins had happened
    nak.members = view.members
    h.take_down(), h.take_down_events(), h.take_up_events()
    return h, gms, nak


def merge_req(mbrs: tuple[Address, ...], mid: MergeId = MID, src: Address = C) -> object:
    m = gms_msg(T.MERGE_REQ, src=src, dest=A, mbr=src, payload=encode_merge_members(mbrs))
    m.flags = Flag.OOB
    return m.put_header(PID, GmsHeader(T.MERGE_REQ, src, mid))


def with_mid(kind: int, mid: MergeId | None, *, src: Address, dest: Address | None, payload: bytes | None = None,
             rejected: bool = False) -> object:
    m = gms_msg(kind, src=src, dest=dest, payload=payload)
    return m.put_header(PID, GmsHeader(kind, merge_id=mid, merge_rejected=rejected))


def test_merge_req_collects_digests_and_answers_merge_rsp() -> None:
    h, gms, nak = coordinator_of(B)
    nak.seqnos = {A: (4, 5), B: (2, 2)}
    h.receive(merge_req((A, B, E)))  # E is not ours: left out
    assert gms.merger.merge_id == MID and gms.view_handler.suspended
    assert SuspendStable(20_000) in h.take_down_events()
    assert h.bottom.query_up(IsMergeInProgress()) is True
    (req,) = h.take_down()
    assert (req.dest, req.type, req.flags) == (None, MsgType.EMPTY, Flag.OOB)
    assert req.transient_flags & TransientFlag.DONT_LOOPBACK
    assert req.get_header(PID) == GmsHeader(T.GET_DIGEST_REQ, merge_id=MID)
    h.receive(gms_msg(T.GET_DIGEST_RSP, src=B, dest=A, payload=encode_view_digest(None, Digest((B,), ((2, 3),)))))
    (rsp,) = h.take_down()
    assert (rsp.dest, rsp.type, rsp.flags) == (C, MsgType.BYTES, Flag.OOB)
    assert rsp.get_header(PID) == GmsHeader(T.MERGE_RSP, merge_id=MID)
    assert rsp.payload[:2] == b"\x00\x03"  # view + digest without addresses, as Java writes MERGE_RSP
    block = decode_view_digest(rsp.payload)
    assert block.view == v(A, 5, A, B)
    assert block.digest == Digest((A, B), ((4, 5), (2, 3)))


def test_a_join_during_a_merge_is_discarded_and_counted() -> None:
    h, gms, _ = coordinator_of(B)
    h.receive(merge_req((A, B)))
    h.take_down()
    h.receive(gms_msg(T.JOIN_REQ, src=E, dest=A, mbr=E))
    assert gms.counters["JOIN_REQ discarded (merge in progress)"] == 1
    assert not gms.view_handler.queued and E not in gms.members


def test_a_second_merge_request_is_ignored_silently_as_java() -> None:
    h, gms, _ = coordinator_of(B)
    h.receive(merge_req((A, B)))
    h.take_down()
    h.receive(merge_req((A,), MergeId(D, 9), src=D))
    assert not h.take_down()  # Java sends no rejection: the other leader waits for its timeout
    assert gms.counters["MERGE_REQ ignored (another merge in progress)"] == 1
    assert gms.merger.merge_id == MID


def test_install_merge_view_casts_it_to_current_members_and_ends_after_the_acks() -> None:
    h, gms, _nak = coordinator_of(B)
    h.receive(merge_req((A, B)))
    h.receive(gms_msg(T.GET_DIGEST_RSP, src=B, dest=A, payload=encode_view_digest(None, Digest((B,), ((0, 0),)))))
    h.take_down(), h.take_down_events()
    mv = MergeView(ViewId(A, 10), (A, B, C, D), (v(A, 5, A, B), v(C, 9, C, D)))
    digest = Digest(mv.members, ((1, 1), (0, 0), (3, 3), (2, 2)))
    h.receive(with_mid(T.INSTALL_MERGE_VIEW, MID, src=C, dest=A, payload=encode_view_digest(mv, digest)))
    (view_msg,) = h.take_down()
    assert view_msg.dest is None and view_msg.payload[:2] == b"\x00\x07"
    assert view_msg.flags == Flag.NO_RELAY | Flag.NO_FC | Flag.NO_TOTAL_ORDER
    assert decode_view_digest(view_msg.payload).view == mv
    events = h.take_down_events()
    assert MergeDigest(digest) in events
    assert gms.view == mv and gms.is_coordinator
    assert gms.merger.in_progress and ResumeStable() not in events  # until B acked
    h.receive(gms_msg(T.VIEW_ACK, src=B, dest=A))
    assert not gms.merger.in_progress and not gms.view_handler.suspended
    assert ResumeStable() in h.take_down_events()


def test_install_merge_view_of_a_view_already_installed_sends_no_tmp_view() -> None:
    """The MergeView we are to cast reached us first as another subgroup coordinator's VIEW (full-stack simulation
    seed 515): a TMP_VIEW for it would stop MERGE3's INFO sender and checker (Java's MERGE3.down), and since the view
    is not installed again no VIEW_CHANGE would start them: MERGE3 stayed silent and the cluster never merged the
    member the merge had left out. The VIEW still goes to our members; only the TMP_VIEW is left out."""
    h, gms, _ = coordinator_of(B)
    h.receive(merge_req((A, B)))
    h.receive(gms_msg(T.GET_DIGEST_RSP, src=B, dest=A, payload=encode_view_digest(None, Digest((B,), ((0, 0),)))))
    h.take_down(), h.take_down_events(), h.take_up_events()
    mv = MergeView(ViewId(A, 10), (A, B, C, D), (v(A, 5, A, B), v(C, 9, C, D)))
    digest = Digest(mv.members, ((1, 1), (0, 0), (3, 3), (2, 2)))
    h.receive(gms_msg(T.VIEW, src=C, dest=None, payload=encode_view_digest(mv, digest)))
    assert gms.view == mv
    h.take_down(), h.take_down_events(), h.take_up_events()
    h.receive(with_mid(T.INSTALL_MERGE_VIEW, MID, src=C, dest=A, payload=encode_view_digest(mv, digest)))
    (view_msg,) = h.take_down()
    assert decode_view_digest(view_msg.payload).view == mv
    assert not [e for e in h.take_down_events() + h.take_up_events() if isinstance(e, TmpView)]
    assert gms.counters["TMP_VIEW skipped (view already installed)"] == 1


def test_install_merge_view_with_another_merge_id_is_discarded() -> None:
    h, gms, _ = coordinator_of()
    h.receive(merge_req((A,)))
    mv = MergeView(ViewId(C, 10), (C, A), (v(A, 5, A), v(C, 9, C)))
    h.receive(with_mid(T.INSTALL_MERGE_VIEW, MergeId(C, 2), src=C, dest=A,
                       payload=encode_view_digest(mv, Digest(mv.members, ((0, 0), (0, 0))))))
    assert gms.view == v(A, 5, A)
    assert gms.counters["INSTALL_MERGE_VIEW discarded (merge id does not match)"] == 1


def test_cancel_merge_resumes_the_view_handler_and_stable() -> None:
    h, gms, _ = coordinator_of()
    h.receive(merge_req((A,)))
    h.take_down_events()
    h.receive(with_mid(T.CANCEL_MERGE, MergeId(C, 2), src=C, dest=A))  # not ours: nothing
    assert gms.merger.in_progress
    h.receive(with_mid(T.CANCEL_MERGE, MID, src=C, dest=A))
    assert not gms.merger.in_progress and not gms.view_handler.suspended
    assert h.take_down_events() == [ResumeStable()]


def test_the_merge_killer_ends_a_merge_that_never_completes() -> None:
    h, gms, _ = coordinator_of(B)
    h.receive(merge_req((A, B)))  # B never answers GET_DIGEST_REQ, the leader never sends the view
    h.advance(gms.merge_timeout // 2 * MS)
    (rsp,) = [m for m in h.take_down() if m.get_header(PID).type == T.MERGE_RSP]
    assert decode_view_digest(rsp.payload).digest.members == (A,)  # only what arrived
    h.advance(2 * gms.merge_timeout * MS)
    assert not gms.merger.in_progress
    assert gms.counters["merges cancelled by the merge killer"] == 1


def test_bad_merge_input_is_counted_never_raised() -> None:
    h, gms, _ = coordinator_of(B)
    bad = gms_msg(T.MERGE_REQ, src=E, dest=A, payload=b"\x00\x05\x01")
    h.receive(bad.put_header(PID, GmsHeader(T.MERGE_REQ, E, MergeId(E, 1))))
    h.receive(gms_msg(T.MERGE_REQ, src=E, dest=A))  # EmptyMessage
    h.receive(with_mid(T.INSTALL_MERGE_VIEW, None, src=E, dest=A, payload=b"\x00\x01\x07"))
    h.receive(with_mid(T.MERGE_RSP, MergeId(E, 1), src=E, dest=A, rejected=True))  # Java's EmptyMessage rejection
    h.receive(gms_msg(T.GET_DIGEST_RSP, src=E, dest=A, payload=b"\x00"))
    assert gms.counters["malformed MERGE_REQ"] == 2
    assert gms.counters["malformed INSTALL_MERGE_VIEW"] == 1
    assert gms.counters["MERGE_RSP without view/digest ignored"] == 1
    assert gms.counters["malformed GET_DIGEST_RSP"] == 1
    assert not gms.merger.in_progress and gms.view == v(A, 5, A, B)


def test_a_client_ignores_merge_requests() -> None:
    h, gms, _ = make_gms(A)
    h.take_down()
    h.receive(merge_req((A,)))
    assert not h.take_down() and not gms.merger.in_progress
    assert gms.counters["MERGE_REQ ignored (client)"] == 1


# --- the merge leader --------------------------------------------------------------------------------------


def test_the_lowest_coordinator_leads_the_merge_and_installs_the_merge_view_everywhere() -> None:
    h, gms, nak = coordinator_of()
    nak.seqnos = {A: (3, 3)}
    vc = v(C, 9, C, D)
    h.up(Merge({A: v(A, 5, A), C: vc, D: vc}))
    reqs = h.take_down()
    assert SuspendStable(20_000) in h.take_down_events()
    mid = gms.merger.merge_id
    assert mid is not None and mid.initiator == A
    assert sorted(r.dest for r in reqs) == [A, C]
    for r in reqs:
        assert r.type is MsgType.BYTES and r.flags == Flag.OOB
        assert r.get_header(PID) == GmsHeader(T.MERGE_REQ, A, mid)
    assert {r.dest: decode_merge_members(r.payload) for r in reqs} == {A: (A,), C: (C, D)}
    own = next(r for r in reqs if r.dest == A)
    h.receive(own)  # looped back by UNICAST3: we answer ourselves at once (alone in our view)
    (own_rsp,) = h.take_down()
    h.receive(own_rsp)
    dc = Digest((C, D), ((7, 7), (1, 2)))
    h.receive(with_mid(T.MERGE_RSP, mid, src=C, dest=A, payload=encode_view_digest(vc, dc)))
    installs = h.take_down()
    assert [m.dest for m in installs] == [C, A]  # ourselves last
    for m in installs:
        assert m.type is MsgType.BYTES and m.flags == 0
        assert m.get_header(PID) == GmsHeader(T.INSTALL_MERGE_VIEW, merge_id=mid)
    block = decode_view_digest(installs[0].payload)
    subgroups = tuple(java_hash_order([v(A, 5, A), vc]))  # a HashSet<View> in Java
    assert block.view == MergeView(ViewId(A, 10), (A, C, D), subgroups)
    assert block.digest == Digest((A, C, D), ((3, 3), (7, 7), (1, 2)))
    assert InstallMergeView(block.view) in h.take_up_events()  # type: ignore[arg-type]
    h.receive(installs[1])
    (cast,) = h.take_down()  # to our current members ([A]): nobody to wait for, the merge ends at once
    assert decode_view_digest(cast.payload).view == block.view
    assert gms.view == block.view and not gms.merger.in_progress and not gms.view_handler.suspended


def test_not_the_leader_does_nothing() -> None:
    h, gms, _ = coordinator_of()
    h.up(Merge({A: v(A, 5, A), UUID(-2**63, 0): v(UUID(-2**63, 0), 9, UUID(-2**63, 0))}))
    assert not h.take_down() and not gms.merger.in_progress


def test_without_responses_the_leader_cancels_the_merge() -> None:
    h, gms, _ = coordinator_of()
    h.up(Merge({A: v(A, 5, A), C: v(C, 9, C)}))
    h.take_down()
    h.advance(gms.merge_timeout * MS)  # neither our own MERGE_REQ nor C's answer came back
    assert not h.take_down()  # Java drops the silent coordinators before sending CANCEL_MERGE: nobody left
    assert not gms.merger.in_progress and gms.counters["merges cancelled"] == 1


def test_a_leader_that_did_not_answer_itself_cancels_the_merge_at_the_others() -> None:
    h, gms, _ = coordinator_of()
    vc = v(C, 9, C)
    h.up(Merge({A: v(A, 5, A), C: vc}))
    h.take_down()
    mid = gms.merger.merge_id
    h.receive(with_mid(T.MERGE_RSP, mid, src=C, dest=A, payload=encode_view_digest(vc, Digest((C,), ((0, 0),)))))
    h.advance(gms.merge_timeout * MS)
    (cancel,) = h.take_down()
    assert cancel.dest == C and cancel.type is MsgType.EMPTY
    assert cancel.get_header(PID) == GmsHeader(T.CANCEL_MERGE, merge_id=mid)
    assert not gms.merger.in_progress
