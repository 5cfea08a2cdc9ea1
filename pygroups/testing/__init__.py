"""Shipped test helpers (like trio.testing): a layer harness and a deterministic network simulator."""

from pygroups.testing.harness import FakeTransport, HarnessNet, HarnessPair, LayerHarness, RecordingTop
from pygroups.testing.sim import Packet, SimNetwork, SimNode, SimSend, SimTransport, SimulationFailure

__all__ = [
    "DnsServer",
    "FakeTransport",
    "HarnessNet",
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

# The stand-ins (pygroups.testing.servers: the Kubernetes API server with its label selectors and CA, the DNS
# server) load on first use: they pull in threads, sockets and, for TLS, the optional ``cryptography`` package.
_LAZY = frozenset({"CertificateAuthority", "DnsServer", "Fault", "KubeApiServer", "make_pod", "parse_selector"})


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module 'pygroups.testing' has no attribute {name!r}")
    if name == "DnsServer":
        from pygroups.testing.servers.dnsserver import DnsServer

        return DnsServer
    if name == "parse_selector":
        from pygroups.testing.servers.labels import parse_selector

        return parse_selector
    if name == "CertificateAuthority":
        from pygroups.testing.servers.tlsca import CertificateAuthority

        return CertificateAuthority
    from pygroups.testing.servers import kubeapi

    return getattr(kubeapi, name)
