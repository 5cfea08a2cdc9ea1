"""FD_SOCK (magic 51) and VERIFY_SUSPECT (magic 54) headers."""

from __future__ import annotations

from pygroups.address import UUID, IpAddress
from pygroups.wire.headers.legacy import FdSockHeader, VerifySuspectHeader

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
A_WIRE = "02" "9dc05a9805a43cab" "91cebc7e0d624778"


def test_fd_sock_i_have_sock() -> None:
    hdr = FdSockHeader(FdSockHeader.Type.I_HAVE_SOCK, A, IpAddress("127.0.0.1", 9000))
    assert FdSockHeader.FORMAT.build(hdr).hex() == "0d" + A_WIRE + "01" "047f0000012328" "00000000"
    assert FdSockHeader.FORMAT.parse(FdSockHeader.FORMAT.build(hdr)) == hdr


def test_fd_sock_suspect() -> None:
    hdr = FdSockHeader(10, None, None, (A,))
    assert FdSockHeader.FORMAT.build(hdr).hex() == "0a" "01" "00" "00000001" + A_WIRE


def test_verify_suspect() -> None:
    hdr = VerifySuspectHeader(VerifySuspectHeader.Type.I_AM_NOT_DEAD, A)
    assert VerifySuspectHeader.FORMAT.build(hdr).hex() == "0002" + A_WIRE
    assert hdr.to_json()["from"] == {"uuid": str(A)}
