"""Shipped test helpers (like trio.testing): a layer harness and a deterministic network simulator."""

from pygroups.testing.harness import FakeTransport, HarnessPair, LayerHarness, RecordingTop
from pygroups.testing.sim import Packet, SimNetwork, SimNode, SimSend, SimTransport, SimulationFailure

__all__ = [
    "DnsServer",
    "FakeTransport",
    "HarnessPair",
    "LayerHarness",
    "Packet",
    "RecordingTop",
    "SimNetwork",
    "SimNode",
    "SimSend",
    "SimTransport",
    "SimulationFailure",
]

# The Kubernetes API stand-in, its label selectors and its CA load on first use (they pull in threads,
# sockets and, for TLS, the optional ``cryptography`` package): ``from pygroups.testing.kubeapi import ...``.
_LAZY = {
    "DnsServer": "pygroups.testing.dnsserver",  # the DNS stand-in (threads, sockets, dnspython)
    "KubeApiServer": "pygroups.testing.kubeapi",
    "Fault": "pygroups.testing.kubeapi",
    "make_pod": "pygroups.testing.kubeapi",
    "parse_selector": "pygroups.testing.labels",
    "CertificateAuthority": "pygroups.testing.tlsca",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pygroups.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
