"""``pygroups doctor`` over real sockets: the report for KUBE_PING against the Kubernetes API stand-in (API failures
with their explanation, pod verdicts, targets, exit codes), and the probe with a real temporary node against a
running pygroups member."""

from __future__ import annotations

import asyncio  # noqa: TID251 - a real member runs on asyncio next to the doctor
import io
import socket  # noqa: TID251 - picking free loopback ports
from collections.abc import Iterator
from pathlib import Path

import pytest

from pygroups.doctor import EXIT_OK, EXIT_PROBLEM, diagnose, diagnose_async
from pygroups.testing.servers.kubeapi import KubeApiServer, make_pod

FIXTURE = str(Path(__file__).parents[1] / "unit" / "protocols" / "kubernetes" / "tcp-kube.xml")


def free_port_pair() -> int:
    for _ in range(50):
        with socket.socket() as a:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as b:
                try:
                    b.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return int(port)
    raise RuntimeError("no two free adjacent ports")


@pytest.fixture
def api() -> Iterator[KubeApiServer]:
    with KubeApiServer() as server:
        yield server


def kube_vars(api: KubeApiServer, port: int = 7800, labels: str = "app=cache") -> dict[str, str]:
    return {"port": str(port), "KUBERNETES_SERVICE_HOST": api.host, "KUBERNETES_SERVICE_PORT": str(api.port),
            "KUBERNETES_NAMESPACE": "default", "KUBERNETES_LABELS": labels, "KUBERNETES_OPERATION_SLEEP": "1",
            "KUBERNETES_CA_CERTIFICATE_FILE": api.ca_file, "KUBERNETES_SA_TOKEN_FILE": api.token_file}


def run_doctor(config: str, variables: dict[str, str], **kw: object) -> tuple[int, str]:
    out = io.StringIO()
    rc = diagnose(config, variables=variables, out=out, environ={}, **kw)  # type: ignore[arg-type]
    return rc, out.getvalue()


def test_healthy_pod_list_lists_every_pod_with_its_verdict(api: KubeApiServer) -> None:
    api.add_pod(make_pod("cache-0", "127.0.0.1", labels={"app": "cache"}))
    api.add_pod(make_pod("cache-1", "127.0.0.2", labels={"app": "cache"}, ready=False))
    api.add_pod(make_pod("cache-2", None, labels={"app": "cache"}, phase="Pending"))
    api.add_pod(make_pod("web-0", "127.0.0.9", labels={"app": "web"}))
    rc, text = run_doctor(FIXTURE, kube_vars(api), addr="127.0.0.1")
    assert rc == EXIT_OK, text
    assert "GET https://127.0.0.1:" in text and "/api/v1/namespaces/default/pods?labelSelector=app%3Dcache" in text
    assert "cache-0  ip=127.0.0.1" in text and "-> this node" in text
    assert "cache-1  ip=127.0.0.2" in text and "not ready" in text and "-> probed" in text
    assert "cache-2  ip=None" in text and "skipped: no-ip" in text
    assert "web-0" not in text
    assert "discovery requests go to 3 address(es): 127.0.0.1:7801, 127.0.0.2:7800, 127.0.0.2:7801" in text
    assert "no problem found" in text


def test_403_prints_the_role_and_fails(api: KubeApiServer) -> None:
    api.forbid("default")
    rc, text = run_doctor(FIXTURE, kube_vars(api))
    assert rc == EXIT_PROBLEM
    assert "HTTP 403 Forbidden" in text and "kind: Role\n" in text and "kind: RoleBinding" in text
    assert api.token not in text


def test_selector_matching_nothing_is_a_problem(api: KubeApiServer) -> None:
    api.add_pod(make_pod("web-0", "127.0.0.9", labels={"app": "web"}))
    rc, text = run_doctor(FIXTURE, kube_vars(api, labels="app=cahce"), addr="127.0.0.1")
    assert rc == EXIT_PROBLEM
    assert "no pod with an IP in namespace 'default' with labels 'app=cahce'" in text


def test_own_pod_missing_is_a_problem(api: KubeApiServer) -> None:
    api.add_pod(make_pod("cache-1", "127.0.0.2", labels={"app": "cache"}))
    rc, text = run_doctor(FIXTURE, kube_vars(api), addr="127.0.0.1")
    assert rc == EXIT_PROBLEM and "own address 127.0.0.1:7800 is not among" in text


def test_probe_lists_the_members_that_answer(api: KubeApiServer) -> None:
    from pygroups.aio.channel import Channel

    port = free_port_pair()
    api.add_pod(make_pod("member", "127.0.0.1", labels={"app": "cache"}))
    variables = kube_vars(api, port)

    async def scenario() -> tuple[int, str, int, str]:
        ch = Channel(FIXTURE, variables=variables, name="member")
        await ch.connect("demo", timeout=20)
        try:
            out, other = io.StringIO(), io.StringIO()
            rc = await diagnose_async(FIXTURE, variables=variables, cluster="demo", addr="127.0.0.1", timeout=1.0,
                                      out=out, environ={})
            rc2 = await diagnose_async(FIXTURE, variables=variables, cluster="other", addr="127.0.0.1", timeout=0.5,
                                       out=other, environ={})
            return rc, out.getvalue(), rc2, other.getvalue()
        finally:
            await ch.close()

    rc, text, rc2, text2 = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert "members of cluster 'demo' that answered (1):" in text, text
    assert f"member  127.0.0.1:{port}  coordinator" in text
    assert rc == EXIT_OK, text
    assert rc2 == EXIT_PROBLEM and "nobody answered discovery requests for cluster 'other'" in text2
