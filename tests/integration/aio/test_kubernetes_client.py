"""KubeClient's HTTP contract against the Kubernetes API stand-in (pygroups.testing.servers.kubeapi): the request Java's
KUBE_PING makes, TLS and token handling, the retry loop, the failure classes and bad answers - and no token in
any log line or error text. The sleep and the clock are injected: nothing here waits for the retry sleeps."""

from __future__ import annotations

import io
import logging
import socket  # noqa: TID251 - a port nobody listens on
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pygroups.aio.kubernetes import KubeClient, service_account_of_token
from pygroups.protocols.kubernetes.api import ErrorKind, KubeConfig, KubeResult
from pygroups.testing.servers.kubeapi import Fault, KubeApiServer, make_pod
from pygroups.testing.servers.tlsca import CertificateAuthority


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        server.add_pod(make_pod("cache-0", "10.1.0.1", labels={"app": "cache"}))
        server.add_pod(make_pod("cache-1", "10.1.0.2", labels={"app": "cache"}))
        server.add_pod(make_pod("web-0", "10.1.0.9", labels={"app": "web"}))
        server.add_pod(make_pod("other-ns", "10.2.0.1", namespace="prod", labels={"app": "cache"}))
        yield server


def make(api: KubeApiServer, **overrides: Any) -> tuple[KubeClient, list[float], Clock]:
    settings: dict[str, Any] = dict(master_host=api.host, master_port=api.port, namespace="default",
                                    labels="app=cache", ca_cert_file=api.ca_file, sa_token_file=api.token_file,
                                    connect_timeout_ms=2000, read_timeout_ms=5000)
    settings.update(overrides)
    sleeps: list[float] = []
    clock = Clock()
    return KubeClient(KubeConfig(**settings), sleep=sleeps.append, clock=clock), sleeps, clock


def names(result: KubeResult) -> list[str | None]:
    assert result.ok, result.error
    assert result.pods is not None
    return [p.name for p in result.pods.pods]


def test_the_request_is_javas(api: KubeApiServer) -> None:
    c, sleeps, _ = make(api)
    r = c.fetch()
    assert names(r) == ["cache-0", "cache-1"]
    assert (r.attempts, sleeps, r.insecure, r.token_sent) == (1, [], False, True)
    (req,) = api.requests
    assert (req.method, req.path, req.label_selector, req.has_authorization) == (
        "GET", "/api/v1/namespaces/default/pods", "app=cache", True)
    assert req.params == {"labelSelector": ["app=cache"]}  # nothing else: no fieldSelector, limit, watch
    assert r.url == f"https://127.0.0.1:{api.port}/api/v1/namespaces/default/pods?labelSelector=app%3Dcache"
    assert r.service_account == "default:default"


def test_set_based_selector_arrives_intact(api: KubeApiServer) -> None:
    c, _, _ = make(api, labels="app in (cache,web),!canary")
    assert names(c.fetch()) == ["cache-0", "cache-1", "web-0"]
    assert api.requests[-1].label_selector == "app in (cache,web),!canary"


def test_no_labels_and_empty_namespace_list_all_pods(api: KubeApiServer) -> None:
    c, _, _ = make(api, labels=None, namespace="")
    assert sorted(n or "" for n in names(c.fetch())) == ["cache-0", "cache-1", "other-ns", "web-0"]
    assert (api.requests[-1].path, api.requests[-1].query) == ("/api/v1/pods", "")


def test_certificate_not_signed_by_the_ca_is_a_tls_error(api: KubeApiServer, tmp_path: Path) -> None:
    other = CertificateAuthority("someone else").write_ca(tmp_path / "other.crt")
    c, sleeps, _ = make(api, ca_cert_file=str(other))
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.TLS
    assert "certificate verify failed" in r.error.message and "3 attempt(s) with a 1000ms sleep" in r.error.message
    assert (r.attempts, sleeps) == (3, [1.0, 1.0, 1.0])  # Java sleeps after the last failed try too
    assert api.requests == []


def test_missing_ca_file_warns_and_trusts_anything(api: KubeApiServer, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    c, _, _ = make(api, ca_cert_file=str(tmp_path / "nope.crt"))
    with caplog.at_level(logging.WARNING):
        r = c.fetch()
        c.fetch()
    assert names(r) == ["cache-0", "cache-1"] and r.insecure
    assert caplog.text.count("ca cert file not found") == 1
    assert "defaulting to insecure trust manager" in caplog.text


def test_empty_ca_file_name_warns_and_trusts_anything(api: KubeApiServer, caplog: pytest.LogCaptureFixture) -> None:
    c, _, _ = make(api, ca_cert_file="")
    with caplog.at_level(logging.WARNING):
        assert names(c.fetch()) == ["cache-0", "cache-1"]
    assert "ca cert file undefined" in caplog.text


def test_unusable_ca_file_is_an_error(api: KubeApiServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.crt"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    c, _, _ = make(api, ca_cert_file=str(bad), operation_attempts=1)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.TLS and "could not load CA certificates" in r.error.message


def test_ca_bundle_with_several_certificates_trusts_each(api: KubeApiServer, tmp_path: Path) -> None:
    bundle = tmp_path / "bundle.crt"
    other = CertificateAuthority("first in the bundle")
    bundle.write_bytes(other.cert_pem + Path(api.ca_file).read_bytes())
    c, _, _ = make(api, ca_cert_file=str(bundle))
    assert names(c.fetch()) == ["cache-0", "cache-1"]


def test_401_rereads_the_token_and_retries(api: KubeApiServer) -> None:
    c, sleeps, _ = make(api)
    assert c.fetch().ok
    api.rotate_token(expire_old=True)  # the kubelet rotated the projected token
    r = c.fetch()
    assert names(r) == ["cache-0", "cache-1"]
    assert (r.attempts, sleeps) == (2, [1.0])
    assert [q.status for q in api.requests] == [200, 401, 200]


def test_token_is_reread_after_60_seconds(api: KubeApiServer) -> None:
    c, sleeps, clock = make(api)
    assert c.fetch().ok
    api.rotate_token(expire_old=True)
    clock.now += 61
    r = c.fetch()
    assert r.ok and r.attempts == 1 and sleeps == []


def test_missing_token_file_sends_no_authorization(api: KubeApiServer, tmp_path: Path) -> None:
    c, _, _ = make(api, sa_token_file=str(tmp_path / "no-token"), operation_attempts=1)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.UNAUTHORIZED and r.error.status == 401
    assert r.token_sent is False
    assert not api.requests[-1].has_authorization


def test_403_is_retried_then_reported_with_the_service_account(api: KubeApiServer) -> None:
    api.forbid("default")
    c, sleeps, _ = make(api)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.FORBIDDEN and r.error.status == 403
    assert "Server returned HTTP response code: 403" in r.error.message and "cannot list" in r.error.message
    assert (len(api.requests), r.attempts, sleeps) == (3, 3, [1.0, 1.0, 1.0])
    assert r.service_account == "default:default"


def test_500_is_retried(api: KubeApiServer) -> None:
    api.inject(Fault.status(500), times=1)
    c, sleeps, _ = make(api)
    r = c.fetch()
    assert names(r) == ["cache-0", "cache-1"] and (r.attempts, sleeps) == (2, [1.0])
    api.inject(Fault.status(500), times=None)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.SERVER_ERROR and r.error.status == 500


def test_connection_refused(api: KubeApiServer) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c, sleeps, _ = make(api, master_port=port, operation_attempts=2, operation_sleep_ms=250)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.CONNECTION
    assert (r.attempts, sleeps) == (2, [0.25, 0.25])


def test_dropped_connection_is_retried(api: KubeApiServer) -> None:
    api.inject(Fault.drop(), times=1)
    c, _, _ = make(api)
    r = c.fetch()
    assert r.ok and r.attempts == 2


def test_read_timeout(api: KubeApiServer) -> None:
    api.inject(Fault.delay(5), times=1)
    c, _, _ = make(api, read_timeout_ms=100, operation_attempts=1)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.TIMEOUT and "read timed out" in r.error.message


def test_garbage_json_is_a_parse_error_not_an_api_failure(api: KubeApiServer) -> None:
    api.inject(Fault.garbage(), times=1)
    c, sleeps, _ = make(api)
    r = c.fetch()
    assert r.ok and r.pods is None and r.parse_error is not None and r.parse_error.kind == "syntax"
    assert sleeps == []


def test_wrong_content_type_is_reported_not_retried(api: KubeApiServer) -> None:
    api.inject(Fault.html(), times=None)
    c, sleeps, _ = make(api)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.BAD_CONTENT_TYPE and "text/html" in r.error.message
    assert (r.attempts, sleeps) == (1, [])


def test_ten_megabyte_answer_is_rejected(api: KubeApiServer) -> None:
    api.inject(Fault.huge(10), times=1)
    c, _, _ = make(api)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.TOO_LARGE and str(8 * 1024 * 1024) in r.error.message
    assert r.attempts == 1


def test_cut_answer_is_retried(api: KubeApiServer) -> None:
    api.inject(Fault.cut(), times=1)
    c, _, _ = make(api)
    r = c.fetch()
    assert r.ok and r.attempts == 2


def test_client_certificate_mode(tmp_path: Path) -> None:
    with KubeApiServer(client_certs="required") as api:
        api.add_pod(make_pod("cache-0", "10.1.0.1", labels={"app": "cache"}))
        files = api.ca.issue_client_cert("system:serviceaccount:default:default").write(tmp_path, "client")
        c, _, _ = make(api, client_cert_file=str(files.cert), client_key_file=str(files.key),
                       sa_token_file=str(tmp_path / "unused"))
        r = c.fetch()
        assert names(r) == ["cache-0"] and r.token_sent is None
        assert not api.requests[-1].has_authorization and api.requests[-1].client_cert_cn is not None


def test_other_api_version_uses_its_path(api: KubeApiServer) -> None:
    c, _, _ = make(api, api_version="v2", operation_attempts=1)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.NOT_FOUND
    assert api.requests[-1].path == "/api/v2/namespaces/default/pods"
    assert api.requests[-1].label_selector == "app=cache" and api.requests[-1].has_authorization


def test_no_attempts_or_negative_timeouts_make_no_request(api: KubeApiServer) -> None:
    c, _, _ = make(api, operation_attempts=0)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.CONFIG and r.attempts == 0
    c, sleeps, _ = make(api, connect_timeout_ms=-1)
    r = c.fetch()
    assert r.error is not None and r.error.kind is ErrorKind.CONFIG and "connectTimeout [-1]" in r.error.message
    assert (r.attempts, len(sleeps)) == (3, 3)
    assert api.requests == []


def test_proxy_environment_is_ignored(api: KubeApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    c, _, _ = make(api)
    assert names(c.fetch()) == ["cache-0", "cache-1"]


def test_dump_requests_prints_url_and_answer(api: KubeApiServer) -> None:
    out = io.StringIO()
    cfg = KubeConfig(master_host=api.host, master_port=api.port, labels="app=web", ca_cert_file=api.ca_file,
                     sa_token_file=api.token_file, dump_requests=True, operation_attempts=1)
    c = KubeClient(cfg, sleep=lambda s: None, out=out)
    c.fetch()
    api.forbid("default")
    c.fetch()
    lines = out.getvalue().splitlines()
    assert lines[0] == f"--> {cfg.url}" and lines[1].startswith('<-- {"kind":') and "web-0" in lines[1]
    assert lines[2] == f"--> {cfg.url}" and lines[3].startswith("<-- ERROR: 1 attempt(s)")
    assert api.token not in out.getvalue()


def test_the_token_never_reaches_a_log_line_or_an_error(api: KubeApiServer, tmp_path: Path,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    tokens = [api.token]
    with caplog.at_level(logging.DEBUG):
        c, _, clock = make(api, ca_cert_file=str(tmp_path / "missing.crt"))
        results = [c.fetch()]
        tokens.append(api.rotate_token(expire_old=True))
        results.append(c.fetch())
        api.forbid("default")
        results.append(c.fetch())
        api.revoke_token(api.token)
        clock.now += 120
        results.append(c.fetch())
        api.inject(Fault.html(), times=1)
        api.allow("default")
        results.append(c.fetch())
    assert [r.error.kind if r.error else None for r in results] == [
        None, None, ErrorKind.FORBIDDEN, ErrorKind.UNAUTHORIZED, ErrorKind.BAD_CONTENT_TYPE]
    texts = [r.getMessage() for r in caplog.records] + [repr(r) for r in results] + [repr(c), repr(c.config)]
    assert caplog.records  # the test saw logging at all
    for token in tokens:
        for part in (token, token.split(".")[2]):
            assert not any(part in t for t in texts)


def test_service_account_of_token() -> None:
    with KubeApiServer(tls=False, namespace="prod", service_account="cache") as api:
        assert service_account_of_token(api.token) == "prod:cache"
    assert service_account_of_token("opaque") is None
    assert service_account_of_token("a.b.c") is None


def test_plain_http_needs_no_ca() -> None:
    with KubeApiServer(tls=False) as api:
        api.add_pod(make_pod("cache-0", "10.1.0.1", labels={"app": "cache"}))
        c, _, _ = make(api, master_protocol="http", ca_cert_file="/nonexistent")
        r = c.fetch()
        assert names(r) == ["cache-0"] and not r.insecure
        assert r.url.startswith("http://127.0.0.1:")


def test_ipv6_master_host_is_bracketed() -> None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with KubeApiServer(host="::1") as api:
        api.add_pod(make_pod("cache-0", "fd00::5", labels={"app": "cache"}))
        c, _, _ = make(api)
        r = c.fetch()
        assert names(r) == ["cache-0"]
        assert r.url.startswith(f"https://[::1]:{api.port}/api/v1/")


def test_the_connection_after_a_rejected_answer_is_clean(api: KubeApiServer) -> None:
    c, _, _ = make(api)
    for fault in (Fault.huge(10), Fault.html(), Fault.garbage()):
        api.inject(fault, times=1)
        assert c.fetch().attempts == 1
        assert names(c.fetch()) == ["cache-0", "cache-1"]  # the next request on the pool works
