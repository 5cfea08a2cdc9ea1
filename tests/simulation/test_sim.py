"""SimNetwork: determinism, configured faults, partitions, crashes, replay, and a 200-seed sweep.

The layer under simulation is `ReliableFifo`, a toy UNICAST3 built here: per-destination seqnos,
cumulative acks, retransmission on a jittered timer (so the stack rng matters for determinism).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import pytest

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import TimerHandle
from pygroups.errors import LocalProtocolError, MalformedMessage
from pygroups.events import AddPhysicalAddress, GetLogicalPhysicalMappings, GetPhysicalAddress
from pygroups.message import Header, Message, TransientFlag
from pygroups.stack.io import IoCommand, Write
from pygroups.stack.layer import Layer
from pygroups.testing.sim import MS, Packet, SimNetwork, SimNode, SimTransport, SimulationFailure

DATA, ACK = 0, 1


@dataclass(frozen=True, slots=True)
class FifoHeader(Header):
    MAGIC: ClassVar[int] = 9002
    kind: int
    seqno: int


class ReliableFifo(Layer):
    """Reliable FIFO unicast: a miniature UNICAST3 (no windows, no connection ids)."""

    protocol_id = 902
    xmit_interval_ms = 20

    def __init__(self) -> None:
        super().__init__()
        self.next_seqno: dict[Address, int] = {}
        self.unacked: dict[Address, dict[int, Message]] = {}
        self.expected: dict[Address, int] = {}
        self.received: dict[Address, dict[int, Message]] = {}
        self.timer: TimerHandle | None = None

    def start(self) -> None:
        self.schedule_xmit()

    def stop(self) -> None:
        if self.timer is not None:
            self.timer.cancel()

    def schedule_xmit(self) -> None:
        delay_ms = self.rng.randint(self.xmit_interval_ms // 2, self.xmit_interval_ms)
        self.timer = self.timers.call_later(delay_ms * MS, self.on_xmit_timer)

    def on_xmit_timer(self) -> None:
        for msgs in self.unacked.values():
            for _, msg in sorted(msgs.items()):
                self.counters["xmits"] += 1
                self.down_layer.down_msg(msg.copy())
        self.schedule_xmit()

    def down_msg(self, msg: Message) -> None:
        if msg.dest is None:
            super().down_msg(msg)
            return
        seqno = self.next_seqno.get(msg.dest, 0)
        self.next_seqno[msg.dest] = seqno + 1
        msg.put_header(self.protocol_id, FifoHeader(DATA, seqno))
        self.unacked.setdefault(msg.dest, {})[seqno] = msg.copy()
        super().down_msg(msg)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.get_header(self.protocol_id)
        if not isinstance(hdr, FifoHeader) or msg.src is None:
            super().up_msg(msg)
            return
        src = msg.src
        if hdr.kind == ACK:
            pending = self.unacked.get(src, {})
            for seqno in [s for s in pending if s <= hdr.seqno]:
                del pending[seqno]
            return
        expected = self.expected.get(src, 0)
        window = self.received.setdefault(src, {})
        if hdr.seqno >= expected:
            window[hdr.seqno] = msg
        while expected in window:
            super().up_msg(window.pop(expected))
            expected += 1
        self.expected[src] = expected
        if expected:
            self.down_layer.down_msg(
                Message(dest=src).put_header(self.protocol_id, FifoHeader(ACK, expected - 1))
            )


class TickCounter(Layer):
    """Counts its own periodic timer ticks (to observe pauses)."""

    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[int] = []

    def start(self) -> None:
        self.timers.call_later(10 * MS, self.on_tick)

    def on_tick(self) -> None:
        self.ticks.append(self.now_ns())
        self.timers.call_later(10 * MS, self.on_tick)


def bare() -> Sequence[Layer]:
    return [SimTransport()]


def reliable() -> Sequence[Layer]:
    return [SimTransport(), ReliableFifo()]


def cluster(net: SimNetwork, n: int, factory: Callable[[], Sequence[Layer]] = bare) -> list[SimNode]:
    nodes = [net.add_node(chr(ord("a") + i), factory) for i in range(n)]
    for node in nodes:
        node.connect("sim")
    return nodes


def payloads(node: SimNode) -> list[bytes]:
    return [m.payload for m in node.messages()]


def addr(node: SimNode) -> Address:
    assert node.addr is not None
    return node.addr


# --- the FIFO scenario used by determinism, replay and the sweep ---------------------------------------


def fifo_invariant(net: SimNetwork) -> None:
    """Per receiver and sender: payloads are exactly 0, 1, 2, ... (FIFO, no loss, no duplicates)."""
    for node in net.nodes:
        per_sender: dict[str, list[int]] = {}
        for p in payloads(node):
            sender, i = p.decode().split(":")
            per_sender.setdefault(sender, []).append(int(i))
        for sender, seq in per_sender.items():
            assert seq == list(range(len(seq))), f"{node.name} got {seq} from {sender}"


def fifo_scenario(seed: int, *, per_pair: int = 5, trace: bool = False) -> SimNetwork:
    net = SimNetwork(seed, latency_ns=(1 * MS, 5 * MS), loss=0.2, duplicate=0.1, reorder=0.2, trace=trace)
    nodes = cluster(net, 3, reliable)
    net.add_invariant(fifo_invariant)
    for i in range(per_pair):
        for src in nodes:
            for dst in nodes:
                if dst is not src:
                    src.send(Message(dest=addr(dst), payload=f"{src.name}:{i}".encode()))
        net.run_for(2 * MS)
    net.partition([nodes[0]], nodes[1:])
    net.run_for(50 * MS)
    net.heal()
    expected = per_pair * (len(nodes) - 1)
    net.run_until(
        lambda: all(len(n.messages()) == expected for n in nodes), 10_000 * MS, what="all delivered"
    )
    return net


def test_same_seed_same_trace_different_seed_different_trace() -> None:
    t1 = fifo_scenario(11, trace=True).trace
    t2 = fifo_scenario(11, trace=True).trace
    t3 = fifo_scenario(12, trace=True).trace
    assert t1 and t1 == t2
    assert t1 != t3


@pytest.mark.parametrize("seed", range(200))
def test_fifo_sweep(seed: int) -> None:
    net = fifo_scenario(seed, per_pair=3)
    assert net.stats["sent"] > 0


def test_pygroups_seed_overrides_for_replay(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYGROUPS_SEED", raising=False)
    reference = fifo_scenario(1234, trace=True).trace
    monkeypatch.setenv("PYGROUPS_SEED", "1234")
    replay = fifo_scenario(7, trace=True)
    assert replay.seed == 1234
    assert replay.trace == reference


# --- configured faults behave as configured ------------------------------------------------------------


def blast(net: SimNetwork, src: SimNode, dst: SimNode, count: int) -> None:
    for i in range(count):
        src.send(Message(dest=addr(dst), payload=b"%d" % i))
        net.run_for(1 * MS)
    net.run_for(100 * MS)


@pytest.mark.parametrize(("loss", "duplicate"), [(0.25, 0.0), (0.0, 0.2), (0.1, 0.1)])
def test_loss_and_duplication_rates(loss: float, duplicate: float, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYGROUPS_SEED", raising=False)  # these statistics are those of seed 3, even when replaying
    net = SimNetwork(3, loss=loss, duplicate=duplicate)
    a, b = cluster(net, 2)
    blast(net, a, b, 4000)
    assert net.stats["sent"] == 4000
    assert net.stats["lost"] / 4000 == pytest.approx(loss, abs=0.025)
    survivors = 4000 - net.stats["lost"]
    assert net.stats["duplicated"] / max(survivors, 1) == pytest.approx(duplicate, abs=0.025)
    assert len(b.messages()) == survivors + net.stats["duplicated"] == net.stats["delivered"]


def out_of_order(node: SimNode) -> int:
    seen = [int(p) for p in payloads(node)]
    return sum(1 for x, y in itertools.pairwise(seen) if y < x)


def test_fixed_latency_keeps_order_and_reorder_breaks_it() -> None:
    fifo = SimNetwork(5, latency_ns=(2 * MS, 2 * MS))
    a, b = cluster(fifo, 2)
    blast(fifo, a, b, 500)
    assert out_of_order(b) == 0
    shuffled = SimNetwork(5, latency_ns=(2 * MS, 2 * MS), reorder=0.3, reorder_delay_ns=20 * MS)
    a, b = cluster(shuffled, 2)
    blast(shuffled, a, b, 500)
    assert len(b.messages()) == 500
    assert shuffled.stats["held_back"] == pytest.approx(150, abs=40)
    assert out_of_order(b) > 50


def test_latency_stays_within_bounds() -> None:
    net = SimNetwork(8, latency_ns=(3 * MS, 7 * MS))
    a, b = cluster(net, 2)
    arrivals: list[int] = []
    original = net.route

    def route(packet: Packet) -> None:
        arrivals.append(-net.now_ns)
        original(packet)

    net.route = route
    a.send(Message(dest=addr(b), payload=b"x"))
    net.run_until(lambda: len(b.messages()) == 1, 100 * MS)
    assert 3 * MS <= net.now_ns + arrivals[0] <= 7 * MS


# --- partitions, crashes, restarts, pauses -------------------------------------------------------------


def test_partition_and_heal() -> None:
    net = SimNetwork(1)
    a, b, c = cluster(net, 3)
    net.partition([a, b], [c])
    a.send(Message(payload=b"split"))
    a.send(Message(dest=addr(c), payload=b"to c"))
    net.run_for(10 * MS)
    assert payloads(a) == payloads(b) == [b"split"]  # a gets its own multicast by loopback
    assert payloads(c) == []
    assert net.stats["dropped_partition"] == 2
    net.heal()
    a.send(Message(payload=b"whole"))
    net.run_for(10 * MS)
    assert payloads(c) == [b"whole"]


def test_unlisted_nodes_are_isolated() -> None:
    net = SimNetwork(1)
    a, b, c = cluster(net, 3)
    net.partition([a, b])
    c.send(Message(payload=b"alone"))
    net.run_for(10 * MS)
    assert payloads(c) == [b"alone"] and payloads(a) == payloads(b) == []


def test_dont_loopback_is_respected() -> None:
    net = SimNetwork(1)
    a, b = cluster(net, 2)
    a.send(Message(payload=b"x", transient_flags=TransientFlag.DONT_LOOPBACK))
    net.run_for(10 * MS)
    assert payloads(a) == [] and payloads(b) == [b"x"]


def test_crash_loses_packets_in_flight_and_restart_is_a_new_member() -> None:
    net = SimNetwork(2)
    a, b = cluster(net, 2)
    old = addr(b)
    a.send(Message(payload=b"in flight"))
    net.crash(b)
    net.run_for(10 * MS)
    assert net.stats["dropped_crashed"] == 1
    a.send(Message(dest=old, payload=b"to the dead"))
    assert net.stats["unroutable"] == 1
    with pytest.raises(LocalProtocolError, match="has crashed"):
        b.send(Message())
    net.restart(b)
    assert b.alive and b.incarnation == 1 and addr(b) != old and b.stack.cluster == "sim"
    a.send(Message(payload=b"hello again"))
    net.run_for(10 * MS)
    assert payloads(b) == [b"hello again"]


def test_restart_without_connect() -> None:
    net = SimNetwork(2)
    (a,) = cluster(net, 1)
    net.crash(a)
    net.restart(a, connect=False)
    assert a.addr is None and not a.stack.connected


def test_pause_defers_packets_and_timers() -> None:
    net = SimNetwork(4)
    a = net.add_node("a", bare)
    b = net.add_node("b", lambda: [SimTransport(), TickCounter()])
    a.connect("sim")
    b.connect("sim")
    net.run_for(25 * MS)
    ticker = b.stack.find(TickCounter)
    assert ticker.ticks == [10 * MS, 20 * MS]
    net.pause(b, 50 * MS)  # until 75 ms
    a.send(Message(payload=b"1"))
    a.send(Message(payload=b"2"))
    net.run_for(40 * MS)
    assert payloads(b) == [] and ticker.ticks == [10 * MS, 20 * MS]
    net.run_for(20 * MS)
    assert payloads(b) == [b"1", b"2"]
    assert ticker.ticks[2] == 75 * MS  # the overdue tick fires when the pause ends
    assert net.stats["deferred_paused"] == 2


# --- hooks and failure reporting ------------------------------------------------------------------------


def test_route_hook_can_drop_delay_and_duplicate() -> None:
    net = SimNetwork(1)
    a, b, c = cluster(net, 3)

    def route(packet: Packet) -> None:
        if packet.dst is c:
            return  # black hole
        net.deliver_later(packet, 30 * MS)
        net.deliver_later(packet, 40 * MS)

    net.route = route
    a.send(Message(payload=b"x"))
    net.run_for(35 * MS)
    assert payloads(b) == [b"x"]
    net.run_for(10 * MS)
    assert payloads(b) == [b"x", b"x"] and payloads(c) == []


class PayloadCodec:
    """Just enough of a wire codec: 16 bytes of source UUID, then the payload."""

    def encode(self, msg: Message) -> bytes:
        assert isinstance(msg.src, UUID) and isinstance(msg.payload, bytes)
        return msg.src.to_bytes() + msg.payload

    def decode(self, data: bytes) -> list[Message]:
        if len(data) < 16:
            raise MalformedMessage("short frame", offset=len(data))
        return [Message(src=UUID.from_bytes(data[:16]), payload=data[16:])]


def test_codec_carries_bytes_and_bad_frames_are_counted() -> None:
    net = SimNetwork(1, codec=PayloadCodec(), trace=True)
    a, b = cluster(net, 2)
    a.send(Message(dest=addr(b), payload=b"wire"))
    net.run_for(5 * MS)
    (msg,) = b.messages()
    src = addr(a)
    assert msg.payload == b"wire" and msg.src == src and isinstance(src, UUID)
    assert net.trace is not None and net.trace[-1][-1] == (src.to_bytes() + b"wire").hex()

    def corrupt(packet: Packet) -> None:
        packet.payload = b"bad"
        net.deliver_later(packet, MS)

    net.route = corrupt
    a.send(Message(dest=addr(b), payload=b"lost"))
    net.run_for(5 * MS)
    assert len(b.messages()) == 1
    assert b.transport.statistics()["bad_frames"] == 1


def test_invariant_failure_names_the_seed() -> None:
    net = SimNetwork(77)
    a, b = cluster(net, 2)

    def never_two(network: SimNetwork) -> None:
        assert len(b.messages()) < 2, "b got two"

    net.add_invariant(never_two)
    a.send(Message(payload=b"1"))
    a.send(Message(payload=b"2"))
    with pytest.raises(
        SimulationFailure, match=r"PYGROUPS_SEED=77: invariant never_two violated at 1000000 ns: b got two"
    ):
        net.run_for(10 * MS)


def test_timeout_and_quiet_network_name_the_seed() -> None:
    net = SimNetwork(5)
    cluster(net, 2, lambda: [SimTransport(), TickCounter()])
    with pytest.raises(SimulationFailure, match=r"PYGROUPS_SEED=5: ready not reached, 100000000 ns passed"):
        net.run_until(lambda: False, 100 * MS, what="ready")
    assert net.now_ns == 100 * MS
    quiet = SimNetwork(6)
    cluster(quiet, 2)
    with pytest.raises(
        SimulationFailure, match="PYGROUPS_SEED=6: condition not reached, the network went quiet"
    ):
        quiet.run_until(lambda: False, 100 * MS)


def test_bugs_in_layers_get_the_seed_as_a_note() -> None:
    class Broken(Layer):
        def up_msg(self, msg: Message) -> None:
            raise ZeroDivisionError("bug")

    net = SimNetwork(9)
    a = net.add_node("a", bare)
    b = net.add_node("b", lambda: [SimTransport(), Broken()])
    a.connect("sim")
    b.connect("sim")
    a.send(Message(dest=addr(b)))
    with pytest.raises(ZeroDivisionError) as info:
        net.run_for(5 * MS)
    assert any("PYGROUPS_SEED=9" in note and "node b" in note for note in info.value.__notes__)


def test_foreign_io_commands_need_an_io_handler() -> None:
    class Writer(Layer):
        def down_msg(self, msg: Message) -> None:
            self.emit(Write(self.stack.new_conn_id(), b"raw"))

    net = SimNetwork(1)
    a = net.add_node("a", lambda: [SimTransport(), Writer()])
    a.connect("sim")
    with pytest.raises(Exception, match="cannot execute"):
        a.send(Message())
    seen: list[IoCommand] = []
    net.io_handler = lambda node, cmd: seen.append(cmd)
    a.send(Message())
    assert [type(cmd) for cmd in seen] == [Write]


def test_node_building_rules() -> None:
    net = SimNetwork(1)
    net.add_node("a", bare)
    with pytest.raises(Exception, match="duplicate node name"):
        net.add_node("a", bare)
    with pytest.raises(Exception, match="must be a SimTransport"):
        net.add_node("b", lambda: [ReliableFifo()])
    assert net.node("a").name == "a"
    with pytest.raises(KeyError):
        net.node("zz")
    assert "a#0 alive" in repr(net.node("a"))
    assert net.trace is None


def test_sim_transport_addresses() -> None:
    net = SimNetwork(1)
    a, b = cluster(net, 2)
    assert a.stack.query(GetPhysicalAddress(addr(a))) == IpAddress("10.0.0.1", 7800)
    assert a.stack.query(GetPhysicalAddress(addr(b))) is None
    a.stack.run_input(a.stack.layers[-1].down, AddPhysicalAddress(addr(b), IpAddress("10.0.0.2", 7800)))
    assert a.stack.query(GetPhysicalAddress(addr(b))) == IpAddress("10.0.0.2", 7800)
    assert dict(a.stack.query(GetLogicalPhysicalMappings())) == {
        addr(a): IpAddress("10.0.0.1", 7800),
        addr(b): IpAddress("10.0.0.2", 7800),
    }


def test_codec_frames_with_several_messages_go_up_as_a_batch() -> None:
    class TwoForOne(PayloadCodec):
        def decode(self, data: bytes) -> list[Message]:
            (msg,) = super().decode(data)
            return [msg, Message(src=msg.src, payload=msg.payload + b"-bis")]

    net = SimNetwork(1, codec=TwoForOne())
    a, b = cluster(net, 2)
    a.send(Message(dest=addr(b), payload=b"m"))
    net.run_for(5 * MS)
    assert payloads(b) == [b"m", b"m-bis"]
    assert b.transport.statistics()["received"] == 2


def test_bytes_without_codec_is_a_bug() -> None:
    net = SimNetwork(1)
    (a,) = cluster(net, 1)
    with pytest.raises(LocalProtocolError, match="no codec"):
        a.stack.run_input(a.transport.receive, b"raw")
