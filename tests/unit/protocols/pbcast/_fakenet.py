"""A tiny lossy network of LayerHarness stacks on one clock, for NAKACK2/STABLE tests.

Like TP, multicasts (and unicasts to self) are looped back to the sender as the same object,
unless DONT_LOOPBACK is set; everything else crosses a "wire" (encode/decode, so transient flags
and object identity are lost) where seeded loss, duplication and reordering apply.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pygroups.address import Address
from pygroups.clock import ManualClock
from pygroups.message import Message, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.testing.harness import LayerHarness
from pygroups.wire.codec import decode_message, encode_message

MS = 1_000_000


class FakeNet:
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
