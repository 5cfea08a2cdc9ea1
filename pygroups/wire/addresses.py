"""construct declarations of JGroups' address formats (jgroups-wire.md §4): Util.writeAddress and its bodies.

UUID, ExtendedUUID, FlagsUUID, SiteUUID/SiteMaster, IpAddress and MillisAddress, the tag/magic switch
of Util.readAddress and address lists. This module is the normative description of these encodings
(tier 1, see ARCHITECTURE §2.5); each declaration names the Java method it mirrors, and adapters at
the leaves turn containers into the domain objects of `pygroups.address`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from construct import (
    Adapter,
    Array,
    Bytes,
    Computed,
    Construct,
    ExplicitError,
    GreedyBytes,
    If,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int64sb,
    Prefixed,
    Struct,
    Switch,
    this,
)

from pygroups.address import UUID as UUIDAddr
from pygroups.address import (
    Address,
    ExtendedUUID,
    FlagsUUID,
    IpAddress,
    MillisAddress,
    SiteMaster,
    SiteUUID,
)
from pygroups.wire.javatypes import BitsString, Fail, VInt

ADDR_NULL, ADDR_UUID, ADDR_SITE_UUID, ADDR_SITE_MASTER, ADDR_IP = 0x01, 0x02, 0x04, 0x08, 0x10
MAGIC_IP_ADDRESS, MAGIC_UUID, MAGIC_EXTENDED_UUID, MAGIC_SITE_UUID, MAGIC_SITE_MASTER, MAGIC_FLAGS_UUID = (
    1, 11, 12, 13, 14, 19
)
MAGIC_MILLIS_ADDRESS = 22


class _UUIDAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> UUIDAddr:
        return UUIDAddr(obj.msb, obj.lsb)

    def _encode(self, obj: UUIDAddr, context: Any, path: str) -> dict[str, int]:
        return {"lsb": obj.lsb, "msb": obj.msb}


# UUID.writeTo: least significant half first.
UUIDFormat = _UUIDAdapter(Struct("lsb" / Int64sb, "msb" / Int64sb))

# ExtendedUUID.write: u8 count, then key/value pairs with u8 lengths (0 = null value).
_KeysFormat = Struct(
    "count" / Int8ub,
    "entries"
    / Array(
        this.count,
        Struct("key" / Prefixed(Int8ub, GreedyBytes), "value" / Prefixed(Int8ub, GreedyBytes)),
    ),
)


class _ExtendedAdapter(Adapter):  # type: ignore[misc]
    """FlagsUUID / ExtendedUUID / SiteUUID / SiteMaster bodies, chosen by self.kind."""

    def __init__(self, subcon: Construct, kind: type[UUIDAddr]) -> None:
        super().__init__(subcon)
        self.kind = kind

    def _decode(self, obj: Any, context: Any, path: str) -> UUIDAddr:
        if self.kind is FlagsUUID:
            return FlagsUUID(obj.msb, obj.lsb, obj.flags)
        keys = tuple((bytes(e.key), bytes(e.value) or None) for e in obj["map"].entries)
        if self.kind is ExtendedUUID:
            return ExtendedUUID(obj.msb, obj.lsb, obj.flags, keys)
        return self.kind(obj.msb, obj.lsb, obj.flags, keys, obj.site, obj.name)  # type: ignore[call-arg]

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        out: dict[str, Any] = {"lsb": obj.lsb, "msb": obj.msb, "flags": obj.flags}
        if self.kind is not FlagsUUID:
            entries = [{"key": k, "value": v or b""} for k, v in obj.keys]
            out["map"] = {"count": len(entries), "entries": entries}
        if self.kind in (SiteUUID, SiteMaster):
            out["site"], out["name"] = obj.site, obj.name
        return out


_FlagsBody = Struct("lsb" / Int64sb, "msb" / Int64sb, "flags" / VInt)
FlagsUUIDFormat = _ExtendedAdapter(_FlagsBody, FlagsUUID)
ExtendedUUIDFormat = _ExtendedAdapter(
    Struct("lsb" / Int64sb, "msb" / Int64sb, "flags" / VInt, "map" / _KeysFormat), ExtendedUUID
)
_SiteBody = Struct(
    "lsb" / Int64sb, "msb" / Int64sb, "flags" / VInt, "map" / _KeysFormat,
    "site" / BitsString, "name" / BitsString,
)
SiteUUIDFormat = _ExtendedAdapter(_SiteBody, SiteUUID)
SiteMasterFormat = _ExtendedAdapter(_SiteBody, SiteMaster)


class _IpAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> IpAddress:
        if obj.length <= 0:
            return IpAddress(None, obj.port)
        ip = ipaddress.ip_address(bytes(obj.ip))
        return IpAddress(ip, obj.port, obj.scope or 0)

    def _encode(self, obj: IpAddress, context: Any, path: str) -> dict[str, Any]:
        if obj.ip is None:
            return {"length": 0, "ip": None, "scope": None, "port": obj.port}
        packed = obj.ip.packed
        return {"length": len(packed), "ip": packed, "scope": obj.scope_id, "port": obj.port}


# IpAddress.writeTo: u8 len (0, 4 or 16), address, [i32 scope id if 16], u16 port.
IpAddressFormat = _IpAdapter(
    Struct(
        "length" / Int8sb,
        # IpAddress.readFrom: a length <= 0 (read as a signed byte) means "no IP".
        "ip"
        / Switch(
            lambda ctx: max(ctx.length, 0),
            {0: Computed(None), 4: Bytes(4), 16: Bytes(16)},
            default=Fail("IpAddress length must be 0, 4 or 16"),
        ),
        "scope" / If(this.length == 16, Int32sb),
        "port" / Int16ub,
    )
)


class _MillisAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: int, context: Any, path: str) -> MillisAddress:
        return MillisAddress(obj)

    def _encode(self, obj: MillisAddress, context: Any, path: str) -> int:
        return obj.millis


# MillisAddress.writeTo: one i64.
MillisAddressFormat = _MillisAdapter(Int64sb)


def _address_kind(tag: int) -> str:
    """Util.readAddress tests the tag bits in this order."""
    if tag & ADDR_NULL:
        return "null"
    if tag & ADDR_UUID:
        return "uuid"
    if tag & ADDR_SITE_UUID:
        return "site_uuid"
    if tag & ADDR_SITE_MASTER:
        return "site_master"
    if tag & ADDR_IP:
        return "ip"
    return "magic"


_BY_MAGIC = {
    MAGIC_IP_ADDRESS: IpAddressFormat,
    MAGIC_UUID: UUIDFormat,
    MAGIC_EXTENDED_UUID: ExtendedUUIDFormat,
    MAGIC_FLAGS_UUID: FlagsUUIDFormat,
    MAGIC_SITE_UUID: SiteUUIDFormat,
    MAGIC_SITE_MASTER: SiteMasterFormat,
    MAGIC_MILLIS_ADDRESS: MillisAddressFormat,
}


class _AddressAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> Address | None:
        return None if obj.kind == "null" else obj.body  # type: ignore[no-any-return]

    def _encode(self, obj: Address | None, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"tag": ADDR_NULL, "magic": None, "body": None}
        tag, magic = address_tag(obj)
        return {"tag": tag, "magic": magic, "body": obj}


def address_tag(addr: Address) -> tuple[int, int | None]:
    """The (tag byte, magic) Util.writeAddress uses for this address's exact class."""
    cls = type(addr)
    if cls is UUIDAddr:
        return ADDR_UUID, None
    if cls is SiteUUID:
        return ADDR_SITE_UUID, None
    if cls is SiteMaster:
        return ADDR_SITE_MASTER, None
    if cls is IpAddress:
        return ADDR_IP, None
    if cls is ExtendedUUID:
        return 0, MAGIC_EXTENDED_UUID
    if cls is FlagsUUID:
        return 0, MAGIC_FLAGS_UUID
    if cls is MillisAddress:
        return 0, MAGIC_MILLIS_ADDRESS
    raise ExplicitError(f"no wire form for address class {cls.__name__}")


# Util.writeAddress / readAddress (§4.1).
AddressFormat = _AddressAdapter(
    Struct(
        "tag" / Int8ub,
        "kind" / Computed(lambda ctx: _address_kind(ctx.tag)),
        "magic" / If(this.kind == "magic", Int16sb),
        "body"
        / Switch(
            this.kind,
            {
                "null": Computed(None),
                "uuid": UUIDFormat,
                "site_uuid": SiteUUIDFormat,
                "site_master": SiteMasterFormat,
                "ip": IpAddressFormat,
                "magic": Switch(
                    this.magic, _BY_MAGIC, default=Fail("unknown address magic")
                ),
            },
            default=Fail("unknown address tag"),
        ),
    )
)


class _Addresses(Adapter):  # type: ignore[misc]
    """Util.writeAddresses: i16 count (-1 = null), then tagged addresses."""

    def _decode(self, obj: Any, context: Any, path: str) -> tuple[Address | None, ...] | None:
        return None if obj.count < 0 else tuple(obj.addrs)

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"count": -1, "addrs": None}
        return {"count": len(obj), "addrs": list(obj)}


AddressesFormat = _Addresses(
    Struct("count" / Int16sb, "addrs" / If(this.count >= 0, Array(this.count, AddressFormat)))
)

__all__ = [
    "ADDR_IP",
    "ADDR_NULL",
    "ADDR_SITE_MASTER",
    "ADDR_SITE_UUID",
    "ADDR_UUID",
    "AddressFormat",
    "AddressesFormat",
    "ExtendedUUIDFormat",
    "FlagsUUIDFormat",
    "IpAddressFormat",
    "MillisAddressFormat",
    "SiteMasterFormat",
    "SiteUUIDFormat",
    "UUIDFormat",
    "address_tag",
]
