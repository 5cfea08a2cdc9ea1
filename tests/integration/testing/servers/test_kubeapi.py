"""The Kubernetes API stand-in, read through the official ``kubernetes`` client and raw HTTP.

The client's models are the reference for the JSON shapes; raw ``http.client`` requests check what a
model hides (encodings, headers, keep-alive, faults). No sleeps: a slow answer is tested with a short
client timeout, and the server's pending delays end when it stops.
"""

from __future__ import annotations

import http.client  # noqa: TID251 - clients talk to the stand-in
import json
import socket  # noqa: TID251 - probing for an IPv6 loopback
import ssl  # noqa: TID251 - clients talk to the stand-in
import threading  # noqa: TID251 - concurrent clients
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3  # noqa: TID251 - clients talk to the stand-in
from kubernetes import client as k8s  # noqa: TID251 - clients talk to the stand-in

from pygroups.protocols.kubernetes.pods import parse_pods
from pygroups.testing.servers.kubeapi import Fault, KubeApiServer, make_pod
from pygroups.testing.servers.tlsca import CertificateAuthority

NS = "default"


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority("kubeapi test CA")


@pytest.fixture(scope="module")
def shared(ca: CertificateAuthority) -> Iterator[KubeApiServer]:
    with KubeApiServer(ca=ca) as server:
        yield server


@pytest.fixture
def api(shared: KubeApiServer) -> KubeApiServer:
    """The module's server, emptied: no pods, faults, forbids or recorded requests."""
    shared.clear()
    shared.clear_faults()
    shared.allow()
    shared.reset_requests()
    return shared


def core(server: KubeApiServer, token: str | None = None, **cfg: Any) -> k8s.CoreV1Api:
    conf = k8s.Configuration(host=server.url)
    conf.ssl_ca_cert = server.ca_file or None
    conf.retries = False  # one HTTP request per call, so faults and request counts line up
    conf.proxy = None
    tok = server.token if token is None else token
    if tok:
        conf.api_key = {"authorization": "Bearer " + tok}
    for k, v in cfg.items():
        setattr(conf, k, v)
    return k8s.CoreV1Api(k8s.ApiClient(conf))


def raw(
    server: KubeApiServer,
    path: str,
    *,
    token: str | None = None,
    method: str = "GET",
    timeout: float = 10.0,
    conn: http.client.HTTPConnection | None = None,
) -> tuple[http.client.HTTPResponse, bytes]:
    c = conn or connect(server, timeout)
    headers = {"Authorization": f"Bearer {server.token if token is None else token}"} if token != "" else {}
    c.request(method, path, headers=headers)
    resp = c.getresponse()
    return resp, resp.read()


def connect(server: KubeApiServer, timeout: float = 10.0) -> http.client.HTTPConnection:
    if not server.tls:
        return http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    ctx = ssl.create_default_context(cafile=server.ca_file)
    return http.client.HTTPSConnection(server.host, server.port, timeout=timeout, context=ctx)


def status_of(e: k8s.ApiException) -> dict[str, Any]:
    body = json.loads(e.body)
    assert isinstance(body, dict)
    return body


def cluster(server: KubeApiServer) -> None:
    server.set_pods(
        NS,
        [
            make_pod("cache-0", "10.1.0.10", labels={"app": "cache", "env": "prod"}),
            make_pod("cache-1", "10.1.0.11", labels={"app": "cache", "env": "qa"}, ready=False),
            make_pod("web-0", "10.1.0.20", labels={"app": "web", "env": "prod"}),
            make_pod("cache-2", None, labels={"app": "cache", "env": "prod"}, phase="Pending"),
        ],
    )
    server.add_pod(make_pod("cache-0", "10.2.0.10", namespace="other", labels={"app": "cache", "env": "prod"}))


# --- listing through the official client -----------------------------------------------------------


def test_list_namespaced_pods_through_the_official_client(api: KubeApiServer) -> None:
    cluster(api)
    result = core(api).list_namespaced_pod(NS)
    assert isinstance(result, k8s.V1PodList)
    assert result.kind == "PodList" and result.api_version == "v1"
    assert result.metadata.resource_version
    assert [p.metadata.name for p in result.items] == ["cache-0", "cache-1", "cache-2", "web-0"]
    pod = result.items[0]
    assert pod.metadata.namespace == NS
    assert pod.metadata.labels == {"app": "cache", "env": "prod"}
    assert pod.metadata.uid and pod.metadata.creation_timestamp is not None
    assert pod.metadata.deletion_timestamp is None
    assert pod.status.phase == "Running" and pod.status.pod_ip == "10.1.0.10"
    assert [a.ip for a in pod.status.pod_ips] == ["10.1.0.10"]
    assert {c.type: c.status for c in pod.status.conditions} == {
        "PodReadyToStartContainers": "True",
        "Initialized": "True",
        "Ready": "True",
        "ContainersReady": "True",
        "PodScheduled": "True",
    }
    assert [(c.name, c.ready) for c in pod.status.container_statuses] == [("app", True)]
    assert pod.spec.containers[0].name == "app"
    assert pod.spec.containers[0].ports[0].container_port == 7800
    pending = result.items[2]
    assert pending.status.pod_ip is None and pending.status.pod_ips is None
    assert pending.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    unready = result.items[1]
    ready = {c.type: c.status for c in unready.status.conditions}
    assert ready["Ready"] == "False" and ready["ContainersReady"] == "False"


def test_list_all_namespaces(api: KubeApiServer) -> None:
    cluster(api)
    result = core(api).list_pod_for_all_namespaces(label_selector="app=cache,env=prod")
    assert [(p.metadata.namespace, p.metadata.name) for p in result.items] == [
        ("default", "cache-0"),
        ("default", "cache-2"),
        ("other", "cache-0"),
    ]
    assert api.requests[-1].path == "/api/v1/pods"


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("app=cache", ["cache-0", "cache-1", "cache-2"]),
        ("app==cache,env!=qa", ["cache-0", "cache-2"]),
        ("env in (qa, prod),app notin (web)", ["cache-0", "cache-1", "cache-2"]),
        ("app", ["cache-0", "cache-1", "cache-2", "web-0"]),
        ("!app", []),
        ("app=nothing", []),
    ],
)
def test_label_selectors(api: KubeApiServer, selector: str, names: list[str]) -> None:
    cluster(api)
    result = core(api).list_namespaced_pod(NS, label_selector=selector)
    assert [p.metadata.name for p in result.items] == names
    assert api.requests[-1].label_selector == selector


def test_invalid_selector_is_a_400_status(api: KubeApiServer) -> None:
    with pytest.raises(k8s.ApiException) as info:
        core(api).list_namespaced_pod(NS, label_selector="app in cache")
    assert info.value.status == 400
    body = status_of(info.value)
    assert body["reason"] == "BadRequest" and body["code"] == 400 and body["kind"] == "Status"
    assert body["message"].startswith("unable to parse requirement")


@pytest.mark.parametrize(
    "query",
    [
        "labelSelector=env+in+%28prod%2Cqa%29",  # Java URLEncoder: space as '+'
        "labelSelector=env%20in%20%28prod%2Cqa%29",  # Python quote: space as %20
        "labelSelector=env in (prod,qa)".replace(" ", "%20"),
    ],
)
def test_selector_encodings_are_decoded_alike(api: KubeApiServer, query: str) -> None:
    cluster(api)
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods?{query}")
    assert resp.status == 200
    assert [p["metadata"]["name"] for p in json.loads(body)["items"]] == ["cache-0", "cache-1", "cache-2", "web-0"]
    assert api.requests[-1].label_selector == "env in (prod,qa)"


def test_unknown_namespace_lists_nothing_and_unknown_paths_are_404(api: KubeApiServer) -> None:
    cluster(api)
    assert core(api).list_namespaced_pod("nowhere").items == []
    resp, body = raw(api, "/api/v1/services")
    assert resp.status == 404
    doc = json.loads(body)
    assert (doc["kind"], doc["reason"], doc["code"]) == ("Status", "NotFound", 404)
    with pytest.raises(k8s.ApiException) as info:
        core(api).read_namespaced_pod("ghost", NS)
    assert info.value.status == 404 and status_of(info.value)["message"] == 'pods "ghost" not found'
    assert core(api).read_namespaced_pod("web-0", NS).status.pod_ip == "10.1.0.20"


def test_non_get_methods_are_refused(api: KubeApiServer) -> None:
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods", method="DELETE")
    assert resp.status == 405 and json.loads(body)["reason"] == "MethodNotAllowed"


# --- pods: phases, conditions, generations ---------------------------------------------------------


def test_pod_builder_variants_deserialize_into_the_client_models(api: KubeApiServer) -> None:
    api.add_pods(
        [
            make_pod("deleting", "10.0.0.1", deleting=True),
            make_pod(
                "lost", "10.0.0.2", reason="NodeLost", message="Node n1 which was running pod lost is unresponsive"
            ),
            make_pod("half", "10.0.0.3", containers_ready=[True, False]),
            make_pod("dual", "10.0.0.4", pod_ips=["10.0.0.4", "fd00::4"]),
            make_pod("done", "10.0.0.5", phase="Succeeded"),
            make_pod("failed", "10.0.0.6", phase="Failed", reason="Evicted", message="low on memory"),
            make_pod("gen-abc-x1", "10.0.0.7", pod_template_hash="abc"),
            make_pod("sts-0", "10.0.0.8", controller_revision_hash="sts-5d"),
            make_pod("dc-1-x", "10.0.0.9", deployment="dc-1"),
        ]
    )
    pods = {p.metadata.name: p for p in core(api).list_namespaced_pod(NS).items}
    assert pods["deleting"].metadata.deletion_timestamp is not None
    assert pods["deleting"].metadata.deletion_grace_period_seconds == 30
    assert pods["lost"].status.reason == "NodeLost" and pods["lost"].status.message.startswith("Node n1")
    half = pods["half"]
    assert [(c.name, c.ready) for c in half.status.container_statuses] == [("app", True), ("sidecar-1", False)]
    assert {c.type: c.status for c in half.status.conditions}["ContainersReady"] == "False"
    assert [a.ip for a in pods["dual"].status.pod_ips] == ["10.0.0.4", "fd00::4"]
    assert pods["done"].status.container_statuses[0].state.terminated.reason == "Completed"
    assert pods["failed"].status.reason == "Evicted"
    gen = pods["gen-abc-x1"].metadata
    assert gen.labels["pod-template-hash"] == "abc" and gen.generate_name == "gen-abc-"
    assert gen.owner_references[0].kind == "ReplicaSet"
    assert pods["sts-0"].metadata.labels["controller-revision-hash"] == "sts-5d"
    assert pods["sts-0"].metadata.owner_references[0].kind == "StatefulSet"
    assert pods["dc-1-x"].metadata.labels["deployment"] == "dc-1"


def test_pod_builder_readiness_as_kube_ping_reads_it(api: KubeApiServer) -> None:
    """The project's Java-parity parser agrees with what each builder option means."""
    api.add_pods(
        [
            make_pod("ready", "10.0.0.1"),
            make_pod("notready", "10.0.0.2", ready=False),
            make_pod("terminating", "10.0.0.3", deleting=True),
            make_pod("lost", "10.0.0.4", reason="NodeLost"),
            make_pod("half", "10.0.0.5", containers_ready=[True, False]),
            make_pod("pending", None, phase="Pending"),
            make_pod("gen", "10.0.0.6", pod_template_hash="h1"),
        ]
    )
    _, body = raw(api, f"/api/v1/namespaces/{NS}/pods")
    parsed = {p.name: p for p in parse_pods(body).pods}
    assert parsed["ready"].ready and parsed["terminating"].ready and parsed["gen"].ready
    assert not parsed["notready"].ready and not parsed["lost"].ready and not parsed["half"].ready
    assert "pending" not in parsed  # no podIP: dropped like Java
    assert parsed["gen"].group == "h1"


def test_set_remove_and_clear(api: KubeApiServer) -> None:
    api.set_pods("ns1", [make_pod("a", "10.0.0.1"), make_pod("b", "10.0.0.2", namespace="ignored")])
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in api.pods()] == [("ns1", "a"), ("ns1", "b")]
    rv = core(api).list_namespaced_pod("ns1").metadata.resource_version
    api.set_pods("ns1", [make_pod("c", "10.0.0.3")])
    assert [p.metadata.name for p in core(api).list_namespaced_pod("ns1").items] == ["c"]
    assert core(api).list_namespaced_pod("ns1").metadata.resource_version != rv
    assert api.remove_pod("c", "ns1") and not api.remove_pod("c", "ns1")
    api.add_pod(make_pod("d", "10.0.0.4"))
    api.clear()
    assert api.pods() == []
    with pytest.raises(ValueError, match=r"metadata\.name"):
        api.add_pod({"metadata": {}})


# --- authentication and RBAC -----------------------------------------------------------------------


def test_token_file_holds_the_current_token(api: KubeApiServer) -> None:
    text = Path(api.token_file).read_text()
    assert text == api.token and "\n" not in text
    _header, claims_b64, _ = text.split(".")
    claims = json.loads(__import__("base64").urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4)))
    assert claims["sub"] == "system:serviceaccount:default:default"


def test_missing_or_wrong_token_is_401(api: KubeApiServer) -> None:
    for token in ("", "not-a-token"):
        with pytest.raises(k8s.ApiException) as info:
            core(api, token=token).list_namespaced_pod(NS)
        assert info.value.status == 401
        assert status_of(info.value) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "Unauthorized",
            "reason": "Unauthorized",
            "code": 401,
        }
    assert [r.has_authorization for r in api.requests] == [False, True]


def test_token_rotation(api: KubeApiServer) -> None:
    old = api.token
    new = api.rotate_token()
    assert new != old and Path(api.token_file).read_text() == new
    assert core(api, token=old).list_namespaced_pod(NS).items == []  # bound tokens stay valid a while
    newer = api.rotate_token(expire_old=True)
    with pytest.raises(k8s.ApiException) as info:
        core(api, token=new).list_namespaced_pod(NS)
    assert info.value.status == 401
    assert core(api, token=Path(api.token_file).read_text()).list_namespaced_pod(NS).items == []
    api.revoke_token(newer)
    with pytest.raises(k8s.ApiException):
        core(api, token=newer).list_namespaced_pod(NS)
    api.rotate_token()  # leave a valid current token for the next tests


def test_expired_token_is_401(api: KubeApiServer) -> None:
    import datetime as dt

    expired = api.add_token(lifetime=dt.timedelta(seconds=-1))
    with pytest.raises(k8s.ApiException) as info:
        core(api, token=expired).list_namespaced_pod(NS)
    assert info.value.status == 401
    fresh = api.add_token(lifetime=dt.timedelta(hours=1))
    assert core(api, token=fresh).list_namespaced_pod(NS).items == []


def test_forbidden_namespace_is_403_with_the_rbac_message(api: KubeApiServer) -> None:
    api.forbid(NS)
    with pytest.raises(k8s.ApiException) as info:
        core(api).list_namespaced_pod(NS, label_selector="app=cache")
    assert info.value.status == 403
    assert status_of(info.value) == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" '
        'in API group "" in the namespace "default"',
        "reason": "Forbidden",
        "details": {"kind": "pods"},
        "code": 403,
    }
    assert core(api).list_namespaced_pod("other").items == []  # other namespaces still allowed
    api.allow(NS)
    assert core(api).list_namespaced_pod(NS).items == []


def test_forbid_everything_and_cluster_scope_message(api: KubeApiServer) -> None:
    api.forbid()
    with pytest.raises(k8s.ApiException) as info:
        core(api).list_pod_for_all_namespaces()
    assert info.value.status == 403
    assert status_of(info.value)["message"].endswith('cannot list resource "pods" in API group "" at the cluster scope')
    with pytest.raises(k8s.ApiException):
        core(api).list_namespaced_pod("anything")


def test_token_limited_to_namespaces(api: KubeApiServer) -> None:
    token = api.add_token(service_account="jgroups", namespace="prod", namespaces=["prod"])
    assert core(api, token=token).list_namespaced_pod("prod").items == []
    with pytest.raises(k8s.ApiException) as info:
        core(api, token=token).list_namespaced_pod(NS)
    assert 'User "system:serviceaccount:prod:jgroups"' in status_of(info.value)["message"]
    with pytest.raises(k8s.ApiException) as info:
        core(api, token=token).list_pod_for_all_namespaces()
    assert info.value.status == 403


def test_token_text_is_never_recorded(api: KubeApiServer) -> None:
    core(api).list_namespaced_pod(NS)
    raw(api, "/api/v1/pods", token="secret-wrong-token")
    shown = repr(api.requests) + repr(api) + str(vars(api.requests[0]))
    assert api.token not in shown and "secret-wrong-token" not in shown
    assert api.token.split(".")[2] not in shown


def test_anonymous_requests_are_forbidden_when_anonymous_auth_is_on(ca: CertificateAuthority) -> None:
    with KubeApiServer(ca=ca, anonymous=True) as server:
        with pytest.raises(k8s.ApiException) as info:
            core(server, token="").list_namespaced_pod(NS)
        assert info.value.status == 403
        assert 'User "system:anonymous"' in status_of(info.value)["message"]


# --- TLS -------------------------------------------------------------------------------------------


def test_tls_refused_with_a_ca_that_did_not_sign_the_server_cert(api: KubeApiServer, tmp_path: Path) -> None:
    foreign = CertificateAuthority("not the API's CA").write_ca(tmp_path / "ca.crt")
    with pytest.raises(k8s.ApiException) as info:  # the client wraps urllib3's SSLError, status 0
        core(api, ssl_ca_cert=str(foreign)).list_namespaced_pod(NS)
    assert info.value.status == 0 and "CERTIFICATE_VERIFY_FAILED" in str(info.value.reason)
    assert api.wait_for(lambda: api.tls_failures)
    assert api.tls_failures[-1].client == "127.0.0.1" and "UNKNOWN_CA" in api.tls_failures[-1].error
    assert api.requests == []


def test_server_cert_from_another_ca_or_expired_is_refused(ca: CertificateAuthority) -> None:
    other = CertificateAuthority("other")
    for cert in (other.issue_server_cert(), ca.issue_server_cert(expired=True)):
        with KubeApiServer(ca=ca, server_cert=cert) as server:
            with pytest.raises(ssl.SSLCertVerificationError):
                raw(server, "/api/v1/pods")
            assert server.requests == []


def test_mutual_tls(ca: CertificateAuthority, tmp_path: Path) -> None:
    with KubeApiServer(ca=ca, client_certs="required") as server:
        good = ca.issue_client_cert("system:serviceaccount:default:jgroups").write(tmp_path, "good")
        server.add_pod(make_pod("a", "10.0.0.1"))
        api = core(server, token="", cert_file=str(good.cert), key_file=str(good.key))
        assert [p.metadata.name for p in api.list_namespaced_pod(NS).items] == ["a"]
        rec = server.requests[-1]
        assert rec.client_cert_cn == "system:serviceaccount:default:jgroups" and not rec.has_authorization
        assert rec.user == "system:serviceaccount:default:jgroups"
        server.forbid(NS)
        with pytest.raises(k8s.ApiException) as info:
            api.list_namespaced_pod(NS)
        assert 'User "system:serviceaccount:default:jgroups"' in status_of(info.value)["message"]
        # no client certificate, or one from another CA: the handshake fails, no request is seen
        bad = CertificateAuthority("other").issue_client_cert("mallory").write(tmp_path, "bad")
        for cert_file, key_file in ((None, None), (str(bad.cert), str(bad.key))):
            before = server.request_count
            with pytest.raises((k8s.ApiException, urllib3.exceptions.HTTPError, OSError)):
                core(server, cert_file=cert_file, key_file=key_file).list_namespaced_pod(NS)
            assert server.request_count == before
        assert server.wait_for(lambda: len(server.tls_failures) == 2)


def test_optional_client_certificates(ca: CertificateAuthority, tmp_path: Path) -> None:
    with KubeApiServer(ca=ca, client_certs="optional") as server:
        cert = ca.issue_client_cert("bob").write(tmp_path)
        assert core(server).list_namespaced_pod(NS).items == []  # token, no certificate
        assert (
            core(server, token="", cert_file=str(cert.cert), key_file=str(cert.key)).list_namespaced_pod(NS).items == []
        )
        assert [(r.user, r.client_cert_cn) for r in server.requests] == [
            ("system:serviceaccount:default:default", None),
            ("bob", "bob"),
        ]


def test_plain_http(tmp_path: Path) -> None:
    with KubeApiServer(tls=False, workdir=tmp_path) as server:
        assert server.url.startswith("http://") and server.ca_file == ""
        server.add_pod(make_pod("a", "10.0.0.1", labels={"app": "x"}))
        assert [p.metadata.name for p in core(server).list_namespaced_pod(NS, label_selector="app=x").items] == ["a"]
    assert (tmp_path / "token").exists()  # a given workdir is kept


def test_ipv6_loopback(ca: CertificateAuthority) -> None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with KubeApiServer(ca=ca, host="::1") as server:
        assert server.url == f"https://[::1]:{server.port}"
        assert core(server).list_namespaced_pod(NS).items == []


# --- HTTP behaviour --------------------------------------------------------------------------------


def test_http11_keep_alive_with_content_length(api: KubeApiServer) -> None:
    cluster(api)
    conn = connect(api)
    before = api.connection_count
    for _ in range(3):
        resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods", conn=conn)
        assert resp.status == 200 and resp.version == 11
        assert resp.getheader("Content-Type") == "application/json"
        assert int(resp.getheader("Content-Length") or -1) == len(body)
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods", token="bad", conn=conn)  # errors keep it open too
    assert resp.status == 401 and int(resp.getheader("Content-Length") or -1) == len(body)
    conn.close()
    assert api.connection_count == before + 1
    assert api.request_count == 4


def test_requests_are_recorded_and_counted(api: KubeApiServer) -> None:
    core(api).list_namespaced_pod(NS, label_selector="app=x")
    core(api).list_pod_for_all_namespaces()
    reqs = api.requests
    assert reqs[0].seq < reqs[1].seq
    assert [(r.method, r.path, r.namespace, r.status) for r in reqs] == [
        ("GET", f"/api/v1/namespaces/{NS}/pods", NS, 200),
        ("GET", "/api/v1/pods", None, 200),
    ]
    assert reqs[0].query == "labelSelector=app%3Dx" and reqs[0].has_authorization
    assert api.wait_for_requests(2, timeout=0)
    assert not api.wait_for_requests(3, timeout=0)


def test_concurrent_clients_see_consistent_lists(api: KubeApiServer) -> None:
    errors: list[BaseException] = []
    sizes: set[int] = set()

    def reader() -> None:
        try:
            c = core(api)
            for _ in range(10):
                sizes.add(len(c.list_namespaced_pod(NS).items))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(20):
        api.set_pods(NS, [make_pod(f"p{j}", f"10.0.0.{j + 1}") for j in range(i % 2 * 3)])
    for t in threads:
        t.join()
    assert errors == []
    assert sizes <= {0, 3}
    assert api.request_count == 40


def test_stop_and_restart_on_the_same_port(ca: CertificateAuthority) -> None:
    with KubeApiServer(ca=ca) as server:
        port = server.port
        server.add_pod(make_pod("a", "10.0.0.1"))
        server.stop()
        assert not server.running
        with pytest.raises(ConnectionRefusedError):
            raw(server, "/api/v1/pods")
        server.start()
        assert server.port == port
        assert [p.metadata.name for p in core(server).list_namespaced_pod(NS).items] == ["a"]


# --- faults ----------------------------------------------------------------------------------------


def test_status_fault_for_the_next_n_requests(api: KubeApiServer) -> None:
    api.inject(Fault.status(500), times=2)
    for _ in range(2):
        with pytest.raises(k8s.ApiException) as info:
            core(api).list_namespaced_pod(NS)
        assert info.value.status == 500 and status_of(info.value)["reason"] == "InternalError"
    assert core(api).list_namespaced_pod(NS).items == []
    assert [r.fault for r in api.requests] == ["status 500", "status 500", None]


@pytest.mark.parametrize(("code", "reason"), [(401, "Unauthorized"), (403, "Forbidden"), (503, "ServiceUnavailable")])
def test_status_faults_carry_status_bodies(api: KubeApiServer, code: int, reason: str) -> None:
    api.inject(Fault.status(code))
    with pytest.raises(k8s.ApiException) as info:
        core(api).list_namespaced_pod(NS)
    body = status_of(info.value)
    assert (info.value.status, body["code"], body["reason"]) == (code, code, reason)
    if code == 403:
        assert body["message"].endswith('in the namespace "default"')


def test_retry_after_header(api: KubeApiServer) -> None:
    api.inject(Fault.status(429, retry_after=1))
    resp, body = raw(api, "/api/v1/pods")
    assert resp.status == 429 and resp.getheader("Retry-After") == "1"
    assert json.loads(body)["reason"] == "TooManyRequests"


def test_persistent_fault_until_cleared_and_fault_order(api: KubeApiServer) -> None:
    api.inject(Fault.status(503), times=1)
    api.inject(Fault.status(500), times=None)
    assert [raw(api, "/api/v1/pods")[0].status for _ in range(4)] == [503, 500, 500, 500]
    api.clear_faults()
    assert raw(api, "/api/v1/pods")[0].status == 200
    with pytest.raises(ValueError):
        api.inject(Fault.drop(), times=0)


def test_slow_answer_times_out_a_short_client_timeout(api: KubeApiServer) -> None:
    api.inject(Fault.delay(30))  # the pending wait ends when the module's server stops
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core(api).list_namespaced_pod(NS, _request_timeout=(5, 0.2))
    assert api.requests[-1].fault == "delay 30s"


def test_short_delay_then_normal_answer(api: KubeApiServer) -> None:
    api.inject(Fault.delay(0.01))
    assert core(api).list_namespaced_pod(NS).items == []


def test_garbage_json(api: KubeApiServer) -> None:
    api.inject(Fault.garbage())
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods")
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/json"
    with pytest.raises(ValueError):
        json.loads(body)


def test_truncated_json(api: KubeApiServer) -> None:
    cluster(api)
    _, full = raw(api, f"/api/v1/namespaces/{NS}/pods")
    api.inject(Fault.truncated())
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods")
    assert resp.status == 200 and 0 < len(body) < len(full)
    assert full.startswith(body)
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_cut_body_closes_mid_answer(api: KubeApiServer) -> None:
    cluster(api)
    api.inject(Fault.cut())
    with pytest.raises(http.client.IncompleteRead):
        raw(api, f"/api/v1/namespaces/{NS}/pods")


def test_html_instead_of_json(api: KubeApiServer) -> None:
    api.inject(Fault.html())
    resp, body = raw(api, "/api/v1/pods")
    assert resp.status == 200 and resp.getheader("Content-Type", "").startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")
    api.inject(Fault.raw(502, "text/plain", b"Bad Gateway"))
    resp, body = raw(api, "/api/v1/pods")
    assert (resp.status, body) == (502, b"Bad Gateway")


def test_huge_answer_is_a_valid_pod_list(api: KubeApiServer) -> None:
    cluster(api)
    api.inject(Fault.huge(10))
    resp, body = raw(api, f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dweb")
    assert resp.status == 200 and len(body) >= 10 * 1024 * 1024
    doc = json.loads(body)
    assert [p["metadata"]["name"] for p in doc["items"]] == ["web-0"]


def test_dropped_connection(api: KubeApiServer) -> None:
    api.inject(Fault.drop())
    with pytest.raises(http.client.RemoteDisconnected):
        raw(api, "/api/v1/pods")
    assert api.requests[-1].fault == "drop" and api.requests[-1].status is None
    assert raw(api, "/api/v1/pods")[0].status == 200


def test_reset_connection(api: KubeApiServer) -> None:
    api.inject(Fault.reset())
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError)):
        raw(api, "/api/v1/pods")


def test_connection_closed_during_tls_handshake(api: KubeApiServer) -> None:
    api.inject(Fault.handshake())
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        raw(api, "/api/v1/pods")
    assert api.connection_faults >= 1 and api.requests == []
    assert raw(api, "/api/v1/pods")[0].status == 200


def test_faults_through_the_official_client(api: KubeApiServer) -> None:
    api.inject(Fault.drop())
    with pytest.raises(urllib3.exceptions.ProtocolError):
        core(api).list_namespaced_pod(NS)
    api.inject(Fault.garbage())
    resp = core(api).list_namespaced_pod(NS, _preload_content=False)
    assert resp.status == 200 and resp.data.startswith(b'{"kind":"PodList","items":[{"metadata":\x00')


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pygroups.testing.servers import kubeapi

    pods = tmp_path / "pods.json"
    pods.write_text(json.dumps(kubeapi.pod_list([make_pod("a", "10.0.0.1", labels={"app": "x"})])))
    stop, ready = threading.Event(), threading.Event()
    argv = ["--pods", str(pods), "--ca-out", str(tmp_path / "out"), "--namespace", "prod"]
    runner = threading.Thread(target=kubeapi.main, args=(argv, stop, lambda _: ready.set()))
    runner.start()
    try:
        assert ready.wait(30)
        out = capsys.readouterr().out
        url = out.split()[1]
        token = (tmp_path / "out" / "token").read_text()
        conf = k8s.Configuration(host=url)
        conf.ssl_ca_cert = str(tmp_path / "out" / "ca.crt")
        conf.api_key = {"authorization": "Bearer " + token}
        items = k8s.CoreV1Api(k8s.ApiClient(conf)).list_namespaced_pod(NS, label_selector="app=x").items
        assert [p.metadata.name for p in items] == ["a"]
        assert token not in out
    finally:
        stop.set()
        runner.join()


def test_chunked_answers_like_the_real_api_server(ca: CertificateAuthority) -> None:
    with KubeApiServer(ca=ca, chunked_threshold=2048) as server:
        server.set_pods(NS, [make_pod(f"p{i}", f"10.0.0.{i + 1}") for i in range(30)])
        conn = connect(server)
        resp, body = raw(server, f"/api/v1/namespaces/{NS}/pods", conn=conn)
        assert resp.getheader("Transfer-Encoding") == "chunked" and resp.getheader("Content-Length") is None
        assert len(json.loads(body)["items"]) == 30
        resp, body = raw(server, "/api/v1/services", conn=conn)  # small: Content-Length, same connection
        assert resp.status == 404 and int(resp.getheader("Content-Length") or -1) == len(body)
        assert server.connection_count == 1
        assert len(core(server).list_namespaced_pod(NS).items) == 30
