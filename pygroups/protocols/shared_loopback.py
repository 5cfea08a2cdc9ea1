"""SHARED_LOOPBACK and SHARED_LOOPBACK_PING: the in-process transport and its discovery.

SHARED_LOOPBACK hands whole `Message`s (or bytes, when a `Codec` is plugged in) to whoever runs the
stack — the simulator, `pygroups.testing.sim.SimNetwork` — as `LoopbackSend` commands, and takes what
arrives through `SHARED_LOOPBACK.receive`. Like Java's SHARED_LOOPBACK it registers in a shared routing
table (`LoopbackRegistry`, one per simulated world) on CONNECT; the first member of a cluster there is
flagged coordinator (JGRP-2395). SHARED_LOOPBACK_PING sends no messages: like Java, it reads the members
of its cluster from that table (GET_PING_DATA), so each entry arrives with the member's server/coordinator
flags and no physical address (the simulated network routes by logical address). The table's
``visible`` hook lets the simulator hide crashed and partitioned members, so discovery agrees with
reachability.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pygroups.address import Address, IpAddress
from pygroups.errors import ConfigError, LocalProtocolError, RemoteProtocolError
from pygroups.events import (
    AddPhysicalAddress,
    BecomeServer,
    Connect,
    Disconnect,
    Event,
    GetLocalAddress,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
    Query,
    RemoveAddress,
    TmpView,
    ViewChange,
)
from pygroups.message import Message, TransientFlag
from pygroups.ping_data import PingData
from pygroups.protocols.discovery import Discovery, Responses
from pygroups.stack.io import IoCommand
from pygroups.stack.layer import TransportLayer, answers
from pygroups.stack.registry import protocol
from pygroups.view import View


class Codec(Protocol):
    """Turns messages into bytes and back, so the simulator can carry real wire bytes."""

    def encode(self, msg: Message) -> bytes: ...

    def decode(self, data: bytes) -> list[Message]: ...


@dataclass(frozen=True, slots=True)
class LoopbackSend(IoCommand):
    """SHARED_LOOPBACK to whoever runs it (the simulator): ``payload`` for ``dest`` (None = every
    member of the cluster); ``loopback`` says whether the sender gets its own multicast back."""

    dest: Address | None
    payload: Message | bytes
    loopback: bool


@dataclass(frozen=True, slots=True)
class GetPingData(Query[tuple[PingData, ...]]):
    """GET_PING_DATA: SHARED_LOOPBACK_PING asks the shared routing table for ``cluster``'s members."""

    cluster: str | None

    def unanswered(self) -> tuple[PingData, ...]:
        return ()


class LoopbackRegistry:
    """SHARED_LOOPBACK's static routing table (cluster -> member -> transport), one per simulated world.

    ``visible(asker, other)`` lets the simulator hide members that are crashed or unreachable.
    """

    def __init__(self) -> None:
        self.clusters: dict[str, dict[Address, SHARED_LOOPBACK]] = {}
        self.visible: Callable[[SHARED_LOOPBACK, SHARED_LOOPBACK], bool] = lambda asker, other: True
        #: let members look up each other's physical address here (`physical_of`); Java's SHARED_LOOPBACK
        #: knows none. The simulator turns it on for layers that connect to peers' ports (FD_SOCK2).
        self.advertise_physical = False

    def register(self, cluster: str, addr: Address, transport: SHARED_LOOPBACK) -> None:
        members = self.clusters.setdefault(cluster, {})
        for a, t in list(members.items()):  # prune dead entries, as a JVM that exited leaves none
            if not self.visible(t, t):
                del members[a]
        if not members:
            transport.coord(True)  # JGRP-2395: the first member becomes coordinator
        members.setdefault(addr, transport)

    def unregister(self, cluster: str | None, addr: Address | None) -> None:
        members = self.clusters.get(cluster) if cluster is not None else None
        if members is not None and addr is not None and members.pop(addr, None) is not None and not members:
            del self.clusters[cluster]  # type: ignore[arg-type]

    def physical_of(self, addr: Address, asker: SHARED_LOOPBACK) -> IpAddress | None:
        """The physical address of member ``addr`` if ``advertise_physical`` is on and it is visible."""
        if not self.advertise_physical:
            return None
        for members in self.clusters.values():
            t = members.get(addr)
            if t is not None and self.visible(asker, t):
                return t.physical_addr
        return None

    def ping_data(self, cluster: str | None, asker: SHARED_LOOPBACK) -> tuple[PingData, ...]:
        """SHARED_LOOPBACK.getDiscoveryResponsesFor: (addr, server, name, no physical address, coord)."""
        members = self.clusters.get(cluster) if cluster is not None else None
        if members is None:
            return ()
        return tuple(
            PingData(addr, t.is_server or t.is_coord, t.is_coord, t.stack.name_of(addr), None)
            for addr, t in members.items()
            if self.visible(asker, t)
        )


@protocol("SHARED_LOOPBACK")
class SHARED_LOOPBACK(TransportLayer):
    """The in-process transport: no connections, whole messages (or codec bytes) to and from whoever runs
    the stack (the simulator), which routes `LoopbackSend` and calls `receive` on the destination."""

    def __init__(self) -> None:
        super().__init__()
        self.codec: Codec | None = None
        self.physical_addr = IpAddress("127.0.0.1", 7800)
        self.addr_cache: dict[Address, IpAddress] = {}
        self.registry = LoopbackRegistry()  # replaced by the network's shared one in a SimNetwork
        self.is_server = False
        self.is_coord = False
        self.cluster_name: str | None = None
        self.view: View | None = None
        self.owner: object | None = None
        """Whoever runs this transport (the simulator's node), for the routing table's visibility rule."""

    def coord(self, flag: bool) -> None:
        self.is_coord = self.is_server = flag

    def down(self, evt: Event) -> None:
        match evt:
            case AddPhysicalAddress():
                self.addr_cache[evt.addr] = evt.physical
            case RemoveAddress():
                self.addr_cache.pop(evt.addr, None)
            case Connect(cluster=cluster):
                self.cluster_name = cluster
                if self.local_addr is not None:
                    self.registry.register(cluster, self.local_addr, self)
            case Disconnect():
                self.registry.unregister(self.cluster_name, self.local_addr)
            case BecomeServer():
                self.is_server = True
            case ViewChange(view=view) | TmpView(view=view):
                self.view = view
                self.is_coord = view.coordinator == self.local_addr
            case _:
                pass

    def stop(self) -> None:
        self.is_server = self.is_coord = False
        self.registry.unregister(self.cluster_name, self.local_addr)

    @answers(GetPingData)
    def answer_ping_data(self, q: GetPingData) -> tuple[PingData, ...]:
        return self.registry.ping_data(q.cluster, self)

    def down_msg(self, msg: Message) -> None:
        if msg.src is None:
            msg.src = self.local_addr
        loopback = not msg.transient_flags & TransientFlag.DONT_LOOPBACK
        payload = self.codec.encode(msg) if self.codec is not None else msg.copy()
        self.counters["sent"] += 1
        self.emit(LoopbackSend(msg.dest, payload, loopback))

    def receive(self, payload: Message | bytes) -> None:
        """Called by the network (as a stack input) with what another node's transport sent."""
        if isinstance(payload, Message):
            msgs = [payload]
        elif self.codec is None:
            raise LocalProtocolError(f"{self.name} received bytes but has no codec")
        else:
            try:
                msgs = self.codec.decode(payload)
            except RemoteProtocolError as e:  # rule 7: bad bytes drop one frame, never crash
                self.counters["bad_frames"] += 1
                self.log.debug("dropped a frame: %s", e)
                return
        self.counters["received"] += len(msgs)
        if len(msgs) == 1:
            self.up_msg(msgs[0])
        else:
            self.up_batch(msgs)

    @answers(GetLocalAddress)
    def answer_local_address(self, q: GetLocalAddress) -> Address | None:
        return self.local_addr

    @answers(GetPhysicalAddress)
    def answer_physical_address(self, q: GetPhysicalAddress) -> IpAddress | None:
        if q.addr == self.local_addr:
            return self.physical_addr
        return self.addr_cache.get(q.addr) or self.registry.physical_of(q.addr, self)

    @answers(GetLogicalPhysicalMappings)
    def answer_mappings(self, q: GetLogicalPhysicalMappings) -> Mapping[Address, IpAddress]:
        own = {self.local_addr: self.physical_addr} if self.local_addr is not None else {}
        return {**self.addr_cache, **own}


@protocol("SHARED_LOOPBACK_PING")
class SHARED_LOOPBACK_PING(Discovery):
    """Discovery over SHARED_LOOPBACK's routing table (org.jgroups.protocols.SHARED_LOOPBACK_PING)."""

    def init(self) -> None:
        super().init()
        if not isinstance(self.stack.transport, SHARED_LOOPBACK):
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
