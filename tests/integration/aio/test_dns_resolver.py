"""The real DNS_PING resolver (dnspython + the OS resolver) against the DNS stand-in over UDP/TCP on
127.0.0.1: A, AAAA, SRV (targets, ports, the SRV target policies), NXDOMAIN, empty answers, SERVFAIL,
timeouts, truncation, and malformed answers (fuzzed: always a clear problem, never an exception)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.address import IpAddress
from pygroups.aio.dns import DnsResolver
from pygroups.errors import ConfigError
from pygroups.protocols.dns.records import Resolution, resolve_all
from pygroups.testing.servers.dnsserver import DnsServer

SVC = "demo.dns.test"
SRV = "_ping._tcp.demo.dns.test"


@pytest.fixture(scope="module")
def server() -> Iterator[DnsServer]:
    with DnsServer() as s:
        yield s


@pytest.fixture
def dns(server: DnsServer) -> Iterator[DnsServer]:
    server.clear()
    server.clear_log()
    server.srv_additional = True
    server.raw_responder = None
    server.set_a(SVC, ["127.0.0.2", "127.0.0.3"])
    server.set_aaaa(SVC, ["fd00::2"])
    server.set_srv(SRV, [(0, 0, 7801, "pod1.dns.test"), (0, 0, 7802, "pod2.dns.test")])
    server.set_a("pod1.dns.test", ["127.0.0.5"])
    server.set_aaaa("pod2.dns.test", ["fd00::6"])
    yield server


def resolver(dns: DnsServer, **kw: object) -> DnsResolver:
    return DnsResolver(dns.address, timeout=kw.pop("timeout", 1.0), **kw)  # type: ignore[arg-type]


def test_a_and_aaaa_from_the_server(dns: DnsServer) -> None:
    r = resolver(dns)
    assert r.resolve_ips(SVC, "A") == Resolution.of(["127.0.0.2", "127.0.0.3"])
    assert r.resolve_ips(SVC, "AAAA") == Resolution.of(["fd00::2"])
    assert [(q.transport, q.name, q.rdtype) for q in dns.queries()] == [("udp", SVC, "A"), ("udp", SVC, "AAAA")]


def test_srv_targets_from_the_additional_section(dns: DnsServer) -> None:
    """The OS does not know the *.dns.test targets: the default policy asks the server (the SRV answer's
    additional records here), where Java (OS only) would find nothing."""
    res = resolver(dns).resolve_ips(SRV, "SRV")
    assert res.addresses == (IpAddress("127.0.0.5", 7801), IpAddress("fd00::6", 7802))
    assert res.problems == ()
    assert dns.query_count() == 1


def test_srv_targets_by_query_when_there_are_no_additional_records(dns: DnsServer) -> None:
    dns.srv_additional = False
    res = resolver(dns, srv_targets="server").resolve_ips(SRV, "SRV")
    assert res.addresses == (IpAddress("127.0.0.5", 7801), IpAddress("fd00::6", 7802))
    assert [(q.name, q.rdtype) for q in dns.queries()] == [
        (SRV, "SRV"), ("pod1.dns.test", "A"), ("pod2.dns.test", "A"), ("pod2.dns.test", "AAAA")]


def test_srv_targets_java_policy_uses_the_os_resolver_only(dns: DnsServer) -> None:
    res = resolver(dns, srv_targets="system").resolve_ips(SRV, "SRV")
    assert res.addresses == ()
    assert len(res.problems) == 2 and "pod1.dns.test." in res.problems[0] and "system resolver" in res.problems[0]
    assert [q.rdtype for q in dns.queries()] == ["SRV"]  # nothing more asked from the server


def test_srv_edge_cases(dns: DnsServer) -> None:
    dns.set_srv(SRV, [(0, 0, 0, "pod1.dns.test"), (0, 0, 7803, "."), (0, 0, 7804, "nowhere.dns.test")])
    res = resolver(dns).resolve_ips(SRV, "SRV")
    assert res.addresses == (IpAddress("127.0.0.5", 0),)  # port 0: DNS_PING probes the transport ports
    assert any("not available" in p for p in res.problems)
    assert any("nowhere.dns.test." in p and "NXDOMAIN" in p for p in res.problems)


def test_nxdomain_empty_and_server_failures_are_explained(dns: DnsServer) -> None:
    r = resolver(dns)
    (p,) = r.resolve_ips("nope.dns.test", "A").problems
    assert "nope.dns.test does not exist (NXDOMAIN" in p and dns.address in p
    assert r.resolve_ips(SVC, "SRV").problems == (f"{SVC} exists but has no SRV records",)
    for fault, words in (("servfail", "SERVFAIL"), ("refused", "REFUSED"), ("garbage", "malformed"),
                         ("empty", "has no A records"), ("nxdomain", "NXDOMAIN")):
        dns.fail(SVC, fault)  # type: ignore[arg-type]
        res = r.resolve_ips(SVC, "A")
        assert res.addresses == () and words in res.problems[0], (fault, res)
    dns.fail(SVC, None)
    assert r.resolve_ips(SVC, "A").addresses


def test_timeout_when_the_server_drops_queries(dns: DnsServer) -> None:
    dns.fail(None, "drop")
    res = resolver(dns, timeout=0.2).resolve_ips(SVC, "A")
    assert res.addresses == () and "no answer from" in res.problems[0] and "within 0.2s" in res.problems[0]


def test_unreachable_server() -> None:
    with DnsServer() as gone:
        address = gone.address
    res = DnsResolver(address, timeout=0.2).resolve_ips(SVC, "A")
    assert res.addresses == () and res.problems and address in res.problems[0]


def test_truncated_udp_answer_is_retried_over_tcp(dns: DnsServer) -> None:
    dns.fail(SVC, "truncate")
    assert resolver(dns).resolve_ips(SVC, "A").addresses == (IpAddress("127.0.0.2", 0), IpAddress("127.0.0.3", 0))
    assert [q.transport for q in dns.queries()] == ["udp", "tcp"]


def test_large_answers_truncate_and_fall_back_to_tcp(dns: DnsServer) -> None:
    many = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(100)]
    dns.set_a("big.dns.test", many)
    res = resolver(dns).resolve_ips("big.dns.test", "A")
    assert [str(a.ip) for a in res.addresses] == many
    assert [q.transport for q in dns.queries()] == ["udp", "tcp"]


def test_comma_list_through_resolve_all(dns: DnsServer) -> None:
    res = resolve_all(resolver(dns), ["pod1.dns.test", "nope.dns.test", SVC], "A")
    assert res.addresses == (IpAddress("127.0.0.5", 0), IpAddress("127.0.0.2", 0), IpAddress("127.0.0.3", 0))
    assert len(res.problems) == 1


def test_bad_names_and_types_are_problems() -> None:
    r = DnsResolver("127.0.0.1:9", timeout=0.2)
    assert "not a valid DNS name" in r.resolve_ips("a..b", "A").problems[0]
    assert "not a valid DNS name" in r.resolve_ips("x" * 64 + ".test", "SRV").problems[0]
    assert "unknown DNS record type" in r.resolve_ips("a.test", "MX").problems[0]


def test_system_resolver_for_a_records() -> None:
    """No dns_address: A goes to the OS (getaddrinfo), as Java's InetAddress.getAllByName."""
    r = DnsResolver()
    assert r.resolve_ips("127.0.0.7", "A") == Resolution.of(["127.0.0.7"])
    assert r.resolve_ips("::1", "A") == Resolution.of(["::1"])
    assert "system resolver" in r.resolve_ips("nope.invalid.", "A").problems[0]


def test_constructor_checks() -> None:
    with pytest.raises(ConfigError):
        DnsResolver("127.0.0.1:5353", timeout=0)
    with pytest.raises(ConfigError):
        DnsResolver(srv_targets="os")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        DnsResolver("127.0.0.1:notaport")
    assert "127.0.0.1:5353" in repr(DnsResolver("127.0.0.1:5353"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300), keep_id=st.booleans(), rtype=st.sampled_from(["A", "AAAA", "SRV"]))
def test_fuzzed_answers_give_a_clear_problem_never_an_exception(dns: DnsServer, body: bytes, keep_id: bool,
                                                                rtype: str) -> None:
    dns.raw_responder = lambda query: (query[:2] + body) if keep_id else body
    res = resolver(dns, timeout=0.3).resolve_ips(SVC, rtype)
    assert isinstance(res, Resolution)
    assert res.addresses or res.problems
    assert all(isinstance(p, str) and p for p in res.problems)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flags=st.integers(0, 0xFFFF), counts=st.lists(st.integers(0, 3), min_size=4, max_size=4),
       tail=st.binary(max_size=64))
def test_fuzzed_headers_with_the_right_id_and_question(dns: DnsServer, flags: int, counts: list[int],
                                                       tail: bytes) -> None:
    """Well-framed but lying answers: bogus flags, counts that do not match, trailing junk."""

    def respond(query: bytes) -> bytes:
        question = query[12:]
        return (query[:2] + flags.to_bytes(2, "big") + b"".join(c.to_bytes(2, "big") for c in counts)
                + question + tail)

    dns.raw_responder = respond
    res = resolver(dns, timeout=0.3).resolve_ips(SVC, "A")
    assert res.addresses or res.problems


def test_ipv6_server_address() -> None:
    try:
        server = DnsServer("::1").start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with server:
        server.set_a(SVC, ["127.0.0.2"])
        assert server.address == f"[::1]:{server.port}"
        assert DnsResolver(server.address, timeout=1.0).resolve_ips(SVC, "A") == Resolution.of(["127.0.0.2"])
