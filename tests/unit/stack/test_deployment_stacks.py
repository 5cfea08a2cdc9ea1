"""The stacks Java deployments run build in pygroups unmodified (issue 9, point 2): the jar's own tcp.xml with its
<include>, Infinispan 16.2's kubernetes stack, Infinispan's TCP stack with its discovery swapped to TCPPING (what
Infinispan users do with stack.combine="REPLACE"; MPING needs IP multicast), and our full stock stacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.stack.config import load_stack_file
from pygroups.stack.registry import build_layers
from tests.support.stacks import infinispan_tcp_with_tcpping

DATA = Path(__file__).resolve().parents[2] / "data" / "config"
VARIABLES = {"KUBERNETES_NAMESPACE": "default", "jgroups.dns.query": "localhost"}
TCP_XML = ["TCP", "TCPPING", "MERGE3", "FD_SOCK2", "FD_ALL3", "VERIFY_SUSPECT2", "BARRIER", "NAKACK2", "UNICAST3",
           "STABLE", "GMS", "MFC", "UFC", "FRAG2", "STATE_TRANSFER"]
K8S = ["TCP", "RED", "DNS_PING", "MERGE3", "FD_SOCK2", "FD_ALL3", "VERIFY_SUSPECT2", "NAKACK2", "UNICAST3", "STABLE",
       "GMS", "UFC", "MFC", "FRAG4"]


def built(path: str | Path) -> list[str]:
    layers = build_layers(load_stack_file(path, VARIABLES), BUILTIN_PROTOCOLS, variables=VARIABLES, environ={})
    return [type(layer).__name__ for layer in layers]


@pytest.mark.parametrize(("path", "layers"), [
    (DATA / "jgroups-5.5.6" / "tcp.xml", TCP_XML),
    (DATA / "infinispan-16.2.2" / "default-jgroups-kubernetes.xml", K8S),
    ("tcp.xml", TCP_XML),
    ("kubernetes.xml", [*K8S[:2], "KUBE_PING", *K8S[3:]]),
    ("dns-ping.xml", K8S),
], ids=["jar-tcp.xml", "infinispan-kubernetes", "tcp.xml", "kubernetes.xml", "dns-ping.xml"])
def test_deployment_stacks_build_unmodified(path: str | Path, layers: list[str]) -> None:
    assert built(path) == layers


def test_infinispans_tcp_stack_builds_with_tcpping_for_mping(tmp_path: Path) -> None:
    path = infinispan_tcp_with_tcpping(tmp_path)
    assert "MPING" not in path.read_text()
    assert "TCPPING" in built(path) and "MPING" not in built(path)
    assert {"MERGE3", "FD_SOCK2", "FD_ALL3", "VERIFY_SUSPECT2"} <= set(built(path))
