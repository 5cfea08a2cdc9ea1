"""FcHeader (spec §6.12, §9.5 mfc-replenish)."""

from __future__ import annotations

from pygroups.wire.headers.fc import FcHeader


def test_replenish_and_credit_request() -> None:
    assert FcHeader.FORMAT.build(FcHeader(FcHeader.Type.REPLENISH)) == b"\x01"
    assert FcHeader.FORMAT.parse(b"\x02") == FcHeader(FcHeader.Type.CREDIT_REQUEST)
    assert FcHeader(2).to_json() == {"type": "CREDIT_REQUEST"}
    assert FcHeader.FORMAT.parse(b"\x09").type == 9
