"""Whole clusters of the stock simulation stacks (sim-core.xml, sim-fc.xml) over a lossy, duplicating,
reordering network: joins (one by one, concurrent), multicast/unicast/OOB traffic, graceful leaves of a
member and of the coordinator. Invariants come from `pygroups.testing.invariants`.

Every failure names its seed; ``PYGROUPS_SEED=<n> pytest tests/simulation/test_cluster.py -k <scenario>``
replays it (with the variable set, each scenario runs that one seed). Sizes and counts derive from the
seed too. About 230 seeds in all, ~30 s on one core.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Sequence
from functools import cache

import pytest

from pygroups.events import Leave
from pygroups.protocols.pbcast.gms import GMS
from pygroups.stack.io import ViewInstalled
from pygroups.stack.layer import Layer
from pygroups.testing.invariants import (
    NAKACK2_STORED,
    Traffic,
    buffer_sizes,
    check_buffers_bounded,
    check_final_views,
    check_single_coordinator,
    check_view_ids_increase,
    fail,
)
from pygroups.testing.sim import MS, SEED_ENV, SimNetwork, SimNode, SimTransport, SimulationFailure, stack_factory
from pygroups.view import View, ViewId
from tests.support.sim import formed, network, scenario_rng

S = 1000 * MS
CLUSTER = "sim"


def seeds(first: int, count: int) -> list[int]:
    """``count`` seeds from ``first``, or only ``PYGROUPS_SEED`` when set (replaying one failure)."""
    env = os.environ.get(SEED_ENV)
    return [int(env, 0)] if env else list(range(first, first + count))


def replayable(test: Callable[[int], None]) -> Callable[[int], None]:
    """Any failure, including plain exceptions out of a layer, ends with how to replay it."""

    @functools.wraps(test)
    def run(seed: int) -> None:
        try:
            test(seed)
        except BaseException as e:
            seed_used = os.environ.get(SEED_ENV) or seed  # SimNetwork takes the variable over the argument
            note = f"replay: {SEED_ENV}={seed_used} pytest {__file__} -k {test.__name__}"
            if f"{SEED_ENV}={seed_used}" not in str(e) and note not in getattr(e, "__notes__", ()):
                e.add_note(note)
            raise

    return run


@cache
def factory(stack: str) -> Callable[[], Sequence[Layer]]:
    return stack_factory(stack)


def add_nodes(net: SimNetwork, count: int, stack: str) -> list[SimNode]:
    start = len(net.nodes)
    return [net.add_node(f"N{start + i}", factory(stack)) for i in range(count)]


def join_one_by_one(net: SimNetwork, nodes: Sequence[SimNode]) -> None:
    for i, node in enumerate(nodes):
        node.connect(CLUSTER)
        net.run_until(formed(nodes[: i + 1]), 60 * S, what=f"{node.name} joined {[n.name for n in nodes[:i]]}")


def join_concurrently(net: SimNetwork, nodes: Sequence[SimNode]) -> None:
    for node in nodes:
        node.connect(CLUSTER)
    net.run_until(formed(nodes), 120 * S, what=f"{len(nodes)} concurrent joiners formed one view")


def traffic_round(net: SimNetwork, members: Sequence[SimNode], rng: random.Random, *, count: int) -> Traffic:
    """Every member multicasts ``count`` regular and OOB messages and unicasts ``count`` to a random peer."""
    traffic = Traffic(net)
    traffic.start(members)
    for sender in members:
        traffic.multicast(sender, count, members)
        traffic.multicast(sender, max(1, count // 3), members, oob=True)
        if len(members) > 1:
            traffic.unicast(sender, rng.choice([m for m in members if m is not sender]), count)
    try:
        net.run_until(traffic.all_delivered, 60 * S, what="all messages delivered")
    except AssertionError as e:
        missing = {k: [m[:20] for m in v[:5]] for k, v in traffic.missing().items()}
        raise fail(net, f"{e}; missing: {missing}") from None
    net.run_for(500 * MS)  # give duplicates and retransmissions a chance to show up twice
    traffic.check()
    return traffic


def leave(net: SimNetwork, node: SimNode, rest: Sequence[SimNode]) -> None:
    """Graceful leave: GMS sends LEAVE_REQ and waits for LEAVE_RSP (or leave_timeout); the node stays
    connected until the others installed the view without it, then disconnects.

    Staying connected matters under loss: with leave_timeout=1s, a lost LEAVE_REQ may not be
    retransmitted in time (UNICAST3 resends the highest unacked message only after two xmit rounds,
    as in Java), and without failure detection the member would stay in the view for good."""
    gms = node.stack.find(GMS)
    net.call(node, node.stack.run_input, node.stack.layers[-1].down, Leave())
    net.run_until(lambda: not gms.leaving, 10 * S, what=f"{node.name} finished leaving")
    net.run_until(formed(rest), 30 * S, what=f"view without {node.name}")
    node.disconnect()


def settle_and_check_buffers(net: SimNetwork, members: Sequence[SimNode]) -> None:
    """Quiet period with STABLE rounds (desired_avg_gossip=5s in the sim stacks): every delivered group
    message is stable by then, so NAKACK2 must have purged them all and UNICAST3 holds nothing unacked."""
    held = sum(buffer_sizes(n).get(f"pbcast.NAKACK2.{NAKACK2_STORED}", 0) for n in members)
    if not held:
        raise fail(net, "NAKACK2 held no messages after the traffic: nothing for STABLE to purge")
    net.run_for(30 * S)
    check_buffers_bounded(net, members, max_nakack2=0)


# --- scenarios --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", seeds(0, 100))
@replayable
def test_join_one_by_one_then_traffic(seed: int) -> None:
    net = network(seed)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 6), "sim-core.xml")
    join_one_by_one(net, nodes)
    check_final_views(net, nodes)
    traffic_round(net, nodes, rng, count=rng.randint(5, 15))
    check_final_views(net, nodes)


@pytest.mark.parametrize("seed", seeds(1000, 80))
@replayable
def test_concurrent_joins_then_traffic(seed: int) -> None:
    net = network(seed)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 8), "sim-core.xml")
    join_concurrently(net, nodes)
    check_final_views(net, nodes)
    traffic_round(net, nodes, rng, count=rng.randint(3, 10))
    check_final_views(net, nodes)


@pytest.mark.parametrize("seed", seeds(2000, 40))
@replayable
def test_member_leaves_gracefully(seed: int) -> None:
    net = network(seed, loss=0.02)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 6), "sim-core.xml")
    join_one_by_one(net, nodes)
    traffic_round(net, nodes, rng, count=5)
    leaver = rng.choice(nodes[1:])
    rest = [n for n in nodes if n is not leaver]
    leave(net, leaver, rest)
    check_final_views(net, rest)
    traffic_round(net, rest, rng, count=5)
    check_view_ids_increase(net)


@pytest.mark.parametrize("seed", seeds(3000, 40))
@replayable
def test_coordinator_leaves_gracefully(seed: int) -> None:
    net = network(seed, loss=0.02)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 6), "sim-core.xml")
    join_one_by_one(net, nodes)
    traffic_round(net, nodes, rng, count=5)
    coord = nodes[0]
    if nodes[0].views()[-1].coordinator != coord.addr:
        raise fail(net, f"{coord.name}, the first member, is not the coordinator")
    rest = nodes[1:]
    leave(net, coord, rest)
    view = check_final_views(net, rest)
    if view.coordinator != rest[0].addr:
        raise fail(net, f"the next in line ({rest[0].name}) should have taken over")
    traffic_round(net, rest, rng, count=5)
    check_view_ids_increase(net)


@pytest.mark.parametrize("seed", seeds(4000, 20))
@replayable
def test_retransmission_buffers_are_purged_by_stable(seed: int) -> None:
    net = network(seed)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 5), "sim-core.xml")
    join_one_by_one(net, nodes)
    traffic_round(net, nodes, rng, count=20)
    settle_and_check_buffers(net, nodes)


@pytest.mark.parametrize("seed", seeds(5000, 20))
@replayable
def test_flow_control_stack(seed: int) -> None:
    net = network(seed)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(3, 5), "sim-fc.xml")
    join_concurrently(net, nodes)
    traffic_round(net, nodes, rng, count=rng.randint(5, 15))
    check_final_views(net, nodes)


@pytest.mark.parametrize("seed", seeds(6000, 3))
@replayable
def test_twenty_nodes(seed: int) -> None:
    net = network(seed, loss=0.02, duplicate=0.01, reorder=0.05)
    rng = scenario_rng(net)
    nodes = add_nodes(net, 20, "sim-core.xml")
    join_concurrently(net, nodes)
    check_final_views(net, nodes)
    traffic_round(net, nodes, rng, count=2)
    leave(net, nodes[0], nodes[1:])
    check_final_views(net, nodes[1:])


@pytest.mark.parametrize("seed", seeds(7000, 8))
@replayable
def test_fragmentation_and_flow_control_with_large_messages(seed: int) -> None:
    """sim-fc.xml: 100 KB multicasts and unicasts are cut by FRAG2 (frag_size 60K) and pass UFC/MFC."""
    net = network(seed)
    rng = scenario_rng(net)
    nodes = add_nodes(net, 3, "sim-fc.xml")
    join_one_by_one(net, nodes)
    traffic = Traffic(net)
    traffic.start(nodes)
    for sender in nodes:
        traffic.multicast(sender, 3, nodes, size=100_000)
        traffic.unicast(sender, rng.choice([n for n in nodes if n is not sender]), 3, size=70_000)
    net.run_until(traffic.all_delivered, 60 * S, what="large messages delivered")
    net.run_for(500 * MS)
    traffic.check()


@pytest.mark.parametrize("seed", seeds(8000, 10))
@replayable
def test_heavy_duplication_and_reordering(seed: int) -> None:
    net = network(seed, loss=0.1, duplicate=0.3, reorder=0.3)
    rng = scenario_rng(net)
    nodes = add_nodes(net, 4, "sim-core.xml")
    join_concurrently(net, nodes)
    check_final_views(net, nodes)
    traffic_round(net, nodes, rng, count=10)


# --- the checkers themselves fail when they should ------------------------------------------------------


def bare_cluster(net: SimNetwork, n: int) -> list[SimNode]:
    nodes = [net.add_node(f"B{i}", lambda: [SimTransport()]) for i in range(n)]
    for node in nodes:
        node.connect(CLUSTER)
    return nodes


def test_checkers_catch_duplicates_losses_and_fifo_violations() -> None:
    net = network(11, loss=0.0, duplicate=1.0, reorder=0.0)  # a bare transport: no dedup, no order
    a, b = bare_cluster(net, 2)
    traffic = Traffic(net)
    traffic.unicast(a, b, 3)
    net.run_for(100 * MS)
    with pytest.raises(SimulationFailure, match=rf"{SEED_ENV}={net.seed} .*B1: duplicated \['B0\|u\|1'"):
        traffic.check()

    net = network(12, loss=0.0, duplicate=0.0, reorder=1.0)
    a, b = bare_cluster(net, 2)
    traffic = Traffic(net)
    traffic.multicast(a, 20, [b])
    net.run_until(traffic.all_delivered, 1 * S)
    with pytest.raises(SimulationFailure, match="FIFO broken"):
        traffic.check()

    net = network(13, loss=1.0)
    a, b = bare_cluster(net, 2)
    traffic = Traffic(net)
    traffic.multicast(a, 1, [b], oob=True)
    net.run_for(100 * MS)
    assert not traffic.all_delivered() and traffic.missing() == {"B1": [b"B0|o|1|"]}
    with pytest.raises(SimulationFailure, match=r"lost 1 \['B0\|o\|1'\]"):
        traffic.check()


def test_checkers_catch_view_disagreement_and_going_backwards() -> None:
    net = network(21)
    a, b = bare_cluster(net, 2)
    assert a.addr is not None and b.addr is not None
    v1 = View(ViewId(a.addr, 1), (a.addr, b.addr))
    v2 = View(ViewId(a.addr, 2), (a.addr, b.addr))
    a.events += [ViewInstalled(v1), ViewInstalled(v2)]
    b.events += [ViewInstalled(v1)]
    with pytest.raises(SimulationFailure, match=rf"{SEED_ENV}={net.seed} .*disagree on the final view"):
        check_final_views(net, [a, b])
    b.events += [ViewInstalled(v2)]
    assert check_final_views(net, [a, b]) == v2
    with pytest.raises(SimulationFailure, match="does not hold exactly"):
        check_final_views(net, [a])
    b.events += [ViewInstalled(v1)]
    with pytest.raises(SimulationFailure, match="B1: view"):
        check_view_ids_increase(net)
    split = View(ViewId(b.addr, 3), (b.addr, a.addr))
    a.events += [ViewInstalled(View(ViewId(a.addr, 3), (a.addr, b.addr)))]
    b.events += [ViewInstalled(split)]
    with pytest.raises(SimulationFailure, match="one coordinator"):
        check_single_coordinator(net, [a, b])


def test_buffer_check_needs_the_reliability_layers() -> None:
    net = network(31)
    (a,) = bare_cluster(net, 1)
    with pytest.raises(SimulationFailure, match="no NAKACK2 statistics"):
        check_buffers_bounded(net, [a], max_nakack2=0)
