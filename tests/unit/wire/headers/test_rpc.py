"""RequestCorrelator headers (magic 67, 68): what RpcDispatcher and Infinispan put on requests."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.wire.headers.rpc import MultiDestinationHeader, RequestCorrelatorHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_request_header() -> None:
    hdr = RequestCorrelatorHeader(RequestCorrelatorHeader.Type.REQ, 300, 0)
    assert RequestCorrelatorHeader.FORMAT.build(hdr).hex() == "00" "022c01" "0000"
    rsp = RequestCorrelatorHeader.FORMAT.parse(bytes.fromhex("01" "00" "0005"))
    assert rsp == RequestCorrelatorHeader(1, 0, 5)
    assert hdr.to_json() == {"type": "REQ", "req_id": 300, "corr_id": 0}
    assert RequestCorrelatorHeader.JAVA_CLASS == "Header"


def test_multi_destination_header() -> None:
    hdr = MultiDestinationHeader(0, 1, 0, (A,))
    assert MultiDestinationHeader.FORMAT.build(hdr).hex() == "00" "0101" "0000" "0001" + A_WIRE
    no_exclusions = MultiDestinationHeader(2, 1, 0)
    assert MultiDestinationHeader.FORMAT.build(no_exclusions).hex() == "02" "0101" "0000" "ffff"
    assert MultiDestinationHeader.FORMAT.parse(MultiDestinationHeader.FORMAT.build(hdr)) == hdr
