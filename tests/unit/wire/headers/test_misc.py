"""The small headers of misc.py."""

from __future__ import annotations

import construct
import pytest

from pygroups.address import UUID
from pygroups.wire.headers.misc import (
    Batch2Header,
    CompressHeader,
    CounterHeader,
    DaisyHeader,
    InfoHeader,
    MPerfHeader,
    PerfHeader,
    ProtPerfHeader,
    RTTHeader,
    StompHeader,
)

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_empty_headers() -> None:
    for cls in (CounterHeader, Batch2Header, ProtPerfHeader):
        assert cls.FORMAT.build(cls()) == b""
        assert cls.FORMAT.parse(b"") == cls()


def test_fixed_field_headers() -> None:
    assert CompressHeader.FORMAT.build(CompressHeader(1000, True)).hex() == "000003e8" "01"
    assert DaisyHeader.FORMAT.build(DaisyHeader(A)).hex() == A_WIRE
    assert MPerfHeader.FORMAT.build(MPerfHeader(MPerfHeader.Type.EXIT)).hex() == "09"
    assert PerfHeader.FORMAT.build(PerfHeader(-1)).hex() == "ff" * 8
    assert RTTHeader.FORMAT.build(RTTHeader(rsp_dispatched=1)).hex() == "00" * 63 + "01"


def test_info_header_pairs() -> None:
    hdr = InfoHeader((("k", "v"), (None, "w")))
    assert InfoHeader.FORMAT.build(hdr).hex() == "00000002" "0100016b" "01000176" "00" "01000177"
    assert InfoHeader.FORMAT.parse(InfoHeader.FORMAT.build(hdr)) == hdr
    assert InfoHeader.FORMAT.parse(bytes.fromhex("ffffffff")) == InfoHeader()


def test_stomp_header() -> None:
    hdr = StompHeader(StompHeader.Type.ENDPOINT, (("a", "b"),))
    assert StompHeader.FORMAT.build(hdr).hex() == "00000001" "00000001" "000161" "000162"
    with pytest.raises(construct.ConstructError):  # Type.values()[2]
        StompHeader.FORMAT.parse(bytes.fromhex("0000000200000000"))
