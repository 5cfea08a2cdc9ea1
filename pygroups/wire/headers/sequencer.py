"""Total order: SEQUENCER's SequencerHeader (magic 61) and SEQUENCER2's SequencerHeader (magic 86)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Int16ub, Struct

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import JavaBool, VLong

# SEQUENCER.SequencerHeader.writeTo: byte type, long-compressed seqno, boolean flush_ack.
SequencerHeaderFormat = Struct("type" / Int8sb, "seqno" / VLong, "flush_ack" / JavaBool)


@header(61, "SequencerHeader", SequencerHeaderFormat)
@dataclass(frozen=True, slots=True)
class SequencerHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        FORWARD = 1
        FLUSH = 2
        BCAST = 3
        WRAPPED_BCAST = 4

    type: int
    seqno: int = -1
    flush_ack: bool = False


# SEQUENCER2.SequencerHeader.writeTo: byte type, long-compressed seqno, short num_seqnos
# (read back with readUnsignedShort).
Sequencer2HeaderFormat = Struct("type" / Int8sb, "seqno" / VLong, "num_seqnos" / Int16ub)


@header(86, "SequencerHeader", Sequencer2HeaderFormat)
@dataclass(frozen=True, slots=True)
class Sequencer2Header(JGroupsHeader):
    class Type(enum.IntEnum):
        REQUEST = 1
        BCAST = 2
        RESPONSE = 3

    type: int
    seqno: int = 0
    num_seqnos: int = 1
