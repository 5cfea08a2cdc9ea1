"""FD_SOCK2 in the simulator on the stock stack sim-fdsock.xml: the ring forms over simulated stream
connections, a crash is suspected and the member excluded, a graceful leave is never a suspicion."""

from __future__ import annotations

import pytest

from pygroups.clock import MS
from pygroups.message import Message
from pygroups.protocols.fd_sock2 import FD_SOCK2
from pygroups.testing.sim import Packet, SimNetwork, SimNode
from pygroups.wire import codec


def fd(node: SimNode) -> FD_SOCK2:
    return node.stack.find(FD_SOCK2)


def cluster(seed: int, n: int, **kw: object) -> tuple[SimNetwork, list[SimNode]]:
    net = SimNetwork(seed, advertise_physical=True, **kw)  # type: ignore[arg-type]
    nodes = [net.add_node(chr(ord("A") + i), stack="sim-fdsock.xml") for i in range(n)]
    for node in nodes:
        node.connect("fd")
        net.run_for(50 * MS)
    net.run_until(lambda: all(x.views() and len(x.views()[-1].members) == n for x in nodes), 30_000 * MS,
                  what=f"one view of {n}")
    net.run_until(lambda: ring_complete(nodes), 10_000 * MS, what="a complete ring")
    return net, nodes


def ring_complete(nodes: list[SimNode]) -> bool:
    """Every live member watches its right neighbour in its current view, over a confirmed link."""
    for node in nodes:
        if not node.alive:
            continue
        members = list(node.views()[-1].members)
        if len(members) < 2:
            continue
        i = members.index(node.addr)
        f = fd(node)
        if f.ping_dest.dest != members[(i + 1) % len(members)] or not f.ping_dest.connected:
            return False
    return True


def suspects_sent(nodes: list[SimNode]) -> int:
    return sum(fd(n).counters["SUSPECT sent"] for n in nodes if n.alive)


@pytest.mark.parametrize("seed", range(5))
def test_ring_forms_without_suspicions(seed: int) -> None:
    net, nodes = cluster(seed, 4)
    assert suspects_sent(nodes) == 0
    assert all(fd(n).server_address is not None and fd(n).server_address.port == 7900 for n in nodes)
    assert net.stats["stream_connects"] >= 4


@pytest.mark.parametrize("seed", range(10))
def test_a_crashed_member_is_suspected_and_excluded(seed: int) -> None:
    net, nodes = cluster(seed, 4)
    victim = nodes[1 + seed % 3]  # not the coordinator (takeover is GMS's business)
    net.crash(victim)
    survivors = [n for n in nodes if n is not victim]
    took = net.run_until(lambda: all(len(n.views()[-1].members) == 3 for n in survivors), 10_000 * MS,
                         what="a view without the crashed member")
    assert took < 2_000 * MS  # a closed connection is seen at once, not after a heartbeat timeout
    assert all(victim.addr not in n.views()[-1].members for n in survivors)
    assert suspects_sent(survivors) >= 1
    net.run_until(lambda: ring_complete(survivors), 10_000 * MS, what="the ring closed again")


@pytest.mark.parametrize("seed", range(10))
def test_a_graceful_leave_is_never_a_suspicion(seed: int) -> None:
    net, nodes = cluster(seed, 4)
    leaver = nodes[seed % 4]  # also the coordinator
    leaver.disconnect()
    rest = [n for n in nodes if n is not leaver]
    net.run_until(lambda: all(len(n.views()[-1].members) == 3 for n in rest), 10_000 * MS,
                  what="a view without the leaver")
    net.run_for(10_000 * MS)
    assert suspects_sent(rest) == 0
    assert all(fd(n).counters["suspect events raised"] == 0 for n in rest)
    net.run_until(lambda: ring_complete(rest), 10_000 * MS, what="the ring closed again")


def test_suspicion_is_rebroadcast_until_the_view_drops_the_suspect() -> None:
    net, nodes = cluster(3, 3)
    a, b, c = nodes
    watcher = next(n for n in nodes if fd(n).ping_dest.dest == c.addr)
    assert watcher is b
    lose_until = net.now_ns + 8_000 * MS

    def route(packet: Packet) -> None:  # every FD_SOCK2 multicast is lost for 8 s (SUSPECT is unreliable)
        if isinstance(packet.payload, Message) and 71 in packet.payload.headers and net.now_ns < lose_until:
            net.stats["fd lost"] += 1
            return
        net.default_route(packet)

    net.route = route
    net.crash(c)
    net.run_until(lambda: all(len(n.views()[-1].members) == 2 for n in (a, b)), 20_000 * MS,
                  what="a view without the crashed member")
    assert net.now_ns >= lose_until  # only a re-sent SUSPECT (at +5 s, +10 s) got through
    assert fd(b).counters["SUSPECT re-sent"] >= 1 and net.stats["fd lost"] >= 2
    resent = fd(b).counters["SUSPECT re-sent"]
    net.run_for(30_000 * MS)
    assert fd(b).counters["SUSPECT re-sent"] == resent  # stopped by the view


def test_a_partition_stalls_the_link_without_suspicion() -> None:
    net, nodes = cluster(4, 4)
    net.partition(nodes[:2], nodes[2:])
    net.run_for(3_000 * MS)
    assert suspects_sent(nodes) == 0  # no data flows, but no connection ended either
    net.heal()
    net.run_for(3_000 * MS)
    assert suspects_sent(nodes) == 0 and ring_complete(nodes)


@pytest.mark.parametrize("seed", range(30))
def test_crashes_on_a_lossy_network_leave_one_view_and_a_closed_ring(seed: int) -> None:
    net, nodes = cluster(seed, 6, loss=0.05)
    victims = net.rng.sample(nodes[1:], 2)  # the coordinator stays (takeover belongs to GMS)
    for v in victims:
        net.crash(v)
        net.run_for(net.rng.randint(0, 3_000) * MS)
    alive = [n for n in nodes if n.alive]
    net.run_until(lambda: all(len(n.views()[-1].members) == 4 for n in alive)
                  and len({n.views()[-1].view_id for n in alive}) == 1, 60_000 * MS,
                  what="one view of the survivors")
    assert not any(v.addr in alive[0].views()[-1].members for v in victims)
    net.run_until(lambda: ring_complete(alive), 20_000 * MS, what="the ring closed again")


def test_a_restarted_node_joins_the_ring_again() -> None:
    net, nodes = cluster(11, 3)
    net.crash(nodes[2])
    net.run_until(lambda: all(len(n.views()[-1].members) == 2 for n in nodes[:2]), 10_000 * MS, what="exclusion")
    net.restart(nodes[2])
    net.run_until(lambda: all(n.views() and len(n.views()[-1].members) == 3 for n in nodes), 20_000 * MS,
                  what="the rejoin")
    net.run_until(lambda: ring_complete(nodes), 10_000 * MS, what="a complete ring")


def test_same_seed_same_run() -> None:
    def once() -> tuple[object, ...]:
        net, nodes = cluster(5, 4, loss=0.05)
        net.crash(nodes[2])
        net.run_for(5_000 * MS)
        return (dict(net.stats), [str(n.views()[-1]) for n in nodes if n.alive],
                [dict(fd(n).counters) for n in nodes if n.alive], net.now_ns)

    assert once() == once()


class WireCodec:
    """Every multicast (SUSPECT included) crosses the simulated network as JGroups 5.5.6 bytes."""

    def encode(self, msg: Message) -> bytes:
        return codec.encode_single(msg)

    def decode(self, data: bytes) -> list[Message]:
        return list(codec.decode_frame(data).messages)


@pytest.mark.parametrize("seed", range(3))
def test_crash_with_real_wire_bytes(seed: int) -> None:
    net, nodes = cluster(seed, 3, codec=WireCodec())
    net.crash(nodes[2])
    net.run_until(lambda: all(len(n.views()[-1].members) == 2 for n in nodes[:2]), 10_000 * MS,
                  what="a view without the crashed member")
    assert sum(fd(n).counters["SUSPECT received"] for n in nodes[:2]) >= 1
