"""construct declarations of the Java and org.jgroups.util.Bits encodings every other wire format is built from.

Compressed numbers, seqno pairs, booleans, modified UTF-8 and the three string forms JGroups writes,
plus the optional-object wrapper of Util.writeStreamable. This module is the normative description of
these encodings (tier 1, see ARCHITECTURE §2.5); each declaration names the Java method it mirrors.
Addresses are declared in `pygroups.wire.addresses`, views and digests in `pygroups.wire.views`.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Adapter,
    Bytes,
    Construct,
    ExplicitError,
    Flag,
    GreedyBytes,
    If,
    IfThenElse,
    Int8sb,
    Int16sb,
    Int32sb,
    Prefixed,
    Struct,
    this,
)
from construct.core import stream_read, stream_write


class Fail(Construct):  # type: ignore[misc]
    """construct's Error with a message: the explicit default of every Switch (ARCHITECTURE 2.5)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.flagbuildnone = True

    def _parse(self, stream: Any, context: Any, path: str) -> None:
        raise ExplicitError(self.message, path=path)

    def _build(self, obj: Any, stream: Any, context: Any, path: str) -> None:
        raise ExplicitError(self.message, path=path)

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError(self.message, path=path)


# ---------------------------------------------------------------- numbers (org.jgroups.util.Bits)


def _nbytes(v: int) -> int:
    """Bytes needed for v, with an arithmetic shift (so negatives need all of them)."""
    n = 0
    while n < 8 and (v >> (8 * n)) != 0:
        n += 1
    return n


class _Compressed(Construct):  # type: ignore[misc]
    """Bits.writeLongCompressed / writeIntCompressed: u8 n, then n little-endian bytes."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.width = width

    def _parse(self, stream: Any, context: Any, path: str) -> int:
        n = stream_read(stream, 1, path)[0]
        if n == 0:
            return 0
        if n > self.width:
            raise ExplicitError(f"compressed number length {n} exceeds {self.width} bytes", path=path)
        v = int.from_bytes(stream_read(stream, n, path), "little")
        if n == self.width and v >> (8 * n - 1):
            v -= 1 << (8 * n)
        return v

    def _build(self, obj: int, stream: Any, context: Any, path: str) -> int:
        lo, hi = -(1 << (8 * self.width - 1)), (1 << (8 * self.width - 1)) - 1
        if not lo <= obj <= hi:
            raise ExplicitError(f"{obj} does not fit {self.width} bytes", path=path)
        n = _nbytes(obj)
        n = self.width if obj < 0 else n
        stream_write(stream, bytes([n]) + (obj & ((1 << (8 * n)) - 1)).to_bytes(n, "little"), 1 + n, path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


VLong = _Compressed(8)  # Bits.writeLongCompressed
VInt = _Compressed(4)  # Bits.writeIntCompressed


class _SeqPair(Construct):  # type: ignore[misc]
    """Bits.writeLongSequence(hd, hr): u8 (n1<<4|n2), n1 bytes of hd, n2 bytes of hr-hd (LE)."""

    def _parse(self, stream: Any, context: Any, path: str) -> tuple[int, int]:
        lens = stream_read(stream, 1, path)[0]
        if lens == 0:
            return (0, 0)
        n1, n2 = lens >> 4, lens & 0x0F
        if n1 > 8 or n2 > 8:
            raise ExplicitError(f"seqno pair length byte 0x{lens:02x} is invalid", path=path)
        hd = _le_signed(stream_read(stream, n1, path), n1)
        delta = _le_signed(stream_read(stream, n2, path), n2)
        return (hd, _wrap64(hd + delta))

    def _build(self, obj: tuple[int, int], stream: Any, context: Any, path: str) -> tuple[int, int]:
        hd, hr = obj
        if hd == 0 and hr == 0:
            stream_write(stream, b"\x00", 1, path)
            return obj
        delta = hr - hd
        if hd < 0 or delta < 0:
            raise ExplicitError(f"seqno pair needs hr >= hd >= 0, got ({hd}, {hr})", path=path)
        n1, n2 = max(1, _nbytes(hd)), max(1, _nbytes(delta))
        data = bytes([(n1 << 4) | n2]) + hd.to_bytes(n1, "little") + delta.to_bytes(n2, "little")
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


def _le_signed(b: bytes, n: int) -> int:
    v = int.from_bytes(b, "little")
    return v - (1 << 64) if n == 8 and v >> 63 else v


def _wrap64(v: int) -> int:
    v &= (1 << 64) - 1
    return v - (1 << 64) if v >> 63 else v


SeqPair = _SeqPair()

# Java's readBoolean: any non-zero byte is true.
JavaBool = Flag

# ---------------------------------------------------------------- strings


def encode_modified_utf8(s: str) -> bytes:
    """DataOutput.writeUTF's body: NUL as c0 80, non-BMP chars as two 3-byte surrogates."""
    out = []
    for ch in s:
        c = ord(ch)
        if c > 0xFFFF:
            c -= 0x10000
            out.append(chr(0xD800 + (c >> 10)))
            out.append(chr(0xDC00 + (c & 0x3FF)))
        else:
            out.append(ch)
    return "".join(out).encode("utf-8", "surrogatepass").replace(b"\x00", b"\xc0\x80")


def decode_modified_utf8(b: bytes) -> str:
    """DataInput.readUTF's decoding, exactly: Java takes 1-, 2- and 3-byte forms (overlong ones too, and
    lone surrogates) and refuses 4-byte forms. Raises UnicodeError where Java throws."""
    if any(x >= 0xF0 for x in b):
        raise UnicodeError("4-byte sequences are not modified UTF-8")
    try:
        s = b.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        s = _decode_java_utf_slowly(b)  # overlong forms Python's codec refuses
    # surrogate pairs (each written as 3 bytes) become one character; lone surrogates stay, as in Java
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _decode_java_utf_slowly(b: bytes) -> str:
    units = []
    i, n = 0, len(b)
    while i < n:
        c = b[i]
        kind = c >> 4
        if kind < 8:
            units.append(c)
            i += 1
        elif kind in (12, 13):
            if i + 2 > n or b[i + 1] & 0xC0 != 0x80:
                raise UnicodeError(f"malformed 2-byte sequence at {i}")
            units.append(((c & 0x1F) << 6) | (b[i + 1] & 0x3F))
            i += 2
        elif kind == 14:
            if i + 3 > n or b[i + 1] & 0xC0 != 0x80 or b[i + 2] & 0xC0 != 0x80:
                raise UnicodeError(f"malformed 3-byte sequence at {i}")
            units.append(((c & 0x0F) << 12) | ((b[i + 1] & 0x3F) << 6) | (b[i + 2] & 0x3F))
            i += 3
        else:
            raise UnicodeError(f"byte 0x{c:02x} at {i} starts no modified UTF-8 sequence")
    return "".join(map(chr, units))


class _JavaUTF(Construct):  # type: ignore[misc]
    """DataOutput.writeUTF: u16 byte count, then modified UTF-8."""

    def _parse(self, stream: Any, context: Any, path: str) -> str:
        n = int.from_bytes(stream_read(stream, 2, path), "big")
        raw = stream_read(stream, n, path)
        try:
            return decode_modified_utf8(raw)
        except UnicodeError as e:
            raise ExplicitError(f"invalid modified UTF-8: {e}", path=path) from None

    def _build(self, obj: str, stream: Any, context: Any, path: str) -> str:
        raw = encode_modified_utf8(obj)
        if len(raw) > 0xFFFF:
            raise ExplicitError(f"string of {len(raw)} bytes is too long for writeUTF", path=path)
        stream_write(stream, len(raw).to_bytes(2, "big") + raw, 2 + len(raw), path)
        return obj

    def _sizeof(self, context: Any, path: str) -> int:
        raise ExplicitError("variable size", path=path)


JavaUTF = _JavaUTF()


class _BitsString(Adapter):  # type: ignore[misc]
    """Bits.writeString: 1 + UTF, or 0 for null. Java reads anything but 1 as null."""

    def _decode(self, obj: Any, context: Any, path: str) -> str | None:
        return obj.value if obj.present == 1 else None

    def _encode(self, obj: str | None, context: Any, path: str) -> dict[str, Any]:
        return {"present": 0 if obj is None else 1, "value": obj}


BitsString = _BitsString(Struct("present" / Int8sb, "value" / If(this.present == 1, JavaUTF)))


class _AsciiString(Adapter):  # type: ignore[misc]
    """Bits.writeAsciiString (TpHeader, list header): i16 length (-1 null), one byte per char."""

    def _decode(self, obj: Any, context: Any, path: str) -> str | None:
        return None if obj.length < 0 else obj.data.decode("latin-1")

    def _encode(self, obj: str | None, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"length": -1, "data": None}
        try:
            data = obj.encode("latin-1")
        except UnicodeEncodeError:
            raise ExplicitError(f"cluster name {obj!r} is not ISO-8859-1", path=path) from None
        return {"length": len(data), "data": data}


AsciiString = _AsciiString(
    Struct("length" / Int16sb, "data" / If(this.length >= 0, Bytes(this.length)))
)


class _JavaString(Adapter):  # type: ignore[misc]
    """Util.writeString (inside ObjectWrapperPrimitive): bool ascii; i32 len + bytes, or UTF."""

    def _decode(self, obj: Any, context: Any, path: str) -> str:
        return obj.value.decode("latin-1") if obj.ascii else obj.value  # type: ignore[no-any-return]

    def _encode(self, obj: str, context: Any, path: str) -> dict[str, Any]:
        if all(ord(c) < 128 for c in obj):
            return {"ascii": True, "value": obj.encode("ascii")}
        return {"ascii": False, "value": obj}


JavaString = _JavaString(
    Struct(
        "ascii" / JavaBool,
        "value" / IfThenElse(this.ascii, Prefixed(Int32sb, GreedyBytes), JavaUTF),
    )
)

# ---------------------------------------------------------------- optional objects (org.jgroups.util.Util)


class _Optional(Adapter):  # type: ignore[misc]
    """Util.writeStreamable / writeViewId: a bool presence byte, then the object."""

    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        return obj.value if obj.present else None

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"present": obj is not None, "value": obj}


def optional(sub: Construct) -> Construct:
    return _Optional(Struct("present" / JavaBool, "value" / If(this.present, sub)))


__all__ = [
    "AsciiString",
    "BitsString",
    "Fail",
    "JavaBool",
    "JavaString",
    "JavaUTF",
    "SeqPair",
    "VInt",
    "VLong",
    "decode_modified_utf8",
    "encode_modified_utf8",
    "optional",
]
