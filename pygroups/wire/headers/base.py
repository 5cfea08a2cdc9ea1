"""How a header is declared: a frozen dataclass + a construct body + a registry entry.

A header class subclasses `pygroups.message.Header`, is a frozen slots dataclass whose fields are
the header's content, and is decorated with `@header(magic, java_class, FORMAT)`. FORMAT is the
construct declaration of the header body (without the i16 protocol id and i16 magic that
precede every header on the wire) and must parse to / build from a container whose keys
include the dataclass's field names; extra keys (lengths, presence flags) are the format's own
business (`Rebuild`/`Computed`).

Headers carry no length on the wire, so a reader must know every magic it can meet: the
registry below is the complete list, and an unknown magic makes a frame undecodable.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, TypeVar

from construct import Adapter, Construct, ExplicitError

from pygroups.message import Header

H = TypeVar("H", bound=type[Header])

#: magic id (jg-magic-map.xml) -> header class
HEADERS_BY_MAGIC: dict[int, type[Header]] = {}
#: magic id -> construct body format (the Switch in wire.message reads this very dict)
HEADER_FORMATS: dict[int, Construct] = {}


class _HeaderAdapter(Adapter):  # type: ignore[misc]
    """Container <-> header dataclass, converting IntEnum fields at the boundary."""

    def __init__(self, subcon: Construct, cls: type[Header]) -> None:
        super().__init__(subcon)
        self.cls = cls
        self.fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        self.enums: dict[str, type[enum.IntEnum]] = getattr(cls, "ENUM_FIELDS", {})

    def _decode(self, obj: Any, context: Any, path: str) -> Header:
        kwargs = {}
        for name in self.fields:
            v = obj[name]
            enum_cls = self.enums.get(name)
            if enum_cls is not None:
                try:
                    v = enum_cls(v)
                except ValueError:
                    raise ExplicitError(f"unknown {self.cls.__name__}.{name} {v}", path=path) from None
            kwargs[name] = v
        return self.cls(**kwargs)

    def _encode(self, obj: Header, context: Any, path: str) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in self.fields}


def header(magic: int, java_class: str, body: Construct) -> Callable[[H], H]:
    """Register a header dataclass under its magic id with its construct body."""

    def register(cls: H) -> H:
        if magic in HEADERS_BY_MAGIC:
            raise ValueError(f"magic {magic} registered twice ({HEADERS_BY_MAGIC[magic].__name__})")
        cls.MAGIC = magic
        cls.JAVA_CLASS = java_class
        cls.FORMAT = _HeaderAdapter(body, cls)  # type: ignore[attr-defined]
        HEADERS_BY_MAGIC[magic] = cls
        HEADER_FORMATS[magic] = cls.FORMAT  # type: ignore[attr-defined]
        return cls

    return register


def header_format(cls: type[Header]) -> Construct:
    return cls.FORMAT  # type: ignore[attr-defined]
