"""Bad answers from the Kubernetes API, end to end: the KUBE_PING layer with its real client (the official
`kubernetes` client) against the API stand-in. For each — garbage JSON, a wrong content type, a 10 MB answer, a
server certificate not signed by the CA, an expired token, an unreachable host — one discovery round gives a clear
log line, no targets, no exception, no token in any log record; and the next round, once the API is healthy
again, finds the pods (the node kept running)."""

from __future__ import annotations

import datetime as dt
import logging
import socket  # noqa: TID251 - a port nobody listens on
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pygroups.address import UUID, IpAddress
from pygroups.aio.kubernetes import KubePodLister
from pygroups.protocols.kubernetes.kube_ping import KUBE_PING
from pygroups.stack.config import make_lookup
from pygroups.testing.servers.kubeapi import Fault, KubeApiServer, make_pod
from pygroups.testing.servers.tlsca import CertificateAuthority
from tests.unit.protocols.kubernetes.test_kube_ping import KubeHarness, discover

ME = UUID(0, 1)
OWN = IpAddress("10.1.0.1", 7800)
HEALTHY_TARGETS = [IpAddress("10.1.0.2", 7800), IpAddress("10.1.0.3", 7800)]


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        for i in (1, 2, 3):
            server.add_pod(make_pod(f"cache-{i}", f"10.1.0.{i}", namespace="prod", labels={"app": "cache"}))
        yield server


def node(api: KubeApiServer, **attrs: object) -> KubeHarness:
    layer = KUBE_PING()
    layer.namespace, layer.labels, layer.port_range = "prod", "app=cache", 0
    layer.masterHost, layer.masterPort = api.host, api.port
    layer.caCertFile, layer.saTokenFile = api.ca_file, api.token_file
    layer.operationAttempts, layer.operationSleep = 2, 0
    layer.connectTimeout, layer.readTimeout = 2000, 5000
    for k, v in attrs.items():
        setattr(layer, k, v)
    layer.env_lookup = make_lookup({}, {})
    h = KubeHarness(layer, local_addr=ME, cluster=None)
    h.kube = KubePodLister(sleep=lambda _s: None).list_pods  # the driver's real client, without the sleeps
    h.stack.take_io()  # the warm-up hint
    h.bottom.physical_addrs[ME] = OWN
    h.stack.connect("demo", local_addr=ME, name="A")
    return h


def _garbage(api: KubeApiServer, h: KubeHarness) -> None:
    api.inject(Fault.garbage(), times=None)


def _html(api: KubeApiServer, h: KubeHarness) -> None:
    api.inject(Fault.html(), times=None)


def _huge(api: KubeApiServer, h: KubeHarness) -> None:
    api.inject(Fault.huge(10), times=None)


def _expired_token(api: KubeApiServer, h: KubeHarness) -> None:
    """The token the client holds expires, and so has the one in the file (rotation stopped working)."""
    held = api.token
    Path(api.token_file).write_text(api.add_token(lifetime=dt.timedelta(seconds=-1)))
    api.revoke_token(held)


def _unreachable(api: KubeApiServer, h: KubeHarness) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    layer = h.layer
    assert isinstance(layer, KUBE_PING)
    layer.masterPort = port
    layer.api_config = layer.kube_config()  # the new settings, as a new client had them


def _foreign_ca(api: KubeApiServer, h: KubeHarness, tmp: Path) -> None:
    layer = h.layer
    assert isinstance(layer, KUBE_PING)
    layer.caCertFile = str(CertificateAuthority("not the API's CA").write_ca(tmp / "other-ca.crt"))
    layer.api_config = layer.kube_config()


CASES: dict[str, tuple[Callable[..., None], str]] = {
    "garbage JSON": (_garbage, "JSON"),
    "wrong content type": (_html, "content-type"),
    "10 MB answer": (_huge, "too large"),
    "certificate not signed by the CA": (_foreign_ca, "certificate"),
    "expired token": (_expired_token, "401"),
    "unreachable host": (_unreachable, "refused"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_api_answer_gives_a_clear_log_no_targets_and_the_node_recovers(
        case: str, api: KubeApiServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = node(api)
    assert discover(h, 1) == HEALTHY_TARGETS  # the healthy baseline
    token = Path(api.token_file).read_text().strip()
    breaker, phrase = CASES[case]
    if breaker is _foreign_ca:
        breaker(api, h, tmp_path)
    else:
        breaker(api, h)
    with caplog.at_level(logging.DEBUG):
        assert discover(h, 2) == []
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems, f"{case}: nothing was logged"
    text = "\n".join(r.getMessage() for r in problems)
    assert "prod" in text and phrase.lower() in text.lower(), text
    bad_token = Path(api.token_file).read_text().strip()
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything and bad_token not in everything
    # the API is healthy again (a new token, the right CA and port): the next round finds the pods
    api.clear_faults()
    Path(api.token_file).write_text(api.rotate_token())
    h.layer.masterPort, h.layer.caCertFile = api.port, api.ca_file  # type: ignore[attr-defined]
    h.layer.api_config = h.layer.kube_config()  # type: ignore[attr-defined]
    assert discover(h, 3) == HEALTHY_TARGETS
