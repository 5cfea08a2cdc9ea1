"""Split a loopback pcap of JGroups TCP traffic into preambles and frames (standard library only).

Good enough for captures made by record_capture.py: classic pcap, Ethernet link type (Linux ``lo``), IPv4,
every packet captured. Segments are put in order by sequence number relative to the SYN, and retransmitted
(overlapping) bytes are dropped: loopback does retransmit when a receive buffer is full. Not a general TCP
reassembler (no port reuse, no IP fragments).

Each direction of a JGroups connection is: an optional preamble (cookie ``bela``, i16 version, u16 address
length, IpAddress body) written by the connecting side, then frames of ``i32 length`` + payload, where a
length of -5 is the graceful-close marker. On TP connections a payload is a TP frame (version, flags,
message or list); on FD_SOCK2 connections (server port = TP port + 100..103) it is a bare message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

COOKIE = b"bela"
GRACEFUL_CLOSE = -5


@dataclass
class Stream:
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytearray = field(default_factory=bytearray)
    isn: int | None = None  # sequence number of the SYN
    segments: list[tuple[int, bytes]] = field(default_factory=list)
    retransmitted: int = 0  # bytes seen twice

    def assemble(self) -> None:
        if not self.segments:
            return
        if self.isn is None:
            raise ValueError(f"{self.src}->{self.dst}: connection started before the capture (no SYN)")
        data = bytearray()
        for rel, body in sorted(((seq - self.isn - 1) % 2**32, body) for seq, body in self.segments):
            if rel > len(data):
                raise ValueError(
                    f"{self.src}->{self.dst}: {rel - len(data)} bytes missing at offset {len(data)}"
                )
            self.retransmitted += min(len(data) - rel, len(body))
            data += body[len(data) - rel :]
        self.data = data


@dataclass
class Frame:
    src: tuple[str, int]
    dst: tuple[str, int]
    kind: str  # "preamble", "frame" (TP payload), "bare" (FD_SOCK2 payload) or "close"
    data: bytes


def read_streams(path: str | Path) -> list[Stream]:
    """TCP payload per direction (4-tuple), in order of first appearance."""
    raw = Path(path).read_bytes()
    magic = raw[:4]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    else:
        raise ValueError(f"{path}: not a classic pcap file")
    if struct.unpack(e + "I", raw[20:24])[0] != 1:
        raise ValueError(f"{path}: expected Ethernet link type (capture on Linux lo)")
    streams: dict[tuple, Stream] = {}
    off = 24
    while off + 16 <= len(raw):
        incl = struct.unpack(e + "I", raw[off + 8 : off + 12])[0]
        pkt = raw[off + 16 : off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00" or pkt[23] != 6:  # IPv4 + TCP only
            continue
        ihl = (pkt[14] & 0x0F) * 4
        src_ip, dst_ip = ".".join(map(str, pkt[26:30])), ".".join(map(str, pkt[30:34]))
        tcp = pkt[14 + ihl :]
        sport, dport = struct.unpack(">HH", tcp[:4])
        body = tcp[(tcp[12] >> 4) * 4 :]
        key = ((src_ip, sport), (dst_ip, dport))
        s = streams.setdefault(key, Stream(*key))
        seq = struct.unpack(">I", tcp[4:8])[0]
        if tcp[13] & 0x02:  # SYN
            s.isn = seq
        if body:
            s.segments.append((seq, body))
    for s in streams.values():
        s.assemble()
    return list(streams.values())


def split_frames(stream: Stream, tp_ports: set[int] | None = None) -> list[Frame]:
    """Cuts one direction into preamble / frames. ``tp_ports`` are the TP listening ports; a connection whose
    server port is not one of them (e.g. 7900, FD_SOCK2) carries bare messages."""
    data, pos, out = bytes(stream.data), 0, []
    server_port = min(stream.src[1], stream.dst[1])  # listening ports are below the ephemeral range
    payload_kind = "frame" if tp_ports is None or server_port in tp_ports else "bare"
    if data.startswith(COOKIE):
        addr_len = struct.unpack(">H", data[6:8])[0]
        out.append(Frame(stream.src, stream.dst, "preamble", data[: 8 + addr_len]))
        pos = 8 + addr_len
    while pos + 4 <= len(data):
        (length,) = struct.unpack(">i", data[pos : pos + 4])
        pos += 4
        if length == GRACEFUL_CLOSE:
            out.append(Frame(stream.src, stream.dst, "close", b""))
            continue
        if length <= 0 or pos + length > len(data):
            raise ValueError(f"{stream.src}->{stream.dst}: bad frame length {length} at offset {pos - 4}")
        out.append(Frame(stream.src, stream.dst, payload_kind, data[pos : pos + length]))
        pos += length
    if pos != len(data):
        raise ValueError(f"{stream.src}->{stream.dst}: {len(data) - pos} trailing bytes")
    return out


def frames(path: str | Path, tp_ports: set[int] | None = None) -> list[Frame]:
    result: list[Frame] = []
    for s in read_streams(path):
        result.extend(split_frames(s, tp_ports))
    return result
