"""Pieces the simulation scenarios share: the default lossy network, scenario choices drawn from its seed, and
the "one view among these nodes" predicate that `SimNetwork.run_until` polls."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from pygroups.clock import MS
from pygroups.testing.sim import SimNetwork, SimNode


def network(seed: int, *, loss: float = 0.05, duplicate: float = 0.02, reorder: float = 0.1) -> SimNetwork:
    """1-5 ms latency, 5% loss, 2% duplication, 10% held back up to 10 ms (unless told otherwise)."""
    return SimNetwork(seed, latency_ns=(1 * MS, 5 * MS), loss=loss, duplicate=duplicate, reorder=reorder,
                      reorder_delay_ns=10 * MS)


def scenario_rng(net: SimNetwork) -> random.Random:
    """Scenario choices (sizes, counts) from the network's seed, so PYGROUPS_SEED replays them too."""
    return random.Random(f"scenario/{net.seed}")


def formed(nodes: Sequence[SimNode]) -> Callable[[], bool]:
    """True once every node's last view is the same view, holding exactly these nodes."""
    addrs = {n.addr for n in nodes}

    def check() -> bool:
        first = None
        for n in nodes:  # early exit: run_until asks after every step
            views = n.views()
            if not views or (first is not None and views[-1] != first):
                return False
            first = views[-1]
        return first is not None and set(first.members) == addrs

    return check
