"""DNS_PING across languages: Java (JGroups 5.5.6's dns.DNS_PING through JNDI) and Python pods find each other
through the DNS stand-in (pygroups.testing.servers.dnsserver) and form one view, with A records and with SRV records.

Pods are processes bound to their own loopback IP (``127.x.y.z:7800``, conformance/cluster.py pod mode); the
stack is protocols/dns-ping-core.xml, loaded unmodified by both, with ``dns_address`` pointing at the stand-in
(``jgroups.dns.address``). The stand-in's query log proves that Java's JNDI client really asked it.

SRV targets: Java resolves them with the OS resolver (``InetAddress.getAllByName``) even when ``dns_address``
is set. The targets here (``<pod>.pods.dns.test.``) are unknown to the OS, so Java's JVM gets a hosts file of
its own (``-Djdk.net.hosts.file``, through JAVA_TOOL_OPTIONS): no change to the system. Python pods use the
default SRV policy: the OS first, then the stand-in (the SRV answer's additional records, or A queries).
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster import Cluster, ClusterError

from pygroups.aio.dns import DnsResolver
from pygroups.errors import ConfigError
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.stack.config import load_stack_file
from pygroups.stack.registry import build_layers
from pygroups.testing.servers.dnsserver import DnsServer

VIEW_TIMEOUT = 60.0
SERVICE = "demo.dns.test"
SRV_NAME = "_jgroups._tcp.demo.dns.test"


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def target(name: str) -> str:
    return f"{name.lower()}.pods.dns.test"


def java_hosts_file(path: Path, pods: dict[str, str]) -> Path:
    """A hosts file for the JVM: the local names it may look up, plus every pod's SRV target (with and
    without the final dot: JNDI renders targets absolute, ``pod.pods.dns.test.``)."""
    lines = ["127.0.0.1 localhost", f"127.0.0.1 {socket.gethostname()}", "::1 localhost"]
    lines += [f"{ip} {target(name)} {target(name)}." for name, ip in pods.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def dns_cluster(make_cluster, server: DnsServer, record: str, query: str, env: dict[str, str] | None = None) -> Cluster:
    props = {"jgroups.dns.query": query, "jgroups.dns.record": record, "jgroups.dns.address": server.address}
    c: Cluster = make_cluster("dns-ping-core.xml", properties=props, pods=True, env=env or {})
    return c


def test_a_records_java_and_python_pods_form_one_view(make_cluster, dns: DnsServer) -> None:
    names = ["J1", "P1", "J2", "P2"]
    c = dns_cluster(make_cluster, dns, "A", SERVICE)
    dns.set_a(SERVICE, [c.pod_ip(n) for n in names])  # the headless Service lists every pod

    c.start("J1", "java")
    assert dns.query_count(SERVICE, "A") >= 1, "Java's DNS_PING did not ask the stand-in (dns_address)"
    c.wait_same_view(["J1"], VIEW_TIMEOUT)

    before = dns.query_count(SERVICE, "A")
    c.start("P1", "python")
    assert dns.query_count(SERVICE, "A") > before, "the Python pod did not ask the stand-in"
    c.wait_same_view(["J1", "P1"], VIEW_TIMEOUT)

    c.start("J2", "java")
    c.start("P2", "python")
    view = c.wait_same_view(names, VIEW_TIMEOUT)
    assert view["members"] == names and view["coord"] == "J1"
    clients = {q.client.rsplit(":", 1)[0] for q in dns.queries()}
    assert clients == {"127.0.0.1"}  # JNDI and dnspython both talked to the stand-in over loopback UDP
    assert {q.transport for q in dns.queries()} == {"udp"}


@pytest.mark.parametrize("additional", [True, False], ids=["additional-records", "target-queries"])
def test_srv_records_python_coordinator_then_java_pods(make_cluster, dns: DnsServer, tmp_path: Path,
                                                       additional: bool) -> None:
    names = ["P1", "J1", "J2", "P2"]
    c = dns_cluster(make_cluster, dns, "SRV", SRV_NAME)
    pods = {n: c.pod_ip(n) for n in names}
    hosts = java_hosts_file(tmp_path / "hosts", pods)
    c.env["JAVA_TOOL_OPTIONS"] = f"-Djdk.net.hosts.file={hosts}"
    dns.srv_additional = additional
    dns.set_srv(SRV_NAME, [(0, 0, 7800, target(n)) for n in names])
    for n, ip in pods.items():
        dns.set_a(target(n), [ip])

    c.start("P1", "python")
    c.wait_same_view(["P1"], VIEW_TIMEOUT)
    if not additional:  # the Python pod resolved the targets at the stand-in (the OS does not know them)
        assert dns.query_count(target("J1"), "A") >= 1

    before = dns.query_count(SRV_NAME, "SRV")
    c.start("J1", "java")
    assert dns.query_count(SRV_NAME, "SRV") > before, "Java's DNS_PING did not send its SRV query to the stand-in"
    c.wait_same_view(["P1", "J1"], VIEW_TIMEOUT)

    c.start("J2", "java")
    c.start("P2", "python")
    view = c.wait_same_view(names, VIEW_TIMEOUT)
    assert view["members"] == names and view["coord"] == "P1"


@pytest.mark.parametrize("answer", ["empty", "nxdomain"])
def test_no_dns_records_means_singletons_on_both_sides(make_cluster, dns: DnsServer, answer: str) -> None:
    """DNS is the only source of members: a Service that lists nobody (no ready endpoints and no
    ``publishNotReadyAddresses``, or a wrong name) leaves every pod, Java or Python, in a cluster of its own."""
    c = dns_cluster(make_cluster, dns, "A", SERVICE)
    if answer == "empty":
        dns.set_a(SERVICE, [])  # the name exists, without A records
    c.start("J1", "java")
    c.start("P1", "python")
    assert c.wait_same_view(["J1"], VIEW_TIMEOUT)["members"] == ["J1"]
    assert c.wait_same_view(["P1"], VIEW_TIMEOUT)["members"] == ["P1"]
    assert dns.query_count(SERVICE, "A") >= 2  # both asked, both heard "nothing"


def test_an_unknown_record_type_is_refused_by_both(make_cluster, dns: DnsServer) -> None:
    """Java parses dns_record_type with DNSRecordType.valueOf at the first discovery run, so its connect() fails;
    pygroups refuses the same value when it builds the stack (earlier, with the valid values in the message)."""
    c = dns_cluster(make_cluster, dns, "a", SERVICE)
    enum = r"No enum constant org\.jgroups\.protocols\.dns\.DNSResolver\.DNSRecordType\.a\b"
    with pytest.raises(ClusterError, match=enum):
        c.start("J1", "java")
    spec = load_stack_file("dns-ping-core.xml", {"jgroups.dns.query": SERVICE, "jgroups.dns.record": "a"}, environ={})
    with pytest.raises(ConfigError, match="dns_record_type 'a' is not one of A, AAAA, SRV"):
        build_layers(spec, BUILTIN_PROTOCOLS, environ={})


# --- the resolvers side by side -----------------------------------------------------------------------------

JAVA_RESOLVE = """
import org.jgroups.Address;
import org.jgroups.protocols.dns.*;
import org.jgroups.stack.IpAddress;

public class Resolve {
    public static void main(String[] args) throws Exception {
        // args: dns_address ("" = DefaultDNSResolver, as DNS_PING.init picks), then (query, type) pairs
        DNSResolver r = args[0].isEmpty()
          ? new DefaultDNSResolver("com.sun.jndi.dns.DnsContextFactory", args[0])
          : new AddressedDNSResolver("com.sun.jndi.dns.DnsContextFactory", args[0]);
        for (int i = 1; i < args.length; i += 2) {
            StringBuilder sb = new StringBuilder();
            for (Address a : r.resolveIps(args[i], DNSResolver.DNSRecordType.valueOf(args[i + 1]))) {
                IpAddress ip = (IpAddress) a;
                sb.append(ip.getIpAddress().getHostAddress()).append(' ').append(ip.getPort()).append(',');
            }
            System.out.println(sb);
        }
    }
}
"""


def java_resolve(java_peer, tmp_path: Path, dns_address: str, queries: list[tuple[str, str]],
                 hosts: Path | None = None) -> list[list[tuple[str, int]]]:
    """Java's DNS_PING resolvers (AddressedDNSResolver / DefaultDNSResolver of the 5.5.6 jar) on ``queries``."""
    source = tmp_path / "Resolve.java"
    source.write_text(JAVA_RESOLVE)
    jvm = [f"-Djdk.net.hosts.file={hosts}"] if hosts is not None else []
    args = [a for q in queries for a in q]
    proc = subprocess.run([java_peer.java_executable(), *jvm, "-cp", java_peer.classpath(), str(source),
                           dns_address, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert len(lines) == len(queries), proc.stdout + proc.stderr[-3000:]
    out = []
    for line in lines:
        entries = [e.rsplit(" ", 1) for e in line.split(",") if e]
        out.append([(str(ipaddress.ip_address(ip.split("%")[0])), int(port)) for ip, port in entries])
    return out


def python_resolve(dns_address: str, queries: list[tuple[str, str]]) -> list[list[tuple[str, int]]]:
    r = DnsResolver(dns_address, timeout=2.0)
    return [[(str(a.ip), a.port) for a in r.resolve_ips(q, t).addresses] for q, t in queries]


def test_java_and_pygroups_resolvers_agree_on_the_same_answers(java_peer, dns: DnsServer, tmp_path: Path) -> None:
    """For the same DNS answers, Java's resolver (what DNS_PING.findMembers turns into targets) and pygroups'
    give the same addresses and ports in the same order: A, AAAA, SRV (ports, a port-0 entry, a '.' target,
    an unknown target), NXDOMAIN, an empty answer, SERVFAIL."""
    pods = {"X1": "127.0.0.21", "X2": "127.0.0.22", "X3": "127.0.0.23"}
    hosts = java_hosts_file(tmp_path / "hosts", pods)
    dns.set_a(SERVICE, ["127.0.0.21", "127.0.0.22", "127.0.0.23"])
    dns.set_aaaa(SERVICE, ["fd00::21", "fd00::22"])
    dns.set_srv(SRV_NAME, [(0, 0, 7800, target("X1")), (10, 5, 8888, target("X2")), (0, 0, 0, target("X3")),
                           (0, 0, 7801, "."), (0, 0, 7802, "gone.pods.dns.test")])
    for name, ip in pods.items():
        dns.set_a(target(name), [ip])
    dns.set_a("empty.dns.test", [])
    dns.set_a("broken.dns.test", ["127.0.0.99"])
    dns.fail("broken.dns.test", "servfail")
    queries = [(SERVICE, "A"), (SERVICE, "AAAA"), (SRV_NAME, "SRV"), ("nope.dns.test", "A"), ("empty.dns.test", "A"),
               ("broken.dns.test", "A"), (SERVICE, "SRV"), ("nope.dns.test", "SRV")]
    java = java_resolve(java_peer, tmp_path, dns.address, queries, hosts)
    assert java[:3] == [
        [("127.0.0.21", 0), ("127.0.0.22", 0), ("127.0.0.23", 0)],
        [("fd00::21", 0), ("fd00::22", 0)],
        [("127.0.0.21", 7800), ("127.0.0.22", 8888), ("127.0.0.23", 0)],
    ]
    assert python_resolve(dns.address, queries) == java
    assert dns.query_count(SRV_NAME, "SRV") == 2  # one from each language: both asked the stand-in


def test_java_and_pygroups_system_resolvers_agree_on_a_local_name(java_peer, tmp_path: Path) -> None:
    """Without dns_address, A records come from the OS resolver in both (InetAddress.getAllByName / getaddrinfo)."""
    queries = [("localhost", "A"), ("127.0.0.9", "A"), ("nope.invalid.", "A")]
    assert python_resolve("", queries) == java_resolve(java_peer, tmp_path, "", queries)
