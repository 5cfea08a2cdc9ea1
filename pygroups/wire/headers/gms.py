"""GMS: GmsHeader (protocol id 12, magic 55), MergeId, and the payloads of GMS messages.

Payloads (all BytesMessage arrays, read with getArray()):
- JOIN_RSP: `01` + JoinRsp (Util.streamableToBuffer);
- VIEW, MERGE_RSP, INSTALL_MERGE_VIEW, GET_DIGEST_RSP, INSTALL_DIGEST: the view/digest block
  (GMS.marshal(View, Digest) / _readViewAndDigest);
- MERGE_REQ: Util.writeAddresses of the subgroup's members;
- GET_CURRENT_VIEW: Util.writeViewId of the requester's view id.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from construct import (
    Adapter,
    Array,
    Check,
    Computed,
    ExplicitError,
    If,
    IfThenElse,
    Int8sb,
    Int16sb,
    Int32sb,
    Rebuild,
    Struct,
    this,
)

from pygroups.address import Address
from pygroups.errors import LocalProtocolError
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId
from pygroups.wire.addresses import AddressesFormat, AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader, decode_exact, encode
from pygroups.wire.javatypes import JavaUTF, SeqPair, optional
from pygroups.wire.views import DigestFormat, MergeViewFormat, OptViewIdFormat, ViewFormat, ViewIdFormat

# ---------------------------------------------------------------- GmsHeader

MERGE_ID_PRESENT, MERGE_REJECTED = 0x04, 0x10  # GmsHeader flags; other bits are ignored on read


@dataclass(frozen=True, slots=True)
class MergeId:
    initiator: Address | None
    id: int


class _MergeIdAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> MergeId:
        return MergeId(obj.initiator, obj.id)

    def _encode(self, obj: MergeId, context: Any, path: str) -> dict[str, Any]:
        return {"initiator": obj.initiator, "id": obj.id}


# MergeId.writeTo: Address initiator, int id.
MergeIdFormat = _MergeIdAdapter(Struct("initiator" / AddressFormat, "id" / Int32sb))


def _gms_flags(ctx: Any) -> int:
    """GmsHeader.determineFlags."""
    merge_id = MERGE_ID_PRESENT if ctx.merge_id is not None else 0
    return merge_id | (MERGE_REJECTED if ctx.merge_rejected else 0)


# GmsHeader.writeTo: byte type, short flags, Address mbr, [MergeId if MERGE_ID_PRESENT].
GmsHeaderFormat = Struct(
    "type" / Int8sb,
    "flags" / Rebuild(Int16sb, _gms_flags),
    "mbr" / AddressFormat,
    "merge_id" / If(this.flags & MERGE_ID_PRESENT, MergeIdFormat),
    "merge_rejected" / Computed((this.flags & MERGE_REJECTED) != 0),
)


@header(55, "GmsHeader", GmsHeaderFormat)
@dataclass(frozen=True, slots=True)
class GmsHeader(JGroupsHeader):
    """mbr is set on JOIN_REQ/LEAVE_REQ (and whatever else Java fills in); merge_id on merge messages."""

    class Type(enum.IntEnum):
        JOIN_REQ = 1
        JOIN_RSP = 2
        LEAVE_REQ = 3
        LEAVE_RSP = 4
        VIEW = 5
        MERGE_REQ = 6
        MERGE_RSP = 7
        INSTALL_MERGE_VIEW = 8
        CANCEL_MERGE = 9
        VIEW_ACK = 10
        JOIN_REQ_WITH_STATE_TRANSFER = 11
        GET_DIGEST_REQ = 13
        GET_DIGEST_RSP = 14
        INSTALL_DIGEST = 15
        GET_CURRENT_VIEW = 16

    type: int
    mbr: Address | None = None
    merge_id: MergeId | None = None
    merge_rejected: bool = False


# ---------------------------------------------------------------- views and digests

# GMS marshalling flags of the view/digest block.
VIEW_PRESENT, DIGEST_PRESENT, MERGE_VIEW, DELTA_VIEW, READ_ADDRS = 0x01, 0x02, 0x04, 0x08, 0x10


class _DeltaViewAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> DeltaView:
        left = None if obj.left is None else tuple(obj.left)
        joined = None if obj.joined is None else tuple(obj.joined)
        return DeltaView(obj.view_id, obj.ref_view_id, left, joined)

    def _encode(self, obj: DeltaView, context: Any, path: str) -> dict[str, Any]:
        return {
            "view_id": obj.view_id,
            "ref_view_id": obj.ref_view_id,
            "left": obj.left,
            "joined": obj.joined,
        }


# DeltaView.writeTo: ViewId, ref ViewId, Util.writeAddresses left, Util.writeAddresses joined.
DeltaViewFormat = _DeltaViewAdapter(
    Struct(
        "view_id" / ViewIdFormat,
        "ref_view_id" / ViewIdFormat,
        "left" / AddressesFormat,
        "joined" / AddressesFormat,
    )
)


def _view_members(view: Any) -> tuple[Address, ...] | None:
    """View.getMembersRaw(); a DeltaView has none."""
    return None if view is None or isinstance(view, DeltaView) else tuple(view.members)


class _MemberlessDigest(Adapter):  # type: ignore[misc]
    """Digest.readFrom(in, false): the members are those of the view read just before (`view`)."""

    def _decode(self, obj: Any, context: Any, path: str) -> Digest:
        members = _view_members(context.view)
        if members is None:
            raise ExplicitError("a digest without members needs a view with members", path=path)
        if obj.count != len(members):
            raise ExplicitError(f"digest has {obj.count} entries, the view {len(members)} members", path=path)
        return Digest(members, tuple(obj.seqnos))

    def _encode(self, obj: Digest, context: Any, path: str) -> dict[str, Any]:
        if _view_members(context.view) != tuple(obj.members):
            raise ExplicitError("a digest written without members must have the view's members", path=path)
        return {"count": len(obj.seqnos), "seqnos": list(obj.seqnos)}


# Digest.writeTo(out, false): short count, then count Bits.writeLongSequence(hd, hr).
MemberlessDigestFormat = _MemberlessDigest(
    Struct("count" / Int16sb, Check(this.count >= 0), "seqnos" / Array(this.count, SeqPair))
)


@dataclass(frozen=True, slots=True)
class ViewDigest:
    """The view/digest block: VIEW carries a view (full or delta), GET_DIGEST_RSP only a digest."""

    view: View | DeltaView | None
    digest: Digest | None


def _write_addrs(view: Any, digest: Any) -> bool:
    """GMS.writeAddresses: the digest carries its own members unless they equal the view's."""
    return digest is None or _view_members(view) != tuple(digest.members)


def _block_flags(ctx: Any) -> int:
    """GMS.determineFlags(view, digest)."""
    flags = 0
    if ctx.view is not None:
        flags |= VIEW_PRESENT
        if isinstance(ctx.view, MergeView):
            flags |= MERGE_VIEW
        elif isinstance(ctx.view, DeltaView):
            flags |= DELTA_VIEW
    if ctx.digest is not None:
        flags |= DIGEST_PRESENT
    if _write_addrs(ctx.view, ctx.digest):
        flags |= READ_ADDRS
    return flags


class _ViewDigestAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> ViewDigest:
        return ViewDigest(obj.view, obj.digest)

    def _encode(self, obj: ViewDigest, context: Any, path: str) -> dict[str, Any]:
        return {"view": obj.view, "digest": obj.digest}


# GMS.marshal(View, Digest) / GMS._readViewAndDigest: short flags, [view], [digest].
# MERGE_VIEW wins over DELTA_VIEW on read, as in Java; unknown flag bits are ignored.
ViewDigestFormat = _ViewDigestAdapter(
    Struct(
        "flags" / Rebuild(Int16sb, _block_flags),
        "view"
        / If(
            this.flags & VIEW_PRESENT,
            IfThenElse(
                this.flags & MERGE_VIEW,
                MergeViewFormat,
                IfThenElse(this.flags & DELTA_VIEW, DeltaViewFormat, ViewFormat),
            ),
        ),
        "digest"
        / If(
            this.flags & DIGEST_PRESENT,
            IfThenElse(this.flags & READ_ADDRS, DigestFormat, MemberlessDigestFormat),
        ),
    )
)


def encode_view_digest(view: View | DeltaView | None, digest: Digest | None) -> bytes:
    return encode(ViewDigestFormat, ViewDigest(view, digest), "view/digest block")


def decode_view_digest(data: bytes) -> ViewDigest:
    return decode_exact(ViewDigestFormat, data, "view/digest block")  # type: ignore[no-any-return]


# ---------------------------------------------------------------- JoinRsp

JOIN_VIEW_PRESENT, JOIN_DIGEST_PRESENT, JOIN_FAIL_REASON_PRESENT = 0x01, 0x02, 0x04  # JoinRsp flags


@dataclass(frozen=True, slots=True)
class JoinRsp:
    """The digest's members are always the view's (it is written without them)."""

    view: View | None
    digest: Digest | None = None
    fail_reason: str | None = None


def _join_flags(ctx: Any) -> int:
    return (
        (JOIN_VIEW_PRESENT if ctx.view is not None else 0)
        | (JOIN_DIGEST_PRESENT if ctx.digest is not None else 0)
        | (JOIN_FAIL_REASON_PRESENT if ctx.fail_reason is not None else 0)
    )


class _JoinRspAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> JoinRsp:
        return JoinRsp(obj.view, obj.digest, obj.fail_reason)

    def _encode(self, obj: JoinRsp, context: Any, path: str) -> dict[str, Any]:
        return {"view": obj.view, "digest": obj.digest, "fail_reason": obj.fail_reason}


# JoinRsp.writeTo: byte flags, [View], [Digest without members], [writeUTF fail_reason].
# 5.5.6 always reads a plain View here (MERGE_VIEW_PRESENT 0x08 is 5.6 only).
JoinRspBodyFormat = _JoinRspAdapter(
    Struct(
        "flags" / Rebuild(Int8sb, _join_flags),
        "view" / If(this.flags & JOIN_VIEW_PRESENT, ViewFormat),
        "digest" / If(this.flags & JOIN_DIGEST_PRESENT, MemberlessDigestFormat),
        "fail_reason" / If(this.flags & JOIN_FAIL_REASON_PRESENT, JavaUTF),
    )
)

# Util.streamableToBuffer(JoinRsp): presence byte, then the JoinRsp.
JoinRspFormat = optional(JoinRspBodyFormat)


def encode_join_rsp(rsp: JoinRsp | None) -> bytes:
    """The JOIN_RSP array. A MergeView is refused: a 5.5.6 reader would misread the digest after it."""
    if rsp is not None and isinstance(rsp.view, MergeView):
        raise LocalProtocolError("JoinRsp cannot carry a MergeView in 5.5 (send View(view_id, members))")
    return encode(JoinRspFormat, rsp, "JoinRsp")


def decode_join_rsp(data: bytes) -> JoinRsp | None:
    """None when the presence byte is 0 (GMS then ignores the message)."""
    return decode_exact(JoinRspFormat, data, "JoinRsp")  # type: ignore[no-any-return]


# ---------------------------------------------------------------- MERGE_REQ, GET_CURRENT_VIEW

# GMS.marshal(Collection<Address>): Util.writeAddresses (i16 count, -1 = null).
MergeMembersFormat = AddressesFormat


def encode_merge_members(mbrs: tuple[Address | None, ...] | None) -> bytes:
    return encode(MergeMembersFormat, mbrs, "MERGE_REQ members")


def decode_merge_members(data: bytes) -> tuple[Address | None, ...] | None:
    """None for a null list (count -1); GMS ignores such a MERGE_REQ."""
    return decode_exact(MergeMembersFormat, data, "MERGE_REQ members")  # type: ignore[no-any-return]


# GMS.marshal(ViewId): Util.writeViewId (bool presence + ViewId).
CurrentViewIdFormat = OptViewIdFormat


def encode_current_view_id(view_id: ViewId | None) -> bytes:
    return encode(CurrentViewIdFormat, view_id, "GET_CURRENT_VIEW view id")


def decode_current_view_id(data: bytes) -> ViewId | None:
    """None means "send me your view whatever it is" (also what an EmptyMessage request means)."""
    return decode_exact(CurrentViewIdFormat, data, "GET_CURRENT_VIEW view id")  # type: ignore[no-any-return]
