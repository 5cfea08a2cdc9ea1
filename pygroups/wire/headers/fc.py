"""Flow control: FcHeader (magic 59) under MFC (30) and UFC (31). Credits are a LongMessage value."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Struct

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader

# FcHeader.writeTo: byte type.
FcHeaderFormat = Struct("type" / Int8sb)


@header(59, "FcHeader", FcHeaderFormat)
@dataclass(frozen=True, slots=True)
class FcHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        REPLENISH = 1
        CREDIT_REQUEST = 2

    type: int
