"""The DNS stand-in (pygroups.testing.servers.dnsserver) as a plain DNS client sees it: answers, NXDOMAIN vs empty,
injected faults, truncation and TCP, the query log, and robustness against garbage (fuzzed)."""

from __future__ import annotations

import socket  # noqa: TID251 - raw garbage to the stand-in and port checks
import struct
from collections.abc import Iterator

import dns.exception  # noqa: TID251 - a DNS client talks to the stand-in
import dns.flags  # noqa: TID251 - a DNS client talks to the stand-in
import dns.message  # noqa: TID251 - a DNS client talks to the stand-in
import dns.query  # noqa: TID251 - a DNS client talks to the stand-in
import dns.rcode  # noqa: TID251 - a DNS client talks to the stand-in
import dns.rdatatype  # noqa: TID251 - a DNS client talks to the stand-in
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.testing.servers.dnsserver import FAULTS, DnsServer


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer() as s:
        yield s


@pytest.fixture
def srv(server: DnsServer) -> Iterator[DnsServer]:
    server.clear()
    server.clear_log()
    server.raw_responder = None
    server.srv_additional = True
    yield server


def ask(s: DnsServer, name: str, rtype: str, *, tcp: bool = False, timeout: float = 1.0) -> dns.message.Message:
    q = dns.message.make_query(name, rtype)
    if tcp:
        return dns.query.tcp(q, s.host, timeout=timeout, port=s.port)
    return dns.query.udp(q, s.host, timeout=timeout, port=s.port)


def texts(msg: dns.message.Message) -> list[str]:
    return [rd.to_text() for rrset in msg.answer for rd in rrset]


def test_address_and_records(srv: DnsServer) -> None:
    assert srv.address == f"127.0.0.1:{srv.port}" and srv.port > 0
    srv.set_a("svc.dns.test", ["10.0.0.1", "10.0.0.2"])
    srv.set_aaaa("svc.dns.test.", ["fd00::1"])
    srv.set_srv("_p._tcp.svc.dns.test", [(10, 100, 8888, "pod.dns.test"), (0, 0, 7800, "other.dns.test.")])
    a = ask(srv, "svc.dns.test", "A")
    assert a.rcode() == dns.rcode.NOERROR and texts(a) == ["10.0.0.1", "10.0.0.2"]
    assert a.flags & dns.flags.AA and a.flags & dns.flags.QR
    assert texts(ask(srv, "SVC.Dns.Test", "AAAA")) == ["fd00::1"]  # names are case-insensitive
    assert texts(ask(srv, "_p._tcp.svc.dns.test", "SRV", tcp=True)) == [
        "10 100 8888 pod.dns.test.",
        "0 0 7800 other.dns.test.",
    ]
    assert [(q.transport, q.name, q.rdtype) for q in srv.queries()] == [
        ("udp", "svc.dns.test", "A"),
        ("udp", "svc.dns.test", "AAAA"),
        ("tcp", "_p._tcp.svc.dns.test", "SRV"),
    ]
    assert srv.query_count("svc.dns.test") == 2 and srv.query_count(rdtype="srv") == 1
    assert srv.wait_for_queries(3, timeout=0.1)


def test_nxdomain_for_unknown_names_and_empty_for_other_types(srv: DnsServer) -> None:
    srv.set_a("svc.dns.test", ["10.0.0.1"])
    assert ask(srv, "nope.dns.test", "A").rcode() == dns.rcode.NXDOMAIN
    empty = ask(srv, "svc.dns.test", "SRV")
    assert empty.rcode() == dns.rcode.NOERROR and empty.answer == []
    srv.remove("svc.dns.test")
    assert ask(srv, "svc.dns.test", "A").rcode() == dns.rcode.NXDOMAIN


def test_srv_answers_carry_the_targets_addresses(srv: DnsServer) -> None:
    srv.set_srv("_p._tcp.svc.dns.test", [(0, 0, 7800, "pod.dns.test")])
    srv.set_a("pod.dns.test", ["10.0.0.9"])
    msg = ask(srv, "_p._tcp.svc.dns.test", "SRV")
    assert [(r.name.to_text(), r.rdtype, [x.to_text() for x in r]) for r in msg.additional] == [
        ("pod.dns.test.", dns.rdatatype.A, ["10.0.0.9"])
    ]
    srv.srv_additional = False
    assert ask(srv, "_p._tcp.svc.dns.test", "SRV").additional == []


@pytest.mark.parametrize("fault", [f for f in FAULTS if f not in ("drop", "garbage", "truncate")])
def test_rcode_faults(srv: DnsServer, fault: str) -> None:
    srv.set_a("svc.dns.test", ["10.0.0.1"])
    srv.fail("svc.dns.test", fault)  # type: ignore[arg-type]
    msg = ask(srv, "svc.dns.test", "A")
    want = {
        "nxdomain": dns.rcode.NXDOMAIN,
        "servfail": dns.rcode.SERVFAIL,
        "refused": dns.rcode.REFUSED,
        "empty": dns.rcode.NOERROR,
    }[fault]
    assert msg.rcode() == want and msg.answer == []
    srv.fail("svc.dns.test", None)
    assert texts(ask(srv, "svc.dns.test", "A")) == ["10.0.0.1"]


def test_drop_garbage_and_truncate(srv: DnsServer) -> None:
    srv.set_a("svc.dns.test", ["10.0.0.1"])
    srv.fail(None, "drop")
    with pytest.raises(dns.exception.Timeout):
        ask(srv, "svc.dns.test", "A", timeout=0.2)
    srv.fail(None, "garbage")
    with pytest.raises(dns.exception.FormError):
        ask(srv, "svc.dns.test", "A")
    srv.fail(None, "truncate")
    udp = ask(srv, "svc.dns.test", "A")
    assert udp.flags & dns.flags.TC and udp.answer == []
    assert texts(ask(srv, "svc.dns.test", "A", tcp=True)) == ["10.0.0.1"]
    with pytest.raises(ValueError):
        srv.fail(None, "explode")  # type: ignore[arg-type]


def test_invalid_zone_values_are_rejected(srv: DnsServer) -> None:
    with pytest.raises(ValueError, match="'not-an-ip' is not a valid A value"):
        srv.set_a("svc.dns.test", ["not-an-ip"])
    with pytest.raises(ValueError, match="not a valid AAAA value"):
        srv.set_aaaa("svc.dns.test", ["10.0.0.1"])
    with pytest.raises(ValueError, match="not a valid SRV value"):
        srv.set_srv("svc.dns.test", [(0, 0, 70000, "pod.dns.test")])


def test_garbage_queries_get_formerr_or_silence_and_the_server_keeps_serving(srv: DnsServer) -> None:
    srv.set_a("svc.dns.test", ["10.0.0.1"])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        s.sendto(b"\x12\x34garbage", (srv.host, srv.port))
        reply, _ = s.recvfrom(512)
    assert reply[:2] == b"\x12\x34" and reply[3] & 0x0F == dns.rcode.FORMERR
    with socket.create_connection((srv.host, srv.port), timeout=1.0) as c:
        c.sendall(struct.pack("!H", 3) + b"abc")
        head = c.recv(2)
        assert len(head) == 2
    assert texts(ask(srv, "svc.dns.test", "A")) == ["10.0.0.1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wire=st.binary(max_size=200))
def test_fuzzed_queries_never_crash_the_answerer(srv: DnsServer, wire: bytes) -> None:
    reply = srv.answer(wire, "udp")
    assert reply is None or (isinstance(reply, bytes) and len(reply) >= 2)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    label=st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True),
    rtype=st.sampled_from(["A", "AAAA", "SRV", "MX"]),
    known=st.booleans(),
)
def test_well_formed_queries_get_parseable_matching_answers(
    srv: DnsServer, label: str, rtype: str, known: bool
) -> None:
    name = f"{label}.dns.test"
    if known:
        srv.set_a(name, ["10.0.0.1"])
    else:
        srv.remove(name)
    q = dns.message.make_query(name, rtype)
    reply = srv.answer(q.to_wire(), "udp")
    assert reply is not None
    r = dns.message.from_wire(reply)
    assert q.is_response(r)
    assert r.rcode() == (dns.rcode.NOERROR if known else dns.rcode.NXDOMAIN)


def test_stop_releases_the_port() -> None:
    with DnsServer() as s:
        port = s.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", port))
