"""construct declarations of JGroups' shared encodings: numbers, strings, addresses, views, digests.

This module is the normative description of these encodings (tier 1, see ARCHITECTURE §2.5).
Each declaration names the Java method it mirrors. Adapters sit at the leaves and turn
containers into the domain objects of pygroups.address / pygroups.view.
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
    Flag,
    GreedyBytes,
    If,
    IfThenElse,
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
from construct.core import stream_read, stream_write

from pygroups.address import UUID as UUIDAddr
from pygroups.address import (
    Address,
    ExtendedUUID,
    FlagsUUID,
    IpAddress,
    MillisAddress,
    SiteMaster,
    SiteUUID,
    java_equals,
)
from pygroups.view import Digest, MergeView, View, ViewId


class Fail(Construct):  # type: ignore[misc]
    """construct's Error with a message: the explicit default of every Switch (ARCHITECTURE 2.5)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> None:
        raise ExplicitError(self.message, path=path)

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> None:
        raise ExplicitError(self.message, path=path)

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError(self.message, path=path)


# ---------------------------------------------------------------- numbers (org.jgroups.util.Bits)


def _nbytes(v: int) -> int:
    """Bytes needed for v, with an arithmetic shift (so negatives need all of them)."""
    n = 0
    while n < 8 and (v >> (8 * n)) != 0:
        n += 1
    return n


class _Compressed(Construct):  # type: ignore[misc]
    """Bits.writeLongCompressed / writeIntCompressed: u8 n, then n little-endian bytes."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        n = stream_read(stream, 1, path)[0]
        if n == 0:
            return 0
        if n > self.width:
            raise ExplicitError(f"compressed number length {n} exceeds {self.width} bytes", path=path)
        v = int.from_bytes(stream_read(stream, n, path), "little")
        if n == self.width and v >> (8 * n - 1):
            v -= 1 << (8 * n)
        return v

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        lo, hi = -(1 << (8 * self.width - 1)), (1 << (8 * self.width - 1)) - 1
        if not lo <= obj <= hi:
            raise ExplicitError(f"{obj} does not fit {self.width} bytes", path=path)
        n = _nbytes(obj)
        n = self.width if obj < 0 else n
        stream_write(stream, bytes([n]) + (obj & ((1 << (8 * n)) - 1)).to_bytes(n, "little"), 1 + n, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


VLong = _Compressed(8)  # Bits.writeLongCompressed
VInt = _Compressed(4)  # Bits.writeIntCompressed


class _SeqPair(Construct):  # type: ignore[misc]
    """Bits.writeLongSequence(hd, hr): u8 (n1<<4|n2), n1 bytes of hd, n2 bytes of hr-hd (LE)."""

    def _parse(self, stream: Any, context: Any, path: str) -> tuple[int, int]:
        lens = stream_read(stream, 1, path)[0]
        if lens == 0:
            return (0, 0)
        n1, n2 = lens >> 4, lens & 0x0F
        if n1 > 8 or n2 > 8:
            raise ExplicitError(f"seqno pair length byte 0x{lens:02x} is invalid", path=path)
        hd = _le_signed(stream_read(stream, n1, path), n1)
        delta = _le_signed(stream_read(stream, n2, path), n2)
        return (hd, _wrap64(hd + delta))

    def _build(self, obj: tuple[int, int], stream: Any, context: Any, path: str) -> tuple[int, int]:
        hd, hr = obj
        if hd == 0 and hr == 0:
            stream_write(stream, b"\x00", 1, path)
            return obj
        delta = hr - hd
        if hd < 0 or delta < 0:
            raise ExplicitError(f"seqno pair needs hr >= hd >= 0, got ({hd}, {hr})", path=path)
        n1, n2 = max(1, _nbytes(hd)), max(1, _nbytes(delta))
        data = bytes([(n1 << 4) | n2]) + hd.to_bytes(n1, "little") + delta.to_bytes(n2, "little")
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


def _le_signed(b: bytes, n: int) -> int:
    v = int.from_bytes(b, "little")
    return v - (1 << 64) if n == 8 and v >> 63 else v


def _wrap64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


SeqPair = _SeqPair()

# Java's readBoolean: any non-zero byte is true.
JavaBool = Flag

# ---------------------------------------------------------------- strings


def encode_modified_utf8(s: str) -> bytes:
    """DataOutput.writeUTF's body: NUL as c0 80, non-BMP chars as two 3-byte surrogates."""
    out = []
    for ch in s:
        c = ord(ch)
        if c > 0xFFFF:
            c -= 0x10000
            out.append(chr(0xD800 + (c >> 10)))
            out.append(chr(0xDC00 + (c & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out).encode("utf-8", "surrogatepass").replace(b"\x00", b"\xc0\x80")


def decode_modified_utf8(b: bytes) -> str:
    """DataInput.readUTF's decoding, exactly: Java takes 1-, 2- and 3-byte forms (overlong ones too, and
    lone surrogates) and refuses 4-byte forms. Raises UnicodeError where Java throws."""
    if any(x >= 0xF0 for x in b):
        raise UnicodeError("4-byte sequences are not modified UTF-8")
    try:
        s = b.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        s = _decode_java_utf_slowly(b)  # overlong forms Python's codec refuses
    # surrogate pairs (each written as 3 bytes) become one character; lone surrogates stay, as in Java
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _decode_java_utf_slowly(b: bytes) -> str:
    units = []
    i, n = 0, len(b)
    while i < n:
        c = b[i]
        kind = c >> 4
        if kind < 8:
            units.append(c)
            i += 1
        elif kind in (12, 13):
            if i + 2 > n or b[i + 1] & 0xC0 != 0x80:
                raise UnicodeError(f"malformed 2-byte sequence at {i}")
            units.append(((c & 0x1F) << 6) | (b[i + 1] & 0x3F))
            i += 2
        elif kind == 14:
            if i + 3 > n or b[i + 1] & 0xC0 != 0x80 or b[i + 2] & 0xC0 != 0x80:
                raise UnicodeError(f"malformed 3-byte sequence at {i}")
            units.append(((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F))
            i += 3
        else:
            raise UnicodeError(f"byte 0x{c:02x} at {i} starts no modified UTF-8 sequence")
    return "".join(map(chr, units))


class _JavaUTF(Construct):  # type: ignore[misc]
    """DataOutput.writeUTF: u16 byte count, then modified UTF-8."""

    def _parse(self, stream: Any, context: Any, path: str) -> str:
        n = int.from_bytes(stream_read(stream, 2, path), "big")
        raw = stream_read(stream, n, path)
        try:
            return decode_modified_utf8(raw)
        except UnicodeError as e:
            raise ExplicitError(f"invalid modified UTF-8: {e}", path=path) from None

    def _build(self, obj: str, stream: Any, context: Any, path: str) -> str:
        raw = encode_modified_utf8(obj)
        if len(raw) > 0xFFFF:
            raise ExplicitError(f"string of {len(raw)} bytes is too long for writeUTF", path=path)
        stream_write(stream, len(raw).to_bytes(2, "big") + raw, 2 + len(raw), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


JavaUTF = _JavaUTF()


class _BitsString(Adapter):  # type: ignore[misc]
    """Bits.writeString: 1 + UTF, or 0 for null. Java reads anything but 1 as null."""

    def _decode(self, obj: Any, context: Any, path: str) -> str | None:
        return obj.value if obj.present == 1 else None

    def _encode(self, obj: str | None, context: Any, path: str) -> dict[str, Any]:
        return {"present": 0 if obj is None else 1, "value": obj}


BitsString = _BitsString(Struct("present" / Int8sb, "value" / If(this.present == 1, JavaUTF)))


class _AsciiString(Adapter):  # type: ignore[misc]
    """Bits.writeAsciiString (TpHeader, list header): i16 length (-1 null), one byte per char."""

    def _decode(self, obj: Any, context: Any, path: str) -> str | None:
        return None if obj.length < 0 else obj.data.decode("latin-1")

    def _encode(self, obj: str | None, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"length": -1, "data": None}
        try:
            data = obj.encode("latin-1")
        except UnicodeEncodeError:
            raise ExplicitError(f"cluster name {obj!r} is not ISO-8859-1", path=path) from None
        return {"length": len(data), "data": data}


AsciiString = _AsciiString(
    Struct("length" / Int16sb, "data" / If(this.length >= 0, Bytes(this.length)))
)


class _JavaString(Adapter):  # type: ignore[misc]
    """Util.writeString (inside ObjectWrapperPrimitive): bool ascii; i32 len + bytes, or UTF."""

    def _decode(self, obj: Any, context: Any, path: str) -> str:
        return obj.value.decode("latin-1") if obj.ascii else obj.value  # type: ignore[no-any-return]

    def _encode(self, obj: str, context: Any, path: str) -> dict[str, Any]:
        if all(ord(c) < 128 for c in obj):
            return {"ascii": True, "value": obj.encode("ascii")}
        return {"ascii": False, "value": obj}


JavaString = _JavaString(
    Struct(
        "ascii" / JavaBool,
        "value" / IfThenElse(this.ascii, Prefixed(Int32sb, GreedyBytes), JavaUTF),
    )
)

# ---------------------------------------------------------------- addresses (§4)

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

# ---------------------------------------------------------------- views and digests (§6.3)


class _ViewIdAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> ViewId:
        return ViewId(obj.creator, obj.id)

    def _encode(self, obj: ViewId, context: Any, path: str) -> dict[str, Any]:
        return {"creator": obj.creator, "id": obj.id}


# ViewId.writeTo: creator address, then the id as a compressed long.
ViewIdFormat = _ViewIdAdapter(Struct("creator" / AddressFormat, "id" / VLong))


class _Optional(Adapter):  # type: ignore[misc]
    """Util.writeStreamable / writeViewId: a bool presence byte, then the object."""

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        return obj.value if obj.present else None

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"present": obj is not None, "value": obj}


def optional(sub: Construct) -> Construct:
    return _Optional(Struct("present" / JavaBool, "value" / If(this.present, sub)))


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
    "AddressFormat",
    "AddressesFormat",
    "AsciiString",
    "BitsString",
    "DigestFormat",
    "DigestSeqnosFormat",
    "IpAddressFormat",
    "JavaBool",
    "JavaString",
    "JavaUTF",
    "MergeViewFormat",
    "OptViewIdFormat",
    "SeqPair",
    "UUIDFormat",
    "VInt",
    "VLong",
    "ViewFormat",
    "ViewIdFormat",
    "optional",
]
