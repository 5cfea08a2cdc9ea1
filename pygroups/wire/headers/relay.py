"""RELAY2/RELAY3: RelayHeader (magic 80), used between sites (Infinispan cross-site replication).

It embeds a header list (Headers.writeHeaders) of the original message, so its body refers back
to the header registry; nesting is bounded so hostile input cannot exhaust the Python stack.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from construct import (
    Adapter,
    Array,
    Check,
    Construct,
    Container,
    ExplicitError,
    If,
    Int8sb,
    Int16sb,
    Int32sb,
    Rebuild,
    Struct,
    len_,
    this,
)
from construct.core import stream_read, stream_write

from pygroups.address import Address
from pygroups.message import Header
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import HEADERS_BY_MAGIC, header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.headers.jsonform import header_json
from pygroups.wire.javatypes import BitsString, JavaBool

MAX_NESTING = 8
_DEPTH_KEY = "_header_nesting"


def _depth(context: Any) -> int:
    while context is not None:
        if _DEPTH_KEY in context:
            return int(context[_DEPTH_KEY])
        context = context.get("_")
    return 0


def _child(context: Any, depth: int) -> Container:
    return Container(
        _=context,
        _params=context._params,
        _root=context.get("_root"),
        _parsing=context._parsing,
        _building=context._building,
        _sizing=context._sizing,
        **{_DEPTH_KEY: depth},
    )


class _NestedHeaders(Construct):  # type: ignore[misc]
    """Headers.writeHeaders: short count, then per header short protocol id, short magic, body."""

    def _parse(self, stream: Any, context: Any, path: str) -> tuple[tuple[int, Header], ...]:
        depth = _depth(context) + 1
        if depth > MAX_NESTING:
            raise ExplicitError(f"headers nested more than {MAX_NESTING} deep", path=path)
        count = int.from_bytes(stream_read(stream, 2, path), "big", signed=True)
        if count < 0:
            raise ExplicitError(f"negative header count {count}", path=path)
        out = []
        for _ in range(count):
            prot_id = int.from_bytes(stream_read(stream, 2, path), "big", signed=True)
            magic = int.from_bytes(stream_read(stream, 2, path), "big", signed=True)
            cls = HEADERS_BY_MAGIC.get(magic)
            if cls is None:
                raise ExplicitError(f"unknown header magic {magic}", path=path)
            hdr = cls.FORMAT._parsereport(stream, _child(context, depth), f"{path} -> {cls.__name__}")  # type: ignore[attr-defined]
            out.append((prot_id, hdr))
        return tuple(out)

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> Any:
        stream_write(stream, len(obj).to_bytes(2, "big", signed=True), 2, path)
        for prot_id, hdr in obj:
            stream_write(stream, int(prot_id).to_bytes(2, "big", signed=True), 2, path)
            stream_write(stream, type(hdr).MAGIC.to_bytes(2, "big", signed=True), 2, path)
            type(hdr).FORMAT._build(hdr, stream, _child(context, 0), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


NestedHeadersFormat = _NestedHeaders()


class _Strings(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> tuple[str | None, ...]:
        return tuple(obj["names"] or ())

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"names": list(obj)}


# RelayHeader site sets: int size, then size Bits.writeString (none if size <= 0; Java reads a HashSet).
SiteSetFormat = _Strings(
    Struct(
        "count" / Rebuild(Int32sb, len_(this.names)),
        "names" / If(this.count > 0, Array(this.count, BitsString)),
    )
)

SITES_UP, SITES_DOWN = 4, 5

# RelayHeader.writeTo: byte type, boolean return_entire_cache, Address final_dest, Address original_sender,
# sites, visited_sites, Headers.writeHeaders original_hdrs, short original_flags. readFrom fails
# (assertNonNullSites) on SITES_UP/SITES_DOWN without sites.
RelayHeaderFormat = Struct(
    "type" / Int8sb,
    "return_entire_cache" / JavaBool,
    "final_dest" / AddressFormat,
    "original_sender" / AddressFormat,
    "sites" / SiteSetFormat,
    Check(lambda ctx: ctx.type not in (SITES_UP, SITES_DOWN) or len(ctx.sites) > 0),
    "visited_sites" / SiteSetFormat,
    "original_hdrs" / NestedHeadersFormat,
    "original_flags" / Int16sb,
)


@header(80, "RelayHeader", RelayHeaderFormat)
@dataclass(frozen=True, slots=True)
class RelayHeader(JGroupsHeader):
    """original_hdrs: (protocol id, header) pairs of the relayed message."""
    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ('sites', 'visited_sites')  # Java reads them into HashSets


    class Type(enum.IntEnum):
        DATA = 1
        SITE_UNREACHABLE = 2
        MBR_UNREACHABLE = 3
        SITES_UP = 4
        SITES_DOWN = 5
        TOPO_REQ = 6
        TOPO_RSP = 7

    type: int
    return_entire_cache: bool = False
    final_dest: Address | None = None
    original_sender: Address | None = None
    sites: tuple[str | None, ...] = ()
    visited_sites: tuple[str | None, ...] = ()
    original_hdrs: tuple[tuple[int, Header], ...] = ()
    original_flags: int = 0

    def to_json(self) -> dict[str, Any]:
        out = super(RelayHeader, self).to_json()
        out["original_hdrs"] = [
            {"protocol_id": pid, "magic": type(h).MAGIC, "header": header_json(h)}
            for pid, h in self.original_hdrs
        ]
        return out
