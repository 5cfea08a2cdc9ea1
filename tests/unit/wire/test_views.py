"""Vectors of the view and digest formats (jgroups-wire.md §6.3), checked both ways."""

from __future__ import annotations

from pygroups.address import UUID, IpAddress
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.views import DigestFormat, MergeViewFormat

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")


def test_merge_view_with_foreign_subgroup_creator() -> None:
    other = UUID(1, 2)
    ip = IpAddress("127.0.0.1", 7800)
    mv = MergeView(ViewId(A, 3), (A, ip), (View(ViewId(A, 1), (A,)), View(ViewId(other, 2), (other, ip))))
    data = MergeViewFormat.build(mv)
    assert MergeViewFormat.parse(data) == mv
    assert "ffff02" in data.hex()  # index -1: the creator is written inline


def test_digest_with_members() -> None:
    d = Digest((A, IpAddress("127.0.0.1", 7800)), ((1, 2), (3, 3)))
    assert DigestFormat.parse(DigestFormat.build(d)) == d


def test_merge_view_subgroup_references_use_java_equals() -> None:
    """Found by the jar (test_object_conformance): MergeView.get(Address) scans the members with
    Java's equals, under which all null-site SiteMasters are equal, so a subgroup creator that is a
    different SiteMaster is written as the index of the member SiteMaster, not inline."""
    from pygroups.address import SiteMaster

    member, creator = SiteMaster(0, 1, 0, (), None, None), SiteMaster(0, 7818, 0, (), None, None)
    mv = MergeView(ViewId(None, 0), (UUID(0, 1), member), (View(ViewId(creator, 0), ()),))
    data = MergeViewFormat.build(mv)
    assert MergeViewFormat.parse(data).subgroups[0].view_id.creator is not None
    assert MergeViewFormat.parse(data).subgroups[0].view_id.creator.sort_key() == member.sort_key()
