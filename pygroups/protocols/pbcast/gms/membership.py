"""Membership arithmetic of GMS: DefaultMembershipPolicy, View.diff, delta views, join digests.

Java counterparts: ``GMS.DefaultMembershipPolicy``, ``GMS.createDeltaView`` /
``createViewFromDeltaView``, ``View.diff`` and ``MutableDigest.set(...).allSet()``. All functions are
pure so the coordinator, the participant and the tests share one definition of "the next view".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from pygroups.address import Address
from pygroups.view import DeltaView, Digest, View

# (current, joiners, leavers, suspects) -> new member list; JGroups MembershipChangePolicy.getNewMembership
MembershipPolicy = Callable[
    [Sequence[Address], Sequence[Address], Sequence[Address], Sequence[Address]], list[Address]
]


def default_membership(
    current: Iterable[Address],
    joiners: Iterable[Address] = (),
    leavers: Iterable[Address] = (),
    suspects: Iterable[Address] = (),
) -> list[Address]:
    """Current members minus leavers and suspects (order kept), then joiners appended without duplicates."""
    gone = set(leavers) | set(suspects)
    out: list[Address] = []
    for m in current:
        if m not in gone and m not in out:
            out.append(m)
    for m in joiners:
        if m is not None and m not in out:
            out.append(m)
    return out


def view_diff(old: View | None, new: View) -> tuple[tuple[Address, ...], tuple[Address, ...]]:
    """View.diff: (joined, left); joined in the new view's order, left in the old view's order."""
    old_members = old.members if old is not None else ()
    joined = tuple(m for m in new.members if m not in old_members)
    left = tuple(m for m in old_members if m not in new.members)
    return joined, left


def make_delta_view(current: View, nxt: View) -> DeltaView:
    """GMS.createDeltaView: the next view expressed against the current one."""
    joined, left = view_diff(current, nxt)
    return DeltaView(nxt.view_id, current.view_id, left, joined)


class DeltaMismatch(Exception):
    """A DeltaView cannot be applied (no current view, or its ref view id differs)."""


def apply_delta_view(current: View | None, delta: DeltaView, policy: MembershipPolicy) -> View:
    """GMS.createViewFromDeltaView: the ref view id must equal ours (creator and id)."""
    if current is None:
        raise DeltaMismatch(f"no current view to apply delta view {delta.view_id} to")
    if current.view_id != delta.ref_view_id:
        raise DeltaMismatch(
            f"the delta view's ref view id {delta.ref_view_id} is not the current view id {current.view_id}"
        )
    members = policy(current.members, delta.joined or (), delta.left or (), ())
    return View(delta.view_id, tuple(members))


def digest_for(members: Sequence[Address], *sources: Digest | None,
               zero: Iterable[Address] = ()) -> Digest | None:
    """MutableDigest(members).set(sources...) with ``zero`` members set to (0, 0); None unless all set."""
    entries: dict[Address, tuple[int, int]] = {}
    wanted = set(members)
    for src in sources:
        if src is None:
            continue
        for m, seqnos in zip(src.members, src.seqnos, strict=True):
            if m in wanted:
                entries[m] = seqnos
    for m in zero:
        if m in wanted:
            entries[m] = (0, 0)
    if any(m not in entries for m in members):
        return None
    return Digest(tuple(members), tuple(entries[m] for m in members))


def missing_in(members: Sequence[Address], digest: Digest | None) -> list[Address]:
    """Members without an entry in ``digest`` (MutableDigest.getNonSetMembers), for the log."""
    have = set(digest.members) if digest is not None else set()
    return [m for m in members if m not in have]
