"""RSVP's RsvpHeader (magic 76)."""

from __future__ import annotations

from pygroups.wire.headers.rsvp import RsvpHeader


def test_rsvp_header() -> None:
    hdr = RsvpHeader(RsvpHeader.Type.REQ_ONLY, -2)
    assert RsvpHeader.FORMAT.build(hdr).hex() == "02" "fffe"
    assert RsvpHeader.FORMAT.parse(bytes.fromhex("030007")) == RsvpHeader(3, 7)
    assert hdr.to_json() == {"type": "REQ_ONLY", "id": -2}
