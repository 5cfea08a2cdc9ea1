"""Builders of synthetic captures: IP/TCP packets, link-layer wrappers, pcap and pcapng files.

Checksums are left at zero: nothing in pygroups reads them, tcpdump and Wireshark only flag them.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return (
        struct.pack(
            ">HHIIHHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (5 << 12) | flags, 65535, 0, 0
        )
        + payload
    )


def ipv4(src: str, dst: str, l4: bytes, proto: int = 6) -> bytes:
    hdr = struct.pack(
        ">BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(l4),
        0,
        0x4000,
        64,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return hdr + l4


def ipv6(src: str, dst: str, l4: bytes, *, hop_by_hop: bool = False) -> bytes:
    nxt, ext = 6, b""
    if hop_by_hop:  # an 8-byte hop-by-hop options header (PadN) before TCP
        ext = bytes([6, 0, 1, 4, 0, 0, 0, 0])
        nxt = 0
    body = ext + l4
    return (
        struct.pack(
            ">IHBB16s16s",
            6 << 28,
            len(body),
            nxt,
            64,
            ipaddress.IPv6Address(src).packed,
            ipaddress.IPv6Address(dst).packed,
        )
        + body
    )


def link(linktype: int, ip: bytes) -> bytes:
    """Wrap an IP packet for a link type."""
    v6 = ip[0] >> 4 == 6
    etype = 0x86DD if v6 else 0x0800
    if linktype == 1:
        return b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + struct.pack(">H", etype) + ip
    if linktype == 113:
        return struct.pack(">HHH8sH", 0, 772, 6, b"\0" * 8, etype) + ip
    if linktype == 276:
        return struct.pack(">HHIHBB8s", etype, 0, 1, 772, 0, 6, b"\0" * 8) + ip
    if linktype in (101, 228, 229):
        return ip
    if linktype == 0:  # BSD loopback: the family in the capturing host's order (little-endian here)
        return struct.pack("<I", 30 if v6 else 2) + ip
    if linktype == 108:  # OpenBSD loopback: network order
        return struct.pack(">I", 24 if v6 else 2) + ip
    raise ValueError(linktype)


def vlan_ethernet(ip: bytes, vid: int = 5) -> bytes:
    return b"\x00" * 12 + struct.pack(">HHH", 0x8100, vid, 0x0800) + ip


def pcap(
    packets: list[tuple[float, bytes]],
    linktype: int = 1,
    *,
    big_endian: bool = False,
    nanos: bool = False,
    snaplen: int = 262144,
) -> bytes:
    bo = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanos else 0xA1B2C3D4
    out = bytearray(struct.pack(bo + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    for t, data in packets:
        sec = int(t)
        frac = round((t - sec) * (1e9 if nanos else 1e6))
        cap = data[:snaplen]
        out += struct.pack(bo + "IIII", sec, frac, len(cap), len(data)) + cap
    return bytes(out)


def _pad4(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _block(bo: str, btype: int, body: bytes) -> bytes:
    body = _pad4(body)
    total = len(body) + 12
    return struct.pack(bo + "II", btype, total) + body + struct.pack(bo + "I", total)


def pcapng_shb(bo: str) -> bytes:
    return _block(bo, 0x0A0D0D0A, struct.pack(bo + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def pcapng_idb(bo: str, linktype: int, *, tsresol: int | None = None, snaplen: int = 0) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += struct.pack(bo + "HH", 9, 1) + _pad4(bytes([tsresol]))
        opts += struct.pack(bo + "HH", 0, 0)
    return _block(bo, 1, struct.pack(bo + "HHI", linktype, 0, snaplen) + opts)


def pcapng_epb(bo: str, iface: int, ticks: int, data: bytes) -> bytes:
    body = struct.pack(bo + "IIIII", iface, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data)) + _pad4(
        data
    )
    return _block(bo, 6, body)


def pcapng_spb(bo: str, data: bytes) -> bytes:
    return _block(bo, 3, struct.pack(bo + "I", len(data)) + data)


def pcapng(
    packets: list[tuple[int, float, bytes]], linktypes: list[int], *, big_endian: bool = False
) -> bytes:
    """One section; interface i has link type linktypes[i] and microsecond timestamps."""
    bo = ">" if big_endian else "<"
    out = pcapng_shb(bo) + b"".join(pcapng_idb(bo, lt) for lt in linktypes)
    out += _block(bo, 4, b"\0\0\0\0")  # a name resolution block (empty), to be skipped
    for iface, t, data in packets:
        out += pcapng_epb(bo, iface, round(t * 1e6), data)
    return out


@dataclass
class Conversation:
    """A TCP connection between two endpoints that tracks sequence numbers for you."""

    client: tuple[str, int] = ("127.0.0.1", 40000)
    server: tuple[str, int] = ("127.0.0.1", 7800)
    isn: tuple[int, int] = (1000, 500000)
    next_seq: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.next_seq = [self.isn[0] + 1, self.isn[1] + 1]

    def _ip(self, from_client: bool, l4: bytes) -> bytes:
        a, b = (self.client, self.server) if from_client else (self.server, self.client)
        if ":" in a[0]:
            return ipv6(a[0], b[0], l4)
        return ipv4(a[0], b[0], l4)

    def _ports(self, from_client: bool) -> tuple[int, int]:
        return (self.client[1], self.server[1]) if from_client else (self.server[1], self.client[1])

    def handshake(self) -> list[bytes]:
        c, s = self.isn
        return [
            self._ip(True, tcp(*self._ports(True), c, 0, SYN)),
            self._ip(False, tcp(*self._ports(False), s, c + 1, SYN | ACK)),
            self._ip(True, tcp(*self._ports(True), c + 1, s + 1, ACK)),
        ]

    def at(self, from_client: bool, offset: int, data: bytes, flags: int = PSH | ACK) -> bytes:
        """A segment carrying `data` at stream offset `offset`, without moving the stream on."""
        i = 0 if from_client else 1
        seq = self.isn[i] + 1 + offset
        return self._ip(from_client, tcp(*self._ports(from_client), seq, self.next_seq[1 - i], flags, data))

    def send(self, from_client: bool, data: bytes, flags: int = PSH | ACK) -> bytes:
        i = 0 if from_client else 1
        pkt = self._ip(
            from_client, tcp(*self._ports(from_client), self.next_seq[i], self.next_seq[1 - i], flags, data)
        )
        self.next_seq[i] += len(data) + (1 if flags & FIN else 0)
        return pkt

    def fin(self, from_client: bool) -> bytes:
        return self.send(from_client, b"", FIN | ACK)


def timed(
    packets: list[bytes], start: float = 1_700_000_000.0, step: float = 0.001
) -> list[tuple[float, bytes]]:
    return [(start + i * step, p) for i, p in enumerate(packets)]
