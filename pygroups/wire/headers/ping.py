"""Discovery: PingHeader (magic 53, under the discovery protocol's own id) and the PingData payload.

GET_MBRS_REQ and GET_MBRS_RSP are BytesMessages whose array is a PingData list (Discovery.marshal).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from construct import Adapter, Array, Check, ExplicitError, Int8sb, Int32sb, Rebuild, Struct, len_, this

from pygroups.address import IpAddress
from pygroups.ping_data import PingData as PingData
from pygroups.wire.addresses import AddressesFormat, AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader, decode_exact, encode
from pygroups.wire.javatypes import BitsString, JavaBool

# PingHeader.writeTo: byte type, Bits.writeString cluster_name, boolean initial_discovery.
PingHeaderFormat = Struct(
    "type" / Int8sb,
    "cluster_name" / BitsString,
    "initial_discovery" / JavaBool,
)


@header(53, "PingHeader", PingHeaderFormat)
@dataclass(frozen=True, slots=True)
class PingHeader(JGroupsHeader):
    """cluster_name is set in requests only; initial_discovery marks a joiner's first round."""

    class Type(enum.IntEnum):
        GET_MBRS_REQ = 1
        GET_MBRS_RSP = 2

    type: int
    cluster_name: str | None = None
    initial_discovery: bool = False


# PingData flag bits (PingData.is_server / is_coord).
IS_SERVER, IS_COORD = 0x01, 0x02


class _PhysicalAddress(Adapter):  # type: ignore[misc]
    """PingData/MergeHeader cast the address to PhysicalAddress: anything but an IpAddress fails."""

    def _decode(self, obj: Any, context: Any, path: str) -> IpAddress | None:
        if obj is not None and not isinstance(obj, IpAddress):
            raise ExplicitError(f"physical address is a {type(obj).__name__}, not an IpAddress", path=path)
        return obj  # type: ignore[no-any-return]

    def _encode(self, obj: Any, context: Any, path: str) -> Any:
        return self._decode(obj, context, path)


# Util.writeAddress of a PhysicalAddress field (null or an IpAddress).
PhysicalAddressFormat = _PhysicalAddress(AddressFormat)


class _PingDataAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> PingData:
        mbrs = None if obj.mbrs is None else tuple(obj.mbrs)
        return PingData(
            obj.sender,
            bool(obj.flags & IS_SERVER),
            bool(obj.flags & IS_COORD),
            obj.logical_name,
            obj.physical_addr,
            mbrs,
        )

    def _encode(self, obj: PingData, context: Any, path: str) -> dict[str, Any]:
        flags = (IS_SERVER if obj.is_server else 0) | (IS_COORD if obj.is_coord else 0)
        return {
            "sender": obj.sender,
            "flags": flags,
            "logical_name": obj.logical_name,
            "physical_addr": obj.physical_addr,
            "mbrs": obj.mbrs,
        }


# PingData.writeTo: Address sender, byte flags, Bits.writeString logical_name,
# Address physical_addr, Util.writeAddresses mbrs (i16 count, -1 = null).
PingDataFormat = _PingDataAdapter(
    Struct(
        "sender" / AddressFormat,
        "flags" / Int8sb,
        "logical_name" / BitsString,
        "physical_addr" / PhysicalAddressFormat,
        "mbrs" / AddressesFormat,
    )
)


class _ListAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> tuple[PingData, ...]:
        return tuple(obj["data"])

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"data": list(obj)}


# Discovery.marshal(List<PingData>) (5.3.2+): i32 count, then count PingData. Java's deserialize
# fails on a negative count (new ArrayList(-n)) and returns null for 0: both mean "no data".
PingDataListFormat = _ListAdapter(
    Struct(
        "count" / Rebuild(Int32sb, len_(this.data)),
        Check(this.count >= 0),
        "data" / Array(this.count, PingDataFormat),
    )
)


def encode_ping_data_list(items: tuple[PingData, ...] | list[PingData]) -> bytes:
    """The array of a GET_MBRS_REQ (one entry) or GET_MBRS_RSP."""
    return encode(PingDataListFormat, items, "PingData list")


def decode_ping_data_list(data: bytes) -> tuple[PingData, ...]:
    """Raises MalformedMessage; Java drops such data (and still handles the message without it)."""
    return decode_exact(PingDataListFormat, data, "PingData list")  # type: ignore[no-any-return]
