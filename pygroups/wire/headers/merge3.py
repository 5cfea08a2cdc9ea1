"""MERGE3: MergeHeader (protocol id 38, magic 75) and the VIEW_RSP payload."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Struct

from pygroups.address import IpAddress
from pygroups.errors import MalformedMessage
from pygroups.view import MergeView, View, ViewId
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader, decode_exact, encode
from pygroups.wire.headers.ping import PhysicalAddressFormat
from pygroups.wire.javatypes import BitsString, optional
from pygroups.wire.views import MergeViewFormat, OptViewIdFormat, ViewFormat

# MergeHeader.writeTo: byte type ordinal, Util.writeViewId view_id, Bits.writeString logical_name,
# Address physical_addr. readFrom indexes Type.values(), so an unknown type fails.
MergeHeaderFormat = Struct(
    "type" / Int8sb,
    "view_id" / OptViewIdFormat,
    "logical_name" / BitsString,
    "physical_addr" / PhysicalAddressFormat,
)


@header(75, "MergeHeader", MergeHeaderFormat)
@dataclass(frozen=True, slots=True)
class MergeHeader(JGroupsHeader):
    """INFO carries the sender's view id, logical name and physical address; the others nothing."""

    class Type(enum.IntEnum):
        INFO = 0
        VIEW_REQ = 1
        VIEW_RSP = 2

    ENUM_FIELDS = {"type": Type}

    type: Type
    view_id: ViewId | None = None
    logical_name: str | None = None
    physical_addr: IpAddress | None = None


# MERGE3.marshal(View) = Util.streamableToBuffer: presence byte + View.writeTo. The reader
# (streamableFromBuffer(View::new)) reads a plain View and ignores what follows; after a merge
# the sender's view is a MergeView, whose writeTo appends the subgroups.
ViewRspFormat = optional(ViewFormat)
MergeViewRspFormat = optional(MergeViewFormat)


def encode_view_rsp(view: View | None) -> bytes:
    """As Java writes it: a MergeView keeps its subgroups."""
    fmt = MergeViewRspFormat if isinstance(view, MergeView) else ViewRspFormat
    return encode(fmt, view, "VIEW_RSP view")


def decode_view_rsp(data: bytes) -> View | None:
    """A View, or a MergeView when the subgroup section Java appends follows it."""
    try:
        return decode_exact(ViewRspFormat, data, "VIEW_RSP view")  # type: ignore[no-any-return]
    except MalformedMessage as plain_error:
        try:
            return decode_exact(MergeViewRspFormat, data, "VIEW_RSP view")  # type: ignore[no-any-return]
        except MalformedMessage:
            raise plain_error from None
