"""construct declarations of JGroups' view and digest formats (jgroups-wire.md §6.3).

ViewId, View, MergeView (subgroups as indices into the member list) and Digest with or without its
members. This module is the normative description of these encodings (tier 1, see ARCHITECTURE
§2.5); each declaration names the Java method it mirrors, and adapters at the leaves turn containers
into the domain objects of `pygroups.view`.
"""

from __future__ import annotations

from typing import Any

from construct import Adapter, Array, ExplicitError, If, Int16sb, Int64sb, Struct, this

from pygroups.address import Address, java_equals
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.addresses import AddressesFormat, AddressFormat
from pygroups.wire.javatypes import SeqPair, VLong, optional


class _ViewIdAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> ViewId:
        return ViewId(obj.creator, obj.id)

    def _encode(self, obj: ViewId, context: Any, path: str) -> dict[str, Any]:
        return {"creator": obj.creator, "id": obj.id}


# ViewId.writeTo: creator address, then the id as a compressed long.
ViewIdFormat = _ViewIdAdapter(Struct("creator" / AddressFormat, "id" / VLong))


OptViewIdFormat = optional(ViewIdFormat)  # Util.writeViewId


class _ViewAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> View:
        return View(obj.view_id, tuple(obj.members or ()))

    def _encode(self, obj: View, context: Any, path: str) -> dict[str, Any]:
        return {"view_id": obj.view_id, "members": obj.members}


# View.writeTo: ViewId, then the member list.
ViewFormat = _ViewAdapter(Struct("view_id" / ViewIdFormat, "members" / AddressesFormat))

# MergeView.writeTo: the View body, then subgroups as indices into the member list (-1 = inline).
_IndexedAddress = Struct(
    "index" / Int16sb,
    "addr" / If(this.index < 0, AddressFormat),
)
_SubgroupFormat = Struct(
    "creator" / _IndexedAddress,
    "id" / Int64sb,
    "count" / Int16sb,
    "members" / Array(this.count, _IndexedAddress),
)


class _MergeViewAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> MergeView:
        members = tuple(obj.members or ())

        def resolve(ia: Any) -> Any:  # an Address, or None where Java read a null one
            if ia.index < 0:
                return ia.addr
            if ia.index >= len(members):
                raise ExplicitError(f"subgroup member index {ia.index} out of range", path=path)
            return members[ia.index]

        subgroups = tuple(
            View(ViewId(resolve(sg.creator), sg.id), tuple(resolve(m) for m in sg.members))
            for sg in obj.subgroups
        )
        return MergeView(obj.view_id, members, subgroups)

    def _encode(self, obj: MergeView, context: Any, path: str) -> dict[str, Any]:
        members = obj.members

        def ref(a: Address | None) -> dict[str, Any]:
            # MergeView.get(Address): the first member m with a.equals(m), by Java's equals (a
            # SiteMaster equals any SiteMaster of its site): a dict lookup would find another index
            i = next((i for i, m in enumerate(members) if java_equals(a, m)), -1) if a is not None else -1
            return {"index": i, "addr": a if i < 0 else None}

        subgroups = [
            {
                "creator": ref(sg.view_id.creator),
                "id": sg.view_id.id,
                "count": len(sg.members),
                "members": [ref(m) for m in sg.members],
            }
            for sg in obj.subgroups
        ]
        return {
            "view_id": obj.view_id,
            "members": obj.members,
            "subgroup_count": len(subgroups),
            "subgroups": subgroups,
        }


MergeViewFormat = _MergeViewAdapter(
    Struct(
        "view_id" / ViewIdFormat,
        "members" / AddressesFormat,
        "subgroup_count" / Int16sb,
        "subgroups" / Array(this.subgroup_count, _SubgroupFormat),
    )
)


class _DigestAdapter(Adapter):  # type: ignore[misc]
    """Digest.writeTo(out, true): members, then one seqno pair per member."""

    def _decode(self, obj: Any, context: Any, path: str) -> Digest:
        members = tuple(obj.members or ())
        return Digest(members, tuple(obj.seqnos))

    def _encode(self, obj: Digest, context: Any, path: str) -> dict[str, Any]:
        return {"members": obj.members, "seqnos": list(obj.seqnos)}


DigestFormat = _DigestAdapter(
    Struct(
        "members" / AddressesFormat,
        "seqnos" / Array(lambda ctx: len(ctx.members or ()), SeqPair),
    )
)

# Digest.writeTo(out, false): i16 count then seqno pairs; members come from elsewhere (the view).
DigestSeqnosFormat = Struct("count" / Int16sb, "seqnos" / Array(lambda ctx: max(ctx.count, 0), SeqPair))

__all__ = [
    "DigestFormat",
    "DigestSeqnosFormat",
    "MergeViewFormat",
    "OptViewIdFormat",
    "ViewFormat",
    "ViewIdFormat",
]
