"""Vectors of the Java/Bits encodings (jgroups-wire.md §7), checked both ways."""

from __future__ import annotations

import pytest
from construct import ConstructError

from pygroups.wire.javatypes import AsciiString, BitsString, JavaString, JavaUTF, SeqPair, VInt, VLong


@pytest.mark.parametrize(
    ("value", "hexbytes"),
    [(0, "00"), (1, "0101"), (255, "01ff"), (256, "020001"), (65536, "03000001"),
     (2**40 + 5, "06050000000001"), (-1, "08ffffffffffffffff")],
)
def test_vlong(value: int, hexbytes: str) -> None:
    assert VLong.build(value).hex() == hexbytes
    assert VLong.parse(bytes.fromhex(hexbytes)) == value


@pytest.mark.parametrize(("value", "hexbytes"), [(300, "022c01"), (70000, "03701101"), (-1, "04ffffffff")])
def test_vint(value: int, hexbytes: str) -> None:
    assert VInt.build(value).hex() == hexbytes
    assert VInt.parse(bytes.fromhex(hexbytes)) == value


def test_compressed_length_over_width_is_an_error() -> None:
    with pytest.raises(ConstructError):
        VInt.parse(bytes.fromhex("05ffffffffff"))


@pytest.mark.parametrize(
    ("pair", "hexbytes"),
    [((0, 0), "00"), ((0, 5), "110005"), ((5, 5), "110500"), ((300, 310), "212c010a"),
     ((1000, 70000), "23e803880d01")],
)
def test_seqpair(pair: tuple[int, int], hexbytes: str) -> None:
    assert SeqPair.build(pair).hex() == hexbytes
    assert SeqPair.parse(bytes.fromhex(hexbytes)) == pair


def test_strings() -> None:
    assert BitsString.build("A").hex() == "01000141"
    assert BitsString.build(None).hex() == "00"
    assert BitsString.parse(b"\x02") is None  # Java reads anything but 1 as null
    assert JavaUTF.build("a\x00").hex() == "000361c080"
    assert JavaUTF.parse(JavaUTF.build("x\U0001f600")) == "x\U0001f600"
    assert len(JavaUTF.build("\U0001f600")) == 2 + 6  # two 3-byte surrogates
    assert AsciiString.build("demo").hex() == "000464656d6f"
    assert AsciiString.parse(b"\xff\xff") is None
    assert JavaString.build("hi").hex() == "010000000268" "69"
    assert JavaString.parse(JavaString.build("h\u00e9")) == "h\u00e9"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"\xc1\x81", "A"),  # overlong 2-byte form: Java's readUTF accepts it
        (b"\xe0\x80\x80", "\x00"),  # overlong 3-byte NUL
        (b"\xed\xa0\x80", "\ud800"),  # a lone surrogate stays one
        (b"\xed\xa0\xbd\xed\xb8\x80", "\U0001f600"),  # a surrogate pair is one character
        (b"a\x00b", "a\x00b"),  # a raw NUL byte is read too
    ],
)
def test_modified_utf8_reads_what_java_reads(raw: bytes, text: str) -> None:
    # the same cases are checked against the jar in conformance/test_wire_conformance.py
    assert JavaUTF.parse(len(raw).to_bytes(2, "big") + raw) == text


@pytest.mark.parametrize("raw", [b"\xf0\x9f\x98\x80", b"\x80", b"\xc3", b"\xe2\x28\xa1"])
def test_modified_utf8_refuses_what_java_refuses(raw: bytes) -> None:
    with pytest.raises(ConstructError):
        JavaUTF.parse(len(raw).to_bytes(2, "big") + raw)
