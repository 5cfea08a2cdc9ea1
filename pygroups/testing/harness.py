"""`LayerHarness`: one layer between a recording fake transport and a recording top, in virtual time.

This is JGroups' MockTransport + protocol + MockProtocol sandwich (NAKACK_RetransmissionTest) with
a `ManualClock`: tests inject messages from below with `receive()`, send from above with
`send()`, fire timers with `advance()`, and read what came out with `take_down()` / `take_up()`.
`HarnessPair` wires two harnesses back to back (h11's ConnectionPair) for two-party exchanges;
`HarnessNet` joins any number over a seeded lossy wire.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import ManualClock
from pygroups.events import (
    AddPhysicalAddress,
    Event,
    GetLocalAddress,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
)
from pygroups.message import Message, TransientFlag
from pygroups.stack.layer import Layer, TransportLayer, answers
from pygroups.stack.stack import ProtocolStack
from pygroups.wire.codec import decode_message, encode_message


class FakeTransport(TransportLayer):
    """Records what reaches the bottom and answers the transport's address queries."""

    name = "FAKE_TRANSPORT"

    def __init__(self) -> None:
        super().__init__()
        self.down_msgs: list[Message] = []
        self.down_events: list[Event] = []
        self.physical_addrs: dict[Address, IpAddress] = {}

    def down(self, evt: Event) -> None:
        match evt:
            case AddPhysicalAddress(addr=addr, physical=physical):
                self.physical_addrs[addr] = physical
            case _:
                pass
        self.down_events.append(evt)

    def down_msg(self, msg: Message) -> None:
        if msg.src is None:
            msg.src = self.local_addr  # as TP does
        self.down_msgs.append(msg)

    def inject_up(self, msg: Message) -> None:
        self.up_msg(msg)

    def inject_event(self, evt: Event) -> None:
        self.up(evt)

    @answers(GetLocalAddress)
    def answer_local_address(self, q: GetLocalAddress) -> Address | None:
        return self.local_addr

    @answers(GetPhysicalAddress)
    def answer_physical_address(self, q: GetPhysicalAddress) -> IpAddress | None:
        return self.physical_addrs.get(q.addr)

    @answers(GetLogicalPhysicalMappings)
    def answer_mappings(self, q: GetLogicalPhysicalMappings) -> Mapping[Address, IpAddress]:
        return dict(self.physical_addrs)


class RecordingTop(Layer):
    """Records what reaches the top instead of handing it to the application."""

    name = "RECORDING_TOP"

    def __init__(self) -> None:
        super().__init__()
        self.up_msgs: list[Message] = []
        self.up_events: list[Event] = []

    def up(self, evt: Event) -> None:
        self.up_events.append(evt)

    def up_msg(self, msg: Message) -> None:
        self.up_msgs.append(msg)


class LayerHarness:
    """``layer`` (plus optional helpers ``below``/``above`` it) between `FakeTransport` and `RecordingTop`.

    With ``cluster`` set (the default), the stack is connected at once, so the layer has been
    started and has seen SetLocalAddress and Connect, as in a real stack.
    """

    def __init__(
        self,
        layer: Layer,
        *,
        below: Sequence[Layer] = (),
        above: Sequence[Layer] = (),
        local_addr: Address | None = None,
        cluster: str | None = "test",
        seed: int = 0,
        clock: ManualClock | None = None,
    ) -> None:
        self.layer = layer
        self.clock = clock if clock is not None else ManualClock()
        self.bottom = FakeTransport()
        self.top = RecordingTop()
        rng = random.Random(seed)
        self.stack = ProtocolStack([self.bottom, *below, layer, *above, self.top], clock=self.clock, rng=rng)
        self._local_addr = local_addr if local_addr is not None else UUID.random(rng)
        if cluster is not None:
            self.connect(cluster)

    @property
    def local_addr(self) -> Address:
        return self.stack.local_addr if self.stack.local_addr is not None else self._local_addr

    def connect(self, cluster: str = "test") -> None:
        self.stack.connect(cluster, local_addr=self._local_addr)

    # --- drive ----------------------------------------------------------------------------------------

    def send(self, msg: Message) -> None:
        """Send ``msg`` down from above the layer."""
        self.stack.send(msg)

    def down(self, evt: Event) -> None:
        """Pass ``evt`` down from above the layer."""
        self.stack.run_input(self.top.down, evt)

    def receive(self, msg: Message) -> None:
        """Inject ``msg`` from below, as if the transport had received it."""
        self.stack.run_input(self.bottom.inject_up, msg)

    def up(self, evt: Event) -> None:
        """Inject ``evt`` from below."""
        self.stack.run_input(self.bottom.inject_event, evt)

    def advance(self, ns: int) -> None:
        """Move the clock forward by ``ns`` and fire the timers that became due."""
        self.clock.advance(ns)
        self.stack.handle_timers()

    def advance_to_next_timer(self) -> int | None:
        """Jump to the next timer deadline and fire it; returns that deadline (None if none)."""
        deadline = self.stack.next_deadline_ns()
        if deadline is not None:
            self.clock.set(max(deadline, self.clock.now_ns()))
            self.stack.handle_timers()
        return deadline

    # --- observe --------------------------------------------------------------------------------------

    def take_down(self) -> list[Message]:
        """Messages that reached the fake transport since the last call."""
        out, self.bottom.down_msgs = self.bottom.down_msgs, []
        return out

    def take_down_events(self) -> list[Event]:
        out, self.bottom.down_events = self.bottom.down_events, []
        return out

    def take_up(self) -> list[Message]:
        """Messages that reached the top since the last call."""
        out, self.top.up_msgs = self.top.up_msgs, []
        return out

    def take_up_events(self) -> list[Event]:
        out, self.top.up_events = self.top.up_events, []
        return out


class HarnessPair:
    """Two harnesses on one clock whose fake transports are connected back to back."""

    def __init__(self, a: Layer, b: Layer, *, seed: int = 0, cluster: str | None = "test") -> None:
        self.clock = ManualClock()
        self.a = LayerHarness(a, clock=self.clock, seed=seed, cluster=cluster)
        self.b = LayerHarness(b, clock=self.clock, seed=seed + 1, cluster=cluster)

    def exchange(self, *, max_rounds: int = 1000) -> int:
        """Deliver what each side sent to the other until both are quiet; returns the number delivered.

        A message goes to the other side if its dest is None or the other side's address; anything
        else is dropped (it has nowhere to go in a two-party world).
        """
        delivered = 0
        for _ in range(max_rounds):
            moved = self._move(self.a, self.b) + self._move(self.b, self.a)
            if not moved:
                return delivered
            delivered += moved
        raise RuntimeError(f"HarnessPair still exchanging after {max_rounds} rounds")

    def advance(self, ns: int) -> None:
        """Advance the shared clock and fire both sides' due timers (a first, then b)."""
        self.clock.advance(ns)
        self.a.stack.handle_timers()
        self.b.stack.handle_timers()

    @staticmethod
    def _move(src: LayerHarness, dst: LayerHarness) -> int:
        moved = 0
        for msg in src.take_down():
            if msg.dest is None or msg.dest == dst.local_addr:
                dst.receive(msg.copy())
                moved += 1
        return moved


class HarnessNet:
    """A small lossy network of `LayerHarness` stacks on one clock (N parties; `HarnessPair` is two).

    Like TP, multicasts (and unicasts to self) are looped back to the sender as the same object,
    unless DONT_LOOPBACK is set; everything else crosses a "wire" (encode/decode, so transient flags
    and object identity are lost) where seeded loss, duplication and reordering apply.
    """

    def __init__(self, *, seed: int = 0, loss: float = 0.0, dup: float = 0.0, reorder: bool = False) -> None:
        self.clock = ManualClock()
        self.rng = random.Random(seed)
        self.loss, self.dup, self.reorder = loss, dup, reorder
        self.nodes: dict[Address, LayerHarness] = {}
        self.sent: list[tuple[Address, Message]] = []  # every message that left a node, with its sender

    def add(self, addr: Address, layer: Layer, *, below: Sequence[Layer] = (), seed: int = 0) -> LayerHarness:
        h = LayerHarness(layer, below=below, local_addr=addr, clock=self.clock, seed=seed)
        self.nodes[addr] = h
        h.advance(0)  # fire timers scheduled at start for "now"
        return h

    def route(self, max_rounds: int = 100) -> int:
        """Move messages until no node sends anything; returns how many were moved."""
        moved = 0
        for _ in range(max_rounds):
            loop: list[tuple[Address, Message]] = []
            wire: list[tuple[Address, Message]] = []
            for addr, h in self.nodes.items():
                for msg in h.take_down():
                    self.sent.append((addr, msg))
                    to_self = msg.dest is None or msg.dest == addr
                    if to_self and not msg.transient_flags & TransientFlag.DONT_LOOPBACK:
                        loop.append((addr, msg))
                    targets = [a for a in self.nodes if a != addr] if msg.dest is None else [msg.dest]
                    for dst in targets:
                        if dst == addr or dst not in self.nodes:
                            continue
                        if self.rng.random() < self.loss:
                            continue
                        copies = 2 if self.rng.random() < self.dup else 1
                        for _ in range(copies):
                            wire.append((dst, decode_message(encode_message(msg))))
            if not loop and not wire:
                return moved
            if self.reorder:
                self.rng.shuffle(wire)
            for dst, msg in loop + wire:
                self.nodes[dst].receive(msg)
            moved += len(loop) + len(wire)
        raise RuntimeError("network still busy")

    def advance(self, ns: int) -> None:
        """Advance the shared clock, firing every node's due timers, then route."""
        self.clock.advance(ns)
        for h in self.nodes.values():
            h.stack.handle_timers()
        self.route()
