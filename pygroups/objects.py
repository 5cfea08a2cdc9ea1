"""Objects an ObjectMessage can carry (Util.writeGenericStreamable and the object wrappers).

Java wraps an application object as ObjectWrapperPrimitive (primitives, String, byte[]) or
ObjectWrapperSerializable (Java serialization, kept as opaque bytes here). JGroups' own control
messages carry SeqnoList and Digest. Anything else stays opaque: it is never a crash.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class PrimitiveTag(enum.IntEnum):
    """ObjectWrapperPrimitive type tags (Util.TYPE_*): odd = primitive, even = boxed object."""

    NULL = 0
    BOOLEAN = 1
    BOOLEAN_OBJ = 2
    BYTE = 3
    BYTE_OBJ = 4
    CHAR = 5
    CHAR_OBJ = 6
    DOUBLE = 7
    DOUBLE_OBJ = 8
    FLOAT = 9
    FLOAT_OBJ = 10
    INT = 11
    INT_OBJ = 12
    LONG = 13
    LONG_OBJ = 14
    SHORT = 15
    SHORT_OBJ = 16
    STRING = 17
    BYTEARRAY = 18
    CLASS = 19


@dataclass(frozen=True, slots=True)
class JavaPrimitive:
    """A primitive, String or byte[] as ObjectWrapperPrimitive writes it (magic 21).

    `value` is bool/int/str/bytes/None; float and double are kept as their raw IEEE bits (int)
    so they round-trip exactly: use `as_float()` to read them.
    """

    tag: int
    value: Any

    MAGIC = 21


@dataclass(frozen=True, slots=True)
class JavaSerializable:
    """An object Java serialized (ObjectWrapperSerializable, magic 20): opaque bytes or None."""

    data: bytes | None

    MAGIC = 20


@dataclass(frozen=True, slots=True)
class SeqnoList:
    """util.SeqnoList (magic 15): a bitset of `size` bits starting at seqno `offset`.

    The raw 64-bit words are kept so any bytes Java wrote round-trip exactly; bit i of word
    i >> 6 (from the least significant bit) set means seqno offset + i is wanted.
    """

    size: int
    offset: int
    words: tuple[int, ...]

    MAGIC = 15

    @classmethod
    def of(cls, seqnos: list[int] | tuple[int, ...]) -> SeqnoList:
        s = sorted(set(seqnos))
        if not s:
            return cls(0, 0, ())
        size = s[-1] - s[0] + 1
        words = [0] * (((size - 1) >> 6) + 1)
        for n in s:
            i = n - s[0]
            words[i >> 6] |= 1 << (i & 63)
        return cls(size, s[0], tuple(w - (1 << 64) if w >> 63 else w for w in words))

    @property
    def seqnos(self) -> tuple[int, ...]:
        out = []
        for wi, w in enumerate(self.words):
            w &= (1 << 64) - 1
            while w:
                low = w & -w
                i = (wi << 6) + low.bit_length() - 1
                if i < self.size:
                    out.append(self.offset + i)
                w ^= low
        return tuple(out)


@dataclass(frozen=True, slots=True)
class OpaqueObject:
    """An object of a class pygroups does not know; `data` is the rest of the message."""

    magic: int
    class_name: str | None
    data: bytes
