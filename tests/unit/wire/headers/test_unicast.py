"""UnicastHeader3 (spec §6.5, §9.2, §9.4) and UnicastHeader (UNICAST4, same layout)."""

from __future__ import annotations

import pytest

from pygroups.wire.headers.unicast import UnicastHeader, UnicastHeader3

F = UnicastHeader3.FORMAT


def test_data_first() -> None:  # spec §9.2
    hdr = UnicastHeader3(UnicastHeader3.Type.DATA, 1, 0, True)
    assert F.build(hdr).hex() == "00" "0101" "0000" "01"
    assert F.parse(bytes.fromhex("000101000001")) == hdr


def test_ack() -> None:  # spec §9.4: seqno 36, conn_id 0, timestamp 9
    hdr = F.parse(bytes.fromhex("01" "0124" "0000" "0109"))
    assert hdr == UnicastHeader3(1, 36, 0, None, 9)
    assert hdr.to_json() == {"type": "ACK", "seqno": 36, "conn_id": 0, "first": None, "timestamp": 9}


def test_other_types() -> None:
    assert F.build(UnicastHeader3(3)).hex() == "03"  # XMIT_REQ (spec §9.4)
    assert F.build(UnicastHeader3(2, timestamp=5)).hex() == "020105"
    assert F.build(UnicastHeader3(4, conn_id=-1)).hex() == "04ffff"
    assert F.build(UnicastHeader3(0, 5, 32767, False)).hex() == "000105" "7fff" "00"


def test_unknown_type_reads_nothing_more() -> None:
    assert F.parse(b"\x09") == UnicastHeader3(9)


def test_negative_timestamp_takes_four_bytes() -> None:
    assert F.build(UnicastHeader3(1, 1, 0, None, -1)).hex() == "01" "0101" "0000" "04ffffffff"


@pytest.mark.parametrize("hexdata", ["00", "000101", "0101010000", "0109"])
def test_truncated(hexdata: str) -> None:
    import construct

    with pytest.raises(construct.ConstructError):
        F.parse(bytes.fromhex(hexdata))


def test_unicast4_has_the_same_layout() -> None:
    hdr = UnicastHeader(UnicastHeader.Type.ACK, 9, 2, None, 4)
    assert UnicastHeader.FORMAT.build(hdr).hex() == "01" "0109" "0002" "0104"
    assert UnicastHeader.FORMAT.parse(bytes.fromhex("04" "0003")) == UnicastHeader(4, conn_id=3)
