"""MergeHeader and the VIEW_RSP payload (spec §6.10)."""

from __future__ import annotations

import construct
import pytest

from pygroups.address import UUID, IpAddress
from pygroups.errors import MalformedMessage
from pygroups.view import MergeView, View, ViewId
from pygroups.wire.headers.merge3 import MergeHeader, decode_view_rsp, encode_view_rsp

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
B = UUID.parse("523c54d9-3ea9-4e0a-baa2-daf63e689d8b")
B_WIRE = "02" "baa2daf63e689d8b" "523c54d93ea94e0a"
F = MergeHeader.FORMAT


def test_info() -> None:
    hdr = MergeHeader(MergeHeader.Type.INFO, ViewId(A, 3), "A", IpAddress("127.0.0.1", 7800))
    data = "00" "01" + A_WIRE + "0103" + "01000141" + "10047f0000011e78"
    assert F.build(hdr).hex() == data
    assert F.parse(bytes.fromhex(data)) == hdr
    assert hdr.to_json()["physical_addr"] == {"ip": "127.0.0.1", "port": 7800}


def test_info_ipv6_scoped() -> None:
    hdr = MergeHeader(MergeHeader.Type.INFO, ViewId(B, 1), None, IpAddress("fe80::1", 7801, 3))
    data = "00" "01" + B_WIRE + "0101" + "00" + "10" "10" "fe800000000000000000000000000001" "00000003" "1e79"
    assert F.build(hdr).hex() == data
    assert hdr.to_json()["physical_addr"] == {"ip": "fe80::1", "port": 7801, "scope": 3}


def test_view_req_and_rsp() -> None:
    assert F.build(MergeHeader(MergeHeader.Type.VIEW_REQ)).hex() == "01" "00" "00" "01"
    assert F.parse(bytes.fromhex("02000001")) == MergeHeader(MergeHeader.Type.VIEW_RSP)


@pytest.mark.parametrize(
    "hexdata",
    [
        "03000001",  # Type.values()[3]: ArrayIndexOutOfBoundsException in Java
        "ff000001",
        "0000" "00" + A_WIRE,  # physical address is not a PhysicalAddress
    ],
)
def test_rejected_like_java(hexdata: str) -> None:
    with pytest.raises(construct.ConstructError):
        F.parse(bytes.fromhex(hexdata))


def test_view_rsp_payload() -> None:
    view = View(ViewId(B, 4), (B, A))
    data = encode_view_rsp(view)
    assert data.hex() == "01" + B_WIRE + "0104" + "0002" + B_WIRE + A_WIRE
    assert decode_view_rsp(data) == view
    assert encode_view_rsp(None) == b"\x00"
    assert decode_view_rsp(b"\x00") is None


def test_view_rsp_of_a_merge_view_keeps_the_subgroups_java_writes() -> None:
    mv = MergeView(ViewId(A, 5), (A, B), (View(ViewId(A, 4), (A,)), View(ViewId(B, 3), (B,))))
    data = encode_view_rsp(mv)
    assert data.hex().startswith("01" + A_WIRE + "0105" + "0002" + A_WIRE + B_WIRE + "0002")
    assert decode_view_rsp(data) == mv


def test_view_rsp_with_garbage_after_the_view() -> None:
    with pytest.raises(MalformedMessage):
        decode_view_rsp(encode_view_rsp(View(ViewId(B, 4), (B,))) + b"\x07")
