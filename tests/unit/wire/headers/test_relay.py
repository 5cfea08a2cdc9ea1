"""RelayHeader (magic 80) with its embedded header list."""

from __future__ import annotations

import construct
import pytest

from pygroups.address import UUID
from pygroups.wire.headers.fork import ForkHeader
from pygroups.wire.headers.relay import MAX_NESTING, RelayHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
F = RelayHeader.FORMAT


def test_data_header_with_original_headers() -> None:
    hdr = RelayHeader(RelayHeader.Type.DATA, False, A, None, (), ("lon",), ((203, ForkHeader("s", "c")),), 1)
    data = (
        "01" "00" + A_WIRE + "01" + "00000000" + "00000001" "010003" + b"lon".hex()
        + "0001" "00cb" "0053" "0100017301000163" + "0001"
    )  # fmt: skip
    assert F.build(hdr).hex() == data
    assert F.parse(bytes.fromhex(data)) == hdr
    assert hdr.to_json()["original_hdrs"] == [
        {"protocol_id": 203, "magic": 83, "header": {"fork_stack_id": "s", "fork_channel_id": "c"}}
    ]


def test_sites_up_needs_sites() -> None:
    # RelayHeader.readFrom calls assertNonNullSites()
    with pytest.raises(construct.ConstructError):
        F.parse(bytes.fromhex("04" "00" "01" "01" "00000000" "00000000" "0000" "0000"))
    hdr = RelayHeader(RelayHeader.Type.SITES_UP, sites=("nyc",))
    assert F.parse(F.build(hdr)) == hdr


def test_unknown_nested_magic_and_deep_nesting_fail() -> None:
    with pytest.raises(construct.ConstructError):
        F.parse(bytes.fromhex("01" "00" "01" "01" "00000000" "00000000" "0001" "0001" "0400" "0000"))
    hdr = RelayHeader(1)
    for _ in range(MAX_NESTING):
        hdr = RelayHeader(1, original_hdrs=((44, hdr),))
    with pytest.raises(construct.ConstructError):
        F.parse(F.build(hdr))
