"""Vectors of the shared encodings (jgroups-wire.md §4, §7), checked both ways."""

from __future__ import annotations

import pytest
from construct import ConstructError

from pygroups.address import UUID, ExtendedUUID, IpAddress
from pygroups.view import Digest, MergeView, View, ViewId
from pygroups.wire.primitives import (
    AddressFormat,
    AsciiString,
    BitsString,
    DigestFormat,
    JavaString,
    JavaUTF,
    MergeViewFormat,
    SeqPair,
    VInt,
    VLong,
)

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")


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


def test_uuid_is_written_low_half_first() -> None:
    assert AddressFormat.build(A).hex() == "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_extended_uuid_vector() -> None:
    e = ExtendedUUID(A.msb, A.lsb, 0, ((b"site", b"NYC"), (b"rack", b"r1")))
    data = AddressFormat.build(e)
    assert data.hex() == "00000c" "9dc05a9805a43cab91cebc7e0d624778" "00" "02" "0473697465034e5943047261636b027231"
    back = AddressFormat.parse(data)
    assert back.same_kind(e) and back == A


def test_ip_address_vectors() -> None:
    assert AddressFormat.build(IpAddress("127.0.0.1", 7800)).hex() == "10047f0000011e78"
    v6 = IpAddress("fe80::1", 7802, 3)
    assert AddressFormat.parse(AddressFormat.build(v6)).same_kind(v6)
    with pytest.raises(ConstructError):
        AddressFormat.parse(bytes.fromhex("10057f000001001e78"))


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


def test_merge_view_with_foreign_subgroup_creator() -> None:
    other = UUID(1, 2)
    ip = IpAddress("127.0.0.1", 7800)
    mv = MergeView(ViewId(A, 3), (A, ip), (View(ViewId(A, 1), (A,)), View(ViewId(other, 2), (other, ip))))
    data = MergeViewFormat.build(mv)
    assert MergeViewFormat.parse(data) == mv
    assert "ffff02" in data.hex()  # index -1: the creator is written inline


def test_digest_with_members() -> None:
    d = Digest((A, IpAddress("127.0.0.1", 7800)), ((1, 2), (3, 3)))
    assert DigestFormat.parse(DigestFormat.build(d)) == d


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


def test_merge_view_subgroup_references_use_java_equals() -> None:
    """Found by the jar (test_object_conformance): MergeView.get(Address) scans the members with
    Java's equals, under which all null-site SiteMasters are equal, so a subgroup creator that is a
    different SiteMaster is written as the index of the member SiteMaster, not inline."""
    from pygroups.address import SiteMaster

    member, creator = SiteMaster(0, 1, 0, (), None, None), SiteMaster(0, 7818, 0, (), None, None)
    mv = MergeView(ViewId(None, 0), (UUID(0, 1), member), (View(ViewId(creator, 0), ()),))
    data = MergeViewFormat.build(mv)
    assert MergeViewFormat.parse(data).subgroups[0].view_id.creator is not None
    assert MergeViewFormat.parse(data).subgroups[0].view_id.creator.sort_key() == member.sort_key()
