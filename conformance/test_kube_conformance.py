"""KUBE_PING conformance: Java pods (JGroups 5.5.6 + jgroups-kubernetes 3.0.0) and Python pods (pygroups) find
each other through one Kubernetes API stand-in (pygroups.testing.servers.kubeapi, HTTPS with its own CA and a bearer
token), exactly as they would in a namespace.

A "pod" is a node process bound to its own loopback IP at 7800 (conformance/cluster.py pod mode), listed by the
stand-in in a namespace with labels; every node loads protocols/kubernetes-core.xml unmodified and gets
KUBERNETES_NAMESPACE, KUBERNETES_LABELS, KUBERNETES_SERVICE_HOST/PORT, the CA and token files as environment
variables, as a Deployment would give them. KUBE_PING.port_range is 1 (each pod also probes ip:7801).

Scenarios, each with a ``mixed`` variant (roles J* Java, P* Python) and a ``java`` self-check (every role Java:
what the mixed variant asserts is what Java does with Java):

* the seed demo: 3 Java pods, then a Python pod -> one view of 4, listed by both probes; and the reverse
  (Python pods first);
* separation: other labels in the same namespace, and the same labels in another namespace -> separate views,
  although every pod uses the same JGroups cluster name;
* rolling update with split_clusters_during_rolling_update: two pod-template-hash generations -> two clusters;
* the API down or answering 403 at start: singletons with an actionable log that keep running; a pod started
  after the API recovered joins one of them (merging the singletons comes with MERGE3, a later issue);
* the target table: for the same API answers, Java's KUBE_PING.findMembers (captured by the Java peer's
  ``kube_targets``) and pygroups' targets (pods.plan_targets over the same HTTP body) are the same lists.

In the seed demo, Java's Probe and ``pygroups probe`` (TCP, asking one pod) list the 4 members with one view.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from cluster import ROOT, Cluster, PeerNode, show_view

from pygroups.address import IpAddress
from pygroups.protocols.kubernetes.pods import java_host_address, parse_pod_list, plan_targets, pod_group
from pygroups.testing.servers.kubeapi import Fault, KubeApiServer, make_pod

STACK = "kubernetes-core.xml"
PORT = 7800
LABELS = {"app": "pygroups", "cluster": "pygroups-chat"}  # as deploy/deployment.yaml
VIEW_TIMEOUT = 30.0
MIXES = ["mixed", "java"]
# GMS.join_timeout (the discovery timeout) through ${jgroups.join_timeout}, as environment variables so that one
# pod can differ: a pod that starts alone has nobody to wait for (ALONE); joiners get more than the stock 2 s
# (JOINER): they stop waiting at the coordinator's answer anyway, and on the loaded 2-core CI machine a pod's
# first API call (TLS set-up, a cold JVM or interpreter) can take a second or more, which pygroups counts into
# the timeout (see test_a_pod_whose_api_call_is_slow_still_joins) and Java does not.
ALONE = {"jgroups.join_timeout": "500ms"}
JOINER = {"jgroups.join_timeout": "5s"}

# the stand-in lists pods by namespace and name: pod names keep the start order (a-..., b-...)
_order = iter(range(10**6))


def selector(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels.items())


def lang(role: str, mix: str) -> str:
    return "python" if mix == "mixed" and role.startswith("P") else "java"


def kube_env(api: KubeApiServer, namespace: str, labels: str, **extra: str) -> dict[str, str]:
    """What a Deployment gives every pod (namespace from the downward API, the service-account files)."""
    return {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(api.port),
        "KUBERNETES_NAMESPACE": namespace,
        "KUBERNETES_LABELS": labels,
        "KUBERNETES_CA_CERTIFICATE_FILE": api.ca_file,
        "KUBERNETES_SA_TOKEN_FILE": api.token_file,
        **extra,
    }


@pytest.fixture
def api():
    with KubeApiServer() as server:
        yield server


@pytest.fixture
def cluster_name(request) -> str:
    """One JGroups cluster name for every pod of a test: only discovery keeps groups apart."""
    return f"kube-{os.getpid()}-{request.node.name[-40:]}"


@dataclass
class Deployment:
    """Pods of one Deployment: one harness Cluster in pod mode, each pod registered with the API stand-in
    (namespace, labels, generation) right before its process starts, as the kubelet would have it."""

    c: Cluster
    api: KubeApiServer
    namespace: str
    labels: dict[str, str]
    pod_args: dict[str, Any] = field(default_factory=dict)

    def register(self, role: str) -> None:
        name = f"{next(_order):06d}-{role.lower()}"
        self.api.add_pod(make_pod(name, self.c.pod_ip(role), namespace=self.namespace, labels=self.labels,
                                  **self.pod_args))

    def start(self, role: str, language: str, *, alone: bool = False, env: Mapping[str, str] | None = None) -> PeerNode:
        """Registers the pod and starts it; ``alone``: nobody to find (a short join_timeout)."""
        self.register(role)
        return self.c.start(role, language, env={**(ALONE if alone else {}), **(env or {})})

    def spawn(self, role: str, language: str, *, alone: bool = False) -> PeerNode:
        self.register(role)
        return self.c.spawn(role, language, env=ALONE if alone else None)


def deployment(make_cluster: Callable[..., Cluster], api: KubeApiServer, cluster_name: str, namespace: str,
               labels: Mapping[str, str], *, env: Mapping[str, str] | None = None,
               properties: Mapping[str, str] | None = None, stack: str = STACK, **pod_args: Any) -> Deployment:
    c = make_cluster(
        stack,
        cluster=cluster_name,
        pods=True,
        env=kube_env(api, namespace, selector(labels), **{**JOINER, **(env or {})}),
        properties={"jgroups.kube_ping.port_range": "1", **(properties or {})},
    )
    return Deployment(c, api, namespace, dict(labels), dict(pod_args))


def start_together(nodes: Iterable[PeerNode], timeout: float = 60.0) -> None:
    """Waits until every spawned node is connected (several Deployments starting at once)."""
    for n in nodes:
        n.wait_started(timeout)


def assert_view(d: Deployment, members: list[str], coord: str | None = None) -> dict[str, Any]:
    v = d.c.wait_same_view(members, VIEW_TIMEOUT)
    if coord is not None:
        assert v["coord"] == coord, f"coordinator should be {coord}: {show_view(v)}"
    return v


# ------------------------------------------------------------------------------------------ seed demo


PROBE_ANSWER = re.compile(r"^#\d+ \(\d+ bytes\):\n(\S+) \(ip=([\d.]+):(\d+)\)\nview=(.*)\ncluster=(.*)\n", re.M)
DIAG = {"jgroups.diag.enabled": "true"}  # TCP diagnostics on <pod IP>:7500 (kubernetes-core.xml's defaults)


def probe_listing(output: str) -> dict[str, tuple[str, str, str]]:
    """Probe's answers (default request: the detailed header): name -> (physical address, view, cluster)."""
    return {m.group(1): (f"{m.group(2)}:{m.group(3)}", m.group(4), m.group(5).strip())
            for m in PROBE_ANSWER.finditer(output)}


def seed_demo_probe(java_peer, d: Deployment, members: list[str], view: str) -> None:
    """As in the JGroups Kubernetes demo: probe one pod over TCP (``-addr <pod IP> -port 7500``); it hands out
    ``member-addrs`` and the probe asks every member. Java's Probe (asking a Python pod) and ``pygroups probe``
    (asking a Java pod) both list every member with the same view."""
    py_pod = next(m for m in members if d.c[m].lang == "python")
    java_pod = next(m for m in members if d.c[m].lang == "java")
    expected = {m: (f"{d.c.pod_ip(m)}:{PORT}", view, d.c.cluster) for m in members}
    java_cmd = [java_peer.java_executable(), "-Djava.net.preferIPv4Stack=true", "-cp", java_peer.classpath(),
                "org.jgroups.tests.Probe", "-addr", d.c.pod_ip(py_pod), "-port", "7500", "-tcp", "true",
                "-timeout", "3000"]
    py_cmd = [sys.executable, "-m", "pygroups", "probe", "-addr", d.c.pod_ip(java_pod), "-port", "7500", "-tcp",
              "-timeout", "3000"]
    for who, cmd in (("Java's Probe", java_cmd), ("pygroups probe", py_cmd)):
        r = subprocess.run(cmd, capture_output=True, timeout=60, cwd=ROOT)
        out = r.stdout.decode(errors="replace")
        got = probe_listing(out)
        assert got == expected, (f"{who} ({' '.join(cmd[-9:])}) listed {got}, expected {expected}\n{out}\n"
                                 f"{r.stderr.decode(errors='replace')[-2000:]}")


@pytest.mark.parametrize("mix", MIXES)
def test_seed_demo_three_java_pods_then_a_python_pod(java_peer, make_cluster, api, cluster_name, mix):
    d = deployment(make_cluster, api, cluster_name, "seed", LABELS, properties=DIAG)
    d.start("J1", lang("J1", mix), alone=True)
    d.start("J2", lang("J2", mix))
    d.start("J3", lang("J3", mix))
    v3 = assert_view(d, ["J1", "J2", "J3"], coord="J1")
    d.start("P1", lang("P1", mix))
    v4 = assert_view(d, ["J1", "J2", "J3", "P1"], coord="J1")
    assert v4["members"] == [*v3["members"], "P1"], show_view(v4)
    if mix == "mixed":  # the java variant would only check Java's Probe against Java
        view = f"{v4['view_id']} ({len(v4['members'])}) [{', '.join(v4['members'])}]"  # View.toString()
        seed_demo_probe(java_peer, d, ["J1", "J2", "J3", "P1"], view)
    # every pod asked the API with the namespace and the selector it got from the environment
    asked = {(r.namespace, r.label_selector) for r in api.requests}
    assert asked == {("seed", selector(LABELS))}, asked


def test_seed_demo_reversed_python_pods_first_then_java_pods_join(make_cluster, api, cluster_name):
    """Mixed only: its java-only form is the seed demo's java variant."""
    d = deployment(make_cluster, api, cluster_name, "seed", LABELS)
    d.start("P1", "python", alone=True)
    d.start("P2", "python")
    assert_view(d, ["P1", "P2"], coord="P1")
    d.start("J1", "java")
    d.start("J2", "java")
    v = assert_view(d, ["P1", "P2", "J1", "J2"], coord="P1")
    assert v["members"] == ["P1", "P2", "J1", "J2"], show_view(v)


@pytest.mark.parametrize("mix", MIXES)
def test_the_full_kubernetes_stack_forms_one_view_and_loses_a_killed_pod(make_cluster, api, cluster_name, mix):
    """protocols/kubernetes.xml (RED, KUBE_PING, MERGE3, FD_SOCK2 at offset 50000, FD_ALL3, VERIFY_SUSPECT2,
    NAKACK2, UNICAST3, STABLE, GMS, UFC, MFC, FRAG4), what deploy/ runs: Java and Python pods form one view, and a
    pod killed with SIGKILL (as Kubernetes does after the grace period) leaves it."""
    d = deployment(make_cluster, api, cluster_name, "full", LABELS, stack="kubernetes.xml")
    d.start("J1", lang("J1", mix), alone=True)
    for role in ("P1", "J2", "P2"):
        d.start(role, lang(role, mix))
    assert_view(d, ["J1", "P1", "J2", "P2"], coord="J1")
    d.c["P1"].kill()
    v = d.c.wait_same_view(["J1", "J2", "P2"], VIEW_TIMEOUT)
    assert v["members"] == ["J1", "J2", "P2"], show_view(v)
    d.c["J1"].kill()
    v = d.c.wait_same_view(["J2", "P2"], VIEW_TIMEOUT)
    assert v["members"] == ["J2", "P2"], show_view(v)


# ------------------------------------------------------------------------------------------ separation


@pytest.mark.parametrize("mix", MIXES)
def test_other_labels_and_other_namespaces_stay_separate(make_cluster, api, cluster_name, mix):
    """Three groups with one JGroups cluster name: ``blue`` and ``green`` in namespace ``team-a`` (the label
    selector differs), ``blue`` in ``team-b`` (the namespace differs). Each forms its own view."""
    blue = deployment(make_cluster, api, cluster_name, "team-a", {"app": "pygroups", "cluster": "blue"})
    green = deployment(make_cluster, api, cluster_name, "team-a", {"app": "pygroups", "cluster": "green"})
    other = deployment(make_cluster, api, cluster_name, "team-b", {"app": "pygroups", "cluster": "blue"})
    # the first pod of every group starts at the same time (each waits join_timeout alone)
    start_together([blue.spawn("J1", "java", alone=True), green.spawn("P2", lang("P2", mix), alone=True),
                    other.spawn("J3", "java", alone=True)])
    start_together([blue.spawn("P1", lang("P1", mix)), green.spawn("J2", "java"), other.spawn("P3", lang("P3", mix))])
    assert_view(blue, ["J1", "P1"], coord="J1")
    assert_view(green, ["P2", "J2"], coord="P2")
    assert_view(other, ["J3", "P3"], coord="J3")
    asked = {(r.namespace, r.label_selector) for r in api.requests}
    assert asked == {("team-a", "app=pygroups,cluster=blue"), ("team-a", "app=pygroups,cluster=green"),
                     ("team-b", "app=pygroups,cluster=blue")}, asked


# ------------------------------------------------------------------------------------------ rolling update


@pytest.mark.parametrize("mix", MIXES)
def test_rolling_update_with_split_forms_one_cluster_per_generation(make_cluster, api, cluster_name, mix):
    """All pods match the selector; with split_clusters_during_rolling_update each pod only probes pods of its
    own pod-template-hash, so the new ReplicaSet's pods form a second cluster while the old one runs on."""
    env = {"KUBERNETES_SPLIT_CLUSTERS_DURING_ROLLING_UPDATE": "true"}
    old = deployment(make_cluster, api, cluster_name, "roll", LABELS, env=env, pod_template_hash="6b7f9c5d8")
    new = deployment(make_cluster, api, cluster_name, "roll", LABELS, env=env, pod_template_hash="7c8d9e6f5")
    old.start("J1", "java", alone=True)
    old.start("P1", lang("P1", mix))
    assert_view(old, ["J1", "P1"], coord="J1")
    # the first new pod probes nobody of its generation: a new singleton, then the next new pod joins it
    new.start("P2", lang("P2", mix), alone=True)
    new.start("J2", "java")
    assert_view(new, ["P2", "J2"], coord="P2")
    assert_view(old, ["J1", "P1"], coord="J1")


@pytest.mark.parametrize("mix", MIXES)
def test_a_pod_whose_api_call_is_slow_still_joins(make_cluster, api, cluster_name, mix):
    """The joiner's API call takes 3 s, its join_timeout is the stock 2 s. Java's Discovery calls
    KUBE_PING.findMembers (the API call) synchronously and only then waits join_timeout for answers, so the
    joiner still finds the coordinator; a Python pod must too (its discovery timeout starts when the pod list
    arrives, not when the call starts)."""
    d = deployment(make_cluster, api, cluster_name, "slow", LABELS)
    d.start("J1", "java", alone=True)
    api.inject(Fault.delay(3.0), times=1)
    d.start("P1", lang("P1", mix), env={"jgroups.join_timeout": "2s"})
    assert_view(d, ["J1", "P1"], coord="J1")


# ------------------------------------------------------------------------------------------ API failures

JAVA_FAILURE = "failed getting JSON response from Kubernetes"


def stderr_text(node: PeerNode) -> str:
    return node.stderr(lines=200)


def wait_log(node: PeerNode, needles: list[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        text = stderr_text(node)
        if all(n in text for n in needles):
            return
        if time.monotonic() > deadline:
            missing = [n for n in needles if n not in text]
            raise AssertionError(f"{node}: no log line with {missing}\n{node.describe(4)}")
        time.sleep(0.1)


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("failure", ["down", "forbidden"])
def test_api_failure_at_start_gives_running_singletons_and_a_later_pod_joins(
        make_cluster, api, cluster_name, failure, mix):
    """The API server is unreachable (``down``) or answers 403 (``forbidden``, the RoleBinding is missing)
    while two pods start: each becomes a singleton, logs why (with the namespace; the 403 with the RBAC rule
    to apply on the Python side), and keeps running. Once the API works again, a new pod joins one of them.
    KUBERNETES_OPERATION_SLEEP=200 shortens the 3 tries per round (Java's default sleeps 1 s after each)."""
    d = deployment(make_cluster, api, cluster_name, "broken", LABELS, env={"KUBERNETES_OPERATION_SLEEP": "200"})
    if failure == "down":
        api.stop()  # the port stays reserved: the API comes back at the same address
    else:
        api.forbid("broken")
    early = ["J1", "P1"]
    start_together([d.spawn(r, lang(r, mix), alone=True) for r in early])
    for r in early:
        v = d.c.wait_same_view([r], VIEW_TIMEOUT)
        assert v["members"] == [r], show_view(v)
    for r in early:
        node = d.c[r]
        needles = [JAVA_FAILURE, "broken"] + (["403"] if failure == "forbidden" else [])
        if node.lang == "python":  # pygroups adds what is wrong and what to do
            needles += ["pods: get, list", "kind: RoleBinding"] if failure == "forbidden" else ["cannot be reached"]
        wait_log(node, needles)
        assert node.alive() and node.current_view()["members"] == [r]

    if failure == "down":
        api.start()
    else:
        api.allow("broken")
    late = "P2" if failure == "down" else "J2"
    d.start(late, lang(late, mix))
    members = _first_joined_view(d, late)
    assert len(members) == 2 and members[0] in early and members[1] == late, members
    v = d.c.wait_same_view(members, VIEW_TIMEOUT)
    assert v["members"] == members, show_view(v)
    (alone,) = [r for r in early if r != members[0]]
    assert d.c[alone].current_view()["members"] == [alone], "without MERGE3 the other singleton stays alone"


def _first_joined_view(d: Deployment, role: str) -> list[str]:
    """The members (harness names) of ``role``'s first view: the late pod joins, it is not alone."""
    node = d.c[role]
    ev = node.wait_for(lambda e: e["event"] == "view", VIEW_TIMEOUT, what="view")
    by_uuid = d.c.names_by_uuid()
    return [by_uuid.get(u, u) for u in ev["member_uuids"]]


# ------------------------------------------------------------------------------------------ target table

TABLE_LABELS = {"app": "table"}
READY = {"phase": "Running"}


def _edit(pod: dict[str, Any], fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    fn(pod)
    return pod


def _no_ready_condition(pod: dict[str, Any]) -> None:
    pod["status"]["conditions"] = [c for c in pod["status"]["conditions"] if c["type"] != "Ready"]


def _lowercase_ready(pod: dict[str, Any]) -> None:
    pod["status"]["phase"] = "running"
    for c in pod["status"]["conditions"]:
        if c["type"] == "Ready":
            c["status"] = "true"


def _no_container_statuses(pod: dict[str, Any]) -> None:
    del pod["status"]["containerStatuses"]


def _no_status(pod: dict[str, Any]) -> None:
    del pod["status"]


def pod_lists(own: str, namespace: str = "table") -> dict[str, list[dict[str, Any]]]:
    """Pod lists for the table, by case name; ``own`` is the asking pod's IP."""

    def p(name: str, ip: str | None, **kw: Any) -> dict[str, Any]:
        return make_pod(name, ip, namespace=namespace, labels=TABLE_LABELS, **kw)

    # the own IP with its last digit dropped (a 3-digit octet): Java's substring own-pod lookup matches it
    prefix = own[:-1]
    return {
        "ready": [p("a-own", own), p("b", "10.1.0.2"), p("c", "10.1.0.3")],
        "phases": [
            p("a-own", own), p("b-pending-ip", "10.1.0.2", phase="Pending"), p("c-pending", None, phase="Pending"),
            p("d-succeeded", "10.1.0.4", phase="Succeeded"), p("e-failed", "10.1.0.5", phase="Failed"),
            p("f-unknown", "10.1.0.6", phase="Unknown"), p("g-running", "10.1.0.7"),
        ],
        "readiness": [
            p("a-own", own),
            p("b-not-ready", "10.1.0.2", ready=False),
            p("c-container-not-ready", "10.1.0.3", ready=True, containers_ready=[True, False]),
            p("d-node-lost", "10.1.0.4", reason="NodeLost", message="Node node-2 is unresponsive"),
            p("e-message", "10.1.0.5", message="evicting"),
            _edit(p("f-no-ready-condition", "10.1.0.6"), _no_ready_condition),
            _edit(p("g-lowercase", "10.1.0.7"), _lowercase_ready),
            _edit(p("h-no-container-statuses", "10.1.0.8"), _no_container_statuses),
            _edit(p("i-no-status", "10.1.0.9"), _no_status),
        ],
        "terminating": [
            p("a-own", own), p("b-terminating-ready", "10.1.0.2", deleting=True),
            p("c-terminating-not-ready", "10.1.0.3", deleting=True, ready=False),
        ],
        "missing-ips": [p("a-own", own), p("b-no-ip", None), p("c", "10.1.0.3"), p("d-no-ip", None, ready=False)],
        "own-missing": [p("b", "10.1.0.2", pod_template_hash="aaa"), p("c", "10.1.0.3", pod_template_hash="bbb")],
        "duplicate-ips": [p("a-own", own), p("b", "10.1.0.2"), p("c-same-ip", "10.1.0.2"), p("d-own-ip", own)],
        "generations-template-hash": [
            p("a-own", own, pod_template_hash="aaa"), p("b-old", "10.1.0.2", pod_template_hash="bbb"),
            p("c-same", "10.1.0.3", pod_template_hash="aaa"), p("d-none", "10.1.0.4"),
            p("e-same-not-ready", "10.1.0.5", pod_template_hash="aaa", ready=False),
        ],
        "generations-deployment": [
            p("a-own", own, deployment="app-3"), p("b-old", "10.1.0.2", deployment="app-2", deleting=True),
            p("c-same", "10.1.0.3", deployment="app-3"),
        ],
        "generations-statefulset": [
            p("a-own", own, controller_revision_hash="sts-1"), p("b", "10.1.0.2", controller_revision_hash="sts-2"),
            p("c", "10.1.0.3", controller_revision_hash="sts-1", deleting=True),
            p("d-db", "10.1.0.4", pod_template_hash="666b764458"),
        ],
        "generations-label-precedence": [
            p("a-own", own, pod_template_hash="aaa", deployment="app-1", controller_revision_hash="r1"),
            p("b", "10.1.0.2", deployment="aaa"), p("c", "10.1.0.3", controller_revision_hash="aaa"),
            p("d", "10.1.0.4", pod_template_hash="aaa", deployment="other"),
        ],
        "own-pod-without-group": [p("a-own", own), p("b", "10.1.0.2", pod_template_hash="aaa")],
        "substring-pitfall": [
            p("a-prefix", prefix, pod_template_hash="other"), p("b-own", own, pod_template_hash="mine"),
            p("c-mine", "10.1.0.3", pod_template_hash="mine"), p("d-other", "10.1.0.4", pod_template_hash="other"),
        ],
        "empty": [],
    }


SETTINGS = [
    {"port_range": pr, "useNotReadyAddresses": nr, "split_clusters_during_rolling_update": split}
    for pr in (0, 1, 2) for nr in (True, False) for split in (False, True)
]


def fetch_body(api: KubeApiServer, namespace: str, labels: str) -> bytes:
    """The pod list as the pods get it (same URL, token and CA): what pygroups' targets are computed from."""
    ctx = ssl.create_default_context(cafile=api.ca_file)
    query = urllib.parse.urlencode({"labelSelector": labels})
    req = urllib.request.Request(f"{api.url}/api/v1/namespaces/{namespace}/pods?{query}")
    with open(api.token_file) as f:
        req.add_header("Authorization", f"Bearer {f.read().strip()}")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as rsp:
        return bytes(rsp.read())


def python_targets(body: bytes, own: str, s: Mapping[str, Any]) -> tuple[list[str], bool]:
    plan = plan_targets(parse_pod_list(body), PORT, s["port_range"], IpAddress(own, PORT),
                        use_not_ready_addresses=s["useNotReadyAddresses"],
                        split_clusters_during_rolling_update=s["split_clusters_during_rolling_update"])
    aborted = plan.split is not None and plan.split.aborted
    return [f"{java_host_address(a)}:{a.port}" for a in plan.targets], aborted


def relative(hostport: str, own: str) -> str:
    """``ip:port`` with the pod's own IP as OWN and the substring-pitfall IP as PREFIX, so that target lists of
    pods with different IPs compare."""
    host, _, port = hostport.rpartition(":")
    return {own: "OWN", own[:-1]: "PREFIX"}.get(host, host) + ":" + port


def relative_pods(pods: list[dict[str, Any]], own: str) -> list[dict[str, Any]]:
    return [{**p, "ip": relative(f"{p['ip']}:0", own)[:-2]} for p in pods]


def table_rows(api: KubeApiServer, node: PeerNode, namespace: str, own: str) -> dict[tuple[str, str], Any]:
    """Every (case, settings) row as ``node`` sees it: its parsed pods and its targets, own-relative, with
    pygroups' plan_targets over the same HTTP body beside them."""
    out: dict[tuple[str, str], Any] = {}
    for case, pods in pod_lists(own, namespace).items():
        api.set_pods(namespace, pods)
        body = fetch_body(api, namespace, selector(TABLE_LABELS))
        got = node.request({"cmd": "kube_pods"}, "kube_pods")
        ours = [{"name": p.name, "ip": p.ip, "group": pod_group(p), "ready": p.ready} for p in parse_pod_list(body)]
        out[(case, "pods")] = (relative_pods(got["pods"], own), relative_pods(ours, own))
        for s in SETTINGS:
            ev = node.request({"cmd": "kube_targets", **s}, ("kube_targets", "kube_targets_failed"))
            assert ev["own"] == f"{own}:{PORT}", ev
            mine, aborted = python_targets(body, own, s)
            row = ([relative(t, own) for t in ev["targets"]], ev["event"] == "kube_targets_failed")
            out[(case, json.dumps(s))] = (row, ([relative(t, own) for t in mine], aborted))
    return out


def differences(a: dict[tuple[str, str], Any], b: dict[tuple[str, str], Any], names: tuple[str, str]) -> list[str]:
    return [f"{case} {s}:\n  {names[0]}: {a[(case, s)]}\n  {names[1]}: {b[(case, s)]}"
            for case, s in a if a[(case, s)] != b[(case, s)]]


def test_target_table_java_and_pygroups_probe_the_same_addresses(make_cluster, api, cluster_name):
    """For every pod list x (port_range 0/1/2, useNotReadyAddresses, split): the target list of Java's
    KUBE_PING.findMembers in a running Java pod (its requests captured above the transport; "failed" when
    findMembers threw) and Java's parsed pods (readAll, what fetchFromKube prints) equal

    * pygroups' pods.plan_targets / parse_pod_list over the same HTTP answer (the java-only self-check of
      the table: what pygroups computes from Java's input);
    * what a running Python pod's KUBE_PING layer fetched (its own client) and sent, for the same table in a
      namespace of its own (the pods' IPs differ, so lists compare with the own IP as OWN).
    """
    java_ns, py_ns = "table-java", "table-python"
    d_java = deployment(make_cluster, api, cluster_name, java_ns, TABLE_LABELS)
    d_py = deployment(make_cluster, api, cluster_name, py_ns, TABLE_LABELS)
    t1, t2 = d_java.c.pod_ip("T1"), d_py.c.pod_ip("T2")
    api.set_pods(java_ns, [make_pod("a-own", t1, namespace=java_ns, labels=TABLE_LABELS)])
    api.set_pods(py_ns, [make_pod("a-own", t2, namespace=py_ns, labels=TABLE_LABELS)])
    java_pod, python_pod = d_java.c.spawn("T1", "java", env=ALONE), d_py.c.spawn("T2", "python", env=ALONE)
    start_together([java_pod, python_pod])
    java = table_rows(api, java_pod, java_ns, t1)
    assert len(java) == len(pod_lists(t1)) * (len(SETTINGS) + 1)
    problems = [f"{case} {s}:\n  java:     {j}\n  pygroups: {p}" for (case, s), (j, p) in java.items() if j != p]
    python = table_rows(api, python_pod, py_ns, t2)
    problems += differences({k: v[0] for k, v in java.items()}, {k: v[0] for k, v in python.items()},
                            ("java pod  ", "python pod"))
    assert not problems, f"{len(problems)} of {2 * len(java)} comparisons differ:\n" + "\n".join(problems)


def test_target_table_covers_what_it_claims():
    """The table's pod lists really contain what the case names say (the stand-in's pods, parsed)."""
    own = "127.100.100.100"
    lists = pod_lists(own)
    parsed = {case: parse_pod_list(json.dumps({"items": pods})) for case, pods in lists.items()}
    assert any(not p.ready for p in parsed["readiness"])
    assert any(p.ready for p in parsed["readiness"] if p.name and p.name.startswith("g-lowercase"))
    assert len(parsed["missing-ips"]) == 2 and len(lists["missing-ips"]) == 4
    assert {pod_group(p) for p in parsed["generations-template-hash"]} == {"aaa", "bbb", None}
    assert any(p.terminating for p in parsed["terminating"])
    assert parsed["substring-pitfall"][0].ip is not None and parsed["substring-pitfall"][0].ip in own
