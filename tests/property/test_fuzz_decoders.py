"""Every decoder, fed arbitrary, truncated or bit-flipped bytes, returns a value or raises its one
documented error (MalformedMessage / MalformedFrame): never another exception, never a hang.

Run with HYPOTHESIS_PROFILE=deep for >= 100,000 examples per decoder.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.errors import MalformedFrame, MalformedMessage
from pygroups.wire import codec
from pygroups.wire.framing import FrameBuffer
from tests.strategies.frames import frames

CATALOGUE = Path(__file__).parents[1] / "data" / "java" / "5.5.6" / "catalogue.jsonl"


def _java_frames() -> list[bytes]:
    out = []
    for line in CATALOGUE.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("kind") == "frame":
            out.append(bytes.fromhex(entry["hex"]))
    return out


JAVA_FRAMES = _java_frames()
DECODERS = [codec.decode_frame, codec.decode_frame_spec, codec.decode_message, codec.decode_bare]


def _decode_only_malformed(decoder, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with contextlib.suppress(MalformedMessage):
        decoder(data)


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: d.__name__)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes(decoder, data: bytes) -> None:  # type: ignore[no-untyped-def]
    _decode_only_malformed(decoder, data)


@pytest.mark.parametrize("decoder", DECODERS, ids=lambda d: d.__name__)
@given(frame=frames(), data=st.data())
def test_truncated_and_flipped_frames(decoder, frame: codec.Frame, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    raw = bytearray(codec.encode_frame(frame))
    for _ in range(data.draw(st.integers(1, 3))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    _decode_only_malformed(decoder, bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    _decode_only_malformed(decoder, bytes(raw))


def test_there_are_real_java_frames_to_mutate() -> None:
    assert len(JAVA_FRAMES) > 100


@given(data=st.data())
def test_mutated_java_frames(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(JAVA_FRAMES)))
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= 1 << data.draw(st.integers(0, 7))
    for decoder in DECODERS:
        _decode_only_malformed(decoder, bytes(raw))
        _decode_only_malformed(decoder, bytes(raw[:pos]))


@given(chunks=st.lists(st.binary(max_size=64), max_size=20), preamble=st.booleans())
def test_frame_buffer_only_raises_malformed_frame(chunks: list[bytes], preamble: bool) -> None:
    fb = FrameBuffer(expect_preamble=preamble, max_frame_size=1 << 20)
    try:
        for c in chunks:
            fb.feed(c)
            fb.events()
    except MalformedFrame:
        pass
