"""Fragmentation: FragHeader (FRAG, FRAG2 and FRAG4, magic 52) and Frag3Header (FRAG3 only, magic 91).

FRAG4 extends FRAG2: its FragmentedMessage fragments carry a FragHeader whose original_type is the
type of the message that was cut (FRAG2 leaves it 0).
"""

from __future__ import annotations

from dataclasses import dataclass

from construct import Int16sb, Struct

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import JavaBool, VInt, VLong

# FragHeader.writeTo: long-compressed id, int-compressed frag_id and num_frags,
# boolean needs_deserialization, short original_type (a Message type id).
FragHeaderFormat = Struct(
    "id" / VLong,
    "frag_id" / VInt,
    "num_frags" / VInt,
    "needs_deserialization" / JavaBool,
    "original_type" / Int16sb,
)


@header(52, "FragHeader", FragHeaderFormat)
@dataclass(frozen=True, slots=True)
class FragHeader(JGroupsHeader):
    id: int
    frag_id: int
    num_frags: int
    needs_deserialization: bool = False
    original_type: int = 0


# Frag3Header.writeTo: int-compressed id, frag_id, num_frags, original_length, offset;
# boolean needs_deserialization.
Frag3HeaderFormat = Struct(
    "id" / VInt,
    "frag_id" / VInt,
    "num_frags" / VInt,
    "original_length" / VInt,
    "offset" / VInt,
    "needs_deserialization" / JavaBool,
)


@header(91, "Frag3Header", Frag3HeaderFormat)
@dataclass(frozen=True, slots=True)
class Frag3Header(JGroupsHeader):
    id: int
    frag_id: int
    num_frags: int
    original_length: int
    offset: int
    needs_deserialization: bool = False
