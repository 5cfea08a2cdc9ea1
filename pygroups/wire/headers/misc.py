"""Small headers of less common protocols: each a few fixed fields, declared so frames that carry
them (conf/*.xml stacks, perf tools) stay decodable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from construct import Adapter, Array, Construct, If, Int8sb, Int32sb, Int64sb, Rebuild, Struct, len_, this

from pygroups.address import Address
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import BitsString, JavaBool, JavaUTF

# COMPRESS.CompressHeader.writeTo: int original_size, boolean needs_deserialization.
CompressHeaderFormat = Struct("original_size" / Int32sb, "needs_deserialization" / JavaBool)


@header(58, "CompressHeader", CompressHeaderFormat)
@dataclass(frozen=True, slots=True)
class CompressHeader(JGroupsHeader):
    original_size: int
    needs_deserialization: bool = False


# DAISYCHAIN.DaisyHeader.writeTo: Address original_sender.
DaisyHeaderFormat = Struct("original_sender" / AddressFormat)


@header(69, "DaisyHeader", DaisyHeaderFormat)
@dataclass(frozen=True, slots=True)
class DaisyHeader(JGroupsHeader):
    original_sender: Address | None


class _Pairs(Adapter):  # type: ignore[misc]
    """int size + size (key, value) pairs, none if size <= 0 (Java loops `i < size`) -> tuple of pairs.

    Java reads them into a HashMap; the tuple keeps wire order so bytes round-trip.
    """

    def _decode(self, obj: Any, context: Any, path: str) -> tuple[tuple[Any, Any], ...]:
        return tuple((e.key, e.value) for e in obj.entries or ())

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"entries": [{"key": k, "value": v} for k, v in obj]}


def int_counted_pairs(item: Construct) -> Construct:
    return _Pairs(
        Struct(
            "size" / Rebuild(Int32sb, len_(this.entries)),
            "entries" / If(this.size > 0, Array(this.size, Struct("key" / item, "value" / item))),
        )
    )


# STOMP.StompHeader.writeTo: int type ordinal (Type.values(): unknown fails), int size, size x (UTF, UTF).
StompHeaderFormat = Struct("type" / Int32sb, "headers" / int_counted_pairs(JavaUTF))


@header(71, "StompHeader", StompHeaderFormat)
@dataclass(frozen=True, slots=True)
class StompHeader(JGroupsHeader):

    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ('headers',)  # Java reads them into a HashMap
    class Type(enum.IntEnum):
        MESSAGE = 0
        ENDPOINT = 1

    ENUM_FIELDS = {"type": Type}

    type: Type
    headers: tuple[tuple[str, str], ...] = ()


# COUNTER.CounterHeader, BATCH2.Batch2Header and ProtPerfHeader write nothing.
EmptyFormat = Struct()


@header(74, "CounterHeader", EmptyFormat)
@dataclass(frozen=True, slots=True)
class CounterHeader(JGroupsHeader):
    pass


@header(96, "Batch2Header", EmptyFormat)
@dataclass(frozen=True, slots=True)
class Batch2Header(JGroupsHeader):
    pass


@header(98, "ProtPerfHeader", EmptyFormat)
@dataclass(frozen=True, slots=True)
class ProtPerfHeader(JGroupsHeader):
    pass


# MPerf.MPerfHeader.writeTo: byte type.
MPerfHeaderFormat = Struct("type" / Int8sb)


@header(77, "MPerfHeader", MPerfHeaderFormat)
@dataclass(frozen=True, slots=True)
class MPerfHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        DATA = 1
        START_SENDING = 2
        RESULT = 4
        CONFIG_CHANGE = 6
        CONFIG_REQ = 7
        CONFIG_RSP = 8
        EXIT = 9

    type: int


# PerfHeader.writeTo: long start_time (ns).
PerfHeaderFormat = Struct("start_time" / Int64sb)


@header(84, "PerfHeader", PerfHeaderFormat)
@dataclass(frozen=True, slots=True)
class PerfHeader(JGroupsHeader):
    start_time: int


_RTT_FIELDS = (
    "send_req",
    "serialize_req",
    "deserialize_req",
    "receive_req",
    "send_rsp",
    "serialize_rsp",
    "deserialize_rsp",
    "rsp_dispatched",
)
# RTTHeader.writeTo: eight longs (ns timestamps), in this order.
RTTHeaderFormat = Struct(*(name / Int64sb for name in _RTT_FIELDS))


@header(97, "RTTHeader", RTTHeaderFormat)
@dataclass(frozen=True, slots=True)
class RTTHeader(JGroupsHeader):
    send_req: int = 0
    serialize_req: int = 0
    deserialize_req: int = 0
    receive_req: int = 0
    send_rsp: int = 0
    serialize_rsp: int = 0
    deserialize_rsp: int = 0
    rsp_dispatched: int = 0


# InfoHeader.writeTo: int size, size x (Bits.writeString key, Bits.writeString value).
InfoHeaderFormat = Struct("info" / int_counted_pairs(BitsString))


@header(101, "InfoHeader", InfoHeaderFormat)
@dataclass(frozen=True, slots=True)
class InfoHeader(JGroupsHeader):

    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ('info',)  # Java reads them into a HashMap
    info: tuple[tuple[str | None, str | None], ...] = ()
