"""State transfer in the simulator (sim-state.xml: BARRIER, NAKACK2, UNICAST3, STABLE, GMS, STATE_TRANSFER).

Each node's application is a small layer on top: its state is the concatenation of the multicasts it
delivered (so a correct transfer leaves the joiner with exactly the provider's state, and every later
message exactly once), it answers `GetApplState` and installs `GetStateOk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from pygroups.clock import MS
from pygroups.events import ApplState, Event, GetApplState, GetState, GetStateOk
from pygroups.message import Message, MsgType
from pygroups.protocols.pbcast.state_transfer import STATE_TRANSFER
from pygroups.stack.layer import Layer, answers
from pygroups.testing.sim import SimNetwork, SimNode, stack_factory

S = 1000 * MS


class StateApp(Layer):
    """The application: a list of delivered payloads is its state."""

    name = "STATE_APP"

    def __init__(self) -> None:
        super().__init__()
        self.log_entries: list[bytes] = []
        self.blob = b""
        self.results: list[GetStateOk] = []

    def up_msg(self, msg: Message) -> None:
        if isinstance(msg.payload, bytes):
            self.log_entries.append(msg.payload)
        self.up_layer.up_msg(msg)

    def up(self, evt: Event) -> None:
        if isinstance(evt, GetStateOk):
            self.results.append(evt)
            if evt.state is not None:
                n = int.from_bytes(evt.state[:4], "big")
                self.log_entries = [evt.state[4 + 8 * i: 12 + 8 * i] for i in range(n)]
                self.blob = evt.state[4 + 8 * n:]
            return
        self.up_layer.up(evt)

    @answers(GetApplState, up=True)
    def answer_state(self, q: GetApplState) -> ApplState:
        return ApplState(len(self.log_entries).to_bytes(4, "big") + b"".join(self.log_entries) + self.blob)


def factory() -> Callable[[], Sequence[Layer]]:
    build = stack_factory("sim-state.xml")
    return lambda: [*build(), StateApp()]


def app(node: SimNode) -> StateApp:
    return node.stack.find(StateApp)


def formed(nodes: Sequence[SimNode]) -> Callable[[], bool]:
    def ok() -> bool:
        views = [n.views() for n in nodes]
        return all(v and len(v[-1].members) == len(nodes) and v[-1] == views[0][-1] for v in views)
    return ok


def send(net: SimNetwork, node: SimNode, payload: bytes) -> None:
    node.send(Message(MsgType.BYTES, payload=payload))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("blob_size", [1024, 10 * 1024 * 1024], ids=["1KB", "10MB"])
def test_a_joiner_gets_the_coordinators_state_and_then_every_message_once(seed: int, blob_size: int) -> None:
    net = SimNetwork(seed, loss=0.05 if blob_size <= 1024 else 0.0)
    a = net.add_node("A", factory())
    a.connect("c")
    net.run_until(formed([a]), 10 * S, what="A alone")
    app(a).blob = bytes(range(256)) * (blob_size // 256)
    for i in range(20):
        send(net, a, i.to_bytes(8, "big"))
    net.run_until(lambda: len(app(a).log_entries) == 20, 10 * S, what="A delivered its own messages")
    b = net.add_node("B", factory())
    b.connect("c")
    net.run_until(formed([a, b]), 20 * S, what="B joined")
    net.call(b, b.stack.run_input, app(b).down_layer.down, GetState())
    # messages sent while the state is on its way: B must end with each exactly once
    for i in range(20, 30):
        send(net, a, i.to_bytes(8, "big"))
    net.run_until(lambda: bool(app(b).results), 20 * S, what="B got the state")
    result = app(b).results[0]
    assert result.error is None and result.state is not None
    assert int.from_bytes(result.state[:4], "big") >= 20  # the state covers A's first 20 messages
    assert app(b).blob == app(a).blob
    net.run_until(lambda: len(app(b).log_entries) >= 30 and len(app(a).log_entries) == 30, 30 * S,
                  what="B caught up")
    net.run_for(5 * S)  # nothing delivered twice later either
    assert app(b).log_entries == app(a).log_entries == [i.to_bytes(8, "big") for i in range(30)]
    st = a.stack.find(STATE_TRANSFER).statistics()
    assert st["num_state_reqs"] == 1 and st["num_bytes_sent"] == len(result.state)


def test_the_coordinator_asks_nobody() -> None:
    net = SimNetwork(1)
    a = net.add_node("A", factory())
    a.connect("c")
    net.run_until(formed([a]), 10 * S, what="A alone")
    net.call(a, a.stack.run_input, app(a).down_layer.down, GetState())
    assert app(a).results == [GetStateOk()]


def test_the_provider_leaving_fails_the_transfer() -> None:
    net = SimNetwork(2)
    a, b, c = (net.add_node(n, factory()) for n in "ABC")
    for n in (a, b, c):
        n.connect("c")
        net.run_until(formed([x for x in (a, b, c) if x.cluster]), 20 * S, what=f"{n.name} joined")
    # ask B for its state, but B leaves before it can answer: its STATE_REQ is never routed
    net.route = lambda packet: None if packet.dst is b else net.default_route(packet)
    net.call(c, c.stack.run_input, app(c).down_layer.down, GetState(b.addr))
    net.route = net.default_route
    b.disconnect()
    net.run_until(lambda: bool(app(c).results), 20 * S, what="C learned that B left")
    assert app(c).results[0].error is not None and "left" in app(c).results[0].error
