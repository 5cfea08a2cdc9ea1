"""LayerHarness and HarnessPair, exercised with a tiny ping/heartbeat layer built here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from pygroups.address import UUID, IpAddress
from pygroups.clock import MS, TimerHandle
from pygroups.events import AddPhysicalAddress, Connect, Event, GetPhysicalAddress, SetLocalAddress
from pygroups.message import Header, Message
from pygroups.stack.layer import Layer
from pygroups.testing.harness import HarnessPair, LayerHarness

ME, PEER = UUID(0, 1), UUID(0, 2)


@dataclass(frozen=True, slots=True)
class PingHeader(Header):
    MAGIC: ClassVar[int] = 9001
    ping: bool


class Pinger(Layer):
    """Answers PING with PONG; multicasts a PING every ``interval_ms`` once started."""

    protocol_id = 901
    interval_ms = 100

    def __init__(self) -> None:
        super().__init__()
        self.pongs_from: list[object] = []
        self.timer: TimerHandle | None = None
        self.events_seen: list[Event] = []

    def start(self) -> None:
        self.timer = self.timers.call_later(self.interval_ms * MS, self.on_ping_timer)

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def down(self, evt: Event) -> None:
        self.events_seen.append(evt)
        super().down(evt)

    def on_ping_timer(self) -> None:
        self.down_msg(Message().put_header(self.protocol_id, PingHeader(True)))
        self.timer = self.timers.call_later(self.interval_ms * MS, self.on_ping_timer)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if not isinstance(hdr, PingHeader):
            super().up_msg(msg)
        elif hdr.ping:
            self.down_msg(Message(dest=msg.src).put_header(self.protocol_id, PingHeader(False)))
        else:
            self.pongs_from.append(msg.src)


def ping(src: UUID) -> Message:
    return Message(src=src).put_header(Pinger.protocol_id, PingHeader(True))


def test_layer_sees_set_local_address_and_connect() -> None:
    h = LayerHarness(Pinger(), local_addr=ME)
    assert h.layer.events_seen == [SetLocalAddress(ME), Connect("test")]  # type: ignore[attr-defined]
    assert h.take_down_events() == [SetLocalAddress(ME), Connect("test")]
    assert h.local_addr == ME


def test_unconnected_harness_connects_later() -> None:
    h = LayerHarness(Pinger(), local_addr=ME, cluster=None)
    assert h.stack.next_deadline_ns() is None  # not started
    h.connect("other")
    assert h.stack.cluster == "other"
    assert h.stack.next_deadline_ns() == 100 * MS


def test_inject_from_below_and_read_what_went_down() -> None:
    h = LayerHarness(Pinger(), local_addr=ME)
    h.receive(ping(PEER))
    (pong,) = h.take_down()
    assert pong.dest == PEER and pong.src == ME  # the fake transport fills in src, like TP
    assert pong.get_header(Pinger.protocol_id) == PingHeader(False)
    assert h.take_down() == []
    h.receive(Message(src=PEER, payload=b"app"))
    assert [m.payload for m in h.take_up()] == [b"app"]


def test_timers_fire_only_when_the_clock_is_advanced() -> None:
    h = LayerHarness(Pinger(), local_addr=ME)
    h.advance(99 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    assert len(h.take_down()) == 1
    assert h.advance_to_next_timer() == 200 * MS
    assert h.clock.now_ns() == 200 * MS
    assert len(h.take_down()) == 1


def test_advance_to_next_timer_without_timers() -> None:
    h = LayerHarness(Pinger(), local_addr=ME, cluster=None)
    assert h.advance_to_next_timer() is None


def test_layers_below_and_above_are_supported() -> None:
    class Tagger(Layer):
        def down_msg(self, msg: Message) -> None:
            msg.payload = b"tagged:" + msg.payload
            super().down_msg(msg)

    h = LayerHarness(Pinger(), below=[Tagger()], local_addr=ME)
    h.send(Message(payload=b"x"))
    assert [m.payload for m in h.take_down()] == [b"tagged:x"]


def test_fake_transport_answers_physical_address_queries() -> None:
    h = LayerHarness(Pinger(), local_addr=ME)
    phys = IpAddress("10.1.1.1", 7800)
    h.down(AddPhysicalAddress(PEER, phys))
    assert h.stack.query(GetPhysicalAddress(PEER)) == phys
    assert h.stack.query(GetPhysicalAddress(ME)) is None


def test_up_events_are_recorded_at_the_top() -> None:
    h = LayerHarness(Pinger(), local_addr=ME)
    h.up(Connect("x"))
    assert h.take_up_events() == [Connect("x")]
    assert h.take_up_events() == []


def test_pair_exchanges_until_quiet() -> None:
    pair = HarnessPair(Pinger(), Pinger())
    assert pair.a.local_addr != pair.b.local_addr
    pair.advance(100 * MS)  # both multicast a PING
    assert pair.exchange() == 4  # 2 pings + 2 pongs
    assert pair.a.layer.pongs_from == [pair.b.local_addr]  # type: ignore[attr-defined]
    assert pair.b.layer.pongs_from == [pair.a.local_addr]  # type: ignore[attr-defined]
    assert pair.exchange() == 0


def test_pair_drops_messages_for_third_parties() -> None:
    pair = HarnessPair(Pinger(), Pinger())
    pair.a.send(Message(dest=UUID(9, 9), payload=b"nobody"))
    assert pair.exchange() == 0


def test_pair_detects_endless_chatter() -> None:
    class Echo(Layer):
        def up_msg(self, msg: Message) -> None:
            self.down_msg(Message(payload=msg.payload))

    pair = HarnessPair(Echo(), Echo())
    pair.a.send(Message(payload=b"loop"))
    with pytest.raises(RuntimeError, match="still exchanging"):
        pair.exchange(max_rounds=10)
