"""Dump records and summary, and finding frame boundaries in a stream joined in the middle."""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any

from pygroups.message import Message
from pygroups.wire.framing import MAX_FRAME_SIZE
from pygroups.wire.protocol_ids import protocol_name

#: How far into a stream that began before the capture (or after a gap) to look for a frame start.
RESYNC_WINDOW = 256 * 1024


@dataclass(slots=True)
class Record:
    """One line of output. `message` is the decoded message of a "message" record (for printing)."""

    kind: str  # "message" | "preamble" | "close" | "error" | "note"
    stream: str
    time: float | None
    offset: int | None
    fields: dict[str, Any] = field(default_factory=dict)
    message: Message | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "stream": self.stream,
            "time": self.time,
            "offset": self.offset,
            **self.fields,
        }


@dataclass(slots=True)
class Summary:
    format: str = ""
    packets: int = 0
    connections: int = 0
    frames: int = 0
    messages: int = 0
    errors: int = 0
    first_time: float | None = None
    headers: dict[str, dict[str, int]] = field(default_factory=dict)

    def count_headers(self, msg: Message) -> None:
        for pid, hdr in msg.headers.items():
            kind = getattr(hdr, "type", None)
            if isinstance(kind, enum.Enum):
                name = kind.name
            else:
                name = hdr.JAVA_CLASS if kind is None else str(kind)
            per = self.headers.setdefault(protocol_name(pid), {})
            per[name] = per.get(name, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "packets": self.packets,
            "connections": self.connections,
            "frames": self.frames,
            "messages": self.messages,
            "errors": self.errors,
            "headers": {p: dict(sorted(t.items())) for p, t in sorted(self.headers.items())},
        }


def _plausible_frame(buf: bytes | bytearray, p: int) -> bool:
    """An i32 length, then a 5.x version short and a flags byte 0..3: the start of a TP frame."""
    if p + 7 > len(buf):
        return False
    (n,) = struct.unpack_from(">i", buf, p)
    return 3 <= n <= MAX_FRAME_SIZE and buf[p + 4] >> 3 == 5 and buf[p + 6] <= 3


def find_frame_start(buf: bytes | bytearray, final: bool) -> int | None:
    """Where frames start in a stream seen from the middle: the first plausible frame whose successor
    is also plausible (or lies beyond the data). None: not found, or (not final) not yet decidable."""
    for p in range(len(buf) - 6):
        if not _plausible_frame(buf, p):
            continue
        nxt = p + 4 + struct.unpack_from(">i", buf, p)[0]
        if nxt + 7 <= len(buf):
            if _plausible_frame(buf, nxt):
                return p
            continue
        return p if final or nxt >= RESYNC_WINDOW else None
    return None
