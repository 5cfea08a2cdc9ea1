"""The only entry points for turning bytes into messages and back.

Receiving: the fast path (wire.fast) is tried first; on any failure the construct spec parses
the same bytes to say *where* and *why*, and the caller gets one MalformedMessage carrying the
offset and construct path (h11's single-entry-point error translation). Nothing else escapes.

Sending: the fast path writes; tests prove it byte-equal to the spec (tests/property).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from construct import ConstructError

from pygroups.address import Address
from pygroups.errors import MalformedMessage
from pygroups.message import Message, MsgType
from pygroups.wire import fast
from pygroups.wire import headers as _headers  # noqa: F401  (registers every header)
from pygroups.wire.message import (
    PAYLOAD_FORMATS,
    TP_LIST,
    TP_MULTICAST,
    BareMessageFormat,
    FrameFormat,
    GenericStreamableFormat,
    RawMessageFormat,
    message_to_raw,
    raw_to_message,
)
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

#: Errors the fast path may raise on bad bytes; anything else is a bug and propagates.
_DECODE_ERRORS = (
    IndexError,
    struct.error,
    ValueError,  # includes UnicodeDecodeError
    KeyError,
    ConstructError,
    OverflowError,
)


@dataclass(slots=True)
class Frame:
    """One TP payload: a single message or a message list (batch)."""

    version: int
    multicast: bool
    messages: list[Message]
    is_list: bool = False
    dest: Address | None = None  # list header fields; None for single messages
    src: Address | None = None
    cluster: str | None = None


def _malformed(data: bytes, fmt: object, exc: BaseException, what: str) -> MalformedMessage:
    """Ask the construct spec where the bytes go wrong."""
    stream = io.BytesIO(data)
    try:
        fmt.parse_stream(stream)  # type: ignore[attr-defined]
    except ConstructError as e:
        path = getattr(e, "path", None)
        offset = stream.tell()
        lines = str(e).splitlines()  # construct's first line is only "Error in path ..."
        detail = " ".join(lines[1:]) if len(lines) > 1 and lines[0].startswith("Error in path") else str(e)
        return MalformedMessage(f"{what}: {detail}", offset=offset, path=path, excerpt=data[:32])
    except Exception as e:  # the spec raising a non-construct error is a bug worth seeing
        return MalformedMessage(f"{what}: {type(e).__name__}: {e}", excerpt=data[:32])
    offset = stream.tell()
    if offset != len(data):
        return MalformedMessage(
            f"{what}: {len(data) - offset} trailing bytes", offset=offset, excerpt=data[offset : offset + 32]
        )
    return MalformedMessage(f"{what}: {type(exc).__name__}: {exc}", excerpt=data[:32])


def decode_frame(data: bytes) -> Frame:
    """Decode one TP payload (the bytes of one TCP frame). Raises only MalformedMessage."""
    try:
        version, flags, dest, src, cluster, msgs = fast.decode_frame_fields(data)
    except _DECODE_ERRORS as e:
        raise _malformed(data, FrameFormat, e, "undecodable frame") from None
    is_list = bool(flags & TP_LIST)
    return Frame(version, bool(flags & TP_MULTICAST), msgs, is_list, dest, src, cluster)


def decode_frame_spec(data: bytes) -> Frame:
    """The same as decode_frame, by the construct declaration alone (tests, diagnosis)."""
    try:
        stream = io.BytesIO(data)
        raw = FrameFormat.parse_stream(stream)
        if stream.tell() != len(data):
            raise ConstructError(f"{len(data) - stream.tell()} trailing bytes")
        body = raw.body
        if raw.flags & TP_LIST:
            msgs = [raw_to_message(m, body.dest, body.src) for m in body.messages]
            return Frame(raw.version, bool(raw.flags & TP_MULTICAST), msgs, True, body.dest, body.src, body.cluster)
        return Frame(raw.version, bool(raw.flags & TP_MULTICAST), [raw_to_message(body)])
    except _DECODE_ERRORS as e:
        raise _malformed(data, FrameFormat, e, "undecodable frame") from None


def encode_frame(frame: Frame) -> bytes:
    if frame.is_list:
        return encode_list(frame.messages, dest=frame.dest, src=frame.src, cluster=frame.cluster,
                           multicast=frame.multicast, version=frame.version)
    (msg,) = frame.messages
    return encode_single(msg, multicast=frame.multicast, version=frame.version)


def encode_single(
    msg: Message, *, multicast: bool | None = None, version: int | WireVersion = DEFAULT_VERSION
) -> bytes:
    """Util.writeMessage: version, flags, i16 type, writeTo. multicast defaults to dest is None."""
    v = version.short if isinstance(version, WireVersion) else version
    mc = msg.dest is None if multicast is None else multicast
    out = bytearray(struct.pack(">hB", _s16(v), TP_MULTICAST if mc else 0))
    fast.encode_message(msg, out)
    return bytes(out)


def encode_list(
    msgs: list[Message],
    *,
    dest: Address | None,
    src: Address | None,
    cluster: str | None,
    multicast: bool | None = None,
    version: int | WireVersion = DEFAULT_VERSION,
) -> bytes:
    """Util.writeMessageList: list header, then each message without addresses."""
    v = version.short if isinstance(version, WireVersion) else version
    mc = dest is None if multicast is None else multicast
    out = bytearray(struct.pack(">hB", _s16(v), TP_LIST | (TP_MULTICAST if mc else 0)))
    fast.encode_address(dest, out)
    fast.encode_address(src, out)
    if cluster is None:
        out += b"\xff\xff"
    else:
        name = cluster.encode("latin-1")
        out += struct.pack(">h", len(name)) + name
    out += struct.pack(">i", len(msgs))
    for m in msgs:
        fast.encode_message(m, out, no_addrs=True, list_src=src)
    return bytes(out)


def encode_frame_spec(frame: Frame) -> bytes:
    """encode_frame by the construct declaration alone (for the equivalence proofs)."""
    v = _s16(frame.version)
    if frame.is_list:
        body = {
            "dest": frame.dest,
            "src": frame.src,
            "cluster": frame.cluster,
            "count": len(frame.messages),
            "messages": [message_to_raw(m, no_addrs_src=frame.src, no_addrs=True) for m in frame.messages],
        }
        flags = TP_LIST | (TP_MULTICAST if frame.multicast else 0)
    else:
        (msg,) = frame.messages
        body = message_to_raw(msg)
        flags = TP_MULTICAST if frame.multicast else 0
    return bytes(FrameFormat.build({"version": v, "flags": flags, "body": body}))


def decode_message(data: bytes) -> Message:
    """i16 type + Message.writeTo (Util.readMessage)."""
    try:
        msg, off = fast.decode_message(data, 0)
        if off != len(data):
            raise ValueError("trailing bytes")
        return msg
    except _DECODE_ERRORS as e:
        raise _malformed(data, RawMessageFormat, e, "undecodable message") from None


def encode_message(msg: Message) -> bytes:
    out = bytearray()
    fast.encode_message(msg, out)
    return bytes(out)


def decode_bare(data: bytes) -> Message:
    """A bare Message.writeTo of an EmptyMessage, as FD_SOCK2 sends on its own sockets."""
    try:
        stream = io.BytesIO(data)
        raw = BareMessageFormat.parse_stream(stream)
        if stream.tell() != len(data):
            raise ValueError("trailing bytes")
        return raw_to_message(raw)
    except _DECODE_ERRORS as e:
        raise _malformed(data, BareMessageFormat, e, "undecodable FD_SOCK2 message") from None


def encode_bare(msg: Message) -> bytes:
    raw = message_to_raw(msg)
    return bytes(BareMessageFormat.build(raw))


def _s16(v: int) -> int:
    v &= 0xFFFF
    return v - 0x10000 if v >= 0x8000 else v


def payload_length(msg: Message) -> int:
    """Message.getLength() as Java computes it for each message type (what flow control charges,
    what FRAG compares with frag_size, what STABLE counts towards max_bytes)."""
    p = msg.payload
    t = msg.type
    if t in (MsgType.BYTES, MsgType.FRAGMENTED):
        return 0 if p is None else len(p)
    if t is MsgType.NIO:
        return 0 if p.data is None else len(p.data)
    if t is MsgType.EMPTY:
        return 0
    if t is MsgType.OBJECT:
        return 0 if p is None else len(GenericStreamableFormat.build(p))
    if t is MsgType.LONG:
        return len(PAYLOAD_FORMATS[MsgType.LONG].build(p))
    if t is MsgType.COMPOSITE:
        return sum(payload_length(m) for m in p)
    if t is MsgType.EARLYBATCH:
        return sum(payload_length(m) for m in p.messages)
    raise TypeError(f"unknown message type {t}")
