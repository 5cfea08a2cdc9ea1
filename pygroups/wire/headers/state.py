"""State transfer: STATE_TRANSFER's StateHeader (57) and StreamingStateTransfer's StateHeader (65).

Both carry the sender's digest (with members) inside the header; the state itself is the payload.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Struct

from pygroups.address import IpAddress
from pygroups.view import Digest
from pygroups.wire.addresses import IpAddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import optional
from pygroups.wire.views import DigestFormat

# STATE_TRANSFER.StateHeader.writeTo: byte type, Util.writeStreamable(Digest) (presence + members + seqnos).
StateHeaderFormat = Struct("type" / Int8sb, "digest" / optional(DigestFormat))


@header(57, "StateHeader", StateHeaderFormat)
@dataclass(frozen=True, slots=True)
class StateHeader(JGroupsHeader):
    """pbcast.STATE_TRANSFER: digest is set on STATE_RSP."""

    class Type(enum.IntEnum):
        STATE_REQ = 1
        STATE_RSP = 2
        STATE_EX = 3

    type: int
    digest: Digest | None = None


# StreamingStateTransfer.StateHeader.writeTo: byte type, Util.writeStreamable(Digest),
# Util.writeStreamable(IpAddress) (presence + IpAddress body without tag).
StreamingStateHeaderFormat = Struct(
    "type" / Int8sb,
    "digest" / optional(DigestFormat),
    "bind_addr" / optional(IpAddressFormat),
)


@header(65, "StateHeader", StreamingStateHeaderFormat)
@dataclass(frozen=True, slots=True)
class StreamingStateHeader(JGroupsHeader):
    """pbcast.STATE and STATE_SOCK; bind_addr is STATE_SOCK's server socket."""

    class Type(enum.IntEnum):
        STATE_REQ = 1
        STATE_RSP = 2
        STATE_PART = 3
        STATE_EOF = 4
        STATE_EX = 5

    type: int
    digest: Digest | None = None
    bind_addr: IpAddress | None = None
