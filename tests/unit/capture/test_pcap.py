"""pcap/pcapng readers, link/IP/TCP decoding and TCP reassembly on synthetic captures."""

from __future__ import annotations

import io
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.capture import CaptureError
from pygroups.capture.pcap import Endpoint, Packet, decode_packet, read_packets, tcp_segments
from pygroups.capture.tcp import Reassembler, StreamData, StreamEnd, StreamGap, collect_streams
from tests.unit.capture import synth
from tests.unit.capture.synth import Conversation, link, pcap, pcapng, timed


def streams(data: bytes):  # type: ignore[no-untyped-def]
    return collect_streams(tcp_segments(read_packets(io.BytesIO(data))))


def simple_conversation(linktype: int = 1, conv: Conversation | None = None) -> list[bytes]:
    c = conv or Conversation()
    pkts = [
        *c.handshake(),
        c.send(True, b"hello "),
        c.send(False, b"welcome"),
        c.send(True, b"world"),
        c.fin(True),
        c.fin(False),
    ]
    return [link(linktype, p) for p in pkts]


def check_simple(data: bytes) -> None:
    ((conn, c2s, s2c),) = streams(data)
    assert str(conn.client) == "127.0.0.1:40000" and str(conn.server) == "127.0.0.1:7800"
    assert conn.handshake_seen
    assert c2s.data == b"hello world" and s2c.data == b"welcome"
    assert c2s.half.ended and s2c.half.ended
    assert not c2s.errors and not s2c.errors


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanos", [False, True])
def test_pcap_byte_orders_and_resolutions(big_endian: bool, nanos: bool) -> None:
    data = pcap(
        timed(simple_conversation(), start=1_700_000_000.25, step=0.000_5), big_endian=big_endian, nanos=nanos
    )
    pkts = list(read_packets(io.BytesIO(data)))
    assert len(pkts) == 8
    assert pkts[0].linktype == 1
    assert pkts[0].time == pytest.approx(1_700_000_000.25, abs=1e-6)
    assert pkts[3].time == pytest.approx(1_700_000_000.2515, abs=1e-6)
    check_simple(data)


@pytest.mark.parametrize("linktype", [0, 1, 101, 108, 113, 228, 276])
def test_link_types(linktype: int) -> None:
    check_simple(pcap(timed(simple_conversation(linktype)), linktype=linktype))


def test_ethernet_vlan() -> None:
    c = Conversation()
    pkts = [synth.vlan_ethernet(p) for p in [*c.handshake(), c.send(True, b"abc")]]
    ((_, c2s, _),) = streams(pcap(timed(pkts)))
    assert c2s.data == b"abc"


@pytest.mark.parametrize("linktype", [1, 229, 276])
def test_ipv6(linktype: int) -> None:
    c = Conversation(client=("::1", 40000), server=("::1", 7800))
    check = simple_conversation(linktype, c) if linktype != 229 else simple_conversation(101, c)
    ((conn, c2s, s2c),) = streams(pcap(timed(check), linktype=linktype))
    assert str(conn.client) == "[::1]:40000"
    assert c2s.data == b"hello world" and s2c.data == b"welcome"


def test_ipv6_extension_header() -> None:
    seg = synth.tcp(40000, 7800, 1, 0, synth.PSH | synth.ACK, b"xyz")
    pkt = Packet(1.0, 101, synth.ipv6("fe80::1", "fe80::2", seg, hop_by_hop=True), 0)
    s = decode_packet(pkt)
    assert s is not None and s.payload == b"xyz" and s.src == Endpoint("fe80::1", 40000)


def test_non_tcp_and_fragments_are_skipped() -> None:
    udp = synth.ipv4("127.0.0.1", "127.0.0.1", b"\0" * 12, proto=17)
    assert decode_packet(Packet(0.0, 101, udp, 0)) is None
    frag = bytearray(synth.ipv4("127.0.0.1", "127.0.0.1", synth.tcp(1, 2, 0, 0, synth.ACK)))
    frag[6:8] = b"\x20\x00"  # more fragments
    assert decode_packet(Packet(0.0, 101, bytes(frag), 0)) is None
    arp = b"\0" * 12 + b"\x08\x06" + b"\0" * 28
    assert decode_packet(Packet(0.0, 1, arp, 0)) is None
    assert decode_packet(Packet(0.0, 147, b"whatever", 0)) is None


@pytest.mark.parametrize("big_endian", [False, True])
def test_pcapng_two_interfaces(big_endian: bool) -> None:
    lo = Conversation()
    eth = Conversation(client=("10.0.0.2", 50000), server=("10.0.0.1", 7801))
    pkts = [(0, p) for p in lo.handshake()] + [(1, p) for p in eth.handshake()]
    pkts += [(0, lo.send(True, b"on lo")), (1, eth.send(True, b"on eth")), (0, lo.send(False, b"back"))]
    linktypes = [276, 1]
    blocks = [(i, 10.0 + n * 0.25, link(linktypes[i], p)) for n, (i, p) in enumerate(pkts)]
    data = pcapng(blocks, linktypes, big_endian=big_endian)
    read = list(read_packets(io.BytesIO(data)))
    assert [p.linktype for p in read] == [276, 276, 276, 1, 1, 1, 276, 1, 276]
    assert read[4].time == pytest.approx(11.0)
    got = {str(c.server): (a.data, b.data) for c, a, b in streams(data)}
    assert got == {"127.0.0.1:7800": (b"on lo", b"back"), "10.0.0.1:7801": (b"on eth", b"")}


def test_pcapng_resolution_sections_and_simple_blocks() -> None:
    c = Conversation()
    pkts = [link(1, p) for p in [*c.handshake(), c.send(True, b"abc"), c.send(True, b"def")]]
    bo = ">"
    data = synth.pcapng_shb(bo) + synth.pcapng_idb(bo, 1, tsresol=9)  # nanoseconds
    data += b"".join(synth.pcapng_epb(bo, 0, 2_000_000_000 + i, p) for i, p in enumerate(pkts[:4]))
    # a second section, little-endian, with 2^-10 s resolution and one simple packet block
    lo = "<"
    data += synth.pcapng_shb(lo) + synth.pcapng_idb(lo, 1, tsresol=0x80 | 10) + synth.pcapng_spb(lo, pkts[4])
    read = list(read_packets(io.BytesIO(data)))
    assert read[0].time == pytest.approx(2.0)
    assert read[4].time is None
    ((_, c2s, _),) = streams(data)
    assert c2s.data == b"abcdef"


def test_out_of_order_retransmitted_and_overlapping() -> None:
    c = Conversation()
    msg = bytes(range(100))
    pkts = [
        *c.handshake(),
        c.at(True, 50, msg[50:80]),  # out of order
        c.at(True, 0, msg[0:30]),
        c.at(True, 0, msg[0:30]),  # retransmission
        c.at(True, 20, msg[20:60]),  # overlaps both sides
        c.at(True, 50, msg[50:80]),  # duplicate of a delivered segment
        c.at(True, 90, msg[90:100]),  # out of order, waits for 80..90
        c.at(True, 75, msg[75:90]),
    ]  # overlaps the delivered part and fills the hole
    ((_, c2s, _),) = streams(pcap(timed([link(1, p) for p in pkts])))
    assert c2s.data == msg
    assert not c2s.errors
    assert c2s.half.duplicate_bytes == 30 + 10 + 10 + 30 + 5
    offsets = [ch.offset for ch in c2s.chunks]
    assert offsets == sorted(offsets) and offsets[0] == 0


def test_gap_is_recorded_and_stream_goes_on() -> None:
    c = Conversation()
    pkts = [*c.handshake(), c.at(True, 0, b"aaaa"), c.at(True, 10, b"cccc"), c.at(True, 14, b"dd")]
    ((_, c2s, _),) = streams(pcap(timed([link(1, p) for p in pkts])))
    assert c2s.data == b"aaaaccccdd"
    assert c2s.errors == ["gap of 6 bytes at stream offset 4"]
    assert [ch.offset for ch in c2s.chunks] == [0, 10, 14]


def test_ack_beyond_hole_declares_gap_at_once() -> None:
    c = Conversation()
    r = Reassembler()
    pkts = [*c.handshake(), c.at(True, 0, b"aaaa"), c.at(True, 10, b"cccc")]
    events = []
    for p in pkts:
        seg = decode_packet(Packet(1.0, 101, p, 0))
        assert seg is not None
        events += r.feed(seg)
    assert not [e for e in events if isinstance(e, StreamGap)]
    ack = synth.ipv4("127.0.0.1", "127.0.0.1", synth.tcp(7800, 40000, 500001, 1001 + 14, synth.ACK))
    seg = decode_packet(Packet(2.0, 101, ack, 0))
    assert seg is not None
    events = r.feed(seg)
    assert [(e.offset, e.size, e.time) for e in events if isinstance(e, StreamGap)] == [(4, 6, 2.0)]
    assert [e.data for e in events if isinstance(e, StreamData)] == [b"cccc"]


def test_pending_limit_declares_gap() -> None:
    c = Conversation()
    r = Reassembler(max_pending_bytes=10)
    events = []
    for p in [*c.handshake(), c.at(True, 100, b"x" * 6), c.at(True, 106, b"y" * 6)]:
        seg = decode_packet(Packet(1.0, 101, p, 0))
        assert seg is not None
        events += r.feed(seg)
    gaps = [e for e in events if isinstance(e, StreamGap)]
    assert [(g.offset, g.size) for g in gaps] == [(0, 100)]
    assert b"".join(e.data for e in events if isinstance(e, StreamData)) == b"x" * 6 + b"y" * 6


def test_sequence_wraparound() -> None:
    c = Conversation(isn=(0xFFFFFFF0, 7))
    pkts = [*c.handshake(), c.send(True, b"0123456789"), c.send(True, b"abcdefghij"), c.send(True, b"KLM")]
    ((_, c2s, _),) = streams(pcap(timed([link(1, p) for p in pkts])))
    assert c2s.data == b"0123456789abcdefghijKLM"


def test_stream_started_before_capture() -> None:
    c = Conversation()
    c.handshake()
    c.send(True, b"lost before the capture")
    pkts = [c.send(False, b"reply"), c.send(True, b"seen"), c.send(True, b" too")]
    ((conn, c2s, s2c),) = streams(pcap(timed([link(1, p) for p in pkts])))
    assert not conn.handshake_seen
    assert str(conn.server) == "127.0.0.1:7800"  # the lower port is guessed to be the server
    assert c2s.half.mid_stream and c2s.data == b"seen too" and s2c.data == b"reply"


def test_port_reuse_starts_new_connection_and_rst_ends() -> None:
    a, b = Conversation(isn=(100, 200)), Conversation(isn=(90000, 80000))
    pkts = [*a.handshake(), a.send(True, b"first"), a.fin(True), *b.handshake(), b.send(True, b"second")]
    r = Reassembler()
    ends = []
    for p in [*pkts, b.at(False, 0, b"", synth.RST)]:
        seg = decode_packet(Packet(1.0, 101, p, 0))
        assert seg is not None
        ends += [e for e in r.feed(seg) if isinstance(e, StreamEnd)]
    assert len(r.connections) == 2
    assert [(e.conn.index, e.reset) for e in ends] == [(0, False), (1, True)]
    got = streams(pcap(timed([link(1, p) for p in pkts])))
    assert [x.data for _, x, _ in got] == [b"first", b"second"]


def test_snaplen_cut_makes_a_gap() -> None:
    c = Conversation()
    pkts = [*c.handshake(), c.send(True, b"A" * 100), c.send(True, b"B" * 10)]
    data = pcap(timed([link(1, p) for p in pkts]), snaplen=14 + 40 + 60)
    ((_, c2s, _),) = streams(data)
    assert c2s.data == b"A" * 60 + b"B" * 10
    assert c2s.errors == ["gap of 40 bytes at stream offset 60"]


def test_truncated_file_yields_packets_then_raises() -> None:
    data = pcap(timed(simple_conversation()))
    it = read_packets(io.BytesIO(data[:-5]))
    got = []
    with pytest.raises(CaptureError, match="truncated"):
        for p in it:
            got.append(p)
    assert len(got) == 7


@pytest.mark.parametrize(
    "data", [b"", b"\xd4\xc3", b"GIF89a......", struct.pack("<I", 0xA1B2C3D4) + b"\0" * 3]
)
def test_bad_headers(data: bytes) -> None:
    with pytest.raises(CaptureError):
        list(read_packets(io.BytesIO(data)))


def _consume(data: bytes) -> None:
    r = Reassembler(max_pending_bytes=4096)
    try:
        for seg in tcp_segments(read_packets(io.BytesIO(data))):
            r.feed(seg)
    except CaptureError:
        pass
    r.finish()


_VALID = [
    pcap(timed(simple_conversation(113)), linktype=113),
    pcap(timed(simple_conversation(1)), big_endian=True, nanos=True),
    pcapng([(0, i * 0.1, p) for i, p in enumerate(simple_conversation(276))], [276]),
]


@given(st.binary(max_size=400))
def test_arbitrary_bytes_raise_only_capture_error(data: bytes) -> None:
    _consume(data)
    _consume(_VALID[0][:4] + data)
    _consume(_VALID[2][:28] + data)


@given(st.sampled_from(_VALID), st.data())
def test_damaged_captures_raise_only_capture_error(valid: bytes, draw: st.DataObject) -> None:
    buf = bytearray(valid)
    for _ in range(draw.draw(st.integers(1, 8))):
        pos = draw.draw(st.integers(0, len(buf) - 1))
        buf[pos] ^= 1 << draw.draw(st.integers(0, 7))
    cut = draw.draw(st.integers(0, len(buf)))
    _consume(bytes(buf[:cut]))
    _consume(bytes(buf))
