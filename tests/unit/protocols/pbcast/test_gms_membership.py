"""Membership arithmetic (DefaultMembershipPolicy, delta views, join digests) and the view handler's
batching rule, including property tests: a delta view made by the coordinator always rebuilds the
exact next view on a participant."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID
from pygroups.protocols.pbcast.gms.membership import (
    DeltaMismatch,
    apply_delta_view,
    default_membership,
    digest_for,
    make_delta_view,
)
from pygroups.protocols.pbcast.gms.view_handler import ReqType, Request, ViewHandler
from pygroups.view import Digest, View, ViewId

ADDRS = [UUID(0, i) for i in range(1, 13)]
members = st.lists(st.sampled_from(ADDRS), unique=True, min_size=1, max_size=8)


def test_default_policy_removes_then_appends_in_request_order() -> None:
    """Membership(current).remove(leavers).remove(suspects).add(joiners): a leaver that also joins is
    appended again (the coordinator never passes current members as joiners, see below)."""
    a, b, c, d, e = ADDRS[:5]
    assert default_membership([a, b, c], [e, d, b], [b], [c]) == [a, e, d, b]
    assert default_membership([a, b], [b, c, c], [], []) == [a, b, c]


@given(members, st.lists(st.sampled_from(ADDRS), max_size=4), st.lists(st.sampled_from(ADDRS), max_size=4))
def test_delta_view_rebuilds_the_next_view(old: list[UUID], joiners: list[UUID], leavers: list[UUID]) -> None:
    joiners = [j for j in joiners if j not in old]  # CoordGmsImpl answers members' JOINs without a view
    current = View(ViewId(old[0], 5), tuple(old))
    nxt_members = default_membership(old, joiners, leavers)
    if not nxt_members:
        return
    nxt = View(ViewId(nxt_members[0], 6), tuple(nxt_members))
    delta = make_delta_view(current, nxt)
    assert apply_delta_view(current, delta, default_membership) == nxt


def test_delta_view_needs_the_exact_ref_view_id() -> None:
    a, b = ADDRS[:2]
    delta = make_delta_view(View(ViewId(a, 1), (a,)), View(ViewId(a, 2), (a, b)))
    for current in (None, View(ViewId(b, 1), (a,)), View(ViewId(a, 0), (a,))):
        try:
            apply_delta_view(current, delta, default_membership)
        except DeltaMismatch:
            continue
        raise AssertionError(f"applied against {current}")


def test_join_digest_needs_every_existing_member() -> None:
    a, b, c = ADDRS[:3]
    nakack = Digest((a,), ((3, 4),))
    assert digest_for((a, b, c), nakack, zero=(b, c)) == Digest((a, b, c), ((3, 4), (0, 0), (0, 0)))
    assert digest_for((a, b, c), nakack, zero=(c,)) is None


def test_view_handler_batches_membership_requests_but_not_coord_leave() -> None:
    soon: list[object] = []
    batches: list[list[Request]] = []
    vh = ViewHandler(batches.append, lambda: False, soon.append)
    a, b = ADDRS[:2]
    vh.add(Request(ReqType.JOIN, a), Request(ReqType.LEAVE, b), Request(ReqType.JOIN, a))
    vh.add(Request(ReqType.COORD_LEAVE), Request(ReqType.SUSPECT, b))
    assert len(soon) == 1  # one scheduled run for everything queued in this input
    soon[0]()  # type: ignore[operator]
    assert [[r.type for r in bt] for bt in batches] == [
        [ReqType.JOIN, ReqType.LEAVE], [ReqType.COORD_LEAVE], [ReqType.SUSPECT]]
    assert not vh.processing


def test_view_handler_waits_while_a_view_change_is_in_flight() -> None:
    soon: list[object] = []
    in_flight = [False]
    batches: list[list[Request]] = []

    def process(batch: list[Request]) -> None:
        batches.append(batch)
        in_flight[0] = True

    vh = ViewHandler(process, lambda: in_flight[0], soon.append)
    a, b, c = ADDRS[:3]
    vh.add(Request(ReqType.JOIN, a))
    soon.pop()()  # type: ignore[operator]
    vh.add(Request(ReqType.JOIN, b))
    vh.add(Request(ReqType.JOIN, c))
    assert soon == [] and len(batches) == 1 and vh.processing
    in_flight[0] = False
    vh.batch_done()
    soon.pop()()  # type: ignore[operator]
    assert [r.mbr for r in batches[1]] == [b, c]


def test_suspended_view_handler_drops_requests() -> None:
    soon: list[object] = []
    vh = ViewHandler(lambda batch: None, lambda: False, soon.append)
    vh.suspend()
    vh.add(Request(ReqType.JOIN, ADDRS[0]))
    assert soon == [] and len(vh) == 0
