"""The dump engine on synthetic captures built from frames the codec encodes."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID, IpAddress
from pygroups.capture import CaptureError
from pygroups.capture.dump import Dump, dump_bytes
from pygroups.capture.records import Record, find_frame_start
from pygroups.capture.sources import InputFormat, detect_format
from pygroups.capture.text import TextFormatter
from pygroups.message import Flag, Message, MsgType
from pygroups.wire import codec, framing
from pygroups.wire.headers.fd import FdHeader
from pygroups.wire.headers.gms import GmsHeader
from pygroups.wire.headers.ping import PingData, PingHeader, encode_ping_data_list
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.headers.unicast import UnicastHeader3
from pygroups.wire.version import WireVersion
from tests.unit.capture.synth import Conversation, link, pcap, timed

A, B = UUID(0x1111, 0xAAAA), UUID(0x2222, 0xBBBB)
A_PHYS, B_PHYS = IpAddress("127.0.0.1", 7800), IpAddress("127.0.0.1", 7801)
TP = {57: TpHeader("demo")}
GARBAGE = b"\x29\x46\x00\x00\x03\x77"  # a single ObjectMessage that ends inside its flags


def discovery(src: UUID, dest: Any, name: str, phys: IpAddress, req: bool) -> bytes:
    hdr = PingHeader(
        PingHeader.Type.GET_MBRS_REQ if req else PingHeader.Type.GET_MBRS_RSP, "demo" if req else None, req
    )
    data = encode_ping_data_list([PingData(src, not req, not req, name, phys)])
    msg = Message(
        MsgType.BYTES,
        dest=dest,
        src=src,
        flags=Flag.OOB | Flag.DONT_BUNDLE,
        headers={9: hdr, **TP},
        payload=data,
    )
    return codec.encode_single(msg)


def join_req() -> bytes:
    hdrs = {
        12: GmsHeader(GmsHeader.Type.JOIN_REQ, mbr=B),
        48: UnicastHeader3(UnicastHeader3.Type.DATA, 1, 0, True),
        **TP,
    }
    return codec.encode_single(Message(MsgType.BYTES, dest=A, src=B, flags=Flag.OOB, headers=hdrs))


def acks() -> bytes:
    msgs = [
        Message(
            MsgType.EMPTY,
            dest=A,
            src=B,
            flags=Flag.NO_FC,
            headers={48: UnicastHeader3(UnicastHeader3.Type.ACK, seqno=i, conn_id=0, timestamp=i), **TP},
        )
        for i in (1, 2)
    ]
    return codec.encode_list(msgs, dest=A, src=B, cluster="demo")


def fd(kind: FdHeader.Type, src: UUID, srv: UUID) -> bytes:
    return codec.encode_bare(
        Message(MsgType.EMPTY, src=src, headers={71: FdHeader(kind, srv=srv, cluster="demo")})
    )


def tp_capture() -> tuple[bytes, int]:
    """B joins A over 40000->7800; returns the pcap and the stream offset of the garbage frame."""
    c = Conversation()
    c2s = [
        framing.encode_preamble(B_PHYS),
        framing.frame(discovery(B, A_PHYS, "B", B_PHYS, True)),
        framing.frame(join_req()),
    ]
    garbage_at = sum(map(len, c2s))
    c2s += [framing.frame(GARBAGE), framing.frame(acks()), framing.CLOSE_FRAME]
    pkts = [
        *c.handshake(),
        c.send(True, b"".join(c2s[:2])),
        c.send(False, framing.frame(discovery(A, B, "A", A_PHYS, False))),
        c.send(True, b"".join(c2s[2:4])),
        c.send(True, b"".join(c2s[4:])),
    ]
    return pcap(timed([link(1, p) for p in pkts])), garbage_at


def fd_capture(server_port: int) -> list[bytes]:
    c = Conversation(client=("127.0.0.1", 40001), server=("127.0.0.1", server_port))
    pre = framing.encode_preamble(IpAddress("127.0.0.1", 7901))
    return [
        *c.handshake(),
        c.send(True, pre + framing.frame(fd(FdHeader.Type.CONNECT, B, A))),
        c.send(False, framing.frame(fd(FdHeader.Type.CONNECT_RSP, A, A))),
    ]


def run(data: bytes, **kw: Any) -> tuple[list[Record], Dump]:
    d = dump_bytes(data, **kw)
    return list(d), d


def test_tp_stream_with_garbage_frame() -> None:
    data, garbage_at = tp_capture()
    recs, d = run(data)
    kinds = [r.kind for r in recs]
    assert kinds == ["preamble", "message", "message", "message", "error", "message", "message", "close"]
    pre = recs[0]
    assert pre.stream == "127.0.0.1:40000->127.0.0.1:7800" and pre.offset == 0
    assert pre.fields == {"version": "5.5.6", "addr": "127.0.0.1:7801"}
    err = recs[4]
    assert err.stream == "127.0.0.1:40000->127.0.0.1:7800"
    assert err.offset == garbage_at
    assert err.fields["length"] == len(GARBAGE) and err.fields["bytes"] == GARBAGE.hex()
    assert err.fields["error"] and "at" in err.fields and "path" in err.fields
    rsp = recs[2]
    assert rsp.stream == "127.0.0.1:7800->127.0.0.1:40000" and rsp.offset == 0
    batch = [r for r in recs if r.kind == "message" and r.fields["batch"]]
    assert [(r.fields["index"], r.fields["count"], r.fields["cluster"]) for r in batch] == [
        (0, 2, "demo"),
        (1, 2, "demo"),
    ]
    s = d.summary
    assert (s.format, s.packets, s.connections, s.frames, s.messages, s.errors) == ("pcap", 7, 1, 5, 5, 1)
    assert s.headers["GMS"] == {"JOIN_REQ": 1}
    assert s.headers["UNICAST3"] == {"DATA": 1, "ACK": 2}
    assert s.headers["TCPPING"] == {"GET_MBRS_REQ": 1, "GET_MBRS_RSP": 1}
    assert s.headers["TP"] == {"TpHeader": 5}
    assert recs[-1].offset == garbage_at + 4 + len(GARBAGE) + 4 + len(acks())


def test_json_record_shape() -> None:
    recs, _ = run(tp_capture()[0])
    msg = next(r for r in recs if r.kind == "message" and "GMS" in r.fields["headers"]).to_json()
    assert list(msg)[:4] == ["kind", "stream", "time", "offset"]
    for key in ("n", "version", "batch", "index", "dest", "src", "flags", "type", "headers", "length"):
        assert key in msg
    assert "payload" not in msg
    assert msg["version"] == "5.5.6" and msg["batch"] is False and msg["index"] == 0
    assert msg["flags"] == ["OOB"] and msg["type"] == "BytesMessage"
    assert msg["headers"]["GMS"]["type"] == "JOIN_REQ"
    assert msg["dest"] == {"uuid": A.uuid_string()}
    assert isinstance(msg["time"], float)
    json.dumps([r.to_json() for r in recs])  # everything serialises
    with_payload, _ = run(tp_capture()[0], with_payload=True)
    assert "payload" in next(r for r in with_payload if r.kind == "message").to_json()


def test_fd_sock2_by_port_and_by_fallback() -> None:
    tp_pkts = Conversation().handshake()
    for port in (7900, 9000):  # 7900 = 7800 + 100; 9000 has no TP port below it
        data = pcap(timed([link(1, p) for p in tp_pkts + fd_capture(port)]))
        recs, d = run(data)
        msgs = [r for r in recs if r.kind == "message"]
        assert d.summary.errors == 0
        assert [(r.fields["socket"], r.fields["headers"]["FD_SOCK2"]["type"]) for r in msgs] == [
            ("fd_sock2", "CONNECT"),
            ("fd_sock2", "CONNECT_RSP"),
        ]
        assert msgs[0].fields["version"] is None
        assert recs[0].kind == "preamble" and recs[0].fields["addr"] == "127.0.0.1:7901"


def test_broken_stream_is_abandoned_rest_continues() -> None:
    c = Conversation()
    other = Conversation(client=("127.0.0.1", 40002), server=("127.0.0.1", 7801))
    bad = framing.encode_preamble(B_PHYS) + b"\xff\xff\xff\xf9" + b"junk"
    pkts = [
        *c.handshake(),
        *other.handshake(),
        c.send(True, bad),
        other.send(True, framing.encode_preamble(A_PHYS) + framing.frame(join_req())),
        c.send(True, framing.frame(join_req())),
    ]
    recs, d = run(pcap(timed([link(1, p) for p in pkts])))
    errors = [r for r in recs if r.kind == "error"]
    assert len(errors) == 1 and errors[0].offset == 15 and errors[0].fields["fatal"] is True
    assert "invalid frame length -7" in errors[0].fields["error"]
    assert [r.stream for r in recs if r.kind == "message"] == ["127.0.0.1:40002->127.0.0.1:7801"]
    assert d.summary.errors == 1


def test_gap_resynchronises() -> None:
    c = Conversation()
    f1, f2, f3 = framing.frame(join_req()), framing.frame(acks()), framing.frame(join_req())
    pre = framing.encode_preamble(B_PHYS)
    # the middle of f2 is lost: the stream resumes inside f2, then f3 is found again
    pkts = [*c.handshake(), c.at(True, 0, pre + f1 + f2[:10]), c.at(True, len(pre + f1) + 20, f2[20:] + f3)]
    recs, d = run(pcap(timed([link(1, p) for p in pkts])))
    kinds = [r.kind for r in recs]
    assert kinds == ["preamble", "message", "error", "note", "message"]
    assert "10 bytes missing" in recs[2].fields["error"]
    assert recs[4].offset == len(pre + f1 + f2)
    assert d.summary.errors == 1


def test_stream_joined_in_the_middle() -> None:
    c = Conversation()
    c.handshake()
    c.send(True, framing.encode_preamble(B_PHYS) + framing.frame(join_req())[:7])
    rest = framing.frame(join_req())[7:] + framing.frame(acks()) + framing.frame(join_req())
    recs, d = run(pcap(timed([link(1, c.send(True, rest))])))
    assert [r.kind for r in recs] == ["note", "message", "message", "message"]
    assert "skipped" in recs[0].fields["detail"]
    assert d.summary.errors == 0


def test_find_frame_start() -> None:
    f = framing.frame(join_req())
    assert find_frame_start(b"\x01\x02\x03" + f + f, final=False) == 3
    assert find_frame_start(b"\x01\x02\x03" + f, final=False) is None  # successor not yet seen
    assert find_frame_start(b"\x01\x02\x03" + f, final=True) == 3
    assert find_frame_start(b"nothing here at all", final=True) is None


def test_human_output_uses_learnt_names() -> None:
    recs, d = run(tp_capture()[0])
    fmt = TextFormatter(summary=d.summary)
    lines = [fmt.format(r) for r in recs]
    join = next(line for line in lines if "GMS" in line)
    assert join.startswith("#3 127.0.0.1:40000->127.0.0.1:7800 +0.00")
    assert (
        "[dst: A, src: B (3 headers), size=0, flags=OOB], GMS: JOIN_REQ mbr=B, "
        "UNICAST3: DATA seqno=1 conn_id=0 first, TP: [cluster=demo]"
    ) in join
    assert lines[0].startswith("-- 127.0.0.1:40000->127.0.0.1:7800 +0.003s preamble: version 5.5.6")
    assert any(line.startswith("!! ") and "offset" in line for line in lines)
    assert "batch[2/2]" in lines[6]
    text = fmt.summary(d.summary)
    assert "5 messages, 1 errors" in text and "GMS: JOIN_REQ=1" in text


def test_frames_file_and_version_check() -> None:
    data = (
        framing.encode_preamble(B_PHYS)
        + framing.frame(join_req())
        + framing.frame(GARBAGE)
        + framing.frame(acks())
    )
    assert detect_format(data) is InputFormat.FRAMES
    recs, _ = run(data, label="x.bin")
    assert [r.kind for r in recs] == ["preamble", "message", "error", "message", "message"]
    assert recs[2].stream == "x.bin" and recs[2].offset == 15 + 4 + len(join_req())
    # a JGroups 5.6 preamble is not binary compatible with 5.5: the stream is abandoned
    recs, _d = run(data, version=WireVersion(5, 6, 0))
    assert [r.kind for r in recs] == ["error"] and "incompatible version" in recs[0].fields["error"]
    # frames without a preamble are detected too
    assert detect_format(framing.frame(join_req())) is InputFormat.FRAMES


def test_close_marker_twice_and_data_after_close() -> None:
    head = framing.encode_preamble(B_PHYS) + framing.frame(join_req()) + framing.CLOSE_FRAME
    recs, d = run(head + framing.CLOSE_FRAME)
    assert [(r.kind, r.fields.get("repeated")) for r in recs] == [
        ("preamble", None),
        ("message", None),
        ("close", None),
        ("close", True),
    ]
    assert recs[3].offset == len(head) and d.summary.errors == 0
    for tail in (framing.frame(join_req()), b"\xff\xff"):
        recs, d = run(head + tail)
        assert recs[-1].kind == "error" and recs[-1].offset == len(head)
        assert "after the close marker" in recs[-1].fields["error"] and d.summary.errors == 1


def test_hex_lines() -> None:
    text = "\n".join(
        [
            "# a comment line",
            framing.encode_preamble(B_PHYS).hex(),
            "  " + join_req().hex() + "   # TP payload",
            framing.frame(acks()).hex(" ", 4),  # length-prefixed, with spaces
            fd(FdHeader.Type.CONNECT, B, A).hex(),  # a bare FD_SOCK2 message
            GARBAGE.hex(),
            "zz",
            framing.CLOSE_FRAME.hex(),
        ]
    )
    data = text.encode()
    assert detect_format(data) is InputFormat.HEX
    recs, d = run(data, label="t.hex")
    assert [(r.kind, r.offset) for r in recs] == [
        ("preamble", 2),
        ("message", 3),
        ("message", 4),
        ("message", 4),
        ("message", 5),
        ("error", 6),
        ("error", 7),
        ("close", 8),
    ]
    assert recs[4].fields["socket"] == "fd_sock2"
    assert d.summary.errors == 2 and d.summary.messages == 4


def test_capture_error_is_reported() -> None:
    data, _ = tp_capture()
    recs, _d = run(data[:-10])
    assert recs[-1].kind in ("error", "note")
    assert any(r.kind == "error" and r.fields["error"].startswith("capture file:") for r in recs)


@given(st.binary(max_size=300), st.sampled_from(list(InputFormat)))
def test_dump_never_crashes(data: bytes, fmt: InputFormat) -> None:
    seeds = {
        InputFormat.PCAP: tp_capture()[0][:200],
        InputFormat.FRAMES: framing.encode_preamble(B_PHYS) + framing.frame(join_req()),
        InputFormat.HEX: join_req().hex().encode() + b"\n",
        InputFormat.AUTO: b"",
    }
    for blob in (data, seeds[fmt] + data, seeds[fmt][: len(data)]):
        try:
            recs, d = run(blob, fmt=fmt)
        except CaptureError:
            assert fmt is InputFormat.AUTO  # only format detection may refuse the input
            continue
        assert d.summary.errors == sum(1 for r in recs if r.kind == "error")
        json.dumps([r.to_json() for r in recs])


@given(st.data())
def test_damaged_capture_dumps(draw: st.DataObject) -> None:
    buf = bytearray(tp_capture()[0])
    for _ in range(draw.draw(st.integers(1, 6))):
        pos = draw.draw(st.integers(24, len(buf) - 1))
        buf[pos] ^= 1 << draw.draw(st.integers(0, 7))
    recs, d = run(bytes(buf), fmt=InputFormat.PCAP)
    fmt = TextFormatter(summary=d.summary)
    for r in recs:
        fmt.format(r)
