"""NakAckHeader2 (spec §6.4, §9.5) and NakAckHeader (§6.14)."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.wire.headers.nakack import NakAckHeader, NakAckHeader2

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
F2 = NakAckHeader2.FORMAT
F = NakAckHeader.FORMAT


def test_msg() -> None:
    assert F2.build(NakAckHeader2(NakAckHeader2.Type.MSG, 2)).hex() == "010102"  # spec §9.5: MSG #2
    assert F2.build(NakAckHeader2(1, 300)).hex() == "0102" "2c01"
    assert F2.parse(bytes.fromhex("0100")) == NakAckHeader2(1, 0)


def test_xmit_req_carries_the_original_sender() -> None:
    hdr = NakAckHeader2(NakAckHeader2.Type.XMIT_REQ, sender=A)
    assert F2.build(hdr).hex() == "02" + A_WIRE
    assert F2.parse(bytes.fromhex("02" + A_WIRE)) == hdr
    assert hdr.to_json() == {"type": "XMIT_REQ", "seqno": None, "sender": {"uuid": str(A)}}


def test_xmit_rsp_and_highest_seqno() -> None:
    assert F2.build(NakAckHeader2(3, 35)).hex() == "030123"
    assert F2.build(NakAckHeader2(4, 42)).hex() == "04012a"


def test_unknown_type_reads_nothing_more() -> None:
    assert F2.parse(b"\x05") == NakAckHeader2(5)
    assert F2.parse(b"\x00") == NakAckHeader2(0)


def test_nakack4_ack_carries_a_seqno() -> None:
    hdr = NakAckHeader(NakAckHeader.Type.ACK, 1234)
    assert F.build(hdr).hex() == "05" "02d204"
    assert F.parse(bytes.fromhex("0502d204")) == hdr
    assert F.build(NakAckHeader(2, sender=A)).hex() == "02" + A_WIRE
    assert F.parse(b"\x06") == NakAckHeader(6)
