"""FORK's ForkHeader (magic 83)."""

from __future__ import annotations

from pygroups.wire.headers.fork import ForkHeader


def test_fork_header() -> None:
    hdr = ForkHeader("s", None)
    assert ForkHeader.FORMAT.build(hdr).hex() == "01" "0001" "73" "00"
    assert ForkHeader.FORMAT.parse(bytes.fromhex("0100017300")) == hdr
    assert hdr.to_json() == {"fork_stack_id": "s", "fork_channel_id": None}
    # Bits.readString reads anything but 1 as null, and then no UTF follows
    assert ForkHeader.FORMAT.parse(bytes.fromhex("0201000163")) == ForkHeader(None, "c")
