"""Vectors of the address formats (jgroups-wire.md §4), checked both ways."""

from __future__ import annotations

import pytest
from construct import ConstructError

from pygroups.address import UUID, ExtendedUUID, IpAddress
from pygroups.wire.addresses import AddressFormat

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")


def test_uuid_is_written_low_half_first() -> None:
    assert AddressFormat.build(A).hex() == "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_extended_uuid_vector() -> None:
    e = ExtendedUUID(A.msb, A.lsb, 0, ((b"site", b"NYC"), (b"rack", b"r1")))
    data = AddressFormat.build(e)
    assert data.hex() == "00000c" "9dc05a9805a43cab91cebc7e0d624778" "00" "02" "0473697465034e5943047261636b027231"
    back = AddressFormat.parse(data)
    assert back.same_kind(e) and back == A


def test_ip_address_vectors() -> None:
    assert AddressFormat.build(IpAddress("127.0.0.1", 7800)).hex() == "10047f0000011e78"
    v6 = IpAddress("fe80::1", 7802, 3)
    assert AddressFormat.parse(AddressFormat.build(v6)).same_kind(v6)
    with pytest.raises(ConstructError):
        AddressFormat.parse(bytes.fromhex("10057f000001001e78"))
