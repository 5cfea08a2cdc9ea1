"""TCP stream reassembly for captures: segments in, ordered byte-stream events out.

Per connection and direction: sequence numbers are unwrapped relative to the next expected byte,
retransmitted and overlapping bytes are dropped, out-of-order segments wait in a bounded buffer.
A hole that never fills (packet lost by the capture, snaplen cut) becomes a `StreamGap` event
rather than an exception: the consumer abandons or resynchronises that direction. Streams that
began before the capture start at the first segment seen (`HalfStream.mid_stream`).

Events come out in packet order, so a consumer sees every connection's bytes interleaved in
capture time, which is what `pygroups dump` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pygroups.capture.pcap import TCP_ACK, Endpoint, TcpSegment

#: Out-of-order bytes buffered per stream direction while waiting for a hole to fill. Past it the
#: hole is declared a gap: memory per stream stays bounded whatever the capture holds.
MAX_PENDING_BYTES = 8 * 1024 * 1024
#: The same bound in segments (tiny segments cost more than their bytes).
MAX_PENDING_SEGMENTS = 8192

_MASK = 0xFFFFFFFF


def _signed32(v: int) -> int:
    v &= _MASK
    return v - (1 << 32) if v >= 1 << 31 else v


@dataclass(slots=True)
class HalfStream:
    """One direction of a connection: where it stands and what waits out of order."""

    sender: Endpoint
    receiver: Endpoint
    next_seq: int | None = None  # 32-bit sequence number of the next byte expected
    offset: int = 0  # stream offset of that byte
    mid_stream: bool = False  # began before the capture: offset 0 is the first byte seen
    pending: dict[int, tuple[float | None, bytes]] = field(default_factory=dict)
    pending_bytes: int = 0
    fin_offset: int | None = None
    ended: bool = False
    reset: bool = False
    duplicate_bytes: int = 0  # retransmitted or overlapping bytes dropped
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) holes skipped

    @property
    def label(self) -> str:
        return f"{self.sender}->{self.receiver}"


@dataclass(slots=True, eq=False)
class Connection:
    """A TCP connection. `client` sent the SYN; without a SYN in the capture it is a guess."""

    index: int
    client: Endpoint
    server: Endpoint
    handshake_seen: bool
    first_time: float | None
    c2s: HalfStream = field(init=False)
    s2c: HalfStream = field(init=False)
    isn: int | None = None  # the client's SYN sequence number, to tell port reuse from retransmission

    def __post_init__(self) -> None:
        self.c2s = HalfStream(self.client, self.server)
        self.s2c = HalfStream(self.server, self.client)

    def half(self, sender: Endpoint) -> HalfStream:
        return self.c2s if sender == self.client else self.s2c

    @property
    def label(self) -> str:
        return f"{self.client}->{self.server}"


@dataclass(frozen=True, slots=True)
class StreamData:
    conn: Connection
    half: HalfStream
    time: float | None
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class StreamGap:
    """`size` bytes at `offset` never appeared in the capture; the stream goes on after them."""

    conn: Connection
    half: HalfStream
    time: float | None
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """All bytes up to the FIN were seen (reset=False), or the sender reset the connection."""

    conn: Connection
    half: HalfStream
    time: float | None
    reset: bool


StreamEvent = StreamData | StreamGap | StreamEnd


class Reassembler:
    """Feed segments in capture order with `feed`; call `finish` once at the end."""

    def __init__(self, *, max_pending_bytes: int = MAX_PENDING_BYTES) -> None:
        self._conns: dict[tuple[Endpoint, Endpoint], Connection] = {}
        self.connections: list[Connection] = []
        self.server_ports: set[int] = set()
        self._max_pending = max_pending_bytes

    def feed(self, seg: TcpSegment) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        conn = self._connection(seg, out)
        half = conn.half(seg.src)
        if seg.syn:
            data_seq = (seg.seq + 1) & _MASK
            if half.next_seq is None:
                half.next_seq = data_seq
        else:
            data_seq = seg.seq
            if half.next_seq is None:
                half.next_seq = data_seq
                half.mid_stream = True
        if seg.flags & TCP_ACK:
            self._acked(conn, conn.s2c if half is conn.c2s else conn.c2s, seg, out)
        if seg.payload:
            self._data(conn, half, seg.time, data_seq, seg.payload, out)
            if seg.missing and half.offset == self._offset_of(half, data_seq) + len(seg.payload):
                self._gap(conn, half, seg.time, seg.missing, out)
        if seg.fin and half.fin_offset is None:
            half.fin_offset = self._offset_of(half, data_seq) + len(seg.payload) + seg.missing
        if seg.rst and not half.ended:
            half.ended = half.reset = True
            out.append(StreamEnd(conn, half, seg.time, True))
        self._check_end(conn, half, seg.time, out)
        return out

    def finish(self) -> list[StreamEvent]:
        """Declare every hole still open a gap and deliver what waited behind it."""
        out: list[StreamEvent] = []
        for conn in self.connections:
            for half in (conn.c2s, conn.s2c):
                while half.pending:
                    self._skip_to_pending(conn, half, None, out)
                self._check_end(conn, half, None, out)
        return out

    # -------------------------------------------------------------------------- internals

    def _connection(self, seg: TcpSegment, out: list[StreamEvent]) -> Connection:
        key = (seg.src, seg.dst) if seg.src <= seg.dst else (seg.dst, seg.src)
        conn = self._conns.get(key)
        is_syn = seg.syn and not seg.flags & TCP_ACK
        if conn is not None and is_syn and conn.isn is not None and conn.isn != seg.seq:
            out.extend(self._close(conn))  # the 4-tuple is reused by a new connection
            conn = None
        if conn is not None:
            if is_syn and conn.isn is None:
                conn.isn = seg.seq
            return conn
        if is_syn:
            client, server = seg.src, seg.dst
        elif seg.syn:  # SYN-ACK: the sender is the server
            client, server = seg.dst, seg.src
        elif (seg.dst.port in self.server_ports) != (seg.src.port in self.server_ports):
            client, server = (seg.src, seg.dst) if seg.dst.port in self.server_ports else (seg.dst, seg.src)
        else:  # no handshake seen: ephemeral ports are the high ones
            client, server = (seg.src, seg.dst) if seg.src.port > seg.dst.port else (seg.dst, seg.src)
        conn = Connection(len(self.connections), client, server, seg.syn, seg.time)
        if is_syn:
            conn.isn = seg.seq
        if seg.syn:
            self.server_ports.add(server.port)
        self._conns[key] = conn
        self.connections.append(conn)
        return conn

    def _close(self, conn: Connection) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        for half in (conn.c2s, conn.s2c):
            while half.pending:
                self._skip_to_pending(conn, half, None, out)
        return out

    def _acked(self, conn: Connection, other: HalfStream, seg: TcpSegment, out: list[StreamEvent]) -> None:
        """The peer acknowledged bytes the capture never showed: they are lost to us, not in flight,
        so the hole is a gap now rather than when the buffer fills or the capture ends."""
        if other.pending and other.next_seq is not None and self._offset_of(other, seg.ack) > other.offset:
            self._skip_to_pending(conn, other, seg.time, out)

    @staticmethod
    def _offset_of(half: HalfStream, seq: int) -> int:
        assert half.next_seq is not None
        return half.offset + _signed32(seq - half.next_seq)

    def _data(
        self,
        conn: Connection,
        half: HalfStream,
        t: float | None,
        seq: int,
        data: bytes,
        out: list[StreamEvent],
    ) -> None:
        off = self._offset_of(half, seq)
        end = off + len(data)
        if end <= half.offset:
            half.duplicate_bytes += len(data)
            return
        if off < half.offset:
            half.duplicate_bytes += half.offset - off
            data = data[half.offset - off :]
            off = half.offset
        if off == half.offset:
            self._deliver(conn, half, t, data, out)
            self._drain(conn, half, out)
            return
        old = half.pending.get(off)
        if old is not None:
            if len(old[1]) >= len(data):
                half.duplicate_bytes += len(data)
                return
            half.pending_bytes -= len(old[1])
        half.pending[off] = (t, data)
        half.pending_bytes += len(data)
        while half.pending and (
            half.pending_bytes > self._max_pending or len(half.pending) > MAX_PENDING_SEGMENTS
        ):
            self._skip_to_pending(conn, half, t, out)

    def _deliver(
        self, conn: Connection, half: HalfStream, t: float | None, data: bytes, out: list[StreamEvent]
    ) -> None:
        assert half.next_seq is not None
        out.append(StreamData(conn, half, t, half.offset, data))
        half.offset += len(data)
        half.next_seq = (half.next_seq + len(data)) & _MASK

    def _drain(self, conn: Connection, half: HalfStream, out: list[StreamEvent]) -> None:
        while half.pending:
            off = min(half.pending)
            if off > half.offset:
                return
            t, data = half.pending.pop(off)
            half.pending_bytes -= len(data)
            if off + len(data) <= half.offset:
                half.duplicate_bytes += len(data)
                continue
            half.duplicate_bytes += half.offset - off
            self._deliver(conn, half, t, data[half.offset - off :], out)

    def _gap(
        self, conn: Connection, half: HalfStream, t: float | None, size: int, out: list[StreamEvent]
    ) -> None:
        assert half.next_seq is not None
        out.append(StreamGap(conn, half, t, half.offset, size))
        half.gaps.append((half.offset, size))
        half.offset += size
        half.next_seq = (half.next_seq + size) & _MASK
        self._drain(conn, half, out)

    def _skip_to_pending(
        self, conn: Connection, half: HalfStream, t: float | None, out: list[StreamEvent]
    ) -> None:
        first = min(half.pending)
        if first > half.offset:
            self._gap(conn, half, t if t is not None else half.pending[first][0], first - half.offset, out)
        else:
            self._drain(conn, half, out)

    def _check_end(self, conn: Connection, half: HalfStream, t: float | None, out: list[StreamEvent]) -> None:
        if not half.ended and half.fin_offset is not None and half.offset >= half.fin_offset:
            half.ended = True
            out.append(StreamEnd(conn, half, t, False))


@dataclass(slots=True)
class Chunk:
    time: float | None
    offset: int
    data: bytes


@dataclass(slots=True)
class CollectedStream:
    """One direction, gathered whole: for tests and small captures."""

    half: HalfStream
    chunks: list[Chunk] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        return b"".join(c.data for c in self.chunks)


Collected = tuple[Connection, CollectedStream, CollectedStream]


def collect_streams(segments: Iterable[TcpSegment]) -> list[Collected]:
    """Each connection with its client→server and server→client streams, chunks in time order."""
    r = Reassembler()
    by_half: dict[int, CollectedStream] = {}

    def take(events: list[StreamEvent]) -> None:
        for ev in events:
            cs = by_half.setdefault(id(ev.half), CollectedStream(ev.half))
            if isinstance(ev, StreamData):
                cs.chunks.append(Chunk(ev.time, ev.offset, ev.data))
            elif isinstance(ev, StreamGap):
                cs.errors.append(f"gap of {ev.size} bytes at stream offset {ev.offset}")

    for seg in segments:
        take(r.feed(seg))
    take(r.finish())
    return [
        (
            c,
            by_half.get(id(c.c2s)) or CollectedStream(c.c2s),
            by_half.get(id(c.s2c)) or CollectedStream(c.s2c),
        )
        for c in r.connections
    ]
