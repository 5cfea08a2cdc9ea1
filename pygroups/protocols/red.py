"""RED (org.jgroups.protocols.RED): Random Early Drop of sent messages when the send queue fills up.

Mirrors RED 5.5.6 (Floyd and Jacobson's algorithm):

* on start, RED asks the transport for its send queue (`GetSendQueue`; Java: the bundler's
  ``getQueueSize()`` and ``getCapacity()``). Without a bounded queue RED disables itself, as Java
  does when the bundler answers -1 (Java's default PerDestinationBundler);
  ``min = capacity * min_threshold``, ``max = capacity * max_threshold``;
* for every message sent down, except those flagged DONT_BLOCK (the stack's own: GMS, credits,
  heartbeats ...), the average queue size is updated, ``avg = avg * (1 - w) + current * w`` with
  ``w = 2^-weight_factor``, and the message is dropped if ``avg >= max``, kept if ``avg <= min``,
  and dropped with probability ``(avg - min) / (max - min)`` in between (drawn from the stack's
  seeded rng). A dropped message is simply not sent: NAKACK2/UNICAST3 above retransmit it, which
  is why RED sits below them.

**What "queue" means in pygroups.** Java's bundler queue holds messages not yet written to a
socket. pygroups' transport bundles within one stack input, so the queue that really fills up is
the driver's: bytes handed to a socket that the kernel has not taken yet. The transport answers
`GetSendQueue` with that (``size`` = bytes not yet written, ``capacity`` = the driver's write
high-water mark, the level at which the channel's ``send`` starts waiting), or None when its driver
reports no queue (the simulator, the test harness): RED is then disabled, as with Java's default bundler.

`statistics()`: ``dropped_msgs``, ``total_msgs``, ``drop_rate``, ``avg_queue_size``,
``queue_capacity``, ``enabled`` (Java's managed attributes).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pygroups.errors import ConfigError
from pygroups.events import GetSendQueue
from pygroups.message import Message, TransientFlag
from pygroups.stack.layer import Layer
from pygroups.stack.properties import Bool, Float, prop
from pygroups.stack.registry import protocol


@protocol("RED")
class RED(Layer):
    """Random early drop on the send path (see the module docstring)."""

    name = "RED"

    enabled: bool = prop(Bool, True, "If false, all messages are passed down. Will be set to false if the "
                                     "bundler returns a queue size of -1")
    min_threshold: float = prop(Float, 0.5, "The min threshold (percentage between 0 and 1.0) below which no "
                                            "message is dropped")
    max_threshold: float = prop(Float, 1.0, "The max threshold (percentage between min_threshold and 1.0) above "
                                            "which all messages are dropped")
    weight_factor: float = prop(Float, 1.0, "The weight used to compute the average queue size: the higher, the "
                                            "less the current queue size counts (2^-weight_factor)")

    def __init__(self) -> None:
        super().__init__()
        self.queue_capacity = 0
        self.min = 0
        self.max = 0
        self.span = 0
        self.weight = 0.5
        self.avg_queue_size = 0.0
        self.dropped_msgs = 0
        self.total_msgs = 0

    def validate(self) -> None:
        _check_range(self.min_threshold, "min_threshold")
        _check_range(self.max_threshold, "max_threshold")

    def start(self) -> None:
        queue = self.down_layer.query_down(GetSendQueue())
        self.enabled = self.enabled and queue is not None and queue.size >= 0
        if queue is not None and self.enabled:
            self.queue_capacity = queue.capacity
            self.min = int(self.queue_capacity * _check_range(self.min_threshold, "min_threshold"))
            self.max = int(self.queue_capacity * _check_range(self.max_threshold, "max_threshold"))
            self.span = self.max - self.min
            self.weight = 2.0 ** -self.weight_factor

    def down_msg(self, msg: Message) -> None:
        if msg.transient_flags & TransientFlag.DONT_BLOCK or not self.enabled:
            self.down_layer.down_msg(msg)
            return
        queue = self.down_layer.query_down(GetSendQueue())
        if queue is not None:
            self.avg_queue_size = self.avg_queue_size * (1 - self.weight) + queue.size * self.weight
            avg = self.avg_queue_size
            self.total_msgs += 1
            # keep if avg <= min, drop if avg >= max, else drop with probability p
            if avg > self.min and (avg >= self.max or self.rng.random() < self._drop_probability(avg)):
                self.dropped_msgs += 1
                return
        self.down_layer.down_msg(msg)

    def _drop_probability(self, avg: float) -> float:
        """RED.computeDropProbability: rises linearly from 0 at min to 1 at max."""
        return min(1.0, (avg - self.min) / self.span) if self.span > 0 else 1.0

    @property
    def drop_rate(self) -> float:
        return self.dropped_msgs / self.total_msgs if self.total_msgs else 0.0

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats.update(dropped_msgs=self.dropped_msgs, total_msgs=self.total_msgs, drop_rate=self.drop_rate,
                     avg_queue_size=self.avg_queue_size, queue_capacity=self.queue_capacity,
                     enabled=int(self.enabled))
        return MappingProxyType(stats)


def _check_range(val: float, name: str) -> float:
    if not 0.0 <= val <= 1.0:
        raise ConfigError(f"{name} ({val:.2f}) needs to be in range [0.00..1.00]")
    return val


__all__ = ["RED"]
