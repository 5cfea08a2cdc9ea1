"""DNS_PING (org.jgroups.protocols.dns.DNS_PING, id 61) with fake resolvers: the target list of Java's
findMembers (SRV ports, the transport's port_range, no request to ourselves), the request format, failure
handling, and a simulated cluster whose members find each other through DNS."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from pygroups.address import UUID, IpAddress
from pygroups.clock import MS
from pygroups.doctor import fetch_from_dns
from pygroups.errors import ConfigError
from pygroups.events import DiscoveryResponse, FindInitialMembers, FindMembers
from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.discovery import ping_data, request_message
from pygroups.protocols.dns import DNS_PING, Resolution
from pygroups.protocols.dns.records import DNSResolver, parse_dns_address, resolve_all, split_queries
from pygroups.protocols.dns.requests import DnsResolved, ResolveDns
from pygroups.protocols.pbcast.gms import GMS
from pygroups.stack.config import StackSpec, load_stack_file, parse_stack_xml
from pygroups.stack.io import IoFailed
from pygroups.stack.layer import Layer
from pygroups.stack.registry import build_layers
from pygroups.testing.harness import LayerHarness
from pygroups.testing.sim import SimNetwork, SimNode, SimTransport, stack_factory
from pygroups.view import View
from pygroups.wire.headers.ping import PingHeader, decode_ping_data_list

ME = UUID(1, 1)
MY_IP = IpAddress("10.0.0.1", 7800)


@dataclass
class FakeResolver:
    """Answers from a table; records every call (no I/O: runs inside the harness and the simulator)."""

    answers: dict[tuple[str, str], Resolution] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)

    def resolve_ips(self, query: str, record_type: str) -> Resolution:
        self.calls.append((query, record_type))
        return self.answers.get((query, record_type), Resolution(problems=(f"{query} does not exist (NXDOMAIN)",)))


class Raising:
    def resolve_ips(self, query: str, record_type: str) -> Resolution:
        raise RuntimeError("boom")


def answered_by(resolver: DNSResolver) -> Callable[[ResolveDns], DnsResolved]:
    """A `ResolveDns` handler over a fake resolver, doing what the driver's does (`resolve_all`)."""
    def handle(request: ResolveDns) -> DnsResolved:
        return DnsResolved(request.request_id, resolve_all(resolver, request.queries, request.record_type))

    return handle


class DnsHarness(LayerHarness):
    """A DNS_PING harness whose ResolveDns requests ``resolve`` answers, as a driver would."""

    resolve: Callable[[ResolveDns], DnsResolved]


def harness(resolver: DNSResolver, *, record_type: str = "A", query: str = "svc.dns.test", bind_port: int = 7800,
            port_range: int = 2, probe_transport_ports: bool = False) -> DnsHarness:
    layer = DNS_PING()
    layer.dns_query = query
    layer.dns_record_type = record_type
    layer.probe_transport_ports = probe_transport_ports
    h = DnsHarness(layer, local_addr=ME, cluster=None)
    h.resolve = answered_by(resolver)
    h.bottom.bind_port = bind_port  # type: ignore[attr-defined]  # TP.bind_port / port_range
    h.bottom.port_range = port_range  # type: ignore[attr-defined]
    h.bottom.physical_addrs[ME] = MY_IP
    h.stack.connect("demo", local_addr=ME, name="me")
    return h


def lookup_messages(h: DnsHarness) -> list[Message]:
    """Answer the emitted ResolveDns (with a fake) as a driver would; the requests it led to."""
    (cmd,) = [c for c in h.stack.take_io() if isinstance(c, ResolveDns)]
    assert cmd.what == "dns"
    h.stack.on_io_result(h.resolve(cmd))
    return h.take_down()


def run_lookup(h: DnsHarness) -> list[IpAddress]:
    """The destinations of the requests the lookup led to."""
    dests = []
    for m in lookup_messages(h):
        assert isinstance(m.dest, IpAddress)
        dests.append(m.dest)
    return dests


def ips(*items: str | tuple[str, int]) -> Resolution:
    return Resolution.of(items)


def ports(ip: str, lo: int, hi: int) -> list[IpAddress]:
    return [IpAddress(ip, p) for p in range(lo, hi + 1)]


# --- configuration ---------------------------------------------------------------------------------------


def test_registered_with_jgroups_name_id_and_defaults() -> None:
    d = DNS_PING()
    assert (d.name, d.protocol_id) == ("dns.DNS_PING", 61)
    assert (d.dns_record_type, d.dns_address, d.dns_query, d.probe_transport_ports) == ("A", "", "", False)
    assert d.dns_context_factory == "com.sun.jndi.dns.DnsContextFactory"
    assert d.is_dynamic()


def parse(text: str) -> StackSpec:
    return parse_stack_xml(text, environ={})


def _stack_xml(dns_attrs: str) -> str:
    return f'<config><TCP bind_port="7800"/><dns.DNS_PING {dns_attrs}/><pbcast.GMS/></config>'


def test_missing_dns_query_is_rejected_like_java() -> None:
    with pytest.raises(ConfigError, match="dns_query can not be null or empty"):
        build_layers(parse(_stack_xml("")), BUILTIN_PROTOCOLS, environ={}, check=False)
    with pytest.raises(ConfigError, match="dns_query can not be null or empty"):
        build_layers(parse(_stack_xml('dns_query="  "')), BUILTIN_PROTOCOLS, environ={}, check=False)


def test_system_property_aliases_fill_absent_attributes() -> None:
    env = {"jgroups.dns.dns_query": "a.test,b.test", "jgroups.dns.dns_record_type": "SRV"}
    layer = build_layers(parse(_stack_xml("")), BUILTIN_PROTOCOLS, environ=env, check=False)[1]
    assert isinstance(layer, DNS_PING)
    assert (layer.dns_query, layer.dns_record_type) == ("a.test,b.test", "SRV")


@pytest.mark.parametrize("rtype", ["a", "MX", "srv", ""])
def test_unknown_record_type_is_a_config_error_at_init(rtype: str) -> None:
    with pytest.raises(ConfigError, match="dns_record_type"):
        build_layers(parse(_stack_xml(f'dns_query="x.test" dns_record_type="{rtype}"')), BUILTIN_PROTOCOLS, environ={},
                     check=False)


def test_context_factory_is_accepted_and_ignored() -> None:
    xml = _stack_xml('dns_query="x.test" dns_context_factory="com.example.Other" dns_address="10.0.0.53:5353"')
    layer = build_layers(parse(xml), BUILTIN_PROTOCOLS, environ={}, check=False)[1]
    assert isinstance(layer, DNS_PING) and layer.dns_context_factory == "com.example.Other"


def test_stock_dns_ping_core_stack() -> None:
    assert load_stack_file("dns-ping-core.xml", environ={}).names() == [
        "TCP", "dns.DNS_PING", "pbcast.NAKACK2", "UNICAST3", "pbcast.STABLE", "pbcast.GMS", "UFC", "MFC", "FRAG4"]
    spec = load_stack_file("dns-ping-core.xml", {"jgroups.dns.query": "svc.dns.test", "jgroups.dns.record": "SRV",
                                                 "jgroups.dns.address": "127.0.0.1:5353"}, environ={})
    layers = build_layers(spec, BUILTIN_PROTOCOLS, environ={})
    dns = layers[1]
    assert isinstance(dns, DNS_PING)
    assert (dns.dns_query, dns.dns_record_type, dns.dns_address) == ("svc.dns.test", "SRV", "127.0.0.1:5353")
    default = build_layers(load_stack_file("dns-ping-core.xml", environ={}), BUILTIN_PROTOCOLS, environ={})[1]
    assert isinstance(default, DNS_PING) and (default.dns_query, default.dns_address) == ("localhost", "")


def test_the_lookup_request_is_built_from_the_attributes() -> None:
    layers = build_layers(parse(_stack_xml('dns_query="x.test, y.test" dns_address=" 127.0.0.1:5353"')),
                          BUILTIN_PROTOCOLS, environ={}, check=False)
    dns = layers[1]
    assert isinstance(dns, DNS_PING)
    dns.init()
    assert dns.resolve_request(7) == ResolveDns(7, ("x.test", "y.test"), "A", "127.0.0.1:5353", 2.0)


def test_bad_resolver_settings_fail_at_init_as_javas_resolver_construction() -> None:
    dns = DNS_PING()
    dns.dns_query, dns.dns_address = "x.test", "host:99999"
    with pytest.raises(ConfigError, match="bad port"):
        dns.init()
    dns.dns_address, dns.resolver_timeout = "", 0.0
    with pytest.raises(ConfigError, match="DNS timeout must be positive"):
        dns.init()


def test_query_list_and_dns_address_parsing() -> None:
    assert split_queries(" a.test , b.test,,c.test ,") == ["a.test", "b.test", "c.test"]
    assert parse_dns_address("10.0.0.53") == ("10.0.0.53", 53)
    assert parse_dns_address("dns.example:5353") == ("dns.example", 5353)
    assert parse_dns_address("[fd00::53]:54") == ("fd00::53", 54)
    assert parse_dns_address("fd00::53") == ("fd00::53", 53)
    for bad in ("", "host:", "host:0", "host:99999", "[::1", "[::1]x", "a:b:c"):
        with pytest.raises(ConfigError):
            parse_dns_address(bad)


# --- targets (Java findMembers) ----------------------------------------------------------------------------


def test_a_records_probe_the_transport_port_range_and_never_ourselves() -> None:
    r = FakeResolver({("svc.dns.test", "A"): ips("10.0.0.1", "10.0.0.2", "10.0.0.3")})
    h = harness(r, port_range=2)
    h.down(FindInitialMembers(1, 2000))
    assert r.calls == []  # nothing is resolved on the stack's thread
    assert run_lookup(h) == [*ports("10.0.0.1", 7801, 7802), *ports("10.0.0.2", 7800, 7802),
                             *ports("10.0.0.3", 7800, 7802)]
    assert r.calls == [("svc.dns.test", "A")]


def test_a_record_ports_are_ignored_and_duplicates_probed_once() -> None:
    """Only SRV answers may carry ports; an A entry with a port still probes the transport ports."""
    r = FakeResolver({("svc.dns.test", "A"): ips(("10.0.0.2", 9999), "10.0.0.2", "10.0.0.4")})
    h = harness(r, port_range=0)
    h.down(FindInitialMembers(1, 2000))
    assert run_lookup(h) == [IpAddress("10.0.0.2", 7800), IpAddress("10.0.0.4", 7800)]


def test_aaaa_records() -> None:
    r = FakeResolver({("svc.dns.test", "AAAA"): ips("fd00::2", "fd00::3")})
    h = harness(r, record_type="AAAA", port_range=1)
    h.down(FindInitialMembers(1, 2000))
    assert run_lookup(h) == [*ports("fd00::2", 7800, 7801), *ports("fd00::3", 7800, 7801)]


@pytest.mark.parametrize("probe", [False, True])
def test_srv_ports_with_and_without_probe_transport_ports(probe: bool) -> None:
    r = FakeResolver({("_ping._tcp.svc.dns.test", "SRV"): ips(("10.0.0.2", 8888), ("10.0.0.3", 0),
                                                               ("10.0.0.1", 7800))})
    h = harness(r, record_type="SRV", query="_ping._tcp.svc.dns.test", port_range=1, probe_transport_ports=probe)
    h.down(FindInitialMembers(1, 2000))
    got = run_lookup(h)
    if probe:
        assert got == [IpAddress("10.0.0.2", 8888), *ports("10.0.0.2", 7800, 7801), *ports("10.0.0.3", 7800, 7801),
                       IpAddress("10.0.0.1", 7801)]
    else:  # port 0 (no port from DNS) falls back to the transport ports, as for A records
        assert got == [IpAddress("10.0.0.2", 8888), *ports("10.0.0.3", 7800, 7801)]


def test_comma_list_is_resolved_in_order_and_concatenated() -> None:
    r = FakeResolver({("a.test", "A"): ips("10.0.0.5"), ("b.test", "A"): ips("10.0.0.6")})
    h = harness(r, query=" a.test , nope.test ,b.test", port_range=0)
    h.down(FindInitialMembers(1, 2000))
    assert run_lookup(h) == [IpAddress("10.0.0.5", 7800), IpAddress("10.0.0.6", 7800)]
    assert r.calls == [("a.test", "A"), ("nope.test", "A"), ("b.test", "A")]
    layer = h.stack.find(DNS_PING)
    assert layer.last_resolution is not None and layer.last_resolution.problems == ("nope.test does not exist "
                                                                                   "(NXDOMAIN)",)


def test_ports_beyond_65535_are_skipped() -> None:
    h = harness(FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")}), bind_port=65534, port_range=3)
    h.down(FindInitialMembers(1, 2000))
    assert run_lookup(h) == ports("10.0.0.2", 65534, 65535)


def test_request_format_matches_the_other_discovery_protocols() -> None:
    """GET_MBRS_REQ, OOB|DONT_BUNDLE, DONT_LOOPBACK, header id 61 with the cluster name, one PingData."""
    h = harness(FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")}), port_range=0)
    h.down(FindInitialMembers(1, 2000))
    (msg,) = lookup_messages(h)
    assert msg.flags == Flag.OOB | Flag.DONT_BUNDLE and msg.transient_flags & TransientFlag.DONT_LOOPBACK
    hdr = msg.get_header(61)
    assert hdr == PingHeader(PingHeader.Type.GET_MBRS_REQ, "demo", True)
    assert isinstance(msg.payload, bytes)
    (pd,) = decode_ping_data_list(msg.payload)
    assert (pd.sender, pd.is_server, pd.logical_name, pd.physical_addr, pd.mbrs) == (ME, False, "me", MY_IP, None)
    expected = request_message(IpAddress("10.0.0.2", 7800), 61, hdr, ping_data(ME, False, "me", MY_IP))
    assert (msg.payload, msg.headers) == (expected.payload, expected.headers)


def test_find_members_asks_for_the_wanted_members_and_is_not_initial() -> None:
    other = UUID(2, 2)
    h = harness(FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")}), port_range=0)
    h.down(FindMembers(5, (other,)))
    (msg,) = lookup_messages(h)
    assert msg.dest == IpAddress("10.0.0.2", 7800)
    hdr = msg.get_header(61)
    assert isinstance(hdr, PingHeader) and not hdr.initial_discovery
    assert isinstance(msg.payload, bytes)
    (pd,) = decode_ping_data_list(msg.payload)
    assert pd.mbrs == (other,)


# --- failures -----------------------------------------------------------------------------------------------


def test_dns_errors_give_no_targets_and_discovery_ends_with_no_responses() -> None:
    r = FakeResolver()  # everything NXDOMAIN
    h = harness(r)
    h.down(FindInitialMembers(9, 500))
    assert run_lookup(h) == []
    layer = h.stack.find(DNS_PING)
    assert layer.counters["dns_empty"] == 1 and layer.counters["dns_problems"] == 1
    h.advance(500 * MS)
    assert h.take_up_events() == [DiscoveryResponse(9, ())]


def test_a_raising_resolver_or_a_failed_call_cost_one_round_only() -> None:
    h = harness(Raising())
    h.down(FindInitialMembers(1, 500))
    assert run_lookup(h) == []
    res = h.stack.find(DNS_PING).last_resolution
    assert res is not None and "boom" in res.problems[0]
    h.down(FindMembers(2, ()))
    h.stack.run_input(lambda: None)
    (cmd,) = [c for c in h.stack.take_io() if isinstance(c, ResolveDns)]
    h.stack.on_io_result(IoFailed(cmd.request_id, "worker died"))
    assert h.take_down() == []
    res = h.stack.find(DNS_PING).last_resolution
    assert res is not None and "worker died" in res.problems[0]
    h.stack.on_io_result(DnsResolved(999, Resolution()))  # nobody asked: counted by the stack, no crash
    assert h.stack.stale_io_results == 1


def test_a_value_that_is_not_a_resolution_is_a_problem_not_a_crash() -> None:
    h = harness(FakeResolver())
    h.down(FindInitialMembers(1, 500))
    (cmd,) = [c for c in h.stack.take_io() if isinstance(c, ResolveDns)]
    h.stack.on_io_result(DnsResolved(cmd.request_id, ["10.0.0.2"]))  # type: ignore[arg-type]
    assert h.take_down() == []


def test_results_after_stop_are_ignored() -> None:
    r = FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")})
    h = harness(r)
    h.down(FindInitialMembers(1, 500))
    (cmd,) = [c for c in h.stack.take_io() if isinstance(c, ResolveDns)]
    layer = h.stack.find(DNS_PING)
    h.stack.disconnect()
    h.take_down()
    h.stack.on_io_result(h.resolve(cmd))  # the stack forgot the request
    h.stack.run_input(layer.on_io_result, h.resolve(cmd))  # and the layer too
    assert h.take_down() == [] and layer.counters["dns_results_ignored"] == 1


def test_a_late_answer_still_sends_requests_like_javas_blocking_lookup() -> None:
    """Java resolves inside findMembers and sends whatever it found even after the caller gave up:
    the answers then only fill the caches."""
    h = harness(FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")}), port_range=0)
    h.down(FindInitialMembers(3, 100))
    h.advance(100 * MS)
    assert h.take_up_events() == [DiscoveryResponse(3, ())]
    assert run_lookup(h) == [IpAddress("10.0.0.2", 7800)]


def test_every_discovery_run_resolves_again() -> None:
    r = FakeResolver({("svc.dns.test", "A"): ips("10.0.0.2")})
    layer = DNS_PING()
    layer.dns_query, layer.num_discovery_runs = "svc.dns.test", 3
    h = LayerHarness(layer, local_addr=ME)
    h.down(FindInitialMembers(1, 3000))
    h.advance(3000 * MS)
    lookups = [c for c in h.stack.take_io() if isinstance(c, ResolveDns)]
    assert len(lookups) == 3 and len({c.request_id for c in lookups}) == 3
    assert all(answered_by(r)(c).resolution == ips("10.0.0.2") for c in lookups)


# --- management ---------------------------------------------------------------------------------------------


def test_fetch_from_dns_and_explain() -> None:
    r = FakeResolver({("svc.dns.test", "SRV"): ips(("10.0.0.2", 8888))})
    h = harness(r, record_type="SRV", query="svc.dns.test,gone.test", port_range=0)
    layer = h.stack.find(DNS_PING)
    res = fetch_from_dns(layer, answered_by(r))
    assert res.addresses == (IpAddress("10.0.0.2", 8888),)
    assert res.problems == ("gone.test does not exist (NXDOMAIN)",)
    text = "\n".join(layer.explain(res))
    assert "SRV records of 'svc.dns.test,gone.test'" in text and "10.0.0.2:8888" in text and "NXDOMAIN" in text
    empty = "\n".join(layer.explain(Resolution()))
    assert "cluster of its own" in empty


def test_resolve_all_never_raises() -> None:
    res = resolve_all(Raising(), ["a.test", "b.test"], "A")
    assert res.addresses == () and len(res.problems) == 2


# --- a simulated cluster ------------------------------------------------------------------------------------


class Directory:
    """A fake DNS zone: the simulated nodes' IPs under one name (what a headless Service lists)."""

    def __init__(self) -> None:
        self.ips: list[str] = []

    def resolve_ips(self, query: str, record_type: str) -> Resolution:
        if query != "demo.dns.test":
            return Resolution(problems=(f"{query} does not exist (NXDOMAIN)",))
        return Resolution.of(list(self.ips))


def dns_network(n: int, seed: int = 1) -> tuple[SimNetwork, list[SimNode], Directory]:
    zone = Directory()
    net = SimNetwork(seed, io_handlers={ResolveDns: answered_by(zone)})
    base = stack_factory("sim-core.xml")

    def layers() -> Sequence[Layer]:
        stack = list(base())
        transport = stack[0]
        assert isinstance(transport, SimTransport)
        transport.bind_port = 7800  # type: ignore[attr-defined]  # what DNS_PING reads from TP
        transport.port_range = 0  # type: ignore[attr-defined]
        dns = DNS_PING()
        dns.dns_query = "demo.dns.test"
        stack[1] = dns  # in place of SHARED_LOOPBACK_PING
        return stack

    nodes = [net.add_node(chr(ord("A") + i), layers) for i in range(n)]
    for node in nodes:
        phys = node.transport.physical_addr
        assert phys.ip is not None
        zone.ips.append(str(phys.ip))
    return net, nodes, zone


def view_of(node: SimNode) -> View | None:
    return node.stack.find(GMS).view


def agree(nodes: Sequence[SimNode]) -> bool:
    views = [view_of(x) for x in nodes]
    return all(v is not None and len(v.members) == len(nodes) for v in views) and len(set(views)) == 1


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_nodes_find_each_other_through_dns_and_form_one_view(seed: int) -> None:
    net, nodes, _ = dns_network(4, seed)
    nodes[0].connect("demo")
    net.run_until(lambda: view_of(nodes[0]) is not None, 10_000 * MS)
    for node in nodes[1:]:
        node.connect("demo")
    net.run_until(lambda: agree(nodes), 30_000 * MS, what="one view of 4")
    view = view_of(nodes[0])
    assert view is not None and view.coordinator == nodes[0].addr
    assert all(x.stack.find(DNS_PING).counters["requests_sent"] > 0 for x in nodes[1:])


def test_simulated_node_missing_from_dns_stays_alone() -> None:
    net, (a, b), zone = dns_network(2)
    zone.ips.clear()  # the Service lists nobody (e.g. pods not ready and publishNotReadyAddresses unset)
    a.connect("demo")
    net.run_until(lambda: view_of(a) is not None, 10_000 * MS)
    b.connect("demo")
    net.run_until(lambda: view_of(b) is not None, 10_000 * MS)
    va, vb = view_of(a), view_of(b)
    assert va is not None and vb is not None and len(va.members) == len(vb.members) == 1


def test_no_members_is_warned_once_and_recovery_is_said(caplog: pytest.LogCaptureFixture) -> None:
    r = FakeResolver()
    h = harness(r)
    with caplog.at_level("INFO", logger="pygroups.protocols.dns.dns_ping"):
        for _ in range(3):
            h.down(FindMembers(1, ()))
            h.stack.run_input(lambda: None)
            run_lookup(h)
        r.answers[("svc.dns.test", "A")] = ips("10.0.0.2")
        h.down(FindMembers(2, ()))
        h.stack.run_input(lambda: None)
        run_lookup(h)
    warnings = [rec.getMessage() for rec in caplog.records if rec.levelname == "WARNING"]
    assert len(warnings) == 1
    assert "found no members" in warnings[0] and "svc.dns.test does not exist (NXDOMAIN)" in warnings[0]
    assert any("resolves 'svc.dns.test' again (1 addresses)" in rec.getMessage() for rec in caplog.records)
