"""Partitions that heal: MERGE3 finds the subgroups and GMS merges them into one MergeView (sim-merge.xml).

Scenarios, each over a lossy, duplicating, reordering network with MERGE3's intervals shortened through the
stack's variables (min 1 s, max 3 s, so a check runs every 4.8 s; merge_timeout 2 s):

* subgroups formed apart (2+2, 3+2, or many pieces) with traffic in each, then the heal;
* a formed cluster split by suspicions (what a failure detector would raise) into halves that each
  install their own view, traffic in each, then the heal;
* JGroups' LargeMergeTest: 50 singletons become one view.

After the heal every member must install one MergeView with everyone within a virtual-time bound; view
ids only grow; then a traffic round over the merged cluster is delivered exactly once and in FIFO order.
``PYGROUPS_SEED=<n> pytest tests/simulation/test_merge.py -k <scenario>`` replays a failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from functools import cache

import pytest

from pygroups.events import Suspect
from pygroups.protocols.merge3 import MERGE3
from pygroups.protocols.pbcast.gms import GMS
from pygroups.stack.layer import Layer
from pygroups.testing.invariants import (
    Traffic,
    check_final_views,
    check_single_coordinator,
    check_view_ids_increase,
    fail,
)
from pygroups.testing.sim import MS, SimNetwork, SimNode, stack_factory
from pygroups.view import MergeView
from tests.support.sim import all_formed, formed, network, replayable, seeds, split

S = 1000 * MS
CLUSTER = "merge"
FAST = {"merge3.min_interval": "1s", "merge3.max_interval": "3s", "gms.merge_timeout": "2s"}
# INFO within 4.5 s, a check every 4.8 s, a merge round of at most 2 x merge_timeout; lost VIEW_REQs or a
# collision with a concurrent merge cost another check
MERGE_BOUND = 60 * S


@cache
def factory() -> Callable[[], Sequence[Layer]]:
    return stack_factory("sim-merge.xml", FAST)


def scenario_rng(net: SimNetwork) -> random.Random:
    return random.Random(f"merge/{net.seed}")


def add_nodes(net: SimNetwork, count: int) -> list[SimNode]:
    start = len(net.nodes)
    return [net.add_node(f"N{start + i}", factory()) for i in range(count)]


def traffic_in(net: SimNetwork, groups: Sequence[Sequence[SimNode]], rng: random.Random, count: int) -> None:
    """Multicasts, OOB multicasts and unicasts within each group at once; exactly once and FIFO per group."""
    traffic = Traffic(net)
    traffic.start()
    for group in groups:
        for sender in group:
            traffic.multicast(sender, count, group)
            traffic.multicast(sender, max(1, count // 3), group, oob=True)
            if len(group) > 1:
                traffic.unicast(sender, rng.choice([m for m in group if m is not sender]), count)
    try:
        net.run_until(traffic.all_delivered, 60 * S, what="all messages delivered")
    except AssertionError as e:
        raise fail(net, f"{e}; missing: {traffic.missing()}") from None
    net.run_for(500 * MS)
    traffic.check()


def heal_and_merge(net: SimNetwork, nodes: Sequence[SimNode]) -> float:
    """Heal; one MergeView with everyone within MERGE_BOUND; returns the seconds it took."""
    net.heal()
    start = net.now_ns
    net.run_until(formed(nodes), MERGE_BOUND, what=f"one view of all {len(nodes)} members after the heal")
    view = check_final_views(net, nodes)
    if not any(isinstance(v, MergeView) and set(v.members) == set(view.members) for v in nodes[0].views()):
        raise fail(net, f"no MergeView with all members: {nodes[0].views()[-1]}")
    check_view_ids_increase(net)
    check_single_coordinator(net, nodes)
    return (net.now_ns - start) / S


def gms(node: SimNode) -> GMS:
    return node.stack.find(GMS)


# --- scenarios ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", seeds(20_000, 60))
@replayable
def test_subgroups_formed_apart_merge_after_heal(seed: int) -> None:
    """2+2, 3+2, or 2..5 pieces of up to 10 members, each a cluster of its own with traffic, then the heal."""
    net = network(seed)
    rng = scenario_rng(net)
    shape = seed % 3
    if shape == 0:
        nodes = add_nodes(net, 4)
        groups = [nodes[:2], nodes[2:]]
    elif shape == 1:
        nodes = add_nodes(net, 5)
        groups = [nodes[:3], nodes[3:]]
    else:
        nodes = add_nodes(net, rng.randint(4, 10))
        groups = split(rng, nodes, rng.randint(2, min(5, len(nodes))))
    net.partition(*groups)
    for node in nodes:
        node.connect(CLUSTER)
    net.run_until(all_formed(groups), 60 * S, what="each subgroup formed its own view")
    traffic_in(net, groups, rng, rng.randint(3, 8))
    heal_and_merge(net, nodes)
    traffic_in(net, [nodes], rng, rng.randint(3, 8))
    check_final_views(net, nodes)


@pytest.mark.parametrize("seed", seeds(21_000, 40))
@replayable
def test_cluster_split_by_suspicions_merges_after_heal(seed: int) -> None:
    """A formed cluster is partitioned; each side suspects the other (as FD_ALL3 would), so each half
    installs a view of its own (the half without the coordinator by a takeover); then the heal."""
    net = network(seed, loss=0.02)
    rng = scenario_rng(net)
    nodes = add_nodes(net, rng.randint(4, 7))
    for i, node in enumerate(nodes):
        node.connect(CLUSTER)
        net.run_until(formed(nodes[: i + 1]), 60 * S, what=f"{node.name} joined")
    traffic_in(net, [nodes], rng, 3)
    groups = split(rng, nodes, 2)
    net.partition(*groups)
    for group in groups:
        others = frozenset(n.addr for n in nodes if n not in group and n.addr is not None)
        for node in group:
            net.call(node, node.stack.run_input, gms(node).up, Suspect(others))
    net.run_until(all_formed(groups), 60 * S, what="each half installed a view without the other")
    traffic_in(net, groups, rng, rng.randint(3, 8))
    heal_and_merge(net, nodes)
    traffic_in(net, [nodes], rng, rng.randint(3, 8))


@pytest.mark.parametrize(("seed", "count"), [(22_000, 50), *((s, 12 + s % 9) for s in seeds(22_001, 4))])
@replayable
def test_singletons_become_one_view(seed: int, count: int) -> None:
    """JGroups' LargeMergeTest: 50 members start isolated (each its own singleton), then the network heals
    (one seed; more seeds with 12-20 members, as a 50-member MergeView is costly to decode 2,500 times)."""
    net = network(seed, loss=0.0)
    nodes = add_nodes(net, count)
    net.partition()  # every node alone
    for node in nodes:
        node.connect(CLUSTER)
    net.run_until(lambda: all(n.views() for n in nodes), 30 * S, what=f"{count} singletons")
    took = heal_and_merge(net, nodes)
    if took > 20:  # LargeMergeTest's bound
        raise fail(net, f"{count} singletons took {took:.1f} s to merge")
    merges = sum(n.stack.find(MERGE3).num_merge_events for n in nodes)
    assert merges >= 1
