"""FragHeader and Frag3Header (spec §6.11)."""

from __future__ import annotations

from pygroups.wire.headers.frag import Frag3Header, FragHeader


def test_frag2_header() -> None:
    hdr = FragHeader(1, 0, 2)
    assert FragHeader.FORMAT.build(hdr).hex() == "0101" "00" "0102" "00" "0000"
    assert FragHeader.FORMAT.parse(bytes.fromhex("0101000102000000")) == hdr
    assert hdr.to_json() == {
        "id": 1, "frag_id": 0, "num_frags": 2, "needs_deserialization": False, "original_type": 0,
    }  # fmt: skip


def test_frag2_large_values() -> None:
    hdr = FragHeader(1 << 33, 300, 70000, True, 3)
    assert FragHeader.FORMAT.build(hdr).hex() == "050000000002" "022c01" "03701101" "01" "0003"


def test_frag3_header() -> None:
    hdr = Frag3Header(1, 0, 2, 100, 0)
    assert Frag3Header.FORMAT.build(hdr).hex() == "0101" "00" "0102" "0164" "00" "00"
    assert Frag3Header.FORMAT.parse(Frag3Header.FORMAT.build(hdr)) == hdr
