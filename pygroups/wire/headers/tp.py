"""TpHeader (TP, protocol id 57, magic 60): the cluster name on every message TP sends."""

from __future__ import annotations

from dataclasses import dataclass

from construct import If, Int8sb, Int32sb, Struct, this

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import AsciiString

# TpHeader.writeTo: AsciiString cluster, i8 rtt flag (5.3.8+), i32 index only if the flag is > 0.
TpHeaderFormat = Struct(
    "cluster" / AsciiString,
    "rtt_flag" / Int8sb,
    "rtt_index" / If(this.rtt_flag > 0, Int32sb),
)


@header(60, "TpHeader", TpHeaderFormat)
@dataclass(frozen=True, slots=True)
class TpHeader(JGroupsHeader):
    cluster: str | None
    rtt_flag: int = 0
    rtt_index: int | None = None
