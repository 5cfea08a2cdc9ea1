"""UFC / MFC: receiver credits and REPLENISH bytes, sender blocking, credit requests, view changes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import ViewChange
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.protocols.flow_control import MFC, UFC, FlowControl
from pygroups.testing.harness import HarnessPair, LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire.codec import decode_message, encode_message
from pygroups.wire.headers.fc import FcHeader

A = UUID(0, 1)
B = UUID(0, 2)
C = UUID(0, 3)


def view(*members: Address, vid: int = 1) -> ViewChange:
    return ViewChange(View(ViewId(members[0], vid), tuple(members)))


def make(cls: type[FlowControl], *, max_credits: int = 1000, min_threshold: float = 0.4,
         max_block_time: int = 5000, local: Address = A, members: tuple[Address, ...] = (A, B)) -> LayerHarness:
    layer = cls()
    layer.max_credits = max_credits
    layer.min_threshold = min_threshold
    layer.max_block_time = max_block_time
    h = LayerHarness(layer, local_addr=local)
    h.down(view(*members))
    h.take_down_events()
    return h


def data(n: int, dest: Address | None = None, src: Address | None = None, flags: int = 0) -> Message:
    return Message(MsgType.BYTES, dest=dest, src=src, flags=flags, payload=bytes(n))


def credit(kind: int, value: int, src: Address, dest: Address | None, pid: int) -> Message:
    return Message(MsgType.LONG, dest=dest, src=src, flags=Flag.OOB | Flag.DONT_BUNDLE,
                   headers={pid: FcHeader(kind)}, payload=value)


def is_credit(msg: Message, kind: int, pid: int) -> bool:
    return msg.type is MsgType.LONG and msg.headers.get(pid) == FcHeader(kind)


# ----------------------------------------------------------------------------------------- receiver


def test_min_credits_defaults_to_max_credits_times_min_threshold() -> None:
    h = make(UFC, max_credits=2_000_000, min_threshold=0.4)
    assert isinstance(h.layer, UFC)
    assert h.layer.effective_min_credits == 800_000


def test_explicit_min_credits_wins() -> None:
    layer = UFC()
    layer.max_credits, layer.min_credits = 1000, 123
    LayerHarness(layer)
    assert layer.effective_min_credits == 123


def test_receiver_replenishes_once_min_credits_reached() -> None:
    h = make(UFC)
    h.receive(data(300, dest=A, src=B))
    assert h.take_down() == []
    h.receive(data(300, dest=A, src=B))  # 400 left <= min_credits 400
    assert len(h.take_up()) == 2
    (rep,) = h.take_down()
    assert rep.dest == B and rep.payload == 600
    assert is_credit(rep, FcHeader.Type.REPLENISH, UFC.protocol_id)
    assert rep.flags == Flag.OOB | Flag.DONT_BUNDLE
    assert rep.transient_flags & TransientFlag.DONT_BLOCK
    assert h.layer.received[B] == 1000  # type: ignore[attr-defined]
    assert h.layer.counters["num_credit_responses_sent"] == 1


def test_replenish_bytes_match_java_layout() -> None:
    h = make(MFC)
    h.receive(data(700, dest=None, src=B))
    (rep,) = h.take_down()
    rep.src = None
    raw = encode_message(rep)
    # i16 type LONG, leading DEST_SET, flags OOB|DONT_BUNDLE, dest ..., 1 header: id 30, magic 59,
    # type REPLENISH; then the vlong 700 (length byte 2, then 0x02bc least significant byte first).
    assert raw[:5] == bytes.fromhex("0004010003")
    assert raw.endswith(bytes.fromhex("0001001e003b01" "02bc02"))
    back = decode_message(raw)
    assert back.payload == 700 and back.headers == {30: FcHeader(1)}


def test_credit_request_is_answered_at_once() -> None:
    h = make(UFC)
    h.receive(data(500, dest=A, src=B))
    assert h.layer.received[B] == 500  # type: ignore[attr-defined]
    assert len(h.take_up()) == 1
    h.receive(credit(FcHeader.Type.CREDIT_REQUEST, 300, B, A, UFC.protocol_id))
    (rep,) = h.take_down()
    assert rep.dest == B and rep.payload == 300 and is_credit(rep, FcHeader.Type.REPLENISH, UFC.protocol_id)
    assert h.layer.received[B] == 800  # type: ignore[attr-defined]
    assert h.take_up() == []  # credit messages are consumed


def test_credit_request_capped_at_max_credits() -> None:
    h = make(UFC)
    h.receive(credit(FcHeader.Type.CREDIT_REQUEST, 5000, B, A, UFC.protocol_id))
    (rep,) = h.take_down()
    assert rep.payload == 5000
    assert h.layer.received[B] == 1000  # type: ignore[attr-defined]


def test_not_counted_no_fc_other_direction_empty_and_strangers() -> None:
    h = make(UFC)
    h.receive(data(900, dest=A, src=B, flags=Flag.NO_FC))
    h.receive(data(900, dest=None, src=B))  # multicast: MFC's business
    h.receive(Message(MsgType.EMPTY, dest=A, src=B))
    h.receive(data(900, dest=A, src=C))  # not a member
    assert len(h.take_up()) == 4
    assert h.take_down() == []
    assert h.layer.received[B] == 1000  # type: ignore[attr-defined]


def test_batch_is_charged_once() -> None:
    h = make(UFC)
    batch = [data(350, dest=A, src=B), data(350, dest=A, src=B)]
    h.stack.run_input(h.bottom.up_batch, batch)
    assert len(h.take_up()) == 2
    (rep,) = h.take_down()
    assert rep.payload == 700


def test_long_message_length_is_its_vlong_size() -> None:
    h = make(UFC)
    h.receive(Message(MsgType.LONG, dest=A, src=B, payload=600))  # no FC header: an ordinary LongMessage
    assert h.layer.received[B] == 1000 - 3  # type: ignore[attr-defined]


def test_malformed_credit_message_is_counted_and_dropped() -> None:
    h = make(UFC)
    h.receive(Message(MsgType.BYTES, dest=A, src=B, headers={UFC.protocol_id: FcHeader(1)}, payload=b"x"))
    h.receive(credit(7, 10, B, A, UFC.protocol_id))
    assert h.take_up() == [] and h.take_down() == []
    assert h.layer.counters["malformed_credit_messages"] == 1
    assert h.layer.counters["unknown_header_types"] == 1


def test_dont_loopback_multicast_charges_own_receive_credits() -> None:
    h = make(MFC)
    h.send(Message(MsgType.BYTES, payload=bytes(700), transient_flags=TransientFlag.DONT_LOOPBACK))
    out = h.take_down()
    assert len(out) == 2
    assert out[1].dest == A and out[1].payload == 700


# ----------------------------------------------------------------------------------------- UFC sender


def test_ufc_blocks_sends_credit_request_and_resumes_in_order() -> None:
    h = make(UFC)
    layer = h.layer
    assert isinstance(layer, UFC)
    h.send(data(600, dest=B))
    assert len(h.take_down()) == 1 and layer.sender_credits(B) == 400
    h.send(data(600, dest=B))
    h.send(data(100, dest=B))  # would fit, but stays behind the blocked one (FIFO)
    h.send(data(600, dest=A))  # other destinations are not affected
    assert [m.dest for m in h.take_down()] == [A]
    assert layer.backlog() == 2 and h.stack.backlog() == 2
    h.advance(4999 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    (req,) = h.take_down()
    assert req.dest == B and req.payload == 600 and is_credit(req, FcHeader.Type.CREDIT_REQUEST, UFC.protocol_id)
    assert req.flags == Flag.OOB | Flag.DONT_BUNDLE
    h.receive(credit(FcHeader.Type.REPLENISH, 600, B, A, UFC.protocol_id))
    out = h.take_down()
    assert [len(m.payload) for m in out] == [600, 100]
    assert layer.backlog() == 0 and layer.sender_credits(B) == 1000 - 700
    h.advance(20_000 * MS)  # no more credit requests once unblocked
    assert h.take_down() == []


def test_ufc_keeps_asking_every_max_block_time() -> None:
    h = make(UFC, max_block_time=100)
    h.send(data(1001, dest=B))  # bigger than max_credits: blocks forever, asking for 0 (as Java does)
    sent = []
    for _ in range(3):
        h.advance(100 * MS)
        sent += h.take_down()
    assert [m.payload for m in sent] == [0, 0, 0]
    assert h.layer.backlog() == 1


def test_ufc_partial_credit_wakes_and_asks_if_due() -> None:
    h = make(UFC, max_block_time=100)
    h.send(data(900, dest=B))
    h.send(data(900, dest=B))
    h.take_down()
    h.advance(10 * MS)
    h.receive(credit(FcHeader.Type.REPLENISH, 100, B, A, UFC.protocol_id))  # 200 < 900: still blocked
    (req,) = h.take_down()  # the first request is due at once (Java: last_credit_request = 0)
    assert req.payload == 800
    h.advance(99 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    assert [m.payload for m in h.take_down()] == [800]


def test_ufc_departed_member_releases_held_messages() -> None:
    h = make(UFC)
    h.send(data(900, dest=B))
    h.send(data(900, dest=B))
    h.take_down()
    assert h.layer.backlog() == 1
    h.down(view(A, vid=2))
    assert [m.dest for m in h.take_down()] == [B]
    assert h.layer.backlog() == 0
    assert h.stack.next_deadline_ns() is None


def test_ufc_unicast_to_self_with_dont_loopback_not_counted() -> None:
    h = make(UFC)
    msg = data(900, dest=A)
    msg.transient_flags = TransientFlag.DONT_LOOPBACK
    h.send(msg)
    h.send(data(900, dest=A))
    h.send(data(900, dest=A))
    assert len(h.take_down()) == 2
    assert h.layer.backlog() == 1


def test_ufc_ignores_multicasts_and_no_fc_on_the_way_down() -> None:
    h = make(UFC)
    for _ in range(3):
        h.send(data(900))
        h.send(data(900, dest=B, flags=Flag.NO_FC))
    assert len(h.take_down()) == 6 and h.layer.backlog() == 0


# ----------------------------------------------------------------------------------------- MFC sender


def test_mfc_needs_credits_from_every_member() -> None:
    h = make(MFC, members=(A, B, C))
    layer = h.layer
    assert isinstance(layer, MFC)
    h.send(data(700))
    h.send(data(700))
    assert len(h.take_down()) == 1 and layer.backlog() == 1
    h.advance(5000 * MS)
    reqs = h.take_down()
    assert sorted(m.dest for m in reqs) == sorted([A, B, C])  # all at 300 <= min_credits 400
    assert all(m.payload == 700 and is_credit(m, FcHeader.Type.CREDIT_REQUEST, 30) for m in reqs)
    h.receive(credit(FcHeader.Type.REPLENISH, 700, B, A, 30))
    h.receive(credit(FcHeader.Type.REPLENISH, 700, C, A, 30))
    assert h.take_down() == [] and layer.backlog() == 1  # A (ourselves) has not replenished yet
    h.receive(credit(FcHeader.Type.REPLENISH, 700, A, A, 30))
    (sent,) = h.take_down()
    assert sent.dest is None and layer.backlog() == 0


def test_mfc_credit_requests_go_only_to_members_short_of_credits() -> None:
    h = make(MFC, members=(A, B, C))
    h.send(data(700))
    h.receive(credit(FcHeader.Type.REPLENISH, 700, A, A, 30))
    h.receive(credit(FcHeader.Type.REPLENISH, 700, B, A, 30))
    h.send(data(700))
    h.take_down()
    assert h.layer.backlog() == 1
    h.advance(5000 * MS)
    (req,) = h.take_down()
    assert req.dest == C and req.payload == 700


def test_mfc_departing_member_unblocks() -> None:
    h = make(MFC, members=(A, B, C))
    h.send(data(700))
    h.receive(credit(FcHeader.Type.REPLENISH, 700, A, A, 30))
    h.receive(credit(FcHeader.Type.REPLENISH, 700, B, A, 30))
    h.send(data(700))
    h.take_down()
    h.down(view(A, B, vid=2))  # C, the slow one, leaves
    (sent,) = h.take_down()
    assert sent.dest is None and h.layer.backlog() == 0


def test_mfc_dont_block_message_is_dropped_when_short() -> None:
    h = make(MFC)
    h.send(data(700))
    h.take_down()
    h.send(Message(MsgType.BYTES, payload=bytes(700), transient_flags=TransientFlag.DONT_BLOCK))
    assert h.layer.counters["num_msgs_dropped"] == 1
    assert h.layer.backlog() == 0
    assert len(h.take_down()) == 2  # the credit requests, sent at once since none was sent before


def test_mfc_ignores_unicasts() -> None:
    h = make(MFC)
    for _ in range(3):
        h.send(data(900, dest=B))
    assert len(h.take_down()) == 3 and h.layer.backlog() == 0


# ----------------------------------------------------------------------------------------- two parties


def pair(cls: type[FlowControl], seed: int) -> HarnessPair:
    a, b = cls(), cls()
    for layer in (a, b):
        layer.max_credits, layer.min_threshold = 10_000, 0.25
    p = HarnessPair(a, b, seed=seed)
    members = (p.a.local_addr, p.b.local_addr)
    for side in (p.a, p.b):
        side.down(view(*members))
        side.take_down_events()
    return p


def route(p: HarnessPair) -> None:
    """Deliver until quiet; multicasts also loop back to their sender, as the transport does."""
    sides = (p.a, p.b)
    moved = True
    while moved:
        moved = False
        for side in sides:
            for msg in side.take_down():
                for target in sides:
                    if msg.dest is None or msg.dest == target.local_addr:
                        target.receive(msg.copy())
                        moved = True


@settings(max_examples=40)
# messages stay below min_credits (2500), as JGroups requires of frag_size (JGRP-1659)
@given(st.sampled_from([UFC, MFC]), st.lists(st.integers(0, 2400), min_size=1, max_size=80))
def test_pair_never_stalls_and_keeps_order(cls: type[FlowControl], sizes: list[int]) -> None:
    p = pair(cls, seed=7)
    dest = p.b.local_addr if cls is UFC else None
    for i, n in enumerate(sizes):
        p.a.send(Message(MsgType.BYTES, dest=dest, payload=i.to_bytes(2, "big") + bytes(n)))
        route(p)
        rounds = 0
        while p.a.layer.backlog():  # blocked: the credit request after max_block_time unblocks it
            rounds += 1
            assert rounds <= 1
            p.advance(p.a.layer.max_block_time * MS)  # type: ignore[attr-defined]
            route(p)
    got = p.b.take_up()
    assert [int.from_bytes(m.payload[:2], "big") for m in got] == list(range(len(sizes)))
    assert p.a.layer.backlog() == 0


def test_tcp_fc_xml_attributes() -> None:
    from pygroups.stack.properties import apply_attributes

    for cls in (UFC, MFC):
        layer = cls()
        assert apply_attributes(layer, {"max_credits": "2M", "min_threshold": "0.4"}, element=cls.name) == {}
        LayerHarness(layer)
        assert layer.max_credits == 2_000_000 and layer.effective_min_credits == 800_000
        assert layer.max_block_time == 5000


def test_defaults_are_jgroups_defaults() -> None:
    layer = UFC()
    got = (layer.max_credits, layer.max_block_time, layer.min_threshold, layer.min_credits)
    assert got == (5_000_000, 5000, 0.2, 0)


def test_disconnect_releases_held_messages() -> None:
    h = make(UFC)
    h.send(data(900, dest=B))
    h.send(data(900, dest=B))
    h.take_down()
    h.stack.disconnect()
    assert len(h.take_down()) == 1
    assert h.layer.backlog() == 0


def test_mfc_message_above_min_credits_can_stall_as_in_java() -> None:
    # JGRP-1659: nobody is at or below min_credits (400), so MFC asks nobody and stays blocked
    h = make(MFC)
    h.send(data(450))
    h.send(data(600))  # 550 left everywhere: not enough, but above min_credits
    h.take_down()
    h.advance(60_000 * MS)
    assert h.take_down() == [] and h.layer.backlog() == 1
