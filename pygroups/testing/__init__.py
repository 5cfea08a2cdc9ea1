"""Shipped test helpers (like trio.testing): a layer harness and a deterministic network simulator."""

from pygroups.testing.harness import FakeTransport, HarnessPair, LayerHarness, RecordingTop
from pygroups.testing.sim import Packet, SimNetwork, SimNode, SimSend, SimTransport, SimulationFailure

__all__ = [
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
