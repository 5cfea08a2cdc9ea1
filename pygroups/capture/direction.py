"""One direction of one TCP connection (or a frames file) for the dump: bytes in, records out.

Finds where frames begin (stream start, preamble, or resynchronisation after a gap or a capture
that began mid-stream), runs a FrameBuffer over the bytes and hands each frame to the dump.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from pygroups.capture.records import RESYNC_WINDOW, Record, find_frame_start
from pygroups.errors import MalformedFrame
from pygroups.wire.framing import (
    CLOSE_FRAME,
    COOKIE,
    MAX_FRAME_SIZE,
    CloseMarker,
    FrameBuffer,
    FrameEvent,
    FramePayload,
    Preamble,
)
from pygroups.wire.version import WireVersion


class Sink(Protocol):
    """What a Direction needs from the dump that owns it."""

    version: WireVersion | None
    notes: list[Record]

    def error(
        self, stream: str, t: float | None, offset: int | None, detail: str, **extra: Any
    ) -> Record: ...

    def take_notes(self) -> list[Record]: ...

    def frame(
        self, stream: str, t: float | None, offset: int, data: bytes, state: ConnState
    ) -> Iterator[Record]: ...


class Codec(enum.Enum):
    TP = "tp"
    BARE = "fd_sock2"


@dataclass(slots=True)
class ConnState:
    """Decoding mode shared by both directions of a connection, fixed once a frame decodes."""

    codec: Codec
    confirmed: bool = False


class Direction:
    """One direction of one connection (or a frames file): bytes in, records out."""

    def __init__(
        self, dump: Sink, label: str, state: ConnState, *, at_start: bool, client: bool | None
    ) -> None:
        self.dump = dump
        self.label = label
        self.state = state
        self.fb: FrameBuffer | None = None
        self.fb_base = 0  # stream offset of the FrameBuffer's offset 0
        self.pending = bytearray()  # bytes seen before frame boundaries are known
        self.pending_base = 0
        self.at_start = at_start  # the data begins at the real start of the stream
        self.client = client  # sent the SYN (True), accepted (False), unknown (None)
        self.dead = False
        self.consumed = 0  # stream offset after the last complete item
        self.unparsed = bytearray()  # the bytes from `consumed` on
        self.preamble_pending = False

    def feed(self, t: float | None, offset: int, data: bytes) -> Iterator[Record]:
        if self.dead:
            return
        if self.fb is None:
            if not self.pending:
                self.pending_base = offset
            self.pending += data
            if not self._start(t, final=False):
                yield from self.dump.take_notes()
                return
        elif self.fb.closed:
            yield from self._after_close(t, data)
            return
        else:
            self.fb.feed(data)
            self.unparsed += data
        yield from self._events(t)

    def _after_close(self, t: float | None, data: bytes) -> Iterator[Record]:
        """Java may write the close marker twice (seen from 5.5.6); anything else is an error."""
        self.unparsed += data
        while len(self.unparsed) >= 4:
            if self.unparsed[:4] != CLOSE_FRAME:
                self.dead = True
                yield self.dump.error(
                    self.label, t, self.consumed, "data after the close marker; direction abandoned"
                )
                return
            yield Record("close", self.label, t, self.consumed, {"repeated": True})
            del self.unparsed[:4]
            self.consumed += 4

    def gap(self, t: float | None, offset: int, size: int) -> Iterator[Record]:
        if self.dead:
            return
        yield self.dump.error(
            self.label, t, offset, f"{size} bytes missing from the capture; resynchronising"
        )
        self.fb, self.pending, self.at_start, self.client = None, bytearray(), False, False

    def finish(self, t: float | None) -> Iterator[Record]:
        if self.dead:
            return
        if self.fb is None and self.pending and self._start(t, final=True):
            yield from self._events(t)
        yield from self.dump.take_notes()
        if self.fb is None and self.pending:
            yield Record(
                "note",
                self.label,
                t,
                self.pending_base,
                {"detail": f"{len(self.pending)} bytes without a recognisable frame"},
            )
        elif self.fb is not None and self.fb.closed and self.unparsed:
            yield self.dump.error(self.label, t, self.consumed, "data after the close marker")
        elif self.fb is not None and self.fb.buffered and not self.fb.closed:
            yield Record(
                "note",
                self.label,
                t,
                self.consumed,
                {"detail": f"capture ends inside a frame ({self.fb.buffered} bytes buffered)"},
            )

    def _start(self, t: float | None, *, final: bool) -> bool:
        """Decide where the frames begin in `pending`; False while that cannot be told yet."""
        buf = self.pending
        if len(buf) < 4 and not final:
            return False
        skip = 0
        if buf[:4] == COOKIE:
            expect = True
        elif self.at_start:  # the connecting side must begin with a preamble: let FrameBuffer say so
            expect = self.client is True
        else:
            expect = False
            found = find_frame_start(buf, final or len(buf) >= RESYNC_WINDOW)
            if found is None:
                if final or len(buf) >= RESYNC_WINDOW:
                    self.dead = True
                    self.dump.notes.append(
                        self.dump.error(
                            self.label,
                            t,
                            self.pending_base,
                            f"no frame boundary in {len(buf)} bytes; direction abandoned",
                            fatal=True,
                        )
                    )
                    self.pending = bytearray()
                return False
            skip = found
            if skip:
                self.dump.notes.append(
                    Record(
                        "note",
                        self.label,
                        t,
                        self.pending_base,
                        {"detail": f"skipped {skip} bytes to the first frame boundary"},
                    )
                )
        self.fb = FrameBuffer(expect_preamble=expect, version=self.dump.version)
        self.fb_base = self.pending_base + skip
        self.consumed = self.fb_base
        self.fb.feed(bytes(buf[skip:]))
        self.unparsed = bytearray(buf[skip:])  # a copy of what fb holds, see _salvage
        self.preamble_pending = expect
        self.pending = bytearray()
        return True

    def _events(self, t: float | None) -> Iterator[Record]:
        yield from self.dump.take_notes()
        assert self.fb is not None
        before = self.consumed
        try:
            events = self.fb.events()
        except MalformedFrame as e:
            self.dead = True
            yield from self._records(self._salvage(), self.consumed, t)
            yield self.dump.error(self.label, t, self.consumed, f"{e}; direction abandoned", fatal=True)
            return
        yield from self._records(events, self.fb_base, t)
        del self.unparsed[: self.consumed - before]
        if self.fb.closed and self.unparsed:  # bytes behind the close marker, in the same chunk
            yield from self._after_close(t, b"")

    def _salvage(self) -> list[FrameEvent]:
        """The items before the damage. FrameBuffer.events() raises without returning the items it
        parsed earlier in the same call, so they are parsed again from our copy of the bytes."""
        data = bytes(self.unparsed)
        pos = 0
        if self.preamble_pending:
            if len(data) < 9:
                return []
            pos = 11 + data[8] + (4 if data[8] == 16 else 0)
        while pos + 4 <= len(data):
            (n,) = struct.unpack_from(">i", data, pos)
            if n <= 0 or n > MAX_FRAME_SIZE or pos + 4 + n > len(data):
                break
            pos += 4 + n
        fb = FrameBuffer(expect_preamble=self.preamble_pending, version=self.dump.version)
        fb.feed(data[:pos])
        try:
            return fb.events()
        except MalformedFrame:
            return []

    def _records(self, events: list[FrameEvent], base: int, t: float | None) -> Iterator[Record]:
        for ev in events:
            off = base + ev.offset
            if isinstance(ev, Preamble):
                self.preamble_pending = False
                size = 11 + (0 if ev.addr.ip is None else len(ev.addr.ip.packed)) + (4 if _v6(ev) else 0)
                self.consumed = off + size
                fields = {"version": str(WireVersion.from_short(ev.version)), "addr": str(ev.addr)}
                yield Record("preamble", self.label, t, off, fields)
            elif isinstance(ev, CloseMarker):
                self.consumed = off + 4
                yield Record("close", self.label, t, off)
            elif isinstance(ev, FramePayload):
                self.consumed = off + 4 + len(ev.data)
                yield from self.dump.frame(self.label, t, off, ev.data, self.state)


def _v6(ev: Preamble) -> bool:
    return ev.addr.ip is not None and ev.addr.ip.version == 6
