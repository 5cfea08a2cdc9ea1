"""EncryptHeader (magic 88) and DhHeader (magic 92)."""

from __future__ import annotations

import construct
import pytest

from pygroups.address import UUID
from pygroups.wire.headers.encrypt import DhHeader, EncryptHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_encrypted_message_header() -> None:
    hdr = EncryptHeader(0, False, b"\x01\x02", None, b"\xaa")
    assert EncryptHeader.FORMAT.build(hdr).hex() == "00" "00" "01000000020102" "01" "0100000001aa"
    assert EncryptHeader.FORMAT.parse(EncryptHeader.FORMAT.build(hdr)) == hdr
    assert hdr.to_json()["version"] == "0102"


def test_fetch_shared_key() -> None:
    hdr = EncryptHeader(EncryptHeader.Type.FETCH_SHARED_KEY, False, None, A, None)
    assert EncryptHeader.FORMAT.build(hdr).hex() == "02" "00" "00" + A_WIRE + "00"


def test_byte_buffer_presence_other_than_one_is_null_and_negative_length_fails() -> None:
    assert EncryptHeader.FORMAT.parse(bytes.fromhex("0000" "07" "01" "00")).version is None
    with pytest.raises(construct.ConstructError):
        EncryptHeader.FORMAT.parse(bytes.fromhex("0000" "01ffffffff" "01" "00"))


def test_dh_header() -> None:
    req = DhHeader(DhHeader.Type.SECRET_KEY_REQ, b"\x05")
    assert DhHeader.FORMAT.build(req).hex() == "00" "0000000105"
    rsp = DhHeader(DhHeader.Type.SECRET_KEY_RSP, None, b"\x01", b"\x02")
    assert DhHeader.FORMAT.build(rsp).hex() == "01" "00000000" "0000000101" "0000000102"
    assert DhHeader.FORMAT.parse(DhHeader.FORMAT.build(rsp)) == rsp
    with pytest.raises(construct.ConstructError):  # Type.values()[2]
        DhHeader.FORMAT.parse(bytes.fromhex("0200000000"))
