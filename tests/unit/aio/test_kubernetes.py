"""The driver's Kubernetes handler without a network: one client per `KubeConfig` (so the token cache and the
connection pool last as long as the driver), `ListPods` answered with `PodsListed`, the warm-up hint. The client
against the API stand-in is tested in tests/integration/aio/test_kubernetes_client.py."""

from __future__ import annotations

import io

from pygroups.aio.handlers import default_io_handlers
from pygroups.aio.kubernetes import KubeClient, KubePodLister
from pygroups.protocols.kubernetes.api import ErrorKind, KubeConfig
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed, WarmUpKubeClient


def test_one_client_per_config() -> None:
    lister = KubePodLister()
    a, b = KubeConfig(master_host="10.96.0.1", master_port=443), KubeConfig(master_host="10.96.0.2", master_port=443)
    assert lister.client(a) is lister.client(KubeConfig(master_host="10.96.0.1", master_port=443))
    assert lister.client(a) is not lister.client(b)
    assert isinstance(lister.client(a), KubeClient) and lister.client(a).config == a
    lister.close()


def test_list_pods_answers_with_the_request_id_and_the_clients_result() -> None:
    """operationAttempts=0 makes no request (as in Java): the answer is a CONFIG failure, no socket opened."""
    out = io.StringIO()
    lister = KubePodLister(sleep=lambda _s: None, out=out)
    cfg = KubeConfig(master_host="10.96.0.1", master_port=443, operation_attempts=0, dump_requests=True)
    answer = lister.list_pods(ListPods(42, cfg))
    assert isinstance(answer, PodsListed) and answer.request_id == 42
    assert answer.result.error is not None and answer.result.error.kind is ErrorKind.CONFIG
    assert answer.result.attempts == 0 and lister.client(cfg).requests_made == 0
    assert out.getvalue().startswith(f"--> {cfg.url}\n<-- ERROR: operationAttempts=0")


def test_warm_up_builds_the_client_without_a_request() -> None:
    lister = KubePodLister()
    cfg = KubeConfig(master_protocol="http", master_host="127.0.0.1", master_port=1)
    lister.warm_up(WarmUpKubeClient(cfg))
    client = lister.client(cfg)
    assert client._api is not None and client.requests_made == 0
    lister.close()
    assert client._api is None


def test_the_default_table_routes_kube_requests_to_one_lister() -> None:
    handlers = default_io_handlers()
    list_pods, warm_up = handlers[ListPods], handlers[WarmUpKubeClient]
    assert getattr(list_pods, "__self__", None) is getattr(warm_up, "__self__", None)
    assert isinstance(getattr(list_pods, "__self__", None), KubePodLister)
