"""The stacks Java deployments run, unmodified, in mixed Java/Python clusters (issue 9, point 2), with a Java-only
control each: the JGroups 5.5.6 jar's own tcp.xml (with its <include> of tcp-default.xml), Infinispan 16.2's
default-jgroups-tcp.xml with MPING swapped for TCPPING (what Infinispan users do without IP multicast), and
Infinispan's default-jgroups-kubernetes.xml (DNS_PING, RED, FD_SOCK2 at offset 50000, FRAG4, 4 MB credits), and our
own protocols/tcp.xml and dns-ping.xml (protocols/kubernetes.xml: test_kube_conformance.py, against the Kubernetes
API stand-in).

Every stack keeps its own timings (MERGE3 10-30 s, FD_ALL3 40 s, VERIFY_SUSPECT2 1-1.5 s): a killed process is
found by FD_SOCK2, whose connection to it the kernel closes. Nodes are "pods" on their own loopback IPs at port 7800
(conformance/cluster.py); the files' own bind_addr (``match-interface:eth2,...`` in the jar's, ``SITE_LOCAL`` in
Infinispan's) is overridden by ``-Djgroups.bind_addr``, which TCP.bind_addr's system property makes win in Java and
in pygroups alike.

Infinispan's kubernetes stack has no ``dns_address``: its DNS_PING asks the operating system's resolver, as on
Kubernetes, where the headless service name resolves to every pod. Here each node runs in a private mount namespace
(``unshare --mount``, made by the test for its own processes) whose /etc/hosts maps the query name to the pods'
loopback IPs; the host's /etc/hosts is never touched. Both languages resolve through the same file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cluster import Cluster, PeerNode, multicasts_arrive_exactly_once, show_view

from tests.support.stacks import INFINISPAN_KUBERNETES, JAR_TCP, infinispan_tcp_with_tcpping

VIEW_TIMEOUT = 90.0  # FD_SOCK2 finds a killed member at once; 90 s leaves room for FD_ALL3's 40 s as a fallback
ROLES = ["J1", "P1", "J2", "P2"]
QUERY = "infinispan.pods.test"  # the DNS name Infinispan's DNS_PING asks for (jgroups.dns.query)


def lang(role: str, mix: str) -> str:
    return "python" if mix == "mixed" and role.startswith("P") else "java"


def hosts_namespace(path: Path, ips: list[str]) -> list[str]:
    """A command prefix that runs a node in a private mount namespace where /etc/hosts is ``path``: the host's
    entries plus ``QUERY`` resolving to every pod (the node's command is exec'ed, so its pid is the node's)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to give the nodes their own /etc/hosts", pytrace=False)
    path.write_text(Path("/etc/hosts").read_text() + "".join(f"\n{ip} {QUERY}" for ip in ips) + "\n")
    wrap = ["unshare", "--mount", "--propagation", "private", "--",
            "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', str(path)]
    probe = subprocess.run([*wrap, "getent", "ahostsv4", QUERY], capture_output=True, text=True, timeout=30)
    found = {line.split()[0] for line in probe.stdout.splitlines() if line.strip()}
    if probe.returncode != 0 or found != set(ips):
        pytest.fail(f"a private mount namespace with its own /etc/hosts did not work (root is needed): "
                    f"rc={probe.returncode} found={sorted(found)} {probe.stderr.strip()}", pytrace=False)
    return wrap


def stack_cluster(make_cluster, stack: str, tmp_path: Path) -> Cluster:
    if stack in ("jar-tcp.xml", "tcp.xml"):
        path = JAR_TCP if stack == "jar-tcp.xml" else stack
        c: Cluster = make_cluster(str(path), pods=True, properties={"jgroups.tcp.port_range": "0"})
    elif stack == "infinispan-tcp":
        c = make_cluster(str(infinispan_tcp_with_tcpping(tmp_path)), pods=True)
    else:  # DNS_PING through the operating system's resolver
        path = INFINISPAN_KUBERNETES if stack == "infinispan-kubernetes" else stack
        c = make_cluster(str(path), pods=True, properties={"jgroups.dns.query": QUERY})
        c.wrap = hosts_namespace(tmp_path / "hosts", [c.pod_ip(r) for r in ROLES])
    c.extra_properties["jgroups.tcpping.initial_hosts"] = ",".join(f"{c.pod_ip(r)}[7800]" for r in ROLES)
    return c


@pytest.mark.parametrize("mix", ["mixed", "java"])
@pytest.mark.parametrize("stack", ["jar-tcp.xml", "infinispan-tcp", "infinispan-kubernetes", "tcp.xml",
                                   "dns-ping.xml"])
def test_a_deployment_stack_forms_one_view_works_and_survives_crashes(
        make_cluster, tmp_path: Path, stack: str, mix: str, record_property) -> None:
    """Four members (J1 coordinator) form one view and multicast exactly once; kill -9 of P1 (a member), then of
    J1 (the coordinator): the survivors install one view without each, and still multicast exactly once."""
    c = stack_cluster(make_cluster, stack, tmp_path)
    nodes: dict[str, PeerNode] = {}
    for r in ROLES:  # one after the other: J1 is the coordinator, the others join in order
        nodes[r] = c.start(r, lang(r, mix))
    v = c.wait_same_view(ROLES, VIEW_TIMEOUT)
    assert v["members"] == ROLES, show_view(v)
    multicasts_arrive_exactly_once(c, ROLES, n=100)
    for victim in ("P1", "J1"):
        survivors = [r for r in ROLES if nodes[r].alive() and r != victim]
        nodes[victim].kill()
        v = c.wait_same_view(survivors, VIEW_TIMEOUT)
        assert v["members"] == survivors, f"after the kill of {victim}: {show_view(v)}"
        print(f"\n{stack} ({mix}): {victim} killed, view {show_view(v)}")
    multicasts_arrive_exactly_once(c, ["J2", "P2"], n=100)
    record_property("stack", stack)
