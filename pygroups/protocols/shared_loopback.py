"""SHARED_LOOPBACK and SHARED_LOOPBACK_PING: the in-process transport and its discovery.

SHARED_LOOPBACK is the simulator's transport (`pygroups.testing.sim.SimTransport`), registered here
under its JGroups name so that stack files such as ``sim-core.xml`` build. SHARED_LOOPBACK_PING
sends no messages: like Java, it reads the members of its cluster from the transport's shared
routing table (GET_PING_DATA), so each entry arrives with the member's server/coordinator flags
and no physical address (the simulated network routes by logical address).
"""

from __future__ import annotations

from collections.abc import Sequence

from pygroups.address import Address
from pygroups.errors import ConfigError
from pygroups.protocols.discovery import Discovery, Responses
from pygroups.stack.registry import protocol
from pygroups.testing.sim import GetPingData, SimTransport

SHARED_LOOPBACK = protocol("SHARED_LOOPBACK")(SimTransport)


@protocol("SHARED_LOOPBACK_PING")
class SHARED_LOOPBACK_PING(Discovery):
    """Discovery over SHARED_LOOPBACK's routing table (org.jgroups.protocols.SHARED_LOOPBACK_PING)."""

    def init(self) -> None:
        super().init()
        if not isinstance(self.stack.transport, SimTransport):
            raise ConfigError(f"{self.name}: the transport must be SHARED_LOOPBACK, not {self.stack.transport.name}")

    def is_dynamic(self) -> bool:
        return True

    def find_members(self, members: Sequence[Address] | None, initial_discovery: bool,
                     responses: Responses) -> None:
        self.num_discovery_requests += 1  # Java counts here as well as in findMembers
        for data in self.down_layer.query_down(GetPingData(self.cluster_name)):
            # Java's NameCache is per JVM, so every member's name is known; here each stack has its own
            if data.sender is not None and data.logical_name is not None:
                self.stack.logical_names.setdefault(data.sender, data.logical_name)
            responses.add(data, False)
