"""PingHeader and the discovery payload (spec §6.2)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID, IpAddress
from pygroups.errors import MalformedMessage
from pygroups.wire.headers.ping import PingData, PingHeader, decode_ping_data_list, encode_ping_data_list
from tests.strategies.headers import ping_datas

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
B = UUID.parse("523c54d9-3ea9-4e0a-baa2-daf63e689d8b")
B_WIRE = "02" "baa2daf63e689d8b" "523c54d93ea94e0a"
PA = IpAddress("127.0.0.1", 7800)
PA_WIRE = "10" "04" "7f000001" "1e78"


def test_request_header_bytes() -> None:
    hdr = PingHeader(PingHeader.Type.GET_MBRS_REQ, "demo", True)
    assert PingHeader.FORMAT.build(hdr).hex() == "01" "01" "0004" "64656d6f" "01"
    assert PingHeader.FORMAT.parse(bytes.fromhex("0101000464656d6f01")) == hdr


def test_response_header_bytes_and_json() -> None:
    hdr = PingHeader(2)
    assert PingHeader.FORMAT.build(hdr).hex() == "020000"
    assert hdr.type is PingHeader.Type.GET_MBRS_RSP
    assert hdr.to_json() == {"type": "GET_MBRS_RSP", "cluster_name": None, "initial_discovery": False}


def test_unknown_type_is_kept() -> None:
    hdr = PingHeader.FORMAT.parse(bytes.fromhex("070000"))
    assert hdr.type == 7 and hdr.to_json()["type"] == 7


def test_any_nonzero_boolean_is_true() -> None:
    assert PingHeader.FORMAT.parse(bytes.fromhex("0100ff")).initial_discovery is True


def test_pingdata_list_example() -> None:
    # synthetic vector pingdata-list (spec §6.2): coordinator A, name "A", 127.0.0.1:7800, mbrs null
    data = bytes.fromhex("00000001" + A_WIRE + "03" + "01000141" + PA_WIRE + "ffff")
    expected = (PingData(A, True, True, "A", PA, None),)
    assert decode_ping_data_list(data) == expected
    assert encode_ping_data_list(expected) == data


def test_request_pingdata_has_flags_zero_and_wanted_members() -> None:
    pd = PingData(B, False, False, "B", None, (A,))
    expected = "00000001" + B_WIRE + "00" + "01000142" + "01" + "0001" + A_WIRE
    assert encode_ping_data_list([pd]).hex() == expected


def test_coord_bit_alone_is_kept_as_written() -> None:
    pd = decode_ping_data_list(bytes.fromhex("00000001" + "01" + "02" + "00" + "01" + "ffff"))[0]
    assert (pd.sender, pd.is_server, pd.is_coord) == (None, False, True)


def test_empty_list_is_count_zero() -> None:
    assert encode_ping_data_list([]) == bytes(4)
    assert decode_ping_data_list(bytes(4)) == ()


@pytest.mark.parametrize(
    "hexdata",
    [
        "ffffffff",  # negative count: Java's new ArrayList(-1) throws
        "00000001",  # truncated
        "00000000" "00",  # trailing byte
        # the physical address is a UUID (ClassCastException in Java)
        "00000001" + A_WIRE + "00" + "00" + A_WIRE + "ffff",
    ],
)
def test_malformed_lists(hexdata: str) -> None:
    with pytest.raises(MalformedMessage):
        decode_ping_data_list(bytes.fromhex(hexdata))


@given(st.lists(ping_datas, max_size=4))
def test_list_round_trip(items: list[PingData]) -> None:
    data = encode_ping_data_list(items)
    assert decode_ping_data_list(data) == tuple(items)


@given(st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_malformed_message(data: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode_ping_data_list(data)
