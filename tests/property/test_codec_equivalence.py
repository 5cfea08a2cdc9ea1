"""The fast path (tier 2) equals the construct declaration (tier 1), as ARCHITECTURE §2.5 demands:
fast.encode(x) == spec.build(x); fast.decode(spec.build(x)) == x; on arbitrary bytes both decoders
agree (both succeed with equal results, or both fail)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from pygroups.address import SiteMaster
from pygroups.errors import MalformedMessage
from pygroups.message import Message, MsgType
from pygroups.wire import codec
from tests.strategies.core import adopt_src
from tests.strategies.frames import frames


@given(frames())
def test_fast_encode_equals_spec_encode(frame: codec.Frame) -> None:
    assert codec.encode_frame(frame) == codec.encode_frame_spec(frame)


@given(frames())
def test_both_decoders_return_the_frame(frame: codec.Frame) -> None:
    data = codec.encode_frame_spec(frame)
    fast = codec.decode_frame(data)
    spec = codec.decode_frame_spec(data)
    assert fast == frame
    assert spec == frame
    assert codec.encode_frame(fast) == data


def _outcome(fn, data: bytes):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(data))
    except MalformedMessage:
        return ("malformed", None)


@given(st.binary(max_size=200))
@example(bytes.fromhex("2946000000030001029dc05a9805a43cab91cebc7e0d624778"))
def test_decoders_agree_on_arbitrary_bytes(data: bytes) -> None:
    assert _outcome(codec.decode_frame, data) == _outcome(codec.decode_frame_spec, data)


@given(frames(), st.data())
def test_decoders_agree_on_mutated_frames(frame: codec.Frame, data: st.DataObject) -> None:
    raw = bytearray(codec.encode_frame_spec(frame))
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        assert _outcome(codec.decode_frame, candidate) == _outcome(codec.decode_frame_spec, candidate)


def test_a_list_src_reaches_the_parts_of_its_composites() -> None:
    """Found by hypothesis: null-site SiteMasters are all Java-equal, so a composite part written without src
    (it equals the composite's) is read back with the src the composite itself took from the list."""
    first, list_src = SiteMaster(0, 0), SiteMaster(0, 0xD91)
    composite = Message(MsgType.COMPOSITE, src=first, payload=(Message(MsgType.BYTES, src=first),))
    adopt_src(composite, list_src)  # what frames() does to a list message whose src the writer omits
    frame = codec.Frame(10566, False, [composite], True, None, list_src)
    assert codec.decode_frame(codec.encode_frame_spec(frame)) == frame
