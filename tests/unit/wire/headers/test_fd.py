"""HeartbeatHeader (§6.7), FD_SOCK2 FdHeader (§6.8, §9.5) and VERIFY_SUSPECT2 VerifyHeader (§6.9)."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.wire.headers.fd import FdHeader, HeartbeatHeader, VerifyHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"
B = UUID.parse("523c54d9-3ea9-4e0a-baa2-daf63e689d8b")
B_WIRE = "02" "baa2daf63e689d8b" "523c54d93ea94e0a"


def test_heartbeat_is_empty() -> None:
    assert HeartbeatHeader.FORMAT.build(HeartbeatHeader()) == b""
    assert HeartbeatHeader.FORMAT.parse(b"") == HeartbeatHeader()
    assert HeartbeatHeader().to_json() == {}


def test_fdsock2_connect() -> None:  # spec §9.5 fdsock2-connect
    hdr = FdHeader(FdHeader.Type.CONNECT, srv=B)
    assert FdHeader.FORMAT.build(hdr).hex() == "03" "00000000" "00" + B_WIRE
    assert FdHeader.FORMAT.parse(bytes.fromhex("030000000000" + B_WIRE)) == hdr


def test_fdsock2_connect_rsp_and_suspect() -> None:
    rsp = FdHeader(4, (), "demo", B)
    assert FdHeader.FORMAT.build(rsp).hex() == "04" "00000000" "01000464656d6f" + B_WIRE
    sus = FdHeader(1, (A, B))
    assert FdHeader.FORMAT.build(sus).hex() == "01" "00000002" + A_WIRE + B_WIRE + "00" "01"


def test_fdsock2_non_positive_count_reads_as_no_members() -> None:
    assert FdHeader.FORMAT.parse(bytes.fromhex("01" "ffffffff" "00" "01")) == FdHeader(1)


def test_verify_header_type_is_a_short() -> None:
    hdr = VerifyHeader(VerifyHeader.Type.ARE_YOU_DEAD, A)
    assert VerifyHeader.FORMAT.build(hdr).hex() == "0001" + A_WIRE
    assert VerifyHeader.FORMAT.parse(bytes.fromhex("0002" + B_WIRE)) == VerifyHeader(2, B)
    assert hdr.to_json() == {"type": "ARE_YOU_DEAD", "from": {"uuid": str(A)}}
    assert VerifyHeader.FORMAT.parse(bytes.fromhex("7fff01")) == VerifyHeader(32767)
