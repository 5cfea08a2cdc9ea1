"""`SimNetwork`: many real `ProtocolStack`s on one `ManualClock` over a seeded, hostile network.

Rules of this module:

1. All randomness comes from the seed: the network's own ``random.Random(seed)`` decides loss,
   duplication and latency; each node's stack gets ``random.Random(f"{seed}/{name}/{incarnation}")``.
   ``PYGROUPS_SEED`` in the environment overrides the seed, so a failure replays exactly.
2. Time only jumps: `run_until` moves the clock to the next delivery or timer deadline (an
   autojumping clock); nothing sleeps.
3. Every packet goes through ``network.route(packet)`` (trio FakeNet.route_packet); the default
   route applies loss, duplication, latency and reordering and calls `SimNetwork.deliver_later`.
   Partitions, crashes and pauses are checked when a packet arrives, not when it leaves.
4. Failures name the seed: invariants and timeouts raise `SimulationFailure` with it in the
   message; any exception out of a stack gets it as a note.

The bottom layer of a simulated stack is `SimTransport` (JGroups' SHARED_LOOPBACK), which hands
whole `Message`s to the network, or bytes when a `Codec` is plugged in. Like Java's SHARED_LOOPBACK
it registers in a shared routing table (`LoopbackRegistry`, one per network) on CONNECT; the first
member of a cluster there is flagged coordinator (JGRP-2395), and SHARED_LOOPBACK_PING discovers by
reading that table (`GetPingData`) instead of sending messages, exactly as in Java. The simulator's
table hides crashed nodes and nodes in another partition, so discovery agrees with reachability.
Stock stacks: ``network.add_node("A", stack="sim-core.xml")`` or `stack_factory`.

Layers that open their own sockets (FD_SOCK2) get simulated stream connections between nodes
(`pygroups.testing.sim_streams`): a crash ends them without a goodbye, a partition stalls them.
With ``advertise_physical=True`` SHARED_LOOPBACK answers GET_PHYSICAL_ADDRESS for every visible member
from the shared table (as TCP learns them from discovery), so such a layer finds its peers' ports; Java's
SHARED_LOOPBACK knows no peer's physical address, so FD_SOCK2 cannot run on it there.
"""

from __future__ import annotations

import heapq
import os
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pygroups.address import Address, IpAddress
from pygroups.clock import MS, ManualClock
from pygroups.errors import LocalProtocolError
from pygroups.message import Message
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.shared_loopback import (
    SHARED_LOOPBACK,
    Codec,
    LoopbackRegistry,
    LoopbackSend,
)
from pygroups.stack.config import load_stack_file
from pygroups.stack.io import (
    AppEvent,
    IoCommand,
    IoHint,
    IoRequest,
    IoResult,
    Received,
    ViewInstalled,
)
from pygroups.stack.layer import Layer
from pygroups.stack.registry import build_layers
from pygroups.stack.stack import ProtocolStack
from pygroups.testing.sim_streams import SimStreams
from pygroups.view import View

SimTransport = SHARED_LOOPBACK
"""The simulator's transport is JGroups' SHARED_LOOPBACK (`pygroups.protocols.shared_loopback`)."""
SimSend = LoopbackSend

SEED_ENV = "PYGROUPS_SEED"


def stack_factory(stack: str, variables: Mapping[str, str] | None = None) -> Callable[[], Sequence[Layer]]:
    """A layer factory for a stock stack name (``"sim-core.xml"``) or an XML path: parsed once, built
    per call (`pygroups.stack.registry.build_layers`). The bottom element must be SHARED_LOOPBACK."""
    spec = load_stack_file(stack, variables)

    def build() -> Sequence[Layer]:
        layers = build_layers(spec, BUILTIN_PROTOCOLS, variables=variables)
        for layer in layers:
            if not isinstance(layer, Layer):
                raise LocalProtocolError(f"{stack}: {layer!r} is not a Layer")
        return [layer for layer in layers if isinstance(layer, Layer)]

    return build


SimIoHandler = Callable[[Any], IoResult | None]
"""A fake carrying out one I/O request (e.g. `ListPods`) at once; returns its answer (None for a hint)."""


class SimulationFailure(AssertionError):
    """An invariant broke or a condition was not reached; the message carries the seed."""


@dataclass(slots=True)
class Packet:
    """One message (or frame) on its way from ``src`` to ``dst``."""

    src: SimNode
    dst: SimNode
    payload: Message | bytes
    cluster: str
    sent_ns: int
    loopback: bool = False


class SimNode:
    """One simulated member: a name, a layer factory (to restart it), and its current stack."""

    def __init__(
        self, network: SimNetwork, name: str, index: int, factory: Callable[[], Sequence[Layer]],
        io_handlers: Mapping[type[IoCommand], SimIoHandler] | None = None,
    ) -> None:
        self.network = network
        self.io_handlers: dict[type[IoCommand], SimIoHandler] = dict(io_handlers or {})
        """This node's fakes for I/O requests, before the network's (`SimNetwork.io_handlers`)."""
        self.name = name
        self.index = index
        self.factory = factory
        self.incarnation = 0
        self.alive = True
        self.paused_until = 0
        self.partition = 0
        self.cluster: str | None = None
        self.events: list[AppEvent] = []
        self._sorted_events: list[AppEvent] = self.events
        self._sorted_upto = 0
        self._msgs: list[Message] = []
        self._views: list[View] = []
        self.stack, self.transport = self._build()

    def _build(self) -> tuple[ProtocolStack, SimTransport]:
        layers = list(self.factory())
        transport = layers[0] if layers else None
        if not isinstance(transport, SimTransport):
            raise LocalProtocolError(f"node {self.name}: the bottom layer must be a SimTransport")
        transport.codec = self.network.codec
        transport.registry = self.network.registry
        transport.owner = self
        transport.physical_addr = IpAddress(f"10.0.{self.index // 250}.{self.index % 250 + 1}", 7800)
        rng = random.Random(f"{self.network.seed}/{self.name}/{self.incarnation}")
        return ProtocolStack(layers, clock=self.network.clock, rng=rng), transport

    @property
    def addr(self) -> Address | None:
        return self.stack.local_addr

    def messages(self) -> list[Message]:
        """Messages delivered to the application by this incarnation, in order."""
        return list(self._sorted()[0])

    def views(self) -> list[View]:
        return list(self._sorted()[1])

    def last_view(self) -> View | None:
        """The view installed last by this incarnation (cheap: predicates poll it after every step)."""
        views = self._sorted()[1]
        return views[-1] if views else None

    def _sorted(self) -> tuple[list[Message], list[View]]:
        """`events` split by kind, kept up to date incrementally: the predicates `run_until` polls after every
        step read them, and rebuilding them each time made long simulations quadratic."""
        events = self.events
        if events is not self._sorted_events or len(events) < self._sorted_upto:  # replaced (restart) or cut
            self._sorted_events, self._sorted_upto, self._msgs, self._views = events, 0, [], []
        for e in events[self._sorted_upto:]:
            if isinstance(e, Received):
                self._msgs.append(e.msg)
            elif isinstance(e, ViewInstalled):
                self._views.append(e.view)
        self._sorted_upto = len(events)
        return self._msgs, self._views

    def connect(self, cluster: str) -> None:
        self.cluster = cluster
        self.network.call(self, lambda: self.stack.connect(cluster, name=self.name))

    def disconnect(self) -> None:
        self.cluster = None
        self.network.call(self, self.stack.disconnect)

    def send(self, msg: Message) -> None:
        self.network.call(self, self.stack.send, msg)

    def __repr__(self) -> str:
        state = "alive" if self.alive else "crashed"
        return f"<SimNode {self.name}#{self.incarnation} {state} {self.addr}>"


class SimNetwork:
    """N stacks, one clock, a delivery heap ordered by (time, seq), seeded faults.

    ``latency_ns`` is the (min, max) one-way delay; ``loss``/``duplicate`` are per-packet
    probabilities; with probability ``reorder`` a packet is held back up to ``reorder_delay_ns``
    more, so later packets overtake it. Loopback (a node sending to itself) bypasses all of it.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        latency_ns: tuple[int, int] = (MS, MS),
        loss: float = 0.0,
        duplicate: float = 0.0,
        reorder: float = 0.0,
        reorder_delay_ns: int = 10 * MS,
        codec: Codec | None = None,
        trace: bool = False,
        io_handlers: Mapping[type[IoCommand], SimIoHandler] | None = None,
        advertise_physical: bool = False,
    ) -> None:
        env = os.environ.get(SEED_ENV)
        self.seed = int(env, 0) if env else seed
        self.rng = random.Random(self.seed)
        self.clock = ManualClock()
        self.latency_ns = latency_ns
        self.loss, self.duplicate, self.reorder = loss, duplicate, reorder
        self.reorder_delay_ns = reorder_delay_ns
        self.codec = codec
        self.nodes: list[SimNode] = []
        self.stats: Counter[str] = Counter()
        self.trace: list[tuple[int, str, str, str, str]] | None = [] if trace else None
        self.route: Callable[[Packet], None] = self.default_route
        self.io_handler: Callable[[SimNode, IoCommand], None] = self._unhandled_io
        self.io_handlers: dict[type[IoCommand], SimIoHandler] = dict(io_handlers or {})
        """Fakes answering typed I/O requests by type (``{ListPods: fake_api, ResolveDns: fake_dns}``) for
        every node; a node's own (`add_node`) come first. An `IoHint` without one is dropped."""
        self.call_latency_ns = latency_ns[1]
        """How long such a request (a fake Kubernetes API, a fake resolver) takes in simulated time."""
        self._heap: list[tuple[int, int, Packet, int]] = []
        self._results: list[tuple[int, int, SimNode, IoResult, int]] = []
        self._seq = 0
        self._invariants: list[Callable[[SimNetwork], None]] = []
        self.registry = LoopbackRegistry()
        self.registry.visible = self._visible
        self.registry.advertise_physical = advertise_physical
        self.streams = SimStreams(self)
        """Stream connections of layers with their own sockets (`Listen`, `OpenConnection`, ...)."""

    def _visible(self, asker: SimTransport, other: SimTransport) -> bool:
        """A registry entry counts while its node runs this transport and shares the asker's partition."""
        node, me = other.owner, asker.owner
        if not isinstance(node, SimNode) or not node.alive or node.transport is not other:
            return False
        return not isinstance(me, SimNode) or me is node or me.partition == node.partition

    # --- building -------------------------------------------------------------------------------------

    def add_node(self, name: str, factory: Callable[[], Sequence[Layer]] | None = None, *,
                 stack: str | None = None, variables: Mapping[str, str] | None = None,
                 io_handlers: Mapping[type[IoCommand], SimIoHandler] | None = None) -> SimNode:
        """Add a node whose layers (bottom first, a `SimTransport` at index 0) come from ``factory``,
        or from the stock or file stack ``stack`` (e.g. ``"sim-core.xml"``, see `stack_factory`);
        ``io_handlers`` are its own fakes for I/O requests (see `io_handlers`)."""
        if any(n.name == name for n in self.nodes):
            raise LocalProtocolError(f"duplicate node name {name!r}")
        if (factory is None) == (stack is None):
            raise LocalProtocolError("add_node needs exactly one of factory and stack")
        if factory is None:
            assert stack is not None
            factory = stack_factory(stack, variables)
        node = SimNode(self, name, len(self.nodes), factory, io_handlers)
        self.nodes.append(node)
        return node

    def node(self, name: str) -> SimNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def add_invariant(self, check: Callable[[SimNetwork], None]) -> None:
        """``check(network)`` runs after every delivery and timer step; it raises to fail."""
        self._invariants.append(check)

    @property
    def now_ns(self) -> int:
        return self.clock.now_ns()

    # --- faults ---------------------------------------------------------------------------------------

    def partition(self, *groups: Iterable[SimNode]) -> None:
        """Split into ``groups``; nodes named in no group are each isolated on their own."""
        for n in self.nodes:
            n.partition = -1 - n.index
        for i, group in enumerate(groups, start=1):
            for n in group:
                n.partition = i
        self._trace("partition", "-", "-", " | ".join(",".join(n.name for n in g) for g in groups))

    def heal(self) -> None:
        for n in self.nodes:
            n.partition = 0
        self._trace("heal", "-", "-", "")

    def pause(self, node: SimNode, ns: int) -> None:
        """Freeze ``node`` for ``ns`` (a GC pause): no timers fire, arriving packets wait."""
        node.paused_until = self.now_ns + ns
        self._trace("pause", node.name, "-", str(ns))

    def resume(self, node: SimNode) -> None:
        """End ``node``'s pause now (SIGCONT): the packets that waited for it are delivered from now on, in order."""
        if node.paused_until <= self.now_ns:
            return
        node.paused_until = self.now_ns
        self._heap = [(min(t, self.now_ns) if p.dst is node else t, seq, p, inc) for t, seq, p, inc in self._heap]
        heapq.heapify(self._heap)
        self.streams.resume(node)
        self._trace("resume", node.name, "-", "")

    def crash(self, node: SimNode) -> None:
        """Stop ``node`` dead: no stop(), no goodbye; packets to it are lost from now on."""
        node.alive = False
        self.streams.crash(node)
        self._trace("crash", node.name, "-", "")

    def restart(self, node: SimNode, *, connect: bool = True) -> None:
        """Replace ``node``'s stack with fresh layers (a new process); reconnect to its last cluster."""
        self.streams.crash(node)  # the old process's sockets die with it (a no-op after crash())
        node.incarnation += 1
        node.alive, node.paused_until, node.events = True, 0, []
        node.stack, node.transport = node._build()
        self._trace("restart", node.name, "-", str(node.incarnation))
        if connect and node.cluster is not None:
            node.connect(node.cluster)

    # --- routing --------------------------------------------------------------------------------------

    def default_route(self, packet: Packet) -> None:
        """Loss, then latency (plus reordering), then maybe a duplicate with its own latency."""
        if self.loss and self.rng.random() < self.loss:
            self.stats["lost"] += 1
            self._trace("lost", packet.src.name, packet.dst.name, packet.payload)
            return
        self.deliver_later(packet, self._latency())
        if self.duplicate and self.rng.random() < self.duplicate:
            self.stats["duplicated"] += 1
            self.deliver_later(packet, self._latency())

    def deliver_later(self, packet: Packet, delay_ns: int) -> None:
        """Schedule ``packet`` to arrive ``delay_ns`` from now (for custom routes)."""
        heapq.heappush(self._heap, (self.now_ns + delay_ns, self._seq, packet, packet.dst.incarnation))
        self._seq += 1

    def latency(self) -> int:
        """One draw of the link latency, without reordering (streams keep their order)."""
        lo, hi = self.latency_ns
        return self.rng.randint(lo, hi) if hi > lo else lo

    @property
    def seq(self) -> int:
        return self._seq

    def bump_seq(self) -> None:
        """Advance the tie-breaker shared by everything scheduled (for `SimStreams`)."""
        self._seq += 1

    def answer_later(self, node: SimNode, result: IoResult) -> None:
        """Answer an I/O request of ``node`` after ``call_latency_ns`` (as the fakes' answers)."""
        self._seq += 1
        heapq.heappush(self._results, (self.now_ns + self.call_latency_ns, self._seq, node, result, node.incarnation))

    def _latency(self) -> int:
        lo, hi = self.latency_ns
        delay = self.rng.randint(lo, hi) if hi > lo else lo
        if self.reorder and self.rng.random() < self.reorder:
            self.stats["held_back"] += 1
            delay += self.rng.randint(1, self.reorder_delay_ns)
        return delay

    def _send(self, node: SimNode, cmd: SimSend, cluster: str | None) -> None:
        if cluster is None:
            self.stats["not_connected"] += 1
            return
        dest = cmd.dest  # an IpAddress dest (TCPPING's requests) goes to the node with that physical address
        targets = [
            n
            for n in self.nodes
            if n.alive and n.stack.cluster == cluster
            and (dest is None or n.addr == dest or (isinstance(dest, IpAddress) and n.transport.physical_addr == dest))
        ]
        if not targets:
            self.stats["unroutable"] += 1
        for dst in targets:
            packet = Packet(node, dst, cmd.payload, cluster, self.now_ns, loopback=dst is node)
            if packet.loopback:
                if cmd.loopback:
                    self.stats["loopback"] += 1
                    self.deliver_later(packet, 0)
            else:
                self.stats["sent"] += 1
                self.route(packet)

    def _deliver(self, packet: Packet, incarnation: int) -> None:
        dst = packet.dst
        what = packet.payload
        if not dst.alive or dst.incarnation != incarnation:
            self.stats["dropped_crashed"] += 1
            self._trace("dropped_crashed", packet.src.name, dst.name, what)
        elif dst.paused_until > self.now_ns:
            self.stats["deferred_paused"] += 1
            heapq.heappush(self._heap, (dst.paused_until, self._seq, packet, incarnation))
            self._seq += 1
        elif packet.src.partition != dst.partition and not packet.loopback:
            self.stats["dropped_partition"] += 1
            self._trace("dropped_partition", packet.src.name, dst.name, what)
        elif dst.stack.cluster != packet.cluster:
            self.stats["dropped_cluster"] += 1
        else:
            self.stats["delivered"] += 1
            self._trace("deliver", packet.src.name, dst.name, what)
            payload = packet.payload.copy() if isinstance(packet.payload, Message) else packet.payload
            self.call(dst, dst.stack.run_input, dst.transport.receive, payload)

    # --- running --------------------------------------------------------------------------------------

    def call(self, node: SimNode, fn: Callable[..., object], *args: object) -> None:
        """Run a stack input of ``node``, then route its I/O and collect its application events."""
        if not node.alive:
            raise LocalProtocolError(f"node {node.name} has crashed; restart() it first")
        try:
            cluster = node.stack.cluster
            fn(*args)
            # what a disconnect sends on its way out (LEAVE_REQ) still leaves, as a driver would write it
            cluster = node.stack.cluster or cluster
            for cmd in node.stack.take_io():
                if isinstance(cmd, SimSend):
                    self._send(node, cmd, cluster)
                elif self.streams.handles(node, cmd):
                    self.streams.execute(node, cmd)
                elif (handler := self._io_handler_for(node, cmd)) is not None:
                    self._run_io_handler(node, cmd, handler)
                elif not isinstance(cmd, IoHint):  # a hint nobody handles is dropped, as the driver drops it
                    self.io_handler(node, cmd)
            node.events.extend(node.stack.take_events())
        except Exception as e:
            note = f"{SEED_ENV}={self.seed} (simulated time {self.now_ns} ns, node {node.name})"
            if note not in getattr(e, "__notes__", ()):
                e.add_note(note)
            raise

    def _io_handler_for(self, node: SimNode, cmd: IoCommand) -> SimIoHandler | None:
        """The node's fake for ``cmd``'s type (or a base class), else the network's."""
        for table in (node.io_handlers, self.io_handlers):
            for kind in type(cmd).__mro__:
                if (handler := table.get(kind)) is not None:
                    return handler
        return None

    def _run_io_handler(self, node: SimNode, cmd: IoCommand, handler: SimIoHandler) -> None:
        """Run the fake now (no real I/O) and answer a request ``call_latency_ns`` later; an exception
        becomes `IoFailed`, as in the asyncio driver."""
        try:
            result = handler(cmd)
        except Exception as e:
            if not isinstance(cmd, IoRequest):
                return
            result = cmd.failed(e)
        if not isinstance(cmd, IoRequest):
            return
        if not isinstance(result, IoResult):
            result = cmd.failed(TypeError(f"the handler returned {result!r}, not an IoResult"))
        self._seq += 1
        heapq.heappush(self._results, (self.now_ns + self.call_latency_ns, self._seq, node, result, node.incarnation))

    def step(self, limit_ns: int | None = None) -> bool:
        """Process the next delivery or the due timers; False when nothing happens up to ``limit_ns``."""
        t = self._heap[0][0] if self._heap else None
        if self._results and (t is None or self._results[0][0] < t):
            t = self._results[0][0]
        s = self.streams.next_ns()
        if s is not None and (t is None or s < t):
            t = s
        for n in self.nodes:
            d = n.stack.next_deadline_ns() if n.alive else None
            if d is not None:
                d = max(d, n.paused_until)
                t = d if t is None else min(t, d)
        if t is None or (limit_ns is not None and t > limit_ns):
            return False
        self.clock.set(max(t, self.now_ns))
        now = self.now_ns
        if self._results and self._results[0][0] <= now:
            _, _, node, result, incarnation = heapq.heappop(self._results)
            if node.alive and node.incarnation == incarnation:
                self.call(node, node.stack.on_io_result, result)
        elif self._heap and self._heap[0][0] <= now:
            _, _, packet, incarnation = heapq.heappop(self._heap)
            self._deliver(packet, incarnation)
        elif s is not None and s <= now:
            self.streams.run_next()
        else:
            for n in self.nodes:
                d = n.stack.next_deadline_ns() if n.alive and n.paused_until <= now else None
                if d is not None and d <= now:
                    self.call(n, n.stack.handle_timers)
        self._check_invariants()
        return True

    def run_until(self, predicate: Callable[[], bool], max_ns: int, *, what: str = "condition") -> int:
        """Run until ``predicate()`` holds; returns the simulated ns it took. Raises `SimulationFailure`
        (with the seed) if it does not hold within ``max_ns`` or nothing is left to happen."""
        start = self.now_ns
        limit = start + max_ns
        while not predicate():
            if not self.step(limit):
                idle = "the network went quiet" if self.now_ns < limit else f"{max_ns} ns passed"
                self.clock.set(max(limit, self.now_ns))
                raise SimulationFailure(f"{SEED_ENV}={self.seed}: {what} not reached, {idle}")
        return self.now_ns - start

    def run_for(self, ns: int) -> None:
        """Run everything due in the next ``ns``, then set the clock to exactly that time."""
        limit = self.now_ns + ns
        while self.step(limit):
            pass
        self.clock.set(limit)

    def _check_invariants(self) -> None:
        for check in self._invariants:
            try:
                check(self)
            except Exception as e:
                name = getattr(check, "__name__", repr(check))
                raise SimulationFailure(
                    f"{SEED_ENV}={self.seed}: invariant {name} violated at {self.now_ns} ns: {e}"
                ) from e

    def _trace(self, kind: str, src: str, dst: str, what: Message | bytes | str) -> None:
        if self.trace is not None:
            text = what if isinstance(what, str) else what.hex() if isinstance(what, bytes) else repr(what)
            self.trace.append((self.now_ns, kind, src, dst, text))

    def _unhandled_io(self, node: SimNode, cmd: IoCommand) -> None:
        raise LocalProtocolError(f"the simulator cannot execute {cmd!r} from {node.name}; set io_handler")
