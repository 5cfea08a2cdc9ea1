"""Python values as JGroups payloads: ObjectMessages boxed the way Java boxes them (`make_message`), and
received payloads back as Python values (`payload_object`)."""

from __future__ import annotations

import struct
from typing import Any

from pygroups.address import Address
from pygroups.message import Flag, Message, MsgType, NioPayload
from pygroups.objects import JavaPrimitive, JavaSerializable, PrimitiveTag

_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


def to_java_object(value: Any) -> JavaPrimitive | JavaSerializable:
    """The ObjectWrapperPrimitive Java would make for ``value`` once boxed: str -> String,
    bool -> Boolean, int -> Integer (Long outside the 32-bit range), float -> Double,
    bytes -> byte[]. `JavaPrimitive` / `JavaSerializable` pass through."""
    if isinstance(value, JavaPrimitive | JavaSerializable):
        return value
    if isinstance(value, str):
        return JavaPrimitive(PrimitiveTag.STRING, value)
    if isinstance(value, bool):
        return JavaPrimitive(PrimitiveTag.BOOLEAN_OBJ, value)
    if isinstance(value, int):
        if _INT_MIN <= value <= _INT_MAX:
            return JavaPrimitive(PrimitiveTag.INT_OBJ, value)
        if _LONG_MIN <= value <= _LONG_MAX:
            return JavaPrimitive(PrimitiveTag.LONG_OBJ, value)
        raise ValueError(f"{value} does not fit a Java long")
    if isinstance(value, float):
        bits = struct.unpack(">q", struct.pack(">d", value))[0]
        return JavaPrimitive(PrimitiveTag.DOUBLE_OBJ, bits)
    if isinstance(value, bytes | bytearray | memoryview):
        return JavaPrimitive(PrimitiveTag.BYTEARRAY, bytes(value))
    raise TypeError(f"cannot send a {type(value).__name__} as a Java object (use bytes, str, int, float, bool, None)")


def make_message(dest: Address | None, payload: Any, *, flags: int = 0) -> Message:
    """``bytes`` -> BytesMessage; None, str, int, float, bool -> ObjectMessage as Java's
    ``new ObjectMessage(dest, obj)`` (wrapped objects carry Flag.SERIALIZED, null does not)."""
    if isinstance(payload, bytes | bytearray | memoryview):
        return Message(MsgType.BYTES, dest=dest, flags=flags, payload=bytes(payload))
    if payload is None:
        return Message(MsgType.OBJECT, dest=dest, flags=flags)
    obj = to_java_object(payload)
    return Message(MsgType.OBJECT, dest=dest, flags=flags | Flag.SERIALIZED, payload=obj)


def primitive_value(p: JavaPrimitive) -> Any:
    """The Python value of a Java primitive wrapper (char -> 1-char str, float/double -> float)."""
    tag = p.tag
    if tag in (PrimitiveTag.FLOAT, PrimitiveTag.FLOAT_OBJ):
        return struct.unpack(">f", struct.pack(">i", p.value))[0]
    if tag in (PrimitiveTag.DOUBLE, PrimitiveTag.DOUBLE_OBJ):
        return struct.unpack(">d", struct.pack(">q", p.value))[0]
    if tag in (PrimitiveTag.CHAR, PrimitiveTag.CHAR_OBJ):
        return chr(p.value)
    if tag == PrimitiveTag.CLASS:
        return p  # a Class object: nothing to map it to
    return p.value


def payload_object(msg: Message) -> Any:
    """A message's content as a Python value: bytes for BytesMessage, the object of an
    ObjectMessage (str, int, float, bool, bytes, None; other Java objects as they were decoded)."""
    payload = msg.payload
    if msg.type == MsgType.OBJECT:
        return primitive_value(payload) if isinstance(payload, JavaPrimitive) else payload
    if msg.type == MsgType.NIO and isinstance(payload, NioPayload):
        return payload.data
    return payload


def java_string(value: Any) -> str:
    """``String.valueOf(obj)`` for the values `payload_object` returns (what Java's Chat prints)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
