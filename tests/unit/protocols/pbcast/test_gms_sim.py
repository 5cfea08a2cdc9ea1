"""GMS across several simulated members (SimNetwork): joins, concurrent joins, leaves, coordinator
hand-over. Discovery and NAKACK2 are stand-ins (a shared directory and a GetDigest stub)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pygroups.address import Address, IpAddress
from pygroups.clock import MS
from pygroups.events import Connect, DiscoveryResponse, Event, FindInitialMembers
from pygroups.protocols.pbcast.gms import GMS, Leave
from pygroups.stack.layer import Layer
from pygroups.testing.sim import SimNetwork, SimNode, SimTransport
from pygroups.view import View
from pygroups.wire.headers.ping import PingData
from tests.unit.protocols.pbcast.test_gms_helpers import StubNakack

Directory = dict[Address, GMS]


class StubDiscovery(Layer):
    """Answers FindInitialMembers after 10 ms with every other joined member of the directory."""

    name = "STUB_DISCOVERY"

    def __init__(self, directory: Directory) -> None:
        super().__init__()
        self.directory = directory

    def down(self, evt: Event) -> None:
        if isinstance(evt, Connect) and self.local_addr is not None:
            self.directory[self.local_addr] = self.stack.find(GMS)
        if isinstance(evt, FindInitialMembers):
            self.timers.call_later(10 * MS, self._answer, evt.request_id)
        self.down_layer.down(evt)

    def _answer(self, request_id: int) -> None:
        rsps = tuple(
            PingData(addr, True, gms.is_coordinator, None, IpAddress("10.0.0.1", 7800))
            for addr, gms in self.directory.items()
            if addr != self.local_addr and gms.view is not None and gms.stack.connected
        )
        self.up_layer.up(DiscoveryResponse(request_id, rsps))


def network(*names: str, seed: int = 1) -> tuple[SimNetwork, list[SimNode]]:
    net = SimNetwork(seed)
    directory: Directory = {}

    def layers() -> Sequence[Layer]:
        gms = GMS()
        gms.print_local_addr = False
        return [SimTransport(), StubDiscovery(directory), StubNakack(), gms]

    return net, [net.add_node(n, layers) for n in names]


def gms_of(node: SimNode) -> GMS:
    return node.stack.find(GMS)


def current(node: SimNode) -> View | None:
    return gms_of(node).view


def members_agree(nodes: Sequence[SimNode], size: int) -> bool:
    views = [current(n) for n in nodes]
    return all(x is not None and len(x.members) == size for x in views) and len(set(views)) == 1


def test_three_members_join_one_after_another() -> None:
    net, (a, b, c) = network("A", "B", "C")
    a.connect("demo")
    net.run_until(lambda: current(a) is not None, 5000 * MS)
    b.connect("demo")
    net.run_until(lambda: members_agree([a, b], 2), 5000 * MS)
    c.connect("demo")
    net.run_until(lambda: members_agree([a, b, c], 3), 5000 * MS)
    view = current(c)
    assert view is not None and view.members == (a.addr, b.addr, c.addr) and view.view_id.id == 2
    assert [x.view_id.id for x in b.views()] == [1, 2]
    assert [x.members for x in a.views()] == [(a.addr,), (a.addr, b.addr), (a.addr, b.addr, c.addr)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_concurrent_joins_converge_on_one_view(seed: int) -> None:
    net, nodes = network("A", "B", "C", "D", "E", seed=seed)
    nodes[0].connect("demo")
    net.run_until(lambda: current(nodes[0]) is not None, 5000 * MS)
    for n in nodes[1:]:
        n.connect("demo")
    net.run_until(lambda: members_agree(nodes, 5), 20_000 * MS)
    assert current(nodes[0]).members[0] == nodes[0].addr  # type: ignore[union-attr]
    assert current(nodes[0]).view_id.id < 4  # type: ignore[union-attr]  # later joins were bundled


def test_graceful_leave_of_a_participant_then_of_the_coordinator() -> None:
    net, (a, b, c) = network("A", "B", "C")
    for n in (a, b, c):
        n.connect("demo")
        net.run_until(lambda n=n: current(n) is not None, 10_000 * MS)  # type: ignore[misc]
    net.run_until(lambda: members_agree([a, b, c], 3), 10_000 * MS)
    net.call(c, c.stack.run_input, c.stack.layers[-1].down, Leave())
    net.run_until(lambda: not gms_of(c).is_leaving, 5000 * MS)
    c.disconnect()
    net.run_until(lambda: members_agree([a, b], 2), 5000 * MS)
    assert current(a).members == (a.addr, b.addr)  # type: ignore[union-attr]
    # the coordinator hands over to B with a LEAVE_REQ; B answers LEAVE_RSP and installs [B|n] {B}
    net.call(a, a.stack.run_input, a.stack.layers[-1].down, Leave())
    net.run_until(lambda: not gms_of(a).is_leaving, 5000 * MS)
    assert gms_of(a).counters["received LEAVE_RSP"] == 1
    a.disconnect()
    net.run_until(lambda: current(b) is not None and current(b).members == (b.addr,), 5000 * MS)  # type: ignore[union-attr]
    assert gms_of(b).is_coordinator and current(b).view_id.creator == b.addr  # type: ignore[union-attr]


def test_with_the_real_core_layers_join_multicast_and_leave() -> None:
    """sim-core.xml (SHARED_LOOPBACK discovery, NAKACK2, UNICAST3, STABLE, GMS): the VIEW goes through
    NAKACK2 and arrives after the JOIN_RSP, so joiners drop it as stale (no second VIEW_ACK)."""
    from pygroups.message import Message
    from pygroups.testing.sim import stack_factory

    net = SimNetwork(1)
    factory = stack_factory("sim-core.xml")
    a, b, c = (net.add_node(name, factory) for name in "ABC")
    for n in (a, b, c):
        n.connect("demo")
        net.run_until(lambda n=n: current(n) is not None, 20_000 * MS)  # type: ignore[misc]
    net.run_until(lambda: members_agree([a, b, c], 3), 20_000 * MS)
    assert current(a).members == (a.addr, b.addr, c.addr)  # type: ignore[union-attr]
    c.send(Message(payload=b"hello"))
    net.run_for(1000 * MS)
    assert gms_of(a).counters["received VIEW_ACK"] == 3 and gms_of(b).counters["stale views dropped"] == 1
    assert [[m.payload for m in n.messages()] for n in (a, b, c)] == [[b"hello"]] * 3
    for leaver, rest in ((c, (a, b)), (a, (b,))):
        net.call(leaver, leaver.stack.run_input, leaver.stack.layers[-1].down, Leave())
        net.run_until(lambda leaver=leaver: not gms_of(leaver).is_leaving, 5000 * MS)  # type: ignore[misc]
        assert gms_of(leaver).counters["received LEAVE_RSP"] == 1
        leaver.disconnect()
        net.run_until(lambda rest=rest: members_agree(rest, len(rest)), 5000 * MS)  # type: ignore[misc]
    assert current(b) is not None and current(b).view_id.creator == b.addr and gms_of(b).is_coordinator  # type: ignore[union-attr]
