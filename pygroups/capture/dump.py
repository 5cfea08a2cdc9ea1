"""The engine of `pygroups dump`: capture in, one record per preamble, message, close marker or error out.

Sans-IO apart from reading the input: the caller passes an `opener` (a pcap is read twice, first
for the server ports that tell FD_SOCK2 sockets apart). Each TCP direction gets its own
`FrameBuffer`; each frame is decoded as a TP payload, or, on FD_SOCK2 sockets, as a bare
`Message.writeTo`. Nothing stops the dump but an unreadable file: an undecodable frame is an error
record and the next frame is decoded; a broken stream (bad length, lost bytes) is an error record
and that direction is resynchronised on the next plausible frame or abandoned.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import IO, Any

from pygroups.capture import CaptureError
from pygroups.capture.direction import Codec, ConnState, Direction
from pygroups.capture.pcap import TCP_ACK, decode_packet, read_packets, tcp_segments
from pygroups.capture.records import Record, Summary
from pygroups.capture.sources import HexKind, InputFormat, detect_format, read_hex_lines
from pygroups.capture.tcp import Connection, HalfStream, Reassembler, StreamData, StreamGap
from pygroups.errors import MalformedMessage
from pygroups.message import Message
from pygroups.wire.codec import Frame, decode_bare, decode_frame
from pygroups.wire.jsonform import message_json
from pygroups.wire.version import WireVersion

#: FD_SOCK2 listens on physical port + offset .. + offset + port_range (defaults 100 and 3).
FD_SOCK2_OFFSET = 100
FD_SOCK2_PORT_RANGE = 3

Opener = Callable[[], IO[bytes]]


class Dump:
    """Iterate over it for the records; `summary` is complete once the iteration ends."""

    def __init__(
        self,
        opener: Opener,
        *,
        fmt: InputFormat = InputFormat.AUTO,
        version: WireVersion | None = None,
        with_payload: bool = False,
        label: str = "-",
    ) -> None:
        self.opener = opener
        self.fmt = fmt
        self.version = version
        self.with_payload = with_payload
        self.label = label
        self.summary = Summary()
        self.notes: list[Record] = []

    def __iter__(self) -> Iterator[Record]:
        fmt = self.fmt
        if fmt is InputFormat.AUTO:
            with self.opener() as f:
                fmt = detect_format(f.read(512))
        self.summary.format = fmt.value
        if fmt is InputFormat.PCAP:
            yield from self._pcap()
        elif fmt is InputFormat.FRAMES:
            with self.opener() as f:
                data = f.read()
            d = Direction(self, self.label, ConnState(Codec.TP), at_start=True, client=None)
            yield from d.feed(None, 0, data)
            yield from d.finish(None)
        else:
            with self.opener() as f:
                text = f.read().decode("utf-8", errors="replace")
            yield from self._hex(text)

    # ------------------------------------------------------------------------- building blocks

    def error(self, stream: str, t: float | None, offset: int | None, detail: str, **extra: Any) -> Record:
        self.summary.errors += 1
        return Record("error", stream, t, offset, {"error": detail, **extra})

    def take_notes(self) -> list[Record]:
        notes, self.notes = self.notes, []
        return notes

    def frame(
        self, stream: str, t: float | None, offset: int, data: bytes, state: ConnState
    ) -> Iterator[Record]:
        """Decode one frame; an undecodable one becomes an error record."""
        self.summary.frames += 1
        order = [state.codec, Codec.TP if state.codec is Codec.BARE else Codec.BARE]
        first_error: MalformedMessage | None = None
        for codec in order if not state.confirmed else order[:1]:
            try:
                msgs, frame = self._decode(codec, data)
            except MalformedMessage as e:
                first_error = first_error or e
                continue
            state.codec, state.confirmed = codec, True
            for i, msg in enumerate(msgs):
                yield self._message(stream, t, offset, i, msg, frame, codec)
            return
        assert first_error is not None
        err = first_error
        yield self.error(
            stream,
            t,
            offset,
            err.detail,
            path=err.path,
            at=err.offset,
            length=len(data),
            bytes=data[:64].hex(),
        )

    @staticmethod
    def _decode(codec: Codec, data: bytes) -> tuple[list[Message], Frame | None]:
        if codec is Codec.BARE:
            return [decode_bare(data)], None
        frame = decode_frame(data)
        return frame.messages, frame

    def _message(
        self,
        stream: str,
        t: float | None,
        offset: int,
        index: int,
        msg: Message,
        frame: Frame | None,
        codec: Codec,
    ) -> Record:
        s = self.summary
        s.messages += 1
        s.count_headers(msg)
        fields: dict[str, Any] = {"n": s.messages, "socket": codec.value}
        if frame is None:
            fields.update(version=None, batch=False, index=0, multicast=False)
        else:
            fields.update(
                version=str(WireVersion.from_short(frame.version)),
                batch=frame.is_list,
                index=index,
                multicast=frame.multicast,
            )
            if frame.is_list:
                fields["count"] = len(frame.messages)
                fields["cluster"] = frame.cluster
        fields.update(message_json(msg, with_payload=self.with_payload))
        return Record("message", stream, t, offset, fields, msg)

    # ------------------------------------------------------------------------- inputs

    def _server_ports(self) -> set[int]:
        """Pass 1: the ports that accepted connections (SYN targets, SYN-ACK senders)."""
        ports: set[int] = set()
        with self.opener() as f:
            try:
                for seg in tcp_segments(read_packets(f)):
                    if seg.syn:
                        ports.add(seg.src.port if seg.flags & TCP_ACK else seg.dst.port)
            except CaptureError:
                pass  # reported by pass 2
        return ports

    def _fd_sock2(self, conn: Connection, tp_ports: set[int]) -> bool:
        p = conn.server.port
        return any((p - FD_SOCK2_OFFSET - i) in tp_ports for i in range(FD_SOCK2_PORT_RANGE + 1))

    def _pcap(self) -> Iterator[Record]:
        ports = self._server_ports()
        reasm = Reassembler()
        directions: dict[int, Direction] = {}
        states: dict[int, ConnState] = {}

        def direction(conn: Connection, half: HalfStream) -> Direction:
            d = directions.get(id(half))
            if d is None:
                st = states.get(id(conn))
                if st is None:
                    st = states[id(conn)] = ConnState(Codec.BARE if self._fd_sock2(conn, ports) else Codec.TP)
                    self.summary.connections += 1
                client = (half is conn.c2s) if conn.handshake_seen else None
                d = directions[id(half)] = Direction(
                    self, half.label, st, at_start=not half.mid_stream, client=client
                )
            return d

        def handle(events: list[Any]) -> Iterator[Record]:
            for ev in events:
                d = direction(ev.conn, ev.half)
                if isinstance(ev, StreamData):
                    yield from d.feed(ev.time, ev.offset, ev.data)
                elif isinstance(ev, StreamGap):
                    yield from d.gap(ev.time, ev.offset, ev.size)

        t: float | None = None
        with self.opener() as f:
            try:
                for pkt in read_packets(f):
                    self.summary.packets += 1
                    t = pkt.time if pkt.time is not None else t
                    if self.summary.first_time is None:
                        self.summary.first_time = t
                    seg = decode_packet(pkt)
                    if seg is not None:
                        yield from handle(reasm.feed(seg))
            except CaptureError as e:
                yield self.error("-", t, None, f"capture file: {e}")
        yield from handle(reasm.finish())
        for d in directions.values():
            yield from d.finish(t)

    def _hex(self, text: str) -> Iterator[Record]:
        """Each line on its own: lines may mix TP payloads and bare FD_SOCK2 messages."""
        for line in read_hex_lines(text):
            state = ConnState(Codec.TP)
            where = {"line": line.line}
            if line.data is None:
                yield self.error(self.label, None, line.line, line.error or "bad line", **where)
            elif line.kind is HexKind.PREAMBLE:
                d = Direction(self, self.label, state, at_start=True, client=True)
                for rec in d.feed(None, 0, line.data):
                    rec.offset = line.line
                    rec.fields.update(where)
                    yield rec
            elif line.kind is HexKind.CLOSE:
                yield Record("close", self.label, None, line.line, where)
            else:
                for rec in self.frame(self.label, None, line.line, line.data, state):
                    rec.fields.update(where)
                    yield rec


def dump_bytes(data: bytes, **kwargs: Any) -> Dump:
    """A Dump over in-memory input (tests, the bundled demo)."""
    return Dump(lambda: io.BytesIO(data), **kwargs)
