"""RSVP: RsvpHeader (protocol id 39, magic 76) on messages flagged RSVP and on their acks."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Int16sb, Struct

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader

# RSVP.RsvpHeader.writeTo: byte type, short id.
RsvpHeaderFormat = Struct("type" / Int8sb, "id" / Int16sb)


@header(76, "RsvpHeader", RsvpHeaderFormat)
@dataclass(frozen=True, slots=True)
class RsvpHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        REQ = 1
        REQ_ONLY = 2
        RSP = 3

    type: int
    id: int = 0
