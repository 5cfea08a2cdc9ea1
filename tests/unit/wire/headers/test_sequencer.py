"""SEQUENCER (magic 61) and SEQUENCER2 (magic 86) headers."""

from __future__ import annotations

from pygroups.wire.headers.sequencer import Sequencer2Header, SequencerHeader


def test_sequencer_header() -> None:
    hdr = SequencerHeader(SequencerHeader.Type.WRAPPED_BCAST, 5, True)
    assert SequencerHeader.FORMAT.build(hdr).hex() == "04" "0105" "01"
    # the Java default seqno -1 takes 8 bytes
    assert SequencerHeader.FORMAT.build(SequencerHeader(1)).hex() == "01" "08ffffffffffffffff" "00"


def test_sequencer2_num_seqnos_is_unsigned() -> None:
    assert Sequencer2Header.FORMAT.parse(bytes.fromhex("03" "0109" "ffff")) == Sequencer2Header(3, 9, 65535)
