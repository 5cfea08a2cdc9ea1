"""Unicast reliability: UnicastHeader3 (UNICAST3, magic 82) and UnicastHeader (UNICAST4, magic 100).

Both classes write the same layout. Fields a type does not carry are None; after an unknown type
Java reads nothing more (`default=Pass`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Int16sb, Pass, Struct, Switch, this

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import JavaBool, VInt, VLong

DATA, ACK, SEND_FIRST_SEQNO, XMIT_REQ, CLOSE = 0, 1, 2, 3, 4

# UnicastHeader3.writeTo / UnicastHeader.writeTo: byte type, then
#   DATA: long-compressed seqno, short conn_id, boolean first
#   ACK: long-compressed seqno, short conn_id, int-compressed timestamp
#   SEND_FIRST_SEQNO: int-compressed timestamp;  XMIT_REQ: nothing;  CLOSE: short conn_id
UnicastHeaderFormat = Struct(
    "type" / Int8sb,
    "seqno" / Switch(this.type, {DATA: VLong, ACK: VLong}, default=Pass),
    "conn_id" / Switch(this.type, {DATA: Int16sb, ACK: Int16sb, CLOSE: Int16sb}, default=Pass),
    "first" / Switch(this.type, {DATA: JavaBool}, default=Pass),
    "timestamp" / Switch(this.type, {ACK: VInt, SEND_FIRST_SEQNO: VInt}, default=Pass),
)


class UnicastType(enum.IntEnum):
    DATA = 0
    ACK = 1
    SEND_FIRST_SEQNO = 2
    XMIT_REQ = 3
    CLOSE = 4


@header(82, "UnicastHeader3", UnicastHeaderFormat)
@dataclass(frozen=True, slots=True)
class UnicastHeader3(JGroupsHeader):
    Type = UnicastType

    type: int
    seqno: int | None = None
    conn_id: int | None = None
    first: bool | None = None
    timestamp: int | None = None


@header(100, "UnicastHeader", UnicastHeaderFormat)
@dataclass(frozen=True, slots=True)
class UnicastHeader(JGroupsHeader):
    """UNICAST4 (5.4+): same wire layout as UnicastHeader3."""

    Type = UnicastType

    type: int
    seqno: int | None = None
    conn_id: int | None = None
    first: bool | None = None
    timestamp: int | None = None
