"""The inputs `pygroups dump` accepts besides pcap: frames files and hex lines, and format detection.

* **frames**: the raw bytes of one direction of a JGroups TCP connection: an optional preamble
  (`bela` + version + address), then `i32 length + payload` frames (what a socket reader sees).
* **hex**: one frame per line as hex digits, either the TP payload alone or with its i32 length
  prefix (told apart by whether the first four bytes equal the length of the rest); a line may
  also hold a preamble or the close marker. Whitespace inside a line and `#` comments are ignored.
"""

from __future__ import annotations

import enum
import string
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from pygroups.capture import CaptureError
from pygroups.capture.pcap import is_pcap
from pygroups.wire.framing import CLOSE_MARKER, COOKIE


class InputFormat(enum.StrEnum):
    AUTO = "auto"
    PCAP = "pcap"
    FRAMES = "frames"
    HEX = "hex"


_HEX_TEXT = frozenset(string.hexdigits + string.whitespace)


def detect_format(head: bytes) -> InputFormat:
    """The format of a file from its first bytes (a few hundred are plenty)."""
    if is_pcap(head):
        return InputFormat.PCAP
    if head.startswith(COOKIE):
        return InputFormat.FRAMES
    if _looks_like_hex(head):
        return InputFormat.HEX
    if len(head) >= 6:
        (n,) = struct.unpack_from(">i", head)
        if n > 0 and head[4] >> 3 == 5:  # a length, then a 5.x version short (major in the top 5 bits)
            return InputFormat.FRAMES
    raise CaptureError(
        "cannot tell the input format (not pcap/pcapng, no 'bela' preamble, not hex text); use --format"
    )


def _looks_like_hex(head: bytes) -> bool:
    """Text whose first line with content (comments aside) is all hex digits and spaces."""
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return False
    for line in text.splitlines():
        body = line.split("#", 1)[0]
        if body.strip():
            return set(body) <= _HEX_TEXT
    return "#" in text


class HexKind(enum.StrEnum):
    PAYLOAD = "payload"  # a TP payload (or a bare FD_SOCK2 message)
    PREAMBLE = "preamble"  # the connection preamble ("bela" ...)
    CLOSE = "close"  # the graceful-close marker (length -5)


@dataclass(frozen=True, slots=True)
class HexLine:
    """One non-empty line: its number (1-based), what it holds, and the bytes (None if bad hex)."""

    line: int
    kind: HexKind
    data: bytes | None
    error: str | None = None


def read_hex_lines(text: str) -> Iterator[HexLine]:
    for number, raw in enumerate(text.splitlines(), 1):
        digits = "".join(raw.split("#", 1)[0].split())
        if not digits:
            continue
        try:
            data = bytes.fromhex(digits)
        except ValueError as e:
            yield HexLine(number, HexKind.PAYLOAD, None, f"bad hex: {e}")
            continue
        yield classify_hex_frame(number, data)


def classify_hex_frame(number: int, data: bytes) -> HexLine:
    """Strip a length prefix if the line has one; recognise preamble and close marker lines."""
    if data.startswith(COOKIE):
        return HexLine(number, HexKind.PREAMBLE, data)
    if len(data) >= 4:
        (n,) = struct.unpack_from(">i", data)
        if n == CLOSE_MARKER and len(data) == 4:
            return HexLine(number, HexKind.CLOSE, b"")
        if n == len(data) - 4:
            return HexLine(number, HexKind.PAYLOAD, data[4:])
    return HexLine(number, HexKind.PAYLOAD, data)
