"""Stream framing: preamble, length-prefixed frames, the graceful-close marker, bad streams."""

from __future__ import annotations

import pytest

from pygroups.address import IpAddress
from pygroups.errors import MalformedFrame
from pygroups.wire.framing import (
    CLOSE_FRAME,
    CloseMarker,
    FrameBuffer,
    FramePayload,
    Preamble,
    encode_preamble,
    frame,
)
from pygroups.wire.version import WireVersion

ADDR = IpAddress("127.0.0.1", 7801)


def test_preamble_vector() -> None:
    # jgroups-wire.md §1.2 (5.6.0)
    assert encode_preamble(ADDR, WireVersion(5, 6, 0)).hex() == "62656c6129800007047f0000011e79"
    v6 = encode_preamble(IpAddress("::1", 7800))
    assert v6[6:8] == b"\x00\x17"  # 23: len byte + 16 bytes + scope id + port


def test_byte_by_byte_feeding_yields_each_item_once() -> None:
    data = encode_preamble(ADDR) + frame(b"abc") + frame(b"de") + CLOSE_FRAME
    fb = FrameBuffer(expect_preamble=True)
    got = []
    for i in range(len(data)):
        fb.feed(data[i : i + 1])
        got += fb.events()
    assert got == [
        Preamble(WireVersion(5, 5, 6).short, ADDR, 0),
        FramePayload(b"abc", 15),
        FramePayload(b"de", 22),
        CloseMarker(28),
    ]
    assert fb.closed and fb.buffered == 0


def test_repeated_close_marker_is_accepted_other_data_after_close_is_not() -> None:
    fb = FrameBuffer(expect_preamble=False)
    fb.feed(CLOSE_FRAME + CLOSE_FRAME)
    assert fb.events() == [CloseMarker(0)]
    fb.feed(frame(b"x"))
    with pytest.raises(MalformedFrame, match="after the graceful-close"):
        fb.events()


def test_good_frames_before_a_bad_length_are_delivered_then_the_error() -> None:
    fb = FrameBuffer(expect_preamble=False)
    fb.feed(frame(b"ok") + b"\x00\x00\x00\x00")
    assert fb.events() == [FramePayload(b"ok", 0)]
    with pytest.raises(MalformedFrame, match="invalid frame length 0"):
        fb.events()
    with pytest.raises(MalformedFrame):  # the stream stays broken
        fb.events()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"bell\x29\x46\x00\x07", "bad cookie"),
        (b"bela\x29\x80\x00\x07\x04\x7f\x00\x00\x01\x1e\x79", "incompatible version 5.6.0"),
        (b"bela\x29\x46\x00\x07\x05", "address length 5"),
    ],
)
def test_bad_preambles(data: bytes, match: str) -> None:
    fb = FrameBuffer(expect_preamble=True)
    fb.feed(data)
    with pytest.raises(MalformedFrame, match=match):
        fb.events()


def test_micro_version_differences_are_compatible() -> None:
    fb = FrameBuffer(expect_preamble=True, version=WireVersion(5, 5, 0))
    fb.feed(encode_preamble(ADDR, WireVersion(5, 5, 6)))
    assert isinstance(fb.events()[0], Preamble)


def test_frame_size_limit() -> None:
    fb = FrameBuffer(expect_preamble=False, max_frame_size=10)
    fb.feed(b"\x00\x00\x00\x0b")
    with pytest.raises(MalformedFrame, match="invalid frame length 11"):
        fb.events()
