"""KUBE_PING the layer: what it sends for an API answer (Java's findMembers), its failure behaviour (WARN once,
singleton), attribute/alias resolution as Java's Configurator, the diagnosis texts, and a simulated cluster."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML: a dependency of the kubernetes client

from pygroups.address import UUID, IpAddress
from pygroups.clock import MS, ManualClock
from pygroups.errors import ConfigError
from pygroups.events import DiscoveryResponse, FindInitialMembers
from pygroups.message import Flag, Message, MsgType
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.discovery import ping_data
from pygroups.protocols.kubernetes.api import ErrorKind, KubeError, KubeResult
from pygroups.protocols.kubernetes.kube_ping import KUBE_PING, explain_failure, format_pods, rbac_yaml
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed, WarmUpKubeClient
from pygroups.stack.config import make_lookup, parse_stack_xml
from pygroups.stack.io import IoFailed
from pygroups.stack.registry import build_layers
from pygroups.stack.stack import ProtocolStack
from pygroups.testing.harness import FakeTransport, LayerHarness
from pygroups.testing.sim import SimNetwork, stack_factory
from pygroups.wire.headers.ping import PingHeader, decode_ping_data_list, encode_ping_data_list

URL = "https://10.96.0.1:443/api/v1/namespaces/prod/pods?labelSelector=app%3Dcache"
READY = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
FIXTURES = Path(__file__).parent


def pod(name: str, ip: str | None, group: str | None = None, *, ready: bool = True) -> dict[str, Any]:
    labels = {"app": "cache"} | ({"pod-template-hash": group} if group else {})
    status: dict[str, Any] = dict(READY) if ready else {"phase": "Pending"}
    if ip is not None:
        status["podIP"] = ip
    return {"metadata": {"name": name, "labels": labels}, "status": status}


def pod_list(*items: dict[str, Any]) -> str:
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "items": list(items)})


def ok(*items: dict[str, Any]) -> KubeResult:
    return KubeResult.from_body(URL, pod_list(*items))


def failed(kind: ErrorKind = ErrorKind.FORBIDDEN, status: int | None = 403, sa: str | None = None) -> KubeResult:
    msg = "Server returned HTTP response code: 403 for URL: " + URL
    return KubeResult.failure(URL, KubeError(kind, msg, status), attempts=3, service_account=sa, token_sent=True)


class FakeKube:
    """A `ListPods` handler answering from a script (the last answer repeats)."""

    def __init__(self, *answers: KubeResult) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.requests: list[ListPods] = []

    def fetch(self) -> KubeResult:
        self.calls += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def __call__(self, request: ListPods) -> PodsListed:
        self.requests.append(request)
        return PodsListed(request.request_id, self.fetch())


class KubeHarness(LayerHarness):
    """A KUBE_PING harness that answers its ListPods requests with ``kube``, as a driver would."""

    kube: Callable[[ListPods], PodsListed]


ME = UUID(0, 1)
OWN = IpAddress("10.0.0.1", 7800)


def node(client: FakeKube | None = None, *, own: IpAddress = OWN, **attrs: Any) -> KubeHarness:
    layer = KUBE_PING()
    layer.namespace = "prod"
    layer.labels = "app=cache"
    for k, v in attrs.items():
        setattr(layer, k, v)
    layer.env_lookup = make_lookup({}, {})
    h = KubeHarness(layer, local_addr=ME, cluster=None)
    h.kube = client if client is not None else FakeKube(ok())
    assert h.stack.take_io() == [WarmUpKubeClient(layer.kube_config())]  # init() asks to build the client early
    h.bottom.physical_addrs[ME] = own
    h.stack.connect("demo", local_addr=ME, name="A")
    return h


def run_calls(h: KubeHarness) -> int:
    """Answer the emitted ListPods requests with the harness's fake, as the driver would; returns how many."""
    n = 0
    for cmd in h.stack.take_io():
        assert isinstance(cmd, ListPods)
        assert cmd.what == "kubernetes pods" and cmd.config == h.layer.kube_config()  # type: ignore[attr-defined]
        h.stack.on_io_result(h.kube(cmd))
        n += 1
    return n


def discover(h: KubeHarness, rid: int = 1) -> list[IpAddress]:
    h.down(FindInitialMembers(rid, 2000))
    assert run_calls(h) == 1
    dests = []
    for m in h.take_down():
        assert isinstance(m.dest, IpAddress)
        dests.append(m.dest)
    return dests


# --- registration and attributes ---------------------------------------------------------------------------


def test_registered_under_javas_name_and_id_with_java_defaults() -> None:
    assert BUILTIN_PROTOCOLS.get("org.jgroups.protocols.kubernetes.KUBE_PING") is KUBE_PING
    k = KUBE_PING()
    assert (k.name, k.protocol_id, k.is_dynamic()) == ("kubernetes.KUBE_PING", 2017, False)
    assert (k.port_range, k.connectTimeout, k.readTimeout, k.operationAttempts, k.operationSleep) == (
        1, 5000, 30000, 3, 1000)
    assert (k.masterProtocol, k.masterHost, k.masterPort, k.apiVersion) == ("https", None, 0, "v1")
    assert (k.namespace, k.labels) == ("default", None)
    assert (k.clientCertFile, k.clientKeyFile, k.clientKeyPassword, k.clientKeyAlgo) == (None, None, None, "RSA")
    assert k.caCertFile == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
    assert k.saTokenFile == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert (k.dump_requests, k.split_clusters_during_rolling_update, k.useNotReadyAddresses) == (False, False, True)
    assert str(k) == "KUBE_PING{namespace='default', labels='None'}"


def test_stock_kubernetes_xml_resolves_to_this_class() -> None:
    from pygroups.stack.config import load_stack_file

    spec = load_stack_file("kubernetes.xml")
    assert BUILTIN_PROTOCOLS.get(spec.protocols[2].name) is KUBE_PING


def _built(xml_attrs: str = "", variables: dict[str, str] | None = None,
           environ: dict[str, str] | None = None) -> KUBE_PING:
    spec = parse_stack_xml(f'<config><TCP bind_port="7800"/><org.jgroups.protocols.kubernetes.KUBE_PING {xml_attrs}/>'
                           "</config>", environ={})
    layer = build_layers(spec, BUILTIN_PROTOCOLS, variables=variables, environ=environ or {})[1]
    assert isinstance(layer, KUBE_PING)
    return layer


def test_aliases_resolve_in_javas_order() -> None:
    assert _built().namespace == "default"
    # each alias in order; for one alias the variables (Java system properties) before the environment
    assert _built(environ={"OPENSHIFT_KUBE_PING_NAMESPACE": "old"}).namespace == "old"
    assert _built(environ={"OPENSHIFT_KUBE_PING_NAMESPACE": "old", "KUBERNETES_NAMESPACE": "new"}).namespace == "new"
    assert _built(variables={"OPENSHIFT_KUBE_PING_NAMESPACE": "sys"},
                  environ={"KUBERNETES_NAMESPACE": "env"}).namespace == "env"  # alias order beats source
    assert _built(variables={"KUBERNETES_NAMESPACE": "sys"}, environ={"KUBERNETES_NAMESPACE": "env"}).namespace == "sys"
    # the XML attribute wins over every alias
    assert _built('namespace="xml"', environ={"KUBERNETES_NAMESPACE": "env"}).namespace == "xml"
    # an empty environment variable counts as set: "" lists the pods of all namespaces, as in Java
    assert _built(environ={"KUBERNETES_NAMESPACE": "", "OPENSHIFT_KUBE_PING_NAMESPACE": "x"}).namespace == ""
    env = {"KUBERNETES_LABELS": "app=x", "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
           "KUBERNETES_OPERATION_SLEEP": "250", "SA_TOKEN_FILE": "/t", "KUBERNETES_USE_NOT_READY_ADDRESSES": "false",
           "KUBERNETES_SPLIT_CLUSTERS_DURING_ROLLING_UPDATE": "true", "KUBERNETES_CA_CERTIFICATE_FILE": ""}
    k = _built(environ=env)
    assert (k.labels, k.masterHost, k.masterPort, k.operationSleep, k.saTokenFile) == (
        "app=x", "10.96.0.1", 443, 250, "/t")
    assert (k.useNotReadyAddresses, k.split_clusters_during_rolling_update, k.caCertFile) == (False, True, "")
    with pytest.raises(ConfigError):  # Java: an empty int fails the stack's creation too
        _built(environ={"KUBERNETES_SERVICE_PORT": ""})


@pytest.mark.parametrize(("defined", "expected"), [
    ({"OPENSHIFT_KUBE_PING_NAMESPACE": "a"}, "OPENSHIFT_KUBE_PING_NAMESPACE is deprecated, please remove it and use "
                                             "KUBERNETES_NAMESPACE instead"),
    ({"OPENSHIFT_KUBE_PING_LABELS": "a", "KUBERNETES_LABELS": "b"},
     "Both KUBERNETES_LABELS and OPENSHIFT_KUBE_PING_LABELS are defined, OPENSHIFT_KUBE_PING_LABELS is deprecated"),
    ({"SA_TOKEN_FILE": ""}, "SA_TOKEN_FILE is deprecated, please remove it and use KUBERNETES_SA_TOKEN_FILE instead"),
])
def test_deprecated_aliases_warn_at_init(defined: dict[str, str], expected: str,
                                         caplog: pytest.LogCaptureFixture) -> None:
    layer = KUBE_PING()
    layer.env_lookup = make_lookup(defined, {})
    with caplog.at_level(logging.WARNING):
        LayerHarness(layer, cluster=None)
    assert any(expected in r.getMessage() for r in caplog.records)


def test_deprecation_check_sees_the_variables_the_stack_was_built_with(caplog: pytest.LogCaptureFixture) -> None:
    """A -D style variable (build_layers' ``variables``) counts for the deprecation check as for the attribute."""
    layer = _built(variables={"SA_TOKEN_FILE": "/old"})
    assert layer.saTokenFile == "/old"
    with caplog.at_level(logging.WARNING):
        LayerHarness(layer, cluster=None)
    assert any("SA_TOKEN_FILE is deprecated" in r.getMessage() for r in caplog.records)


def test_no_deprecation_warning_for_current_names(caplog: pytest.LogCaptureFixture) -> None:
    layer = KUBE_PING()
    layer.env_lookup = make_lookup({"KUBERNETES_NAMESPACE": "a", "KUBERNETES_SA_TOKEN_FILE": "/t"}, {})
    with caplog.at_level(logging.WARNING):
        LayerHarness(layer, cluster=None)
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]


def test_bind_port_must_be_positive() -> None:
    class Tcp0(FakeTransport):
        bind_port = 0

    with pytest.raises(ConfigError, match=r"KUBE_PING only works with .*bind_port > 0"):
        ProtocolStack([Tcp0(), KUBE_PING()], clock=ManualClock(), rng=__import__("random").Random(0))


def test_init_takes_the_transports_bind_port() -> None:
    class Tcp(FakeTransport):
        bind_port = 7900

    layer = KUBE_PING()
    ProtocolStack([Tcp(), layer], clock=ManualClock(), rng=__import__("random").Random(0))
    assert layer.tp_bind_port == 7900


def test_init_fixes_the_client_settings_from_the_attributes_and_asks_for_a_warm_up() -> None:
    layer = KUBE_PING()
    layer.masterHost, layer.masterPort, layer.namespace, layer.labels = "fd00::1", 443, "prod", "app=cache"
    layer.env_lookup = make_lookup({}, {})
    h = LayerHarness(layer, cluster=None)
    assert layer.api_config is not None
    assert layer.api_config.url == "https://[fd00::1]:443/api/v1/namespaces/prod/pods?labelSelector=app%3Dcache"
    assert h.stack.take_io() == [WarmUpKubeClient(layer.api_config)]  # the driver builds the client off the loop
    layer.labels = "app=other"  # as with Java's client, later attribute changes do not reach the requests
    h.stack.connect("demo", local_addr=ME)
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    assert isinstance(cmd, ListPods) and cmd.config.labels == "app=cache"


# --- discovery ----------------------------------------------------------------------------------------------


def test_requests_go_to_every_pod_port_but_our_own_address_as_java_sends_them() -> None:
    h = node(FakeKube(ok(pod("a", "10.0.0.1"), pod("b", "10.0.0.2"), pod("c", "10.0.0.3", ready=False),
                         pod("pending", None))))
    h.down(FindInitialMembers(1, 2000))
    assert h.take_down() == []  # nothing before the API answered
    assert run_calls(h) == 1
    msgs = h.take_down()
    assert [m.dest for m in msgs] == [IpAddress("10.0.0.1", 7801), IpAddress("10.0.0.2", 7800),
                                      IpAddress("10.0.0.2", 7801), IpAddress("10.0.0.3", 7800),
                                      IpAddress("10.0.0.3", 7801)]
    for m in msgs:
        assert m.flags & (Flag.OOB | Flag.DONT_BUNDLE) == Flag.OOB | Flag.DONT_BUNDLE
        hdr = m.get_header(2017)
        assert isinstance(hdr, PingHeader)
        assert (hdr.type, hdr.cluster_name, hdr.initial_discovery) == (PingHeader.Type.GET_MBRS_REQ, "demo", True)
        assert isinstance(m.payload, bytes)
        (data,) = decode_ping_data_list(m.payload)
        assert (data.sender, data.physical_addr, data.logical_name, data.is_server, data.mbrs) == (
            ME, OWN, "A", False, None)


def test_not_ready_pods_are_skipped_when_use_not_ready_addresses_is_false() -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2"), pod("c", "10.0.0.3", ready=False))), port_range=0,
             useNotReadyAddresses=False)
    assert discover(h) == [IpAddress("10.0.0.2", 7800)]


def test_every_round_asks_the_api_again() -> None:
    fake = FakeKube(ok(pod("b", "10.0.0.2")))
    h = node(fake, port_range=0)
    assert discover(h, 1) == [IpAddress("10.0.0.2", 7800)]
    h.advance(3000 * MS)
    assert discover(h, 2) == [IpAddress("10.0.0.2", 7800)]
    assert fake.calls == 2


def test_rolling_update_split_probes_only_our_generation() -> None:
    pods = ok(pod("old-1", "10.0.0.5", "v1"), pod("new-1", "10.0.0.1", "v2"), pod("new-2", "10.0.0.2", "v2"),
              pod("old-2", "10.0.0.6", "v1"))
    h = node(FakeKube(pods), port_range=0, split_clusters_during_rolling_update=True)
    assert discover(h) == [IpAddress("10.0.0.2", 7800)]
    h2 = node(FakeKube(pods), port_range=0)
    assert discover(h2) == [IpAddress("10.0.0.5", 7800), IpAddress("10.0.0.2", 7800), IpAddress("10.0.0.6", 7800)]


def test_disabled_namespace_makes_no_call_and_becomes_singleton(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeKube(ok(pod("b", "10.0.0.2")))
    layer = KUBE_PING()
    layer.set_namespace(None)
    layer.env_lookup = make_lookup({}, {})
    with caplog.at_level(logging.WARNING):
        h = LayerHarness(layer, local_addr=ME, cluster=None)
    assert "namespace not set; clustering disabled" in caplog.text
    h.bottom.physical_addrs[ME] = OWN
    h.stack.connect("demo", local_addr=ME)
    h.down(FindInitialMembers(1, 2000))
    assert h.stack.take_io() == [] and h.take_down() == [] and fake.calls == 0
    h.advance(2000 * MS)
    assert h.take_up_events() == [DiscoveryResponse(1, ())]


def test_failure_warns_once_until_a_success_and_the_node_becomes_a_singleton(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeKube(failed(), failed(), ok(pod("b", "10.0.0.2")), failed())
    h = node(fake, port_range=0)
    warn = "failed getting JSON response from Kubernetes"
    with caplog.at_level(logging.WARNING):
        assert discover(h, 1) == []
        h.advance(2000 * MS)
        assert h.take_up_events() == [DiscoveryResponse(1, ())]  # nobody: GMS makes us a singleton
        assert caplog.text.count(warn) == 1
        record = next(r for r in caplog.records if warn in r.getMessage())
        text = record.getMessage()
        assert "namespace [prod]" in text and "labels [app=cache]" in text and "cluster [demo]" in text
        assert "forbidden" in text and "Client[masterUrl=" in text
        assert discover(h, 2) == []
        assert caplog.text.count(warn) == 1  # still the same streak
        assert discover(h, 3) == [IpAddress("10.0.0.2", 7800)]  # a success re-arms the warning
        assert discover(h, 4) == []
        assert caplog.text.count(warn) == 2


def test_403_is_explained_with_the_role_to_apply(caplog: pytest.LogCaptureFixture) -> None:
    h = node(FakeKube(failed(sa="prod:cache-sa")))
    with caplog.at_level(logging.WARNING):
        discover(h)
    text = caplog.text
    assert "403 Forbidden" in text and "namespace 'prod'" in text and "service account 'prod:cache-sa'" in text
    assert '"pods: get, list" is missing' in text
    assert "kind: Role\n" in text and "kind: RoleBinding" in text and "name: cache-sa" in text
    assert "namespace: prod" in text and 'verbs: ["get", "list"]' in text


def test_rbac_yaml_matches_the_deploy_manifest() -> None:
    docs = list(yaml.safe_load_all(rbac_yaml("prod", "prod:cache-sa")))
    deploy = list(yaml.safe_load_all((Path(__file__).parents[4] / "deploy" / "rbac.yaml").read_text()))
    role = next(d for d in deploy if d["kind"] == "Role")
    assert docs[0]["rules"] == role["rules"]
    assert docs[0]["metadata"] == {"name": "pygroups-pod-reader", "namespace": "prod"}
    assert docs[1]["subjects"] == [{"kind": "ServiceAccount", "name": "cache-sa", "namespace": "prod"}]
    assert docs[1]["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "pygroups-pod-reader"}
    cluster = list(yaml.safe_load_all(rbac_yaml("", None)))
    assert [d["kind"] for d in cluster] == ["ClusterRole", "ClusterRoleBinding"]


def test_401_explains_the_token_problem() -> None:
    err = KubeError(ErrorKind.UNAUTHORIZED, "401", 401)
    (missing,) = explain_failure(err, "prod", None, None, token_sent=False, token_file="/t")
    assert "no service account token was sent" in missing and "/t" in missing
    (rejected,) = explain_failure(err, "prod", None, None, token_sent=True, token_file="/t")
    assert "not accepted" in rejected


def test_selector_matching_nobody_says_what_was_asked(caplog: pytest.LogCaptureFixture) -> None:
    h = node(FakeKube(ok()))
    with caplog.at_level(logging.WARNING):
        assert discover(h) == []
    assert "no pod with an IP in namespace 'prod' with labels 'app=cache'" in caplog.text
    assert "KUBERNETES_NAMESPACE" in caplog.text and "pod template" in caplog.text


def test_own_pod_missing_from_the_list_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2"))), port_range=0)
    with caplog.at_level(logging.WARNING):
        assert discover(h) == [IpAddress("10.0.0.2", 7800)]
    assert "own address 10.0.0.1:7800 is not among the 1 pod(s)" in caplog.text


def test_only_ourselves_in_the_list_is_reported_once_at_info(caplog: pytest.LogCaptureFixture) -> None:
    h = node(FakeKube(ok(pod("a", "10.0.0.1"))), port_range=0)
    with caplog.at_level(logging.INFO):
        assert discover(h, 1) == []
        h.advance(3000 * MS)
        assert discover(h, 2) == []
    (record,) = [r for r in caplog.records if "The only pod in namespace 'prod'" in r.getMessage()]
    assert record.levelno == logging.INFO


def test_json_errors_are_logged_at_error_every_round(caplog: pytest.LogCaptureFixture) -> None:
    h = node(FakeKube(KubeResult.from_body(URL, "{not json")))
    with caplog.at_level(logging.ERROR):
        assert discover(h, 1) == []
        h.advance(3000 * MS)
        assert discover(h, 2) == []
    assert len([r for r in caplog.records if r.levelno == logging.ERROR and "Failed to parse JSON" in
                r.getMessage()]) == 2


def test_a_failed_call_counts_as_an_api_failure(caplog: pytest.LogCaptureFixture) -> None:
    h = node()
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    assert isinstance(cmd, ListPods)
    with caplog.at_level(logging.WARNING):
        h.stack.on_io_result(IoFailed(cmd.request_id, "boom"))
    assert "failed getting JSON response from Kubernetes" in caplog.text and "boom" in caplog.text
    assert h.take_down() == []


def test_result_after_the_round_finished_is_dropped_quietly() -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2"))))
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    assert isinstance(cmd, ListPods)
    # a coordinator's unsolicited answer (cache dissemination) ends the round before the API answered
    coord = UUID(0, 9)
    rsp = Message(MsgType.BYTES, dest=ME, src=coord, payload=encode_ping_data_list(
        [ping_data(coord, True, "C", IpAddress("10.0.0.9", 7800), coord=True)]))
    rsp.put_header(2017, PingHeader(PingHeader.Type.GET_MBRS_RSP))
    h.receive(rsp)
    (resp,) = h.take_up_events()
    assert isinstance(resp, DiscoveryResponse) and [d.sender for d in resp.responses] == [coord]
    h.stack.on_io_result(h.kube(cmd))
    assert h.take_down() == []
    assert h.layer.counters["late_api_results"] == 1


def test_a_slow_api_call_does_not_eat_the_join_timeout() -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2"))))
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    h.advance(10_000 * MS)  # Java blocks in findMembers as long as the API takes
    assert h.take_up_events() == []
    assert isinstance(cmd, ListPods)
    h.stack.on_io_result(h.kube(cmd))
    assert len(h.take_down()) == 2
    h.advance(2000 * MS)
    assert h.take_up_events() == [DiscoveryResponse(1, ())]


def test_result_after_stop_is_dropped_quietly() -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2"))))
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    assert isinstance(cmd, ListPods)
    h.stack.disconnect()
    h.stack.on_io_result(h.kube(cmd))  # the stack forgot the request
    assert h.stack.stale_io_results == 1
    h.layer.on_io_result(h.kube(cmd))  # even if it reached the layer
    assert h.take_down() == []


def test_fetch_from_kube_returns_javas_text() -> None:
    h = node(FakeKube(ok(pod("b", "10.0.0.2", "g1"), pod("c", "10.0.0.3"))))
    seen: list[str] = []
    layer = h.layer
    assert isinstance(layer, KUBE_PING)
    h.stack.run_input(layer.fetch_from_kube, seen.append)
    run_calls(h)
    assert seen == ["[Pod{name='b', ip='10.0.0.2', podGroup='g1'}, Pod{name='c', ip='10.0.0.3', podGroup='None'}]"]
    assert format_pods(()) == "[]"
    assert h.take_down() == []


# --- simulation -----------------------------------------------------------------------------------------------


def test_kube_ping_nodes_form_one_view_in_the_simulator() -> None:
    net = SimNetwork(seed=7)
    names = ["p0", "p1", "p2", "p3"]
    ips = [f"10.0.0.{i + 1}" for i in range(len(names))]  # SimNode physical addresses, port 7800
    answer = ok(*[pod(n, ip) for n, ip in zip(names, ips, strict=True)], pod("other", "10.9.9.9"))
    factory = stack_factory(str(FIXTURES / "sim-kube.xml"))
    fakes = [FakeKube(answer) for _ in names]
    nodes = [net.add_node(n, factory, io_handlers={ListPods: fake}) for n, fake in zip(names, fakes, strict=True)]
    nodes[0].connect("kube")
    net.run_until(lambda: bool(nodes[0].views()), 10_000 * MS, what="first view")
    for n in nodes[1:]:
        n.connect("kube")
    net.run_until(lambda: all(n.views() and len(n.views()[-1].members) == 4 for n in nodes), 60_000 * MS,
                  what="one view of 4")
    views = {tuple(n.views()[-1].members) for n in nodes}
    assert len(views) == 1
    assert all(f.calls >= 1 for f in fakes)


def test_the_wait_for_answers_starts_when_the_api_answered() -> None:
    """Java calls the API inside findMembers, before GMS waits join_timeout: a slow API does not eat the wait."""
    h = node(FakeKube(ok(pod("b", "10.0.0.2"))), port_range=0)
    h.down(FindInitialMembers(1, 2000))
    (cmd,) = h.stack.take_io()
    assert isinstance(cmd, ListPods)
    h.advance(1500 * MS)  # the API took 1.5 s (a retry)
    h.stack.on_io_result(h.kube(cmd))
    assert [m.dest for m in h.take_down()] == [IpAddress("10.0.0.2", 7800)]
    h.advance(1999 * MS)
    assert h.take_up_events() == []  # still waiting: 2 s from the API's answer
    h.advance(1 * MS)
    assert h.take_up_events() == [DiscoveryResponse(1, ())]


def _sim_cluster(answers: dict[str, list[KubeResult]], split: bool = False) -> tuple[SimNetwork, list[Any]]:
    """Nodes named after ``answers``; each one's fake API answers its scripted results (the last repeats)."""
    net = SimNetwork(seed=11)
    base = stack_factory(str(FIXTURES / "sim-kube.xml"))

    def factory() -> list[Any]:
        layers = list(base())
        for layer in layers:
            if isinstance(layer, KUBE_PING):
                layer.split_clusters_during_rolling_update = split
        return layers

    return net, [net.add_node(n, factory, io_handlers={ListPods: FakeKube(*answers[n])}) for n in answers]


def _members(node: Any) -> int:
    return len(node.views()[-1].members) if node.views() else 0


def test_api_down_at_start_gives_a_singleton_and_a_later_pod_joins_it() -> None:
    everyone = ok(pod("p0", "10.0.0.1"), pod("p1", "10.0.0.2"), pod("p2", "10.0.0.3"))
    down = failed(ErrorKind.CONNECTION, None)
    net, (p0, p1, p2) = _sim_cluster({"p0": [down], "p1": [down], "p2": [everyone]})
    p0.connect("kube")
    net.run_until(lambda: _members(p0) == 1, 10_000 * MS, what="p0 singleton")
    p1.connect("kube")
    net.run_until(lambda: _members(p1) == 1, 10_000 * MS, what="p1 singleton")
    assert p0.views()[-1].members != p1.views()[-1].members  # without MERGE3 they stay apart
    p2.connect("kube")  # the API is back for the pod started now
    net.run_until(lambda: _members(p2) == 2, 10_000 * MS, what="p2 joins an existing cluster")
    assert p2.views()[-1].coordinator in (p0.addr, p1.addr)


def test_rolling_update_split_forms_one_cluster_per_generation() -> None:
    pods = ok(pod("old-a", "10.0.0.1", "v1"), pod("old-b", "10.0.0.2", "v1"), pod("new-a", "10.0.0.3", "v2"),
              pod("new-b", "10.0.0.4", "v2"))
    net, nodes = _sim_cluster({n: [pods] for n in ("old-a", "old-b", "new-a", "new-b")}, split=True)
    for n in nodes:
        n.connect("kube")
    net.run_until(lambda: all(_members(n) == 2 for n in nodes), 30_000 * MS, what="two views of 2")
    old, new = nodes[0].views()[-1], nodes[2].views()[-1]
    assert set(old.members) == {nodes[0].addr, nodes[1].addr}
    assert set(new.members) == {nodes[2].addr, nodes[3].addr}
    net.run_for(10_000 * MS)
    assert all(_members(n) == 2 for n in nodes)
