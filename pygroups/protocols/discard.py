"""DISCARD: fault injection by dropping messages (org.jgroups.protocols.DISCARD).

``up``/``down`` are drop probabilities drawn from the stack's seeded ``rng``, so a loss test is
reproducible; ``discard_all`` cuts this member off (multicasts still loop back when
``excludeItself``); ``drop_down_unicasts``/``drop_down_multicasts`` drop the next N sends. Tests may
also ignore every message from chosen senders (Java's ``addIgnoreMember``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pygroups.events import Event, ViewChange
from pygroups.message import Message
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Float, Int, prop
from pygroups.stack.registry import protocol

if TYPE_CHECKING:
    from pygroups.address import Address


@protocol("DISCARD")
class DISCARD(Layer):
    """Drops up and down messages with configured probabilities; counts what it drops."""

    up_rate: float = prop(Float, 0.0, "Probability of dropping an up message", name="up")
    down_rate: float = prop(Float, 0.0, "Probability of dropping a down message", name="down")
    exclude_itself: bool = prop(Bool, True, "If discard_all is true, still sends messages to self",
                                name="excludeItself")
    discard_all: bool = prop(Bool, False, "Drops all messages (up or down) if true")
    drop_down_unicasts: int = prop(Int, 0, "Number of subsequent unicasts to drop in the down direction")
    drop_down_multicasts: int = prop(Int, 0, "Number of subsequent multicasts to drop in the down direction")

    def __init__(self) -> None:
        super().__init__()
        self.ignored_members: set[Address] = set()
        self.members: list[Address] = []

    @property
    def dropped_down_messages(self) -> int:
        return self.counters["dropped_down_messages"]

    @property
    def dropped_up_messages(self) -> int:
        return self.counters["dropped_up_messages"]

    def add_ignore_member(self, sender: Address) -> None:
        """Drop every message from ``sender`` from now on."""
        self.ignored_members.add(sender)

    def remove_ignored_member(self, sender: Address) -> None:
        self.ignored_members.discard(sender)

    def reset_ignored_members(self) -> None:
        self.ignored_members.clear()

    # --- down -----------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case ViewChange(view=view):
                self.members = list(view.members)
            case _:
                pass
        self.down_layer.down(evt)

    def down_msg(self, msg: Message) -> None:
        dest = msg.dest
        multicast = dest is None
        if msg.src is None:
            msg.src = self.local_addr
        if self.discard_all:
            if self.exclude_itself:
                if multicast:  # loop back to ourselves only, as Java does
                    self.stack.call_soon(self.up_layer.up_msg, msg)
                elif dest == self.local_addr:
                    self.down_layer.down_msg(msg)
            return
        if not multicast and self.drop_down_unicasts > 0:
            self.drop_down_unicasts -= 1
            return
        if multicast and self.drop_down_multicasts > 0:
            self.drop_down_multicasts -= 1
            return
        to_self = dest is not None and dest == self.local_addr
        if self.down_rate > 0 and self.rng.random() < self.down_rate and not (self.exclude_itself and to_self):
            self.counters["dropped_down_messages"] += 1
            return
        self.down_layer.down_msg(msg)

    # --- up -------------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        if not self._should_drop_up(msg.src):
            self.up_layer.up_msg(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        kept = [m for m in batch if not self._should_drop_up(m.src)]
        if kept:
            self.up_layer.up_batch(kept)

    def _should_drop_up(self, sender: Address | None) -> bool:
        from_self = sender is not None and sender == self.local_addr
        if self.discard_all and not from_self:
            return True
        if sender is not None and sender in self.ignored_members:
            self.counters["dropped_up_messages"] += 1
            return True
        if self.up_rate > 0 and self.rng.random() < self.up_rate and not (self.exclude_itself and from_self):
            self.counters["dropped_up_messages"] += 1
            return True
        return False


__all__ = ["DISCARD"]
