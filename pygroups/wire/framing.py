"""TCP stream framing (sans-IO): the connection preamble, then i32-length-prefixed frames.

construct only ever sees complete frames; splitting the byte stream is this module's job, in
the manner of h11's ReceiveBuffer: bytes go in with `feed`, complete items come out of
`events()`, partial input waits in the buffer. Stream-level problems raise MalformedFrame:
the connection cannot be trusted any more and its owner must close it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from construct import Const, Int16sb, Int16ub, Rebuild, Struct

from pygroups.address import IpAddress
from pygroups.errors import MalformedFrame
from pygroups.wire.addresses import IpAddressFormat
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

COOKIE = b"bela"
CLOSE_MARKER = -5  # TcpConnection: a length of -5 announces a graceful close
#: Largest frame accepted (Java's max_length is unlimited by default; we bound memory).
MAX_FRAME_SIZE = 128 * 1024 * 1024


def _ip_size(ctx: object) -> int:
    return len(IpAddressFormat.build(ctx.addr))  # type: ignore[attr-defined]


# TcpConnection.sendLocalAddress: cookie, version short, u16 address size, IpAddress body.
# The reader skips the size (only the NIO reader uses it) and parses the address itself.
PreambleFormat = Struct(
    Const(COOKIE),
    "version" / Int16sb,
    "addr_len" / Rebuild(Int16ub, _ip_size),
    "addr" / IpAddressFormat,
)


def encode_preamble(addr: IpAddress, version: WireVersion = DEFAULT_VERSION) -> bytes:
    v = version.short
    return bytes(PreambleFormat.build({"version": v - 0x10000 if v >= 0x8000 else v, "addr": addr}))


def frame(payload: bytes) -> bytes:
    """A payload with its length prefix."""
    return struct.pack(">i", len(payload)) + payload


CLOSE_FRAME = struct.pack(">i", CLOSE_MARKER)


@dataclass(frozen=True, slots=True)
class Preamble:
    version: int
    addr: IpAddress
    offset: int


@dataclass(frozen=True, slots=True)
class FramePayload:
    data: bytes
    offset: int  # stream offset of the length prefix


@dataclass(frozen=True, slots=True)
class CloseMarker:
    offset: int


FrameEvent = Preamble | FramePayload | CloseMarker


class FrameBuffer:
    """Splits one direction of a TCP connection into a preamble and frames.

    `expect_preamble` is True on the accepting side of a JGroups connection (the connecting side
    sends the preamble) and False for the data that the connecting side receives.
    """

    def __init__(
        self,
        *,
        expect_preamble: bool,
        version: WireVersion | None = DEFAULT_VERSION,
        max_frame_size: int = MAX_FRAME_SIZE,
    ) -> None:
        self._buf = bytearray()
        self._start = 0  # stream offset of _buf[0]
        self._need_preamble = expect_preamble
        self._version = version
        self._max = max_frame_size
        self.closed = False
        self._error: MalformedFrame | None = None

    def feed(self, data: bytes) -> None:
        self._buf += data

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def events(self) -> list[FrameEvent]:
        """Every complete item in the buffer, in order.

        A bad stream raises MalformedFrame, but only after the items before the bad spot have been
        returned (they are good, and their owner may act on them): the error is kept and raised by
        the next call. After the close marker only repeated markers are accepted (Java 5.5 can
        write two).
        """
        if self._error is not None:
            raise self._error
        out: list[FrameEvent] = []
        buf = self._buf
        pos = 0  # bytes of buf consumed by the items in out
        try:
            while len(buf) - pos >= 4 or (self._need_preamble and len(buf) > pos):
                if self._need_preamble:
                    item = self._preamble(buf, pos)
                    if item is None:
                        break
                    ev, pos = item
                    out.append(ev)
                    self._need_preamble = False
                    continue
                (n,) = struct.unpack_from(">i", buf, pos)
                if n == CLOSE_MARKER:
                    if not self.closed:
                        out.append(CloseMarker(self._start + pos))
                    self.closed = True
                    pos += 4
                    continue
                if self.closed:
                    raise MalformedFrame(f"data after the graceful-close marker at stream offset {self._start + pos}")
                if n <= 0 or n > self._max:
                    raise MalformedFrame(f"invalid frame length {n} at stream offset {self._start + pos}")
                if len(buf) - pos - 4 < n:
                    break
                out.append(FramePayload(bytes(buf[pos + 4 : pos + 4 + n]), self._start + pos))
                pos += 4 + n
        except MalformedFrame as e:
            if not out:
                raise
            self._error = e
        finally:
            if pos:
                del buf[:pos]
                self._start += pos
        return out

    def _preamble(self, buf: bytearray, pos: int) -> tuple[Preamble, int] | None:
        avail = len(buf) - pos
        if avail >= 4 and bytes(buf[pos : pos + 4]) != COOKIE:
            raise MalformedFrame(f"bad cookie {bytes(buf[pos:pos + 4]).hex()} (expected 'bela')")
        if avail < 9:
            return None
        (version,) = struct.unpack_from(">h", buf, pos + 4)
        if self._version is not None and not self._version.is_binary_compatible(version):
            raise MalformedFrame(
                f"incompatible version {WireVersion.from_short(version)} (we speak {self._version})"
            )
        ip_len = buf[pos + 8]
        if ip_len not in (0, 4, 16):
            raise MalformedFrame(f"bad preamble address length {ip_len}")
        size = 8 + 1 + ip_len + (4 if ip_len == 16 else 0) + 2
        if avail < size:
            return None
        addr = IpAddressFormat.parse(bytes(buf[pos + 8 : pos + size]))
        return Preamble(version, addr, self._start + pos), pos + size

