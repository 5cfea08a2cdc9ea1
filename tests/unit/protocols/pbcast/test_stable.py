"""pbcast.STABLE: gossip rounds, STABILITY, purging in NAKACK2, max_bytes, suspension."""

from __future__ import annotations

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import BecomeServer, ResumeStable, Stable, SuspendStable, ViewChange
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.protocols.pbcast.nakack2 import NAKACK2
from pygroups.protocols.pbcast.stable import STABLE
from pygroups.testing.harness import HarnessNet, LayerHarness
from pygroups.view import Digest, MutableDigest, View, ViewId
from pygroups.wire.codec import decode_message, encode_message
from pygroups.wire.headers.stable import StableHeader

A, B, C = UUID(0, 1), UUID(0, 2), UUID(0, 3)
PID = STABLE.protocol_id
GOSSIP, STABILITY = StableHeader.Type.STABLE_GOSSIP, StableHeader.Type.STABILITY
V1 = View(ViewId(A, 1), (A, B))


def stable_node(addr: Address, v: View = V1, **props: object) -> LayerHarness:
    layer = STABLE()
    for k, val in props.items():
        setattr(layer, k, val)
    h = LayerHarness(layer, below=[NAKACK2()], local_addr=addr)
    h.advance(0)
    h.down(ViewChange(v))
    h.down(BecomeServer())
    h.take_down_events()
    return h


def parts(h: LayerHarness) -> tuple[STABLE, NAKACK2]:
    s, n = h.layer, h.stack.find(NAKACK2)
    assert isinstance(s, STABLE)
    return s, n


def gossip(src: Address, d: Digest, view_id: ViewId = V1.view_id, dest: Address = A) -> Message:
    msg = Message(MsgType.OBJECT, dest=dest, src=src, flags=Flag.OOB | Flag.NO_RELIABILITY | Flag.NO_FC, payload=d)
    return msg.put_header(PID, StableHeader(GOSSIP, view_id))


def stability(d: Digest, view_id: ViewId = V1.view_id) -> Message:
    msg = Message(MsgType.OBJECT, src=A, flags=Flag.OOB | Flag.NO_RELIABILITY, payload=d)
    return msg.put_header(PID, StableHeader(STABILITY, view_id))


def test_member_gossips_its_digest_to_the_coordinator() -> None:
    h = stable_node(B)
    s, _ = parts(h)
    h.stack.run_input(s.send_stable_message)
    (msg,) = h.take_down()
    assert msg.type == MsgType.OBJECT and msg.dest == A
    assert msg.flags == Flag.OOB | Flag.NO_RELIABILITY | Flag.NO_FC
    assert msg.get_header(PID) == StableHeader(GOSSIP, V1.view_id)
    assert msg.payload == MutableDigest((A, B), ((0, 0), (0, 0)))
    wire = encode_message(msg)
    assert bytes.fromhex("01 000a") in wire  # ObjectMessage payload: present, MutableDigest magic 10
    back = decode_message(wire)
    assert isinstance(back.payload, MutableDigest) and back.payload == msg.payload
    assert s.statistics()["num_stable_msgs_sent"] == 1


def test_gossip_timer_is_random_around_desired_avg_gossip() -> None:
    h = stable_node(B, desired_avg_gossip=1000)
    s, _ = parts(h)
    intervals = []
    for _ in range(20):
        timer = s._stable_timer
        assert timer is not None
        intervals.append(timer.deadline_ns - h.clock.now_ns())
        h.clock.set(timer.deadline_ns)
        h.stack.handle_timers()
        assert [m.get_header(PID) for m in h.take_down() if m.get_header(PID)] == [StableHeader(GOSSIP, V1.view_id)]
    assert all(1 * MS <= i <= 2000 * MS for i in intervals)  # Util.random(2 * desired_avg_gossip)
    assert len(set(intervals)) > 10


def test_coordinator_merges_votes_and_sends_stability_and_stable_down() -> None:
    h = stable_node(A)
    s, nak = parts(h)
    for i in range(3):
        h.send(Message(payload=bytes([i])))
    for m in h.take_down():
        h.receive(m)  # loopback
    assert nak.statistics()["xmit_table_num_current_msgs"] == 3
    h.stack.run_input(s.send_stable_message)  # own vote: A has delivered A#1..3
    assert h.take_down() == [] and s.statistics()["num_votes"] == 1
    h.receive(gossip(B, MutableDigest((A, B), ((2, 3), (0, 0)))))
    (msg,) = h.take_down()
    assert msg.dest is None and msg.get_header(PID) == StableHeader(STABILITY, V1.view_id)
    assert msg.flags == Flag.OOB | Flag.NO_RELIABILITY | Flag.NO_RELAY | Flag.NO_FC
    assert msg.transient_flags & TransientFlag.DONT_LOOPBACK
    assert msg.payload == MutableDigest((A, B), ((2, 3), (0, 0)))  # hd = min, hr = max
    own = nak.window(A)
    assert own is not None and own.num_stored == 1  # purged up to 2
    stats = s.statistics()
    assert (stats["num_stability_msgs_sent"], stats["num_votes"]) == (1, 0)


def test_one_vote_per_member_per_round_and_only_for_this_view() -> None:
    h = stable_node(A, View(ViewId(A, 1), (A, B, C)))
    s, _ = parts(h)
    d = MutableDigest((A, B, C), ((0, 0), (0, 0), (0, 0)))
    h.receive(gossip(B, d))
    h.receive(gossip(B, d))
    h.receive(gossip(C, d, view_id=ViewId(A, 7)))
    h.receive(gossip(UUID(0, 9), d))
    assert s.statistics()["num_votes"] == 1
    h.receive(gossip(C, d))
    h.stack.run_input(s.send_stable_message)
    assert [m.get_header(PID) for m in h.take_down()] == [StableHeader(STABILITY, ViewId(A, 1))]


def test_stability_is_passed_down_for_our_view_only() -> None:
    h = stable_node(B)
    _, nak = parts(h)
    nak_msgs = []
    for i in range(1, 4):
        h.send(Message(payload=bytes([i])))
    nak_msgs = h.take_down()
    for m in nak_msgs:
        h.receive(m)
    h.receive(stability(MutableDigest((A, B), ((0, 0), (3, 3))), view_id=ViewId(A, 5)))
    own = nak.window(B)
    assert own is not None and own.num_stored == 3
    h.receive(stability(MutableDigest((A, B), ((0, 0), (3, 3)))))
    assert own.num_stored == 0
    assert h.take_up() == [] or all(m.get_header(PID) is None for m in h.take_up())


def test_max_bytes_triggers_a_gossip() -> None:
    h = stable_node(B, max_bytes=100)
    s, _ = parts(h)
    h.receive(Message(src=A, payload=b"x" * 60))
    assert h.take_down() == []
    h.receive(Message(src=A, dest=B, payload=b"x" * 60))  # unicasts do not count
    assert h.take_down() == []
    h.receive(Message(src=A, payload=b"x" * 40))
    (msg,) = h.take_down()
    assert msg.get_header(PID) == StableHeader(GOSSIP, V1.view_id)
    assert s.statistics()["bytes_received"] == 0


def test_suspend_blocks_rounds_until_resume_or_timeout() -> None:
    h = stable_node(B)
    s, _ = parts(h)
    h.down(SuspendStable(1000))
    h.stack.run_input(s.send_stable_message)
    assert h.take_down() == []
    h.down(ResumeStable())
    h.stack.run_input(s.send_stable_message)
    assert len(h.take_down()) == 1
    h.down(SuspendStable(1000))
    assert s.suspended
    h.advance(1100 * MS)  # max_suspend_ms * 1.1
    assert not s.suspended


def test_stable_digest_is_dropped_when_stable_is_suspended() -> None:
    h = stable_node(B)
    s, _ = parts(h)
    h.down(SuspendStable(5000))
    h.receive(stability(MutableDigest((A, B), ((0, 0), (0, 0)))))
    assert s.statistics()["num_stability_msgs_received"] == 0


def test_bad_stable_payload_is_counted() -> None:
    h = stable_node(A)
    s, _ = parts(h)
    h.receive(Message(MsgType.OBJECT, src=B, payload=None).put_header(PID, StableHeader(GOSSIP, V1.view_id)))
    assert s.counters["msgs_dropped_bad_stable"] == 1


def test_view_change_starts_a_new_round() -> None:
    h = stable_node(A, View(ViewId(A, 1), (A, B, C)))
    s, _ = parts(h)
    h.receive(gossip(B, MutableDigest((A, B, C), ((0, 0), (0, 0), (0, 0)))))
    assert s.statistics()["num_votes"] == 1
    h.down(ViewChange(View(ViewId(A, 2), (A, B))))
    assert s.statistics()["num_votes"] == 0


def test_round_across_the_network_keeps_buffers_bounded() -> None:
    net = HarnessNet()
    nodes = {}
    for i, a in enumerate((A, B, C)):
        layer = STABLE()
        layer.desired_avg_gossip = 1000
        nodes[a] = net.add(a, layer, below=[NAKACK2()], seed=i)
    v = View(ViewId(A, 1), (A, B, C))
    for h in nodes.values():
        h.down(ViewChange(v))
        h.down(BecomeServer())
    net.route()
    peak: float = 0
    for rnd in range(30):
        for a, h in nodes.items():
            h.send(Message(payload=f"{a}:{rnd}".encode()))
        net.route()
        net.advance(500 * MS)
        peak = max(peak, max(parts(h)[1].statistics()["xmit_table_num_current_msgs"] for h in nodes.values()))
    for h in nodes.values():
        assert len([m for m in h.take_up() if m.payload]) == 90
    final = [parts(h)[1].statistics()["xmit_table_num_current_msgs"] for h in nodes.values()]
    assert max(final) < 10 and peak < 20  # without STABLE each sender would hold all 30 of its own
    assert sum(parts(h)[0].statistics()["num_stability_msgs_received"] for h in nodes.values()) > 3


def test_stable_event_from_below_reaches_nakack2() -> None:
    h = stable_node(A)
    _, nak = parts(h)
    h.send(Message(payload=b"1"))
    (m,) = h.take_down()
    h.receive(m)
    h.down(Stable(Digest((A, B), ((1, 1), (0, 0)))))
    own = nak.window(A)
    assert own is not None and own.num_stored == 0
