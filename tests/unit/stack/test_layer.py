"""Layer base class: pass-through defaults, @answers tables, conveniences."""

from __future__ import annotations

import logging
import random

import pytest

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import ManualClock
from pygroups.errors import LocalProtocolError
from pygroups.events import GetLocalAddress, GetPhysicalAddress, IsMergeInProgress, Suspect, ViewChange
from pygroups.message import Message
from pygroups.stack.io import ConnId, IoResult
from pygroups.stack.layer import Layer, MembershipChange, TransportLayer, answers
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId

A = UUID(0, 1)
B = UUID(0, 2)


class Plain(Layer):
    pass


class Named(Layer):
    name = "pbcast.NAMED"
    protocol_id = 99


class Answering(Layer):
    @answers(GetPhysicalAddress)
    def answer_physical(self, q: GetPhysicalAddress) -> IpAddress | None:
        if q.addr == A:
            return IpAddress("10.0.0.1", 7800)
        return self.down_layer.query_down(q)

    @answers(IsMergeInProgress, up=True)
    def answer_merging(self, q: IsMergeInProgress) -> bool:
        return True


class AnsweringChild(Answering):
    pass


def test_name_defaults_to_class_name_and_id_to_zero() -> None:
    assert Plain.name == "Plain"
    assert Plain.protocol_id == 0
    assert Named.name == "pbcast.NAMED"
    assert Named.protocol_id == 99
    assert repr(Named()) == "<pbcast.NAMED>"


def test_layers_are_instantiable_without_arguments_and_take_attributes() -> None:
    layer = Plain()
    layer.some_property = 5  # type: ignore[attr-defined]  # what the config loader does
    assert layer.some_property == 5  # type: ignore[attr-defined]
    assert layer.statistics() == {}


def test_messages_and_events_pass_through_by_default() -> None:
    h = LayerHarness(Plain())
    h.take_down_events()
    msg = Message(payload=b"x")
    h.send(msg)
    assert h.take_down() == [msg]
    h.receive(Message(payload=b"y", src=B))
    assert [m.payload for m in h.take_up()] == [b"y"]
    h.up(Suspect(frozenset({B})))
    assert h.take_up_events() == [Suspect(frozenset({B}))]
    h.down(Suspect(frozenset({B})))
    assert h.take_down_events() == [Suspect(frozenset({B}))]


def test_up_batch_defaults_to_up_msg_per_message() -> None:
    seen: list[bytes] = []

    class Spy(Layer):
        def up_msg(self, msg: Message) -> None:
            seen.append(msg.payload)
            super().up_msg(msg)

    h = LayerHarness(Spy())
    h.stack.run_input(h.layer.up_batch, [Message(payload=b"1"), Message(payload=b"2")])
    assert seen == [b"1", b"2"]
    assert [m.payload for m in h.take_up()] == [b"1", b"2"]


def test_answers_table_handles_queries_and_passes_the_rest() -> None:
    h = LayerHarness(Answering(), local_addr=A)
    assert h.stack.query(GetPhysicalAddress(A)) == IpAddress("10.0.0.1", 7800)
    h.bottom.physical_addrs[B] = IpAddress("10.0.0.2", 7800)
    assert h.stack.query(GetPhysicalAddress(B)) == IpAddress("10.0.0.2", 7800)
    assert h.stack.query(GetLocalAddress()) == A
    # an up query travels from the bottom up to the answering layer
    assert h.bottom.query_up(IsMergeInProgress()) is True
    assert Answering.handled_events() == frozenset({GetPhysicalAddress, IsMergeInProgress})


def test_answers_are_inherited() -> None:
    assert AnsweringChild.handled_events() == Answering.handled_events()
    assert Plain.handled_events() == frozenset()


def test_overriding_an_answer_method_is_honoured() -> None:
    class Override(Answering):
        def answer_merging(self, q: IsMergeInProgress) -> bool:
            return False

    h = LayerHarness(Override(), local_addr=A)
    assert h.bottom.query_up(IsMergeInProgress()) is False
    assert h.stack.query(GetPhysicalAddress(A)) == IpAddress("10.0.0.1", 7800)


def test_unanswered_query_up_returns_default() -> None:
    h = LayerHarness(Plain())
    assert h.bottom.query_up(IsMergeInProgress()) is False


def test_conveniences_come_from_the_stack() -> None:
    clock = ManualClock(42)
    h = LayerHarness(Plain(), clock=clock, local_addr=A)
    layer = h.layer
    assert layer.now_ns() == 42
    assert layer.clock.now_ns() == 42
    assert layer.timers is h.stack.timers
    assert isinstance(layer.rng, random.Random)
    assert layer.local_addr == A


def test_log_is_prefixed_with_local_address(caplog: pytest.LogCaptureFixture) -> None:
    h = LayerHarness(Plain(), local_addr=A)
    with caplog.at_level(logging.DEBUG):
        h.layer.log.info("hello %s", "world")
    assert caplog.records[-1].getMessage() == f"{A}: hello world"
    assert h.layer.log is h.layer.log


def test_log_prefix_is_the_logical_name_once_known(caplog: pytest.LogCaptureFixture) -> None:
    """Java prints local_addr through the NameCache: "A: ...", not the UUID."""
    h = LayerHarness(Plain(), local_addr=A)
    h.stack.logical_names[A] = "node-a"
    with caplog.at_level(logging.DEBUG):
        h.layer.log.info("hello")
    assert caplog.records[-1].getMessage() == "node-a: hello"


def test_log_before_wiring_uses_a_dash(caplog: pytest.LogCaptureFixture) -> None:
    layer = Plain()
    with caplog.at_level(logging.DEBUG):
        layer.log.warning("early")
    assert caplog.records[-1].getMessage() == "-: early"


def test_statistics_is_a_frozen_snapshot() -> None:
    layer = Plain()
    layer.counters["dropped"] += 2
    stats = layer.statistics()
    layer.counters["dropped"] += 1
    assert stats == {"dropped": 2}
    with pytest.raises(TypeError):
        stats["dropped"] = 0  # type: ignore[index]


def test_io_result_without_handler_is_a_bug() -> None:
    with pytest.raises(LocalProtocolError, match="does not handle"):
        Plain().on_io_result(IoResult(1))


def test_transport_defaults_consume_events_and_refuse_connections() -> None:
    class T(TransportLayer):
        pass

    t = T()
    t.down(Suspect(frozenset()))  # consumed: TP ignores events it does not handle
    peer = IpAddress("127.0.0.1", 1)
    with pytest.raises(LocalProtocolError):
        t.on_connection_opened(ConnId(1), peer)
    with pytest.raises(LocalProtocolError):
        t.on_bytes(ConnId(1), b"")
    with pytest.raises(LocalProtocolError):
        t.on_connection_closed(ConnId(1), None)


def test_local_addr_types() -> None:
    addr: Address | None = LayerHarness(Plain(), local_addr=B).layer.local_addr
    assert addr == B


# --- the view-change hook ---------------------------------------------------------------------------------

C = UUID(0, 3)


def _view(n: int, *members: Address) -> View:
    return View(ViewId(members[0] if members else None, n), tuple(members))


class Tracking(Layer):
    def __init__(self) -> None:
        super().__init__()
        self.changes: list[MembershipChange] = []
        self.state: dict[Address, int] = {}

    def members_changed(self, change: MembershipChange) -> None:
        self.changes.append(change)
        for m in change.joined:
            self.state[m] = 0
        change.retain(self.state)


def test_a_layer_overriding_members_changed_sees_views_going_down_and_up() -> None:
    h = LayerHarness(Tracking())
    layer = h.layer
    h.take_down_events()
    h.down(ViewChange(_view(1, A, B)))
    h.up(ViewChange(_view(2, A, C)))
    h.up(ViewChange(_view(2, A, C)))  # the same view again (going up after going down): no change
    assert [(c.joined, c.left) for c in layer.changes] == [((A, B), ()), ((C,), (B,)), ((), ())]
    assert layer.state == {A: 0, C: 0}
    assert layer.view_members == (A, C)
    assert [type(e) for e in h.take_down_events()] == [ViewChange]
    assert [type(e) for e in h.take_up_events()] == [ViewChange, ViewChange]


def test_layers_without_the_hook_do_not_track_views() -> None:
    h = LayerHarness(Plain())
    h.down(ViewChange(_view(1, A)))
    assert h.layer.view_members == ()
    assert not Plain._tracks_views and Tracking._tracks_views


def test_retain_drops_non_members_also_those_never_in_a_view() -> None:
    layer = Tracking()
    layer.state[C] = 7  # e.g. added by a message from a non-member
    change = layer.track_view(_view(1, A, B), tmp=True)
    assert change.tmp and change.members == (A, B)
    assert layer.state == {A: 0, B: 0}
    assert change.non_members([C, A, B, UUID(0, 9)]) == [C, UUID(0, 9)]
