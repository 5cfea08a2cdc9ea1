"""pcap and pcapng readers (stdlib only), as tcpdump and Wireshark write them.

Only what `pygroups dump` needs: packets with their link type and timestamp. Both byte orders,
microsecond and nanosecond pcap, pcapng sections with several interfaces (each with its own link
type and timestamp resolution). A damaged file raises CaptureError once the packets before the
damage have been yielded, so a capture cut short by a killed tcpdump still dumps.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from pygroups.capture import CaptureError

PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_SHB = 0x0A0D0D0A
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D

#: Largest packet record or pcapng block accepted: far above any snaplen, small enough that a
#: corrupted length cannot make us allocate gigabytes.
MAX_RECORD_SIZE = 16 * 1024 * 1024

_PCAPNG_IDB = 1
_PCAPNG_OPB = 2  # obsolete Packet Block
_PCAPNG_SPB = 3
_PCAPNG_EPB = 6


@dataclass(frozen=True, slots=True)
class Packet:
    """One captured link-layer frame. `time` is None when the file has no timestamp (pcapng SPB)."""

    time: float | None
    linktype: int
    data: bytes
    orig_len: int


def is_pcap(head: bytes) -> bool:
    """True if `head` (the first 4+ bytes of a file) is a pcap or pcapng magic."""
    if len(head) < 4:
        return False
    be, le = struct.unpack(">I", head[:4])[0], struct.unpack("<I", head[:4])[0]
    return be in (PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAPNG_SHB) or le in (PCAP_MAGIC_US, PCAP_MAGIC_NS)


def read_packets(f: IO[bytes]) -> Iterator[Packet]:
    """Every packet of a pcap or pcapng file, in file order."""
    head = f.read(4)
    if len(head) < 4:
        raise CaptureError("file too short for a pcap/pcapng header")
    (be,) = struct.unpack(">I", head)
    (le,) = struct.unpack("<I", head)
    if be == PCAPNG_SHB:
        yield from _read_pcapng(f, head)
    elif be in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        yield from _read_pcap(f, ">", be == PCAP_MAGIC_NS)
    elif le in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
        yield from _read_pcap(f, "<", le == PCAP_MAGIC_NS)
    else:
        raise CaptureError(f"not a pcap or pcapng file (magic {head.hex()})")


def _read_exact(f: IO[bytes], n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CaptureError(f"truncated {what}: wanted {n} bytes, file has {len(data)}")
    return data


def _read_pcap(f: IO[bytes], bo: str, nanos: bool) -> Iterator[Packet]:
    hdr = _read_exact(f, 20, "pcap file header")
    _vmaj, _vmin, _zone, _sigfigs, _snaplen, network = struct.unpack(bo + "HHiIII", hdr)
    linktype = network & 0xFFFF  # upper bits: FCS length and reserved flags
    div = 1e9 if nanos else 1e6
    rec = struct.Struct(bo + "IIII")
    index = 0
    while True:
        head = f.read(16)
        if not head:
            return
        if len(head) < 16:
            raise CaptureError(f"truncated pcap record header (packet {index})")
        sec, frac, incl, orig = rec.unpack(head)
        if incl > MAX_RECORD_SIZE:
            raise CaptureError(f"pcap record {index} claims {incl} bytes")
        data = _read_exact(f, incl, f"pcap record {index}")
        yield Packet(sec + frac / div, linktype, data, orig)
        index += 1


@dataclass(slots=True)
class _Interface:
    linktype: int
    snaplen: int
    resolution: float  # seconds per timestamp unit
    offset: int  # if_tsoffset, seconds


def _read_pcapng(f: IO[bytes], first: bytes) -> Iterator[Packet]:
    bo = ">"
    ifaces: list[_Interface] = []
    head: bytes | None = first
    while True:
        if head is None:
            head = f.read(4)
            if not head:
                return
            if len(head) < 4:
                raise CaptureError("truncated pcapng block header")
        rest = _read_exact(f, 4, "pcapng block length")
        if head == struct.pack(">I", PCAPNG_SHB):
            # A section header sets the byte order for itself and everything up to the next one.
            order = _read_exact(f, 4, "pcapng byte-order magic")
            if struct.unpack(">I", order)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                bo = ">"
            elif struct.unpack("<I", order)[0] == PCAPNG_BYTE_ORDER_MAGIC:
                bo = "<"
            else:
                raise CaptureError(f"bad pcapng byte-order magic {order.hex()}")
            (total,) = struct.unpack(bo + "I", rest)
            _check_block_len(total, 28)
            _read_exact(f, total - 12, "pcapng section header")
            ifaces = []
            head = None
            continue
        (btype,) = struct.unpack(bo + "I", head)
        (total,) = struct.unpack(bo + "I", rest)
        _check_block_len(total, 12)
        body = _read_exact(f, total - 8, f"pcapng block type {btype}")[:-4]
        head = None
        if btype == _PCAPNG_IDB:
            ifaces.append(_parse_idb(body, bo))
        elif btype == _PCAPNG_EPB:
            yield _parse_epb(body, bo, ifaces)
        elif btype == _PCAPNG_SPB:
            if not ifaces:
                raise CaptureError("pcapng simple packet block before any interface")
            if len(body) < 4:
                raise CaptureError("short pcapng simple packet block")
            (orig,) = struct.unpack_from(bo + "I", body)
            iface = ifaces[0]
            caplen = min(orig, len(body) - 4, iface.snaplen or orig)
            yield Packet(None, iface.linktype, bytes(body[4 : 4 + caplen]), orig)
        elif btype == _PCAPNG_OPB:
            yield _parse_opb(body, bo, ifaces)
        # every other block type (name resolution, statistics, secrets, custom) is skipped


def _check_block_len(total: int, minimum: int) -> None:
    if total < minimum or total % 4 or total > MAX_RECORD_SIZE:
        raise CaptureError(f"bad pcapng block length {total}")


def _parse_idb(body: bytes, bo: str) -> _Interface:
    if len(body) < 8:
        raise CaptureError("short pcapng interface description block")
    linktype, _reserved, snaplen = struct.unpack_from(bo + "HHI", body)
    resolution, offset = 1e-6, 0
    for code, value in _options(body, 8, bo):
        if code == 9 and value:  # if_tsresol
            v = value[0]
            resolution = 2.0 ** -(v & 0x7F) if v & 0x80 else 10.0**-v
        elif code == 14 and len(value) == 8:  # if_tsoffset
            (offset,) = struct.unpack(bo + "q", value)
    return _Interface(linktype, snaplen, resolution, offset)


def _options(body: bytes, pos: int, bo: str) -> Iterator[tuple[int, bytes]]:
    """pcapng options: u16 code, u16 length, value padded to 4; stops at opt_endofopt or garbage."""
    while pos + 4 <= len(body):
        code, length = struct.unpack_from(bo + "HH", body, pos)
        if code == 0 or pos + 4 + length > len(body):
            return
        yield code, bytes(body[pos + 4 : pos + 4 + length])
        pos += 4 + ((length + 3) & ~3)


def _iface(ifaces: list[_Interface], index: int) -> _Interface:
    if index >= len(ifaces):
        raise CaptureError(f"pcapng packet for undeclared interface {index}")
    return ifaces[index]


def _parse_epb(body: bytes, bo: str, ifaces: list[_Interface]) -> Packet:
    if len(body) < 20:
        raise CaptureError("short pcapng enhanced packet block")
    index, hi, lo, caplen, orig = struct.unpack_from(bo + "IIIII", body)
    iface = _iface(ifaces, index)
    if 20 + caplen > len(body):
        raise CaptureError(f"pcapng packet claims {caplen} bytes, block has {len(body) - 20}")
    t = ((hi << 32) | lo) * iface.resolution + iface.offset
    return Packet(t, iface.linktype, bytes(body[20 : 20 + caplen]), orig)


def _parse_opb(body: bytes, bo: str, ifaces: list[_Interface]) -> Packet:
    if len(body) < 20:
        raise CaptureError("short pcapng packet block")
    index, _drops, hi, lo, caplen, orig = struct.unpack_from(bo + "HHIIII", body)
    iface = _iface(ifaces, index)
    if 20 + caplen > len(body):
        raise CaptureError(f"pcapng packet claims {caplen} bytes, block has {len(body) - 20}")
    t = ((hi << 32) | lo) * iface.resolution + iface.offset
    return Packet(t, iface.linktype, bytes(body[20 : 20 + caplen]), orig)


# ---------------------------------------------------------------------------- link, IP, TCP

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_ETH_VLAN = (0x8100, 0x88A8, 0x9100)
_AF_INET = 2
_AF_INET6 = (10, 24, 28, 30)  # Linux, NetBSD/OpenBSD, FreeBSD, Darwin
_IPV6_EXT = (0, 43, 60)  # hop-by-hop, routing, destination options
_IPV6_FRAGMENT = 44
_PROTO_TCP = 6

TCP_FIN = 0x01
TCP_SYN = 0x02
TCP_RST = 0x04
TCP_ACK = 0x10


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    ip: str
    port: int

    def __str__(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class TcpSegment:
    """One TCP segment. `missing` counts payload bytes the IP header claims but the capture cut
    (snaplen); the stream has a hole of that size right after `payload`."""

    time: float | None
    src: Endpoint
    dst: Endpoint
    seq: int
    ack: int
    flags: int
    payload: bytes
    missing: int = 0

    @property
    def syn(self) -> bool:
        return bool(self.flags & TCP_SYN)

    @property
    def fin(self) -> bool:
        return bool(self.flags & TCP_FIN)

    @property
    def rst(self) -> bool:
        return bool(self.flags & TCP_RST)


def tcp_segments(packets: Iterator[Packet]) -> Iterator[TcpSegment]:
    """The TCP segments among `packets`; everything else (ARP, UDP, fragments) is skipped."""
    for pkt in packets:
        seg = decode_packet(pkt)
        if seg is not None:
            yield seg


def decode_packet(pkt: Packet) -> TcpSegment | None:
    """Link layer → IP → TCP. None for anything that is not a whole TCP segment over IPv4/IPv6."""
    ip = _strip_link(pkt.linktype, pkt.data)
    if ip is None or not ip:
        return None
    version = ip[0] >> 4
    if version == 4:
        return _ipv4(pkt.time, ip)
    if version == 6:
        return _ipv6(pkt.time, ip)
    return None


def _strip_link(linktype: int, d: bytes) -> bytes | None:
    """The IP packet inside a link-layer frame, or None if it carries something else."""
    if linktype in (LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6):
        return d
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if len(d) < 4:
            return None
        # the family is in the capturing host's byte order (NULL) or network order (LOOP)
        fams = {struct.unpack("<I", d[:4])[0], struct.unpack(">I", d[:4])[0]}
        return d[4:] if fams & {_AF_INET, *_AF_INET6} else None
    if linktype == LINKTYPE_ETHERNET:
        pos, etype = 12, -1
        while len(d) >= pos + 2:
            (etype,) = struct.unpack_from(">H", d, pos)
            if etype not in _ETH_VLAN:
                break
            pos += 4
        return d[pos + 2 :] if etype in (_ETH_IPV4, _ETH_IPV6) else None
    if linktype == LINKTYPE_LINUX_SLL:
        if len(d) < 16:
            return None
        (proto,) = struct.unpack_from(">H", d, 14)
        return d[16:] if proto in (_ETH_IPV4, _ETH_IPV6) else None
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(d) < 20:
            return None
        (proto,) = struct.unpack_from(">H", d, 0)
        return d[20:] if proto in (_ETH_IPV4, _ETH_IPV6) else None
    return None


def _ipv4(time: float | None, d: bytes) -> TcpSegment | None:
    if len(d) < 20:
        return None
    ihl = (d[0] & 0x0F) * 4
    (total,) = struct.unpack_from(">H", d, 2)
    (frag,) = struct.unpack_from(">H", d, 6)
    if ihl < 20 or d[9] != _PROTO_TCP or frag & 0x3FFF:  # fragments (MF or offset) are not reassembled
        return None
    if total == 0:  # TSO/BIG TCP: the kernel leaves the length to the capture
        total = len(d)
    if total < ihl:
        return None
    src = _ip_text(d[12:16])
    dst = _ip_text(d[16:20])
    return _tcp(time, src, dst, d[ihl:total], total - ihl)


def _ipv6(time: float | None, d: bytes) -> TcpSegment | None:
    if len(d) < 40:
        return None
    (plen,) = struct.unpack_from(">H", d, 4)
    nxt = d[6]
    src = _ip_text(d[8:24])
    dst = _ip_text(d[24:40])
    claimed = plen if plen else len(d) - 40  # 0: jumbogram, take what was captured
    body = d[40 : 40 + claimed]
    while nxt != _PROTO_TCP:
        if nxt in _IPV6_EXT:
            if len(body) < 2:
                return None
            size = (body[1] + 1) * 8
        elif nxt == _IPV6_FRAGMENT:
            if len(body) < 8 or struct.unpack_from(">H", body, 2)[0] & 0xFFF9:
                return None  # a real fragment (offset or more-fragments set)
            size = 8
        else:
            return None
        nxt = body[0]
        body = body[size:]
        claimed -= size
        if claimed < 0:
            return None
    return _tcp(time, src, dst, body, claimed)


def _tcp(time: float | None, src: str, dst: str, d: bytes, claimed: int) -> TcpSegment | None:
    if len(d) < 20:
        return None
    sport, dport, seq, ack, off_flags = struct.unpack_from(">HHIIH", d)
    doff = (off_flags >> 12) * 4
    if doff < 20 or doff > len(d) or doff > claimed:
        return None
    payload = bytes(d[doff:claimed])
    return TcpSegment(
        time,
        Endpoint(src, sport),
        Endpoint(dst, dport),
        seq,
        ack,
        off_flags & 0x3F,
        payload,
        max(0, claimed - doff - len(payload)),
    )


def _ip_text(b: bytes) -> str:
    if len(b) == 4:
        return f"{b[0]}.{b[1]}.{b[2]}.{b[3]}"
    return str(ipaddress.IPv6Address(bytes(b)))
