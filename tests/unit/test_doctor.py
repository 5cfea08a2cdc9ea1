"""``pygroups doctor`` without a network: configuration errors, TCPPING's targets, DNS_PING's report through a
fake `ResolveDns` handler, and `fetch_from_dns` (Java's fetchFromDns). The checks against a Kubernetes API
stand-in and a running member are in tests/integration/test_doctor.py."""

from __future__ import annotations

import io
from pathlib import Path

from pygroups.cli import main
from pygroups.doctor import EXIT_CONFIG, EXIT_OK, EXIT_PROBLEM, diagnose
from pygroups.protocols.dns.records import Resolution
from pygroups.protocols.dns.requests import DnsResolved, ResolveDns
from pygroups.protocols.kubernetes.api import ErrorKind, KubeError, KubeResult
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed

KUBE_FIXTURE = str(Path(__file__).parent / "protocols" / "kubernetes" / "tcp-kube.xml")


def run_doctor(config: str, variables: dict[str, str], **kw: object) -> tuple[int, str]:
    out = io.StringIO()
    rc = diagnose(config, variables=variables, out=out, environ={}, **kw)  # type: ignore[arg-type]
    return rc, out.getvalue()


def test_bad_config_exits_2(tmp_path: Path) -> None:
    rc, text = run_doctor(str(tmp_path / "missing.xml"), {})
    assert rc == EXIT_CONFIG and "not found" in text
    assert main(["doctor", "--config", str(tmp_path / "missing.xml")]) == EXIT_CONFIG


def test_tcpping_targets_are_listed() -> None:
    rc, text = run_doctor("tcp-core.xml", {"jgroups.tcpping.initial_hosts": "127.0.0.1[7800],127.0.0.2[7800]"})
    assert "TCPPING: 6 target(s): 127.0.0.1:7800, 127.0.0.1:7801, 127.0.0.1:7802, 127.0.0.2:7800" in text
    assert rc == EXIT_OK


def test_dns_ping_uses_the_layers_own_explanation() -> None:
    asked: list[ResolveDns] = []

    def fake(request: ResolveDns) -> DnsResolved:
        asked.append(request)
        return DnsResolved(request.request_id, Resolution.of(["127.0.0.5"]))

    rc, text = run_doctor("dns-ping.xml", {"jgroups.bind_addr": "127.0.0.1", "jgroups.dns.query": "cache.svc"},
                          io_handlers={ResolveDns: fake})
    assert "DNS_PING asks" in text and "cache.svc" in text and "127.0.0.5" in text, text
    assert [(r.queries, r.record_type) for r in asked] == [(("cache.svc",), "A")]
    assert rc == EXIT_OK


def test_kube_ping_report_through_a_fake_list_pods_handler() -> None:
    """The API call is a typed request: a fake handler stands in for the API (no socket), and sees its config."""
    asked: list[ListPods] = []

    def forbidden(request: ListPods) -> PodsListed:
        asked.append(request)
        error = KubeError(ErrorKind.FORBIDDEN, "Server returned HTTP response code: 403", 403)
        return PodsListed(request.request_id, KubeResult.failure(request.config.url, error, attempts=3,
                                                                 service_account="prod:cache-sa", token_sent=True))

    variables = {"port": "7800", "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                 "KUBERNETES_NAMESPACE": "prod", "KUBERNETES_LABELS": "app=cache"}
    rc, text = run_doctor(KUBE_FIXTURE, variables, io_handlers={ListPods: forbidden})
    assert rc == EXIT_PROBLEM
    assert "the API call failed after 3 attempt(s)" in text and "HTTP 403 Forbidden" in text
    assert "name: cache-sa" in text
    (request,) = asked
    assert request.config.url == "https://10.96.0.1:443/api/v1/namespaces/prod/pods?labelSelector=app%3Dcache"
