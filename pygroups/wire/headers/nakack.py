"""Multicast retransmission: NakAckHeader2 (NAKACK2, magic 78) and NakAckHeader (NAKACK3/4, magic 99).

Java reads nothing after an unknown type byte, so neither does this (`default=Pass`); the type
then stays a plain int.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Pass, Struct, Switch, this

from pygroups.address import Address
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import VLong

MSG, XMIT_REQ, XMIT_RSP, HIGHEST_SEQNO, ACK = 1, 2, 3, 4, 5

# NakAckHeader2.writeTo: byte type; MSG/XMIT_RSP/HIGHEST_SEQNO: long-compressed seqno;
# XMIT_REQ: Address original sender (the SeqnoList is the ObjectMessage payload).
NakAckHeader2Format = Struct(
    "type" / Int8sb,
    "seqno" / Switch(this.type, {MSG: VLong, XMIT_RSP: VLong, HIGHEST_SEQNO: VLong}, default=Pass),
    "sender" / Switch(this.type, {XMIT_REQ: AddressFormat}, default=Pass),
)

# NakAckHeader.writeTo: as NakAckHeader2, and ACK also carries a seqno.
NakAckHeaderFormat = Struct(
    "type" / Int8sb,
    "seqno"
    / Switch(this.type, {MSG: VLong, XMIT_RSP: VLong, HIGHEST_SEQNO: VLong, ACK: VLong}, default=Pass),
    "sender" / Switch(this.type, {XMIT_REQ: AddressFormat}, default=Pass),
)


@header(78, "NakAckHeader2", NakAckHeader2Format)
@dataclass(frozen=True, slots=True)
class NakAckHeader2(JGroupsHeader):
    """seqno is set for MSG/XMIT_RSP/HIGHEST_SEQNO, sender for XMIT_REQ; the other is None."""

    class Type(enum.IntEnum):
        MSG = 1
        XMIT_REQ = 2
        XMIT_RSP = 3
        HIGHEST_SEQNO = 4

    type: int
    seqno: int | None = None
    sender: Address | None = None


@header(99, "NakAckHeader", NakAckHeaderFormat)
@dataclass(frozen=True, slots=True)
class NakAckHeader(JGroupsHeader):
    """NAKACK3/NAKACK4 (5.4+): NakAckHeader2 plus ACK (receiver -> sender, highest delivered)."""

    class Type(enum.IntEnum):
        MSG = 1
        XMIT_REQ = 2
        XMIT_RSP = 3
        HIGHEST_SEQNO = 4
        ACK = 5

    type: int
    seqno: int | None = None
    sender: Address | None = None
