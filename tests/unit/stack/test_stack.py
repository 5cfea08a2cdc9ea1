"""ProtocolStack: assembly checks, lifecycle, inputs, outputs, I/O routing, frozen time."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import ManualClock
from pygroups.errors import ConfigError, LocalProtocolError
from pygroups.events import (
    Connect,
    Disconnect,
    Event,
    FindInitialMembers,
    GetLocalAddress,
    Query,
    SetLocalAddress,
    Suspect,
    ViewChange,
)
from pygroups.message import Message
from pygroups.stack.io import (
    Close,
    ConnId,
    IoFailed,
    IoResult,
    Listen,
    Listening,
    OpenConnection,
    Received,
    ViewInstalled,
    Write,
)
from pygroups.stack.layer import Layer, TransportLayer, answers
from pygroups.stack.stack import ProtocolStack
from pygroups.view import View, ViewId

PEER = IpAddress("10.0.0.9", 7800)


class Transport(TransportLayer):
    """Records connection inputs; echoes bytes back up as messages."""

    name = "T"

    def __init__(self) -> None:
        super().__init__()
        self.log_: list[object] = []

    def down(self, evt: Event) -> None:
        self.log_.append(evt)

    def down_msg(self, msg: Message) -> None:
        self.log_.append(msg)
        self.emit(Write(ConnId(1), bytes(msg.payload or b"")))

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.log_.append(("opened", conn, peer))

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        self.up_msg(Message(payload=data))

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.log_.append(("closed", conn, error))

    @answers(GetLocalAddress)
    def answer_local(self, q: GetLocalAddress) -> Address | None:
        return self.local_addr


class Journal(Layer):
    """Records lifecycle calls into a shared journal."""

    def __init__(self, journal: list[str], name: str) -> None:
        super().__init__()
        self.journal = journal
        self.tag = name

    def init(self) -> None:
        self.journal.append(f"init {self.tag}")

    def start(self) -> None:
        self.journal.append(f"start {self.tag}")

    def stop(self) -> None:
        self.journal.append(f"stop {self.tag}")

    def down(self, evt: Event) -> None:
        self.journal.append(f"{self.tag} down {type(evt).__name__}")
        super().down(evt)


class J1(Journal):
    pass


class J2(Journal):
    pass


def make(*layers: Layer, clock: ManualClock | None = None) -> tuple[ProtocolStack, Transport]:
    t = Transport()
    stack = ProtocolStack([t, *layers], clock=clock or ManualClock(), rng=random.Random(7))
    return stack, t


# --- assembly -----------------------------------------------------------------------------------------


def test_empty_stack_is_rejected() -> None:
    with pytest.raises(ConfigError, match="transport"):
        ProtocolStack([], clock=ManualClock(), rng=random.Random())


def test_bottom_must_be_a_transport() -> None:
    with pytest.raises(ConfigError, match="must be a transport"):
        ProtocolStack([J1([], "x"), Transport()], clock=ManualClock(), rng=random.Random())


def test_duplicate_names_and_ids_are_rejected() -> None:
    class P1(Layer):
        protocol_id = 50

    class P2(Layer):
        protocol_id = 50

    with pytest.raises(ConfigError, match="occurs more than once"):
        make(J1([], "a"), J1([], "b"))
    with pytest.raises(ConfigError, match="ids have to be unique"):
        make(P1(), P2())


def test_a_layer_cannot_be_in_two_stacks() -> None:
    layer = J1([], "a")
    make(layer)
    with pytest.raises(ConfigError, match="already part of a stack"):
        make(layer)


def test_required_services_are_checked() -> None:
    class NeedsDiscovery(Layer):
        requires_below = frozenset({FindInitialMembers})

    class Discovery(Layer):
        provides = frozenset({FindInitialMembers})

    class NeedsLocalAddressAbove(Layer):
        requires_above = frozenset({GetLocalAddress})

    make(Discovery(), NeedsDiscovery())
    with pytest.raises(ConfigError, match="below it that handles FindInitialMembers"):
        make(NeedsDiscovery(), Discovery())
    with pytest.raises(ConfigError, match="above it that handles GetLocalAddress"):
        make(NeedsLocalAddressAbove())

    # the transport answers GetLocalAddress with @answers, which counts as providing it
    class NeedsLocal(Layer):
        requires_below = frozenset({GetLocalAddress})

    make(NeedsLocal())


# --- lifecycle ----------------------------------------------------------------------------------------


def test_lifecycle_order_follows_jgroups() -> None:
    journal: list[str] = []
    stack, t = make(J1(journal, "low"), J2(journal, "high"))
    assert journal == ["init low", "init high"]
    journal.clear()
    stack.connect("c")
    assert journal == [
        "high down SetLocalAddress",
        "low down SetLocalAddress",
        "start low",
        "start high",
        "high down Connect",
        "low down Connect",
    ]
    assert stack.connected and stack.cluster == "c"
    assert isinstance(t.log_[0], SetLocalAddress) and t.log_[1] == Connect("c")
    journal.clear()
    stack.disconnect()
    assert journal == ["high down Disconnect", "low down Disconnect", "stop high", "stop low"]
    assert t.log_[-1] == Disconnect()
    assert not stack.connected
    stack.disconnect()  # idempotent


def test_connect_generates_address_from_rng_unless_given() -> None:
    s1, _ = make()
    s2, _ = make()
    s1.connect("c")
    s2.connect("c")
    assert s1.local_addr == s2.local_addr  # same seed, same address
    assert isinstance(s1.local_addr, UUID)
    first = s1.local_addr
    s1.disconnect()
    s1.connect("c")
    assert s1.local_addr != first  # a reconnect is a new member
    s3, _ = make()
    s3.connect("c", local_addr=UUID(1, 2))
    assert s3.local_addr == UUID(1, 2)
    assert s3.query(GetLocalAddress()) == UUID(1, 2)


def test_misuse_raises() -> None:
    stack, _ = make()
    with pytest.raises(LocalProtocolError, match="before connect"):
        stack.send(Message())
    stack.connect("c")
    with pytest.raises(LocalProtocolError, match="already connected"):
        stack.connect("c")


def test_disconnect_cancels_timers_and_pending_requests() -> None:
    stack, t = make()
    stack.connect("c")
    stack.timers.call_later(10, lambda: None)
    stack.emit(Listen(stack.new_request_id(), PEER), reply_to=t)
    stack.disconnect()
    assert stack.next_deadline_ns() is None
    stack.on_io_result(Listening(1, PEER))
    assert stack.stale_io_results == 1


# --- messages and events ------------------------------------------------------------------------------


def test_send_reaches_transport_and_emits_io() -> None:
    stack, _ = make()
    stack.connect("c")
    stack.send(Message(payload=b"abc"))
    assert stack.take_io() == [Write(ConnId(1), b"abc")]
    assert stack.take_io() == []


def test_top_turns_messages_and_views_into_app_events() -> None:
    stack, t = make()
    stack.connect("c")
    stack.on_bytes(ConnId(3), b"hi")
    view = View(ViewId(UUID(0, 1), 1), (UUID(0, 1),))
    stack.run_input(t.up, ViewChange(view))
    stack.run_input(t.up, Suspect(frozenset()))
    ev = stack.next_event()
    assert isinstance(ev, Received) and ev.msg.payload == b"hi"
    assert stack.next_event() == ViewInstalled(view)
    assert stack.next_event() is None
    assert stack._top.statistics() == {"ignored Suspect": 1}


def test_take_events_drains() -> None:
    stack, _ = make()
    stack.connect("c")
    stack.on_bytes(ConnId(3), b"1")
    stack.on_bytes(ConnId(3), b"2")
    assert [e.msg.payload for e in stack.take_events() if isinstance(e, Received)] == [b"1", b"2"]
    assert stack.take_events() == []


def test_falling_off_the_bottom_is_a_bug() -> None:
    class LeakyTransport(TransportLayer):
        def down(self, evt: Event) -> None:
            self.down_layer.down(evt)

    stack = ProtocolStack([LeakyTransport()], clock=ManualClock(), rng=random.Random())
    with pytest.raises(LocalProtocolError, match="fell off the bottom"):
        stack.connect("c")
    stack2 = ProtocolStack([TransportLayer()], clock=ManualClock(), rng=random.Random())
    stack2.connect("c")
    with pytest.raises(LocalProtocolError, match="fell off the bottom"):
        stack2.send(Message())


def test_unanswered_query_uses_its_default_or_raises() -> None:
    @dataclass(frozen=True, slots=True)
    class Custom(Query[int]):
        pass

    stack, _ = make()
    with pytest.raises(LocalProtocolError, match="no layer answered"):
        stack.query(Custom())


# --- connections and I/O results ---------------------------------------------------------------------


def test_connection_inputs_go_to_the_transport() -> None:
    stack, t = make()
    c = stack.new_conn_id()
    stack.on_connection_opened(c, PEER)
    stack.on_connection_closed(c, "reset")
    stack.on_connection_closed(c)
    assert t.log_ == [("opened", c, PEER), ("closed", c, "reset"), ("closed", c, None)]
    assert stack.new_conn_id() != c


def test_io_requests_are_routed_back_to_their_layer() -> None:
    class Binder(Layer):
        def __init__(self) -> None:
            super().__init__()
            self.results: list[IoResult] = []

        def start(self) -> None:
            self.emit(Listen(self.stack.new_request_id(), IpAddress("0.0.0.0", 0)))

        def on_io_result(self, result: IoResult) -> None:
            self.results.append(result)

    binder = Binder()
    stack, _ = make(binder)
    stack.connect("c")
    (cmd,) = stack.take_io()
    assert isinstance(cmd, Listen)
    stack.on_io_result(Listening(cmd.request_id, IpAddress("127.0.0.1", 7800)))
    assert binder.results == [Listening(cmd.request_id, IpAddress("127.0.0.1", 7800))]
    stack.on_io_result(IoFailed(cmd.request_id, "late duplicate"))
    assert stack.stale_io_results == 1
    with pytest.raises(LocalProtocolError, match="needs a layer"):
        stack.emit(Listen(99, PEER))


def test_plain_commands_keep_their_order() -> None:
    stack, _ = make()
    cmds = [OpenConnection(ConnId(1), PEER), Write(ConnId(1), b"x"), Close(ConnId(1), graceful=False)]
    for cmd in cmds:
        stack.emit(cmd)
    assert stack.take_io() == cmds


# --- time and re-entrancy -----------------------------------------------------------------------------


def test_time_is_frozen_during_an_input() -> None:
    clock = ManualClock(100)
    seen: list[int] = []

    class Sampler(Layer):
        def down_msg(self, msg: Message) -> None:
            seen.append(self.now_ns())
            clock.advance(50)  # a real clock moves while the input runs...
            seen.append(self.now_ns())  # ...but the stack still sees the instant the input began
            self.timers.call_later(10, lambda: seen.append(self.now_ns()))
            super().down_msg(msg)

    stack, _ = make(Sampler(), clock=clock)
    stack.connect("c")
    stack.send(Message())
    assert seen == [100, 100]
    assert stack.next_deadline_ns() == 110
    assert stack.clock.now_ns() == 150  # outside an input it reads the source
    stack.handle_timers()
    assert seen == [100, 100, 150]


def test_inputs_cannot_be_reentered() -> None:
    stack, _ = make()
    stack.connect("c")
    with pytest.raises(LocalProtocolError, match="re-entrant"):
        stack.run_input(stack.send, Message())
    stack.send(Message())  # the guard was released


def test_handle_timers_fires_what_is_due() -> None:
    clock = ManualClock()
    stack, _ = make(clock=clock)
    fired: list[int] = []
    stack.timers.call_at(10, fired.append, 1)
    stack.timers.call_at(20, fired.append, 2)
    assert stack.next_deadline_ns() == 10
    clock.set(15)
    stack.handle_timers()
    assert fired == [1]
    assert stack.next_deadline_ns() == 20


def test_find_statistics_and_repr() -> None:
    journal: list[str] = []
    j = J1(journal, "x")
    stack, t = make(j)
    assert stack.find(J1) is j
    assert stack.find(TransportLayer) is t
    assert stack.transport is t
    with pytest.raises(LookupError):
        stack.find(J2)
    assert set(stack.statistics()) == {"T", "J1"}
    assert "T, J1" in repr(stack)
