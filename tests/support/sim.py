"""Pieces the simulation scenarios share: the default lossy network, scenario choices drawn from its seed, the
"one view among these nodes" predicates that `SimNetwork.run_until` polls, seed lists that ``PYGROUPS_SEED``
narrows to one seed, and the replay note every seeded failure carries."""

from __future__ import annotations

import functools
import inspect
import os
import random
from collections.abc import Callable, Sequence

from pygroups.clock import MS
from pygroups.protocols.fd_sock2 import FD_SOCK2
from pygroups.testing.sim import SEED_ENV, SimNetwork, SimNode


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
            last = n.last_view()
            if last is None or (first is not None and last != first):
                return False
            first = last
        return first is not None and set(first.members) == addrs

    return check


def seeds(first: int, count: int) -> list[int]:
    """``first .. first+count-1``, or only the seed ``PYGROUPS_SEED`` names (to replay one failure)."""
    env = os.environ.get(SEED_ENV)
    return [int(env, 0)] if env else list(range(first, first + count))


def replayable(test: Callable[..., None]) -> Callable[..., None]:
    """Adds ``replay: PYGROUPS_SEED=<n> pytest <file> -k <test>`` to whatever a seeded test raises."""

    @functools.wraps(test)
    def run(seed: int, *args: object, **kwargs: object) -> None:
        try:
            test(seed, *args, **kwargs)
        except BaseException as e:
            note = f"replay: {SEED_ENV}={os.environ.get(SEED_ENV) or seed} pytest {inspect.getfile(test)} " \
                   f"-k {test.__name__}"
            if note not in getattr(e, "__notes__", ()):
                e.add_note(note)
            raise

    return run


def all_formed(groups: Sequence[Sequence[SimNode]]) -> Callable[[], bool]:
    """True once each group has formed one view of exactly its members (`formed` per group)."""
    checks = [formed(g) for g in groups]
    return lambda: all(c() for c in checks)


def split(rng: random.Random, nodes: Sequence[SimNode], pieces: int) -> list[list[SimNode]]:
    """``pieces`` non-empty groups of a shuffled copy of ``nodes``."""
    shuffled = list(nodes)
    rng.shuffle(shuffled)
    cuts = sorted(rng.sample(range(1, len(shuffled)), pieces - 1))
    return [shuffled[a:b] for a, b in zip([0, *cuts], [*cuts, len(shuffled)], strict=True)]


def ring_complete(nodes: Sequence[SimNode]) -> bool:
    """FD_SOCK2's ring is closed: every live member watches its right neighbour in its last view over a
    confirmed link (a stack without FD_SOCK2 counts as complete)."""
    for node in nodes:
        if not node.alive or not node.views():
            continue
        members = list(node.views()[-1].members)
        try:
            fd = node.stack.find(FD_SOCK2)
        except LookupError:
            continue
        if len(members) < 2:
            continue
        right = members[(members.index(node.addr) + 1) % len(members)]
        if fd.ping_dest.dest != right or not fd.ping_dest.connected:
            return False
    return True
