"""StableHeader (spec §6.6)."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.view import ViewId
from pygroups.wire.headers.stable import StableHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_gossip_with_view_id() -> None:
    hdr = StableHeader(StableHeader.Type.STABLE_GOSSIP, ViewId(A, 2))
    assert StableHeader.FORMAT.build(hdr).hex() == "01" "01" + A_WIRE + "0102"
    assert StableHeader.FORMAT.parse(StableHeader.FORMAT.build(hdr)) == hdr
    assert hdr.to_json() == {"type": "STABLE_GOSSIP", "view_id": {"creator": {"uuid": str(A)}, "id": 2}}


def test_stability_without_view_id() -> None:
    assert StableHeader.FORMAT.build(StableHeader(2)).hex() == "0200"
    assert StableHeader.FORMAT.parse(bytes.fromhex("0200")) == StableHeader(StableHeader.Type.STABILITY)
