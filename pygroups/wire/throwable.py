"""Java exceptions on the wire: Util.exceptionToStream / exceptionFromStream ("poor man's serialization").

STATE_TRANSFER's STATE_EX carries one as its payload (Util.exceptionToBuffer). Layout:

```
bool   is_null                      true: no exception, nothing follows
bool   invocation_target            true: an InvocationTargetException wrapping what follows
Bits.writeString class_name         1 + UTF, or 0 for null
Bits.writeString message
i16    depth                        stack trace elements (none if <= 0)
depth x { Bits.writeString class, Bits.writeString method, Bits.writeString file, vint line }
bool   has_cause                    then a nested exceptionToStream
```

Java's reader gives up after 20 nested causes; so does this one. A Java reader instantiates
``class_name`` (ClassNotFoundException otherwise), so a Python writer names a JDK class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from construct import Array, Construct, If, Int16sb, LazyBound, Struct, this

from pygroups.wire.headers.common import decode_exact, encode
from pygroups.wire.javatypes import BitsString, JavaBool, VInt

MAX_CAUSES = 20  # Util.readException: "recursion count > 20" fails

StackTraceElementFormat = Struct(
    "class_name" / BitsString, "method" / BitsString, "file" / BitsString, "line" / VInt
)


def _throwable() -> Construct:
    return ThrowableFormat


# Util.writeException
ThrowableBodyFormat = Struct(
    "class_name" / BitsString,
    "message" / BitsString,
    "depth" / Int16sb,
    "trace" / If(this.depth > 0, Array(this.depth, StackTraceElementFormat)),
    "has_cause" / JavaBool,
    "cause" / If(this.has_cause, LazyBound(_throwable)),
)

# Util.exceptionToStream
ThrowableFormat = Struct(
    "is_null" / JavaBool,
    "invocation_target" / If(~this.is_null, JavaBool),
    "body" / If(~this.is_null, ThrowableBodyFormat),
)


@dataclass(frozen=True, slots=True)
class JavaThrowable:
    """A decoded Java exception: its class, message and cause (stack traces are not kept)."""

    class_name: str
    message: str | None = None
    cause: JavaThrowable | None = None

    def __str__(self) -> str:
        text = self.class_name if self.message is None else f"{self.class_name}: {self.message}"
        return text if self.cause is None else f"{text} (caused by {self.cause})"


def _to_throwable(obj: Any, depth: int) -> JavaThrowable | None:
    if obj is None or obj.is_null:
        return None
    if depth > MAX_CAUSES:
        raise ValueError(f"more than {MAX_CAUSES} nested causes")
    body = obj.body
    cause = _to_throwable(body.cause, depth + 1) if body.has_cause else None
    exc = JavaThrowable(body.class_name or "null", body.message, cause)
    if obj.invocation_target:
        return JavaThrowable("java.lang.reflect.InvocationTargetException", None, exc)
    return exc


def decode_throwable(data: bytes) -> JavaThrowable | None:
    """Util.exceptionFromBuffer; raises MalformedMessage (or ValueError for too many causes)."""
    return _to_throwable(decode_exact(ThrowableFormat, data, "exception"), 0)


def encode_throwable(exc: JavaThrowable | None) -> bytes:
    """Util.exceptionToBuffer for ``exc`` (no stack trace; causes nested)."""
    return encode(ThrowableFormat, _to_container(exc), "exception")


def _to_container(exc: JavaThrowable | None) -> dict[str, Any]:
    if exc is None:
        return {"is_null": True, "invocation_target": None, "body": None}
    body = {
        "class_name": exc.class_name,
        "message": exc.message,
        "depth": 0,
        "trace": None,
        "has_cause": exc.cause is not None,
        "cause": None if exc.cause is None else _to_container(exc.cause),
    }
    return {"is_null": False, "invocation_target": False, "body": body}


__all__ = ["JavaThrowable", "ThrowableFormat", "decode_throwable", "encode_throwable"]
