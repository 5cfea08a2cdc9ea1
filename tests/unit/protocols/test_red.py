"""RED: drop decisions from the transport's send queue, DONT_BLOCK exempt, disabled without a queue."""

from __future__ import annotations

import pytest

from pygroups.errors import ConfigError
from pygroups.events import GetSendQueue, SendQueue
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.protocols.red import RED
from pygroups.stack.layer import Layer, answers
from pygroups.testing.harness import LayerHarness


class QueueStub(Layer):
    """Answers GetSendQueue as a transport with a driver would."""

    name = "QUEUE_STUB"

    def __init__(self, queue: SendQueue | None) -> None:
        super().__init__()
        self.queue = queue

    @answers(GetSendQueue)
    def answer(self, q: GetSendQueue) -> SendQueue | None:
        return self.queue


def harness(queue: SendQueue | None, **props: float) -> tuple[LayerHarness, QueueStub]:
    red = RED()
    for k, v in props.items():
        setattr(red, k, v)
    stub = QueueStub(queue)
    return LayerHarness(red, below=[stub]), stub


def send(h: LayerHarness, n: int, *, transient: int = 0) -> int:
    for _ in range(n):
        h.send(Message(MsgType.BYTES, payload=b"x", transient_flags=transient))
    return len(h.take_down())


def test_without_a_send_queue_red_disables_itself_as_with_javas_default_bundler() -> None:
    h, _ = harness(None)
    assert not h.layer.enabled
    assert send(h, 10) == 10 and h.layer.total_msgs == 0


def test_below_min_nothing_is_dropped_above_max_everything() -> None:
    h, stub = harness(SendQueue(0, 1000))
    assert h.layer.enabled and (h.layer.min, h.layer.max) == (500, 1000)
    assert send(h, 10) == 10
    stub.queue = SendQueue(5000, 1000)
    assert send(h, 11) == 0  # the average (weight 2^-1) jumps to 2500 at once: above max
    assert h.layer.dropped_msgs == 11 and h.layer.total_msgs == 21


def test_dont_block_messages_are_never_dropped() -> None:
    h, _ = harness(SendQueue(10_000, 1000))
    assert send(h, 5, transient=TransientFlag.DONT_BLOCK) == 5
    assert h.layer.total_msgs == 0


def test_between_min_and_max_the_drop_probability_grows_linearly() -> None:
    h, _ = harness(SendQueue(750, 1000), weight_factor=30.0)  # the average barely moves: 2^-30
    h.layer.avg_queue_size = 750.0
    sent = send(h, 2000)
    assert 800 < sent < 1200  # p = (750 - 500) / 500 = 0.5
    assert h.layer.statistics()["drop_rate"] == pytest.approx(1 - sent / 2000)


def test_thresholds_out_of_range_are_config_errors() -> None:
    red = _with(RED(), min_threshold=1.5)
    with pytest.raises(ConfigError):
        red.validate()


def _with(red: RED, **props: float) -> RED:
    for k, v in props.items():
        setattr(red, k, v)
    return red
