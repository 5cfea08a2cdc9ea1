"""STABLE: StableHeader (protocol id 13, magic 56). The digest travels as the ObjectMessage payload."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Struct

from pygroups.view import ViewId
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.views import OptViewIdFormat

# StableHeader.writeTo: byte type, Util.writeViewId view_id (bool presence + ViewId).
StableHeaderFormat = Struct("type" / Int8sb, "view_id" / OptViewIdFormat)


@header(56, "StableHeader", StableHeaderFormat)
@dataclass(frozen=True, slots=True)
class StableHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        STABLE_GOSSIP = 1
        STABILITY = 2

    type: int
    view_id: ViewId | None = None
