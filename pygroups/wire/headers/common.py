"""What every header module shares: the header base class and exact payload decoding.

`JGroupsHeader` gives each header a generic `to_json` and turns a known `type` value into the
class's nested `Type` enum while keeping unknown values as plain ints: most Java headers read an
unknown type without complaint (and read nothing more), so decoding must not fail on one either.
"""

from __future__ import annotations

import enum
import io
from typing import Any, ClassVar

from construct import Construct, ConstructError

from pygroups.errors import LocalProtocolError, MalformedMessage
from pygroups.message import Header
from pygroups.wire.headers.jsonform import dataclass_json


class JGroupsHeader(Header):
    """Base of the header dataclasses in this package."""

    __slots__ = ()
    #: Fields Java keeps in a HashSet/HashMap: their order (and duplicates) do not survive a Java reader.
    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ()
    FORMAT: ClassVar[Construct]  # set by @header: the body declaration wrapped to build/parse the dataclass

    def __post_init__(self) -> None:
        types = _TYPE_MAPS.get(self.__class__)
        if types is None:
            types = _TYPE_MAPS[self.__class__] = _type_map(self.__class__)
        if types:
            member = types.get(self.type)  # type: ignore[attr-defined]
            if member is not None:
                object.__setattr__(self, "type", member)

    def to_json(self) -> dict[str, Any]:
        """{"type": "<Java constant name>" (or the number if unknown), ...other fields}."""
        return dataclass_json(self)


#: header class -> {type value: Type member}; empty for classes without a `type` field or `Type` enum
_TYPE_MAPS: dict[type, dict[int, enum.IntEnum]] = {}


def _type_map(cls: type) -> dict[int, enum.IntEnum]:
    enum_cls = getattr(cls, "Type", None)
    if enum_cls is None or "type" not in getattr(cls, "__dataclass_fields__", {}):
        return {}
    return {m.value: m for m in enum_cls}


def _detail(e: ConstructError) -> str:
    # construct prefixes "Error in path ..." to the message; the path is reported separately.
    lines = str(e).splitlines()
    return "\n".join(lines[1:]) if len(lines) > 1 and lines[0].startswith("Error in path") else str(e)


def decode_exact(fmt: Construct, data: bytes, what: str) -> Any:
    """Parse `data` with `fmt`; every byte must be consumed. Raises MalformedMessage."""
    stream = io.BytesIO(bytes(data))
    try:
        obj = fmt.parse_stream(stream)
    except ConstructError as e:
        pos = stream.tell()
        raise MalformedMessage(
            f"bad {what}: {_detail(e)}", offset=pos, path=e.path, excerpt=bytes(data[pos : pos + 32])
        ) from None
    pos = stream.tell()
    if pos != len(data):
        raise MalformedMessage(
            f"bad {what}: {len(data) - pos} trailing bytes", offset=pos, excerpt=bytes(data[pos : pos + 32])
        )
    return obj


def encode(fmt: Construct, obj: Any, what: str) -> bytes:
    """Build `obj` with `fmt`; a value that has no wire form is the caller's mistake."""
    try:
        return bytes(fmt.build(obj))
    except ConstructError as e:
        raise LocalProtocolError(f"cannot encode {what}: {_detail(e)} (at {e.path})") from None
