"""STATE_TRANSFER and StreamingStateTransfer StateHeaders (spec §6.13)."""

from __future__ import annotations

from pygroups.address import UUID, IpAddress
from pygroups.view import Digest
from pygroups.wire.headers.state import StateHeader, StreamingStateHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_state_req_has_no_digest() -> None:
    assert StateHeader.FORMAT.build(StateHeader(StateHeader.Type.STATE_REQ)).hex() == "0100"


def test_state_rsp_digest_has_members() -> None:
    hdr = StateHeader(2, Digest((A,), ((5, 5),)))
    assert StateHeader.FORMAT.build(hdr).hex() == "02" "01" "0001" + A_WIRE + "110500"
    assert StateHeader.FORMAT.parse(StateHeader.FORMAT.build(hdr)) == hdr


def test_streaming_state_header() -> None:
    hdr = StreamingStateHeader(StreamingStateHeader.Type.STATE_PART, None, IpAddress("127.0.0.1", 7900))
    assert StreamingStateHeader.FORMAT.build(hdr).hex() == "03" "00" "01" "047f0000011edc"
    assert StreamingStateHeader.FORMAT.parse(bytes.fromhex("030001047f0000011edc")) == hdr
