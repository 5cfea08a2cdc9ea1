"""The simulator answers typed I/O requests with the fakes a test gives it (per network or per node), in
simulated time and deterministically, as the asyncio driver answers them with real clients."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from pygroups.message import Message
from pygroups.stack.io import IoFailed, IoHint, IoRequest, IoResult
from pygroups.stack.layer import Layer
from pygroups.testing.sim import MS, SimNetwork, SimTransport


@dataclass(frozen=True, slots=True)
class Ask(IoRequest):
    question: str
    what: ClassVar[str] = "ask"


@dataclass(frozen=True, slots=True)
class Told(IoResult):
    answer: str


@dataclass(frozen=True, slots=True)
class Prepare(IoHint):
    pass


class Asker(Layer):
    """Emits an `Ask` (and a `Prepare` hint) per message sent; records the answers with their arrival time."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[tuple[int, IoResult]] = []

    def down_msg(self, msg: Message) -> None:
        self.emit(Prepare())
        self.emit(Ask(self.stack.new_request_id(), "who?"))

    def on_io_result(self, result: IoResult) -> None:
        self.answers.append((self.now_ns(), result))


def test_network_and_node_fakes_answer_after_the_call_latency() -> None:
    net = SimNetwork(3, latency_ns=(MS, 2 * MS), io_handlers={Ask: lambda req: Told(req.request_id, "network")})
    a = net.add_node("a", lambda: [SimTransport(), Asker()])
    b = net.add_node("b", lambda: [SimTransport(), Asker()],
                     io_handlers={Ask: lambda req: Told(req.request_id, f"node b: {req.question}")})
    for n in (a, b):
        n.connect("sim")
        n.send(Message())
    net.run_for(10 * MS)
    (ta, ra), (tb, rb) = a.stack.find(Asker).answers[0], b.stack.find(Asker).answers[0]
    assert isinstance(ra, Told) and ra.answer == "network" and ta == net.call_latency_ns
    assert isinstance(rb, Told) and rb.answer == "node b: who?" and tb == net.call_latency_ns


def test_a_raising_fake_is_io_failed_and_an_unhandled_hint_is_dropped() -> None:
    def broken(req: Ask) -> Told:
        raise RuntimeError("no such host")

    net = SimNetwork(1, io_handlers={Ask: broken})
    a = net.add_node("a", lambda: [SimTransport(), Asker()])
    a.connect("sim")
    a.send(Message())  # the Prepare hint has no fake: dropped, not "cannot execute"
    net.run_for(10 * MS)
    ((_, result),) = a.stack.find(Asker).answers
    assert isinstance(result, IoFailed) and result.error == "ask failed: RuntimeError('no such host')"


def test_an_unhandled_request_still_needs_an_io_handler() -> None:
    net = SimNetwork(1)
    a = net.add_node("a", lambda: [SimTransport(), Asker()])
    a.connect("sim")
    with pytest.raises(Exception, match="cannot execute"):
        a.send(Message())
