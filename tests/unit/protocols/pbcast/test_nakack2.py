"""pbcast.NAKACK2: sending, FIFO/OOB delivery, retransmission, digests, stability, batches."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import (
    BecomeServer,
    GetDigest,
    MergeDigest,
    OverwriteDigest,
    SetDigest,
    Stable,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.objects import SeqnoList
from pygroups.protocols.pbcast.nakack2 import NAKACK2
from pygroups.protocols.reliable import seqnos_of
from pygroups.testing.harness import HarnessNet, LayerHarness
from pygroups.view import Digest, View, ViewId
from pygroups.wire.codec import decode_message, encode_message
from pygroups.wire.headers.nakack import HIGHEST_SEQNO, MSG, XMIT_REQ, XMIT_RSP, NakAckHeader2

A, B, C = UUID(0, 1), UUID(0, 2), UUID(0, 3)
PID = NAKACK2.protocol_id
XMIT = 1000 * MS


def view(*members: Address, vid: int = 1) -> View:
    return View(ViewId(members[0], vid), tuple(members))


def node(addr: Address = A, members: tuple[Address, ...] = (A, B), **props: object) -> LayerHarness:
    layer = NAKACK2()
    for k, v in props.items():
        setattr(layer, k, v)
    h = LayerHarness(layer, local_addr=addr)
    h.advance(0)  # the retransmit task's first run (Java starts it with delay 0)
    if members:
        h.down(ViewChange(view(*members)))
        h.down(BecomeServer())
    h.take_down_events()
    return h


def nak(h: LayerHarness) -> NAKACK2:
    assert isinstance(h.layer, NAKACK2)
    return h.layer


def mcast(src: Address, seqno: int, payload: bytes = b"", *, oob: bool = False) -> Message:
    msg = Message(MsgType.BYTES, src=src, flags=Flag.OOB if oob else 0, payload=payload or f"{src}#{seqno}".encode())
    return msg.put_header(PID, NakAckHeader2(MSG, seqno))


def payloads(msgs: list[Message]) -> list[bytes]:
    return [m.payload for m in msgs]


def hdr(msg: Message) -> NakAckHeader2:
    h = msg.get_header(PID)
    assert isinstance(h, NakAckHeader2)
    return h


# --- sending ---------------------------------------------------------------------------------------------


def test_multicast_gets_next_seqno_and_is_kept_for_retransmission() -> None:
    h = node()
    h.send(Message(payload=b"one"))
    h.send(Message(payload=b"two"))
    out = h.take_down()
    assert [(hdr(m).type, hdr(m).seqno, m.src) for m in out] == [(MSG, 1, A), (MSG, 2, A)]
    own = nak(h).window(A)
    assert own is not None and own.num_stored == 2 and own.get(1) is out[0]
    assert nak(h).statistics()["current_seqno"] == 2


def test_unicasts_and_no_reliability_pass_untouched() -> None:
    h = node()
    h.send(Message(dest=B, payload=b"u"))
    h.send(Message(flags=Flag.NO_RELIABILITY, payload=b"n"))
    assert [m.headers for m in h.take_down()] == [{}, {}]
    assert nak(h).seqno == 0


def test_multicast_before_own_table_exists_is_dropped() -> None:
    h = node(members=())
    h.send(Message(payload=b"early"))
    assert h.take_down() == []
    assert nak(h).counters["msgs_dropped_no_own_table"] == 1


def test_loopback_is_delivered_once_from_the_table_and_kept() -> None:
    h = node()
    h.send(Message(payload=b"a"))
    h.send(Message(payload=b"b"))
    first, second = h.take_down()
    h.receive(second)  # both are in our table already: any loopback delivers what is contiguous
    assert payloads(h.take_up()) == [b"a", b"b"]
    h.receive(first)  # a later (or duplicate) loopback delivers nothing
    assert h.take_up() == []
    own = nak(h).window(A)
    assert own is not None and own.hd == 2 and own.num_stored == 2  # the sender keeps them until STABLE


def test_own_oob_message_is_delivered_exactly_once() -> None:
    h = node()
    h.send(Message(payload=b"reg"))
    h.send(Message(flags=Flag.OOB, payload=b"oob"))
    reg, oob = h.take_down()
    h.receive(oob)
    # OOB at once; then #1 is contiguous in our own table and follows; #2 is not delivered again
    assert payloads(h.take_up()) == [b"oob", b"reg"]
    h.receive(reg)
    h.receive(oob)
    assert h.take_up() == []


def test_dont_loopback_message_does_not_block_own_window() -> None:
    h = node()
    h.send(Message(payload=b"1", transient_flags=TransientFlag.DONT_LOOPBACK))
    h.send(Message(payload=b"2"))
    _, second = h.take_down()
    h.receive(second)
    assert payloads(h.take_up()) == [b"2"]


# --- receiving -------------------------------------------------------------------------------------------


def test_fifo_delivery_from_out_of_order_input() -> None:
    h = node()
    for s in (3, 1, 5, 2, 4):
        h.receive(mcast(B, s))
    assert payloads(h.take_up()) == [f"{B}#{s}".encode() for s in (1, 2, 3, 4, 5)]


def test_fifo_order_per_receive_step() -> None:
    h = node()
    h.receive(mcast(B, 2))
    assert h.take_up() == []
    h.receive(mcast(B, 1))
    assert [hdr(m).seqno for m in h.take_up()] == [1, 2]


def test_duplicates_are_dropped() -> None:
    h = node()
    for s in (1, 1, 2, 1, 2):
        h.receive(mcast(B, s))
    assert len(h.take_up()) == 2
    buf = nak(h).window(B)
    assert buf is not None and buf.num_stored == 0  # receivers discard delivered messages


def test_oob_delivered_at_once_and_exactly_once_while_fifo_continues() -> None:
    h = node()
    h.receive(mcast(B, 2, b"oob", oob=True))
    assert payloads(h.take_up()) == [b"oob"]
    h.receive(mcast(B, 2, b"oob", oob=True))  # retransmitted duplicate
    h.receive(mcast(B, 3, b"three"))
    assert h.take_up() == []  # 3 waits for 1
    h.receive(mcast(B, 1, b"one"))
    assert payloads(h.take_up()) == [b"one", b"three"]
    buf = nak(h).window(B)
    assert buf is not None and buf.hd == 3


def test_messages_from_non_members_are_dropped_and_counted() -> None:
    h = node()
    h.receive(mcast(C, 1))
    assert h.take_up() == []
    assert nak(h).statistics()["msgs_dropped_non_member"] == 1


def test_unicast_and_headerless_messages_pass_up() -> None:
    h = node()
    h.receive(Message(dest=A, src=B, payload=b"u"))
    assert payloads(h.take_up()) == [b"u"]


def test_bad_header_is_counted_not_raised() -> None:
    h = node()
    h.receive(Message(src=B).put_header(PID, NakAckHeader2(9)))
    h.receive(Message(MsgType.OBJECT, src=B, payload=None).put_header(PID, NakAckHeader2(XMIT_REQ, sender=A)))
    assert nak(h).counters["msgs_dropped_bad_header"] == 2


def test_batch_is_grouped_per_sender_and_other_messages_pass_up() -> None:
    h = node(members=(A, B, C))
    batch = [mcast(B, 2), Message(src=B, dest=A, payload=b"plain"), mcast(C, 1), mcast(B, 1), mcast(B, 3, oob=True)]
    h.stack.run_input(h.layer.up_batch, batch)
    up = payloads(h.take_up())
    assert up.index(f"{B}#3".encode()) < up.index(f"{B}#1".encode())  # OOB first
    assert up.index(f"{B}#1".encode()) < up.index(f"{B}#2".encode())
    assert sorted(up) == sorted([f"{B}#{s}".encode() for s in (1, 2, 3)] + [f"{C}#1".encode(), b"plain"])


# --- retransmission --------------------------------------------------------------------------------------


def test_gap_asks_on_second_run_with_javas_seqno_list_bytes() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.receive(mcast(B, 4))
    h.advance(XMIT)
    assert h.take_down() == []  # first sighting only records the gap
    h.advance(XMIT)
    (req,) = h.take_down()
    assert req.type == MsgType.OBJECT and req.dest == B
    assert req.flags == Flag.OOB | Flag.NO_FC
    assert hdr(req) == NakAckHeader2(XMIT_REQ, sender=B)
    assert req.payload == SeqnoList(2, 2, (0b11,))
    # ObjectMessage payload: present, SeqnoList magic 15, i32 size, i64 offset, words
    assert encode_message(req).endswith(bytes.fromhex("01 000f 00000002 0000000000000002 0000000000000003"))
    assert decode_message(encode_message(req)).payload == req.payload
    assert nak(h).counters["xmit_reqs_sent"] == 2


def test_xmit_req_only_asks_for_gaps_seen_on_the_previous_run() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.receive(mcast(B, 3))
    h.advance(XMIT)
    h.receive(mcast(B, 6))
    h.advance(XMIT)
    (req,) = h.take_down()
    assert seqnos_of(req.payload) == [2]  # 4 and 5 were not there last time
    h.advance(XMIT)
    (req,) = h.take_down()
    assert seqnos_of(req.payload) == [2, 4, 5]


def test_max_xmit_req_size_caps_the_list() -> None:
    h = node(max_xmit_req_size=3)
    h.receive(mcast(B, 10))
    h.advance(XMIT)
    h.advance(XMIT)
    (req,) = h.take_down()
    assert (req.payload.size, req.payload.offset, seqnos_of(req.payload)) == (3, 1, [1, 2, 3])


def test_xmit_req_is_answered_with_xmit_rsp_copies() -> None:
    h = node()
    for p in (b"x1", b"x2", b"x3"):
        h.send(Message(payload=p, flags=Flag.DONT_BUNDLE))
    originals = h.take_down()
    req = Message(MsgType.OBJECT, dest=A, src=B, flags=Flag.OOB | Flag.NO_FC, payload=SeqnoList.of([1, 3]))
    h.receive(req.put_header(PID, NakAckHeader2(XMIT_REQ, sender=A)))
    rsps = h.take_down()
    assert [(m.dest, m.src, hdr(m), m.payload, m.flags) for m in rsps] == [
        (B, A, NakAckHeader2(XMIT_RSP, 1), b"x1", Flag.DONT_BUNDLE),
        (B, A, NakAckHeader2(XMIT_RSP, 3), b"x3", Flag.DONT_BUNDLE),
    ]
    assert hdr(originals[0]) == NakAckHeader2(MSG, 1)  # the stored original is untouched
    stats = nak(h).statistics()
    assert (stats["xmit_reqs_received"], stats["xmit_rsps_sent"]) == (2, 2)


def test_xmit_req_for_purged_or_unknown_sender_is_counted() -> None:
    h = node()
    req = Message(MsgType.OBJECT, dest=A, src=B, payload=SeqnoList.of([7]))
    h.receive(req.put_header(PID, NakAckHeader2(XMIT_REQ, sender=A)))
    req2 = Message(MsgType.OBJECT, dest=A, src=B, payload=SeqnoList.of([1]))
    h.receive(req2.put_header(PID, NakAckHeader2(XMIT_REQ, sender=C)))
    assert h.take_down() == []
    assert nak(h).counters["xmit_req_msgs_not_found"] == 1
    assert nak(h).counters["xmit_reqs_unknown_sender"] == 1


def test_xmit_rsp_fills_the_gap() -> None:
    h = node()
    h.receive(mcast(B, 2))
    rsp = mcast(B, 1, b"late")
    rsp.dest = A
    rsp.put_header(PID, NakAckHeader2(XMIT_RSP, 1))
    h.receive(rsp)
    up = h.take_up()
    assert payloads(up) == [b"late", f"{B}#2".encode()]
    assert up[0].dest is None and hdr(up[0]) == NakAckHeader2(MSG, 1)
    assert nak(h).statistics()["xmit_rsps_received"] == 1


def test_use_mcast_xmit_resends_the_original() -> None:
    h = node()
    nak(h).use_mcast_xmit = True
    h.send(Message(payload=b"x"))
    (orig,) = h.take_down()
    req = Message(MsgType.OBJECT, dest=A, src=B, payload=SeqnoList.of([1]))
    h.receive(req.put_header(PID, NakAckHeader2(XMIT_REQ, sender=A)))
    (again,) = h.take_down()
    assert again is orig and again.dest is None


def test_tcp_transport_turns_off_mcast_xmit() -> None:
    assert nak(node()).use_mcast_xmit is False


def test_highest_seqno_is_sent_once_after_a_quiet_interval() -> None:
    h = node()
    h.send(Message(payload=b"last"))
    h.take_down()
    h.advance(XMIT)  # a message was sent in this interval: skipped
    assert h.take_down() == []
    h.advance(XMIT)
    (hs,) = h.take_down()
    assert hs.type == MsgType.EMPTY and hs.dest is None and hs.flags == Flag.OOB | Flag.NO_FC
    assert hs.transient_flags & TransientFlag.DONT_LOOPBACK
    assert hdr(hs) == NakAckHeader2(HIGHEST_SEQNO, 1)
    h.advance(XMIT)
    assert h.take_down() == []  # resend_last_seqno_max_times=1


def test_highest_seqno_above_ours_triggers_an_immediate_xmit_req() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.receive(Message(MsgType.EMPTY, src=B, flags=Flag.OOB).put_header(PID, NakAckHeader2(HIGHEST_SEQNO, 3)))
    (req,) = h.take_down()
    assert req.dest == B and req.payload == SeqnoList(1, 3, (1,))
    h.receive(Message(MsgType.EMPTY, src=B).put_header(PID, NakAckHeader2(HIGHEST_SEQNO, 1)))
    assert h.take_down() == []


def test_an_announced_last_message_is_asked_for_every_interval_until_it_arrives() -> None:
    """Beyond Java (which asks once, then waits for STABLE): the XMIT_REQ for an announced last message is
    repeated every xmit_interval while it is missing, and stops once it arrived."""
    h = node(resend_last_seqno=False)
    h.receive(mcast(B, 1))
    h.receive(Message(MsgType.EMPTY, src=B, flags=Flag.OOB).put_header(PID, NakAckHeader2(HIGHEST_SEQNO, 3)))
    (first,) = h.take_down()
    assert first.payload == SeqnoList(1, 3, (1,))  # the XMIT_RSP to this one is lost
    h.advance(XMIT)
    again = [m for m in h.take_down() if hdr(m).type == XMIT_REQ]
    assert [m.payload for m in again] == [SeqnoList(1, 3, (1,))] and again[0].dest == B
    h.receive(mcast(B, 3))  # it arrives; 2 is now an ordinary gap the retransmit task handles
    h.receive(mcast(B, 2))
    h.advance(XMIT)
    h.advance(XMIT)
    assert [m for m in h.take_down() if hdr(m).type == XMIT_REQ] == []
    assert nak(h).counters["xmit_reqs_for_announced_last"] == 1


def test_lost_last_message_is_recovered_through_highest_seqno() -> None:
    net = HarnessNet()
    a, b = net.add(A, NAKACK2()), net.add(B, NAKACK2(), seed=1)
    for h in (a, b):
        h.down(ViewChange(view(A, B)))
        h.down(BecomeServer())
    net.route()
    a.send(Message(payload=b"m1"))
    net.route()
    a.send(Message(payload=b"m2"))
    a.take_down()  # m2 never reaches anyone (not even the loopback)
    assert payloads(b.take_up()) == [b"m1"]
    for _ in range(4):
        net.advance(XMIT)
    assert payloads(b.take_up()) == [b"m2"]
    assert nak(b).statistics()["xmit_rsps_received"] == 1


def test_random_member_xmit_goes_to_someone_else() -> None:
    h = node(members=(A, B, C), xmit_from_random_member=True)
    assert nak(h).discard_delivered_msgs is False
    h.receive(mcast(B, 2))
    h.advance(XMIT)
    h.advance(XMIT)
    (req,) = h.take_down()
    assert req.dest in (B, C) and hdr(req).sender == B


# --- digests, views, stability ---------------------------------------------------------------------------


def test_get_digest_for_all_and_for_one_member() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.receive(mcast(B, 3))
    d = h.stack.query(GetDigest())
    assert d is not None and dict(zip(d.members, d.seqnos, strict=True)) == {A: (0, 0), B: (1, 3)}
    assert h.stack.query(GetDigest(B)) == Digest((B,), ((1, 3),))
    assert h.stack.query(GetDigest(C)) is None


def test_joiner_queues_until_become_server_then_replays_from_set_digest() -> None:
    h = node(C, members=())
    h.receive(mcast(A, 6, b"early"))  # e.g. the VIEW announcing our join, before the JOIN_RSP
    assert h.take_up() == [] and nak(h).statistics()["become_server_queue_size_actual"] == 1
    h.down(SetDigest(Digest((A, B, C), ((5, 5), (2, 3), (0, 0)))))
    h.down(ViewChange(view(A, B, C)))
    h.down(BecomeServer())
    assert payloads(h.take_up()) == [b"early"]
    h.receive(mcast(A, 5))  # already covered by the digest
    h.receive(mcast(B, 3, b"b3"))
    assert payloads(h.take_up()) == [b"b3"]


def test_become_server_queue_is_bounded() -> None:
    h = node(C, members=(), become_server_queue_size=2)
    for s in (1, 2, 3):
        h.receive(mcast(A, s))
    assert nak(h).counters["msgs_dropped_queue_full"] == 1


def test_set_digest_keeps_existing_tables_merge_digest_replaces_those_behind() -> None:
    h = node(members=(A, B, C))
    h.receive(mcast(B, 1))
    h.down(SetDigest(Digest((B, C), ((10, 10), (0, 0)))))
    assert h.stack.query(GetDigest(B)) == Digest((B,), ((1, 1),))
    h.down(MergeDigest(Digest((A, B, C), ((7, 7), (10, 12), (0, 0)))))
    assert h.stack.query(GetDigest(B)) == Digest((B,), ((10, 10),))
    assert h.stack.query(GetDigest(A)) == Digest((A,), ((0, 0),))  # never our own


def test_overwrite_digest_replaces_others_and_adjusts_own_hd() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.down(OverwriteDigest(Digest((A, B, C), ((4, 4), (20, 20), (3, 3)))))
    d = h.stack.query(GetDigest())
    assert d is not None and dict(zip(d.members, d.seqnos, strict=True)) == {
        A: (4, 0), B: (20, 20), C: (3, 3)
    }


def test_view_change_drops_tables_of_members_who_left() -> None:
    h = node(members=(A, B, C))
    h.down(ViewChange(view(A, C, vid=2)))
    assert nak(h).window(B) is None and nak(h).window(A) is not None
    assert nak(h).members == (A, C)
    h.receive(mcast(B, 1))
    assert nak(h).counters["msgs_dropped_non_member"] == 1


def test_stable_purges_delivered_messages_and_bounds_the_buffers() -> None:
    h = node()
    for i in range(5):
        h.send(Message(payload=bytes([i])))
    for m in h.take_down():
        h.receive(m)
    for s in (1, 2, 3):
        h.receive(mcast(B, s))
    assert nak(h).statistics()["xmit_table_num_current_msgs"] == 5
    h.down(Stable(Digest((A, B), ((3, 5), (3, 3)))))
    own = nak(h).window(A)
    assert own is not None and own.num_stored == 2 and own.get(3) is None and own.get(4) is not None
    assert nak(h).statistics()["xmit_table_num_current_msgs"] == 2
    assert nak(h).table_sizes() == {A: 2, B: 0}
    assert h.take_down_events() == []  # Stable is consumed, not passed down


def test_stable_asks_for_a_last_message_seen_by_others() -> None:
    h = node()
    h.receive(mcast(B, 1))
    h.down(Stable(Digest((A, B), ((0, 0), (1, 2)))))
    assert h.take_down() == []  # first time: only remembered
    h.down(Stable(Digest((A, B), ((0, 0), (1, 2)))))
    (req,) = h.take_down()
    assert req.dest == B and req.payload == SeqnoList(1, 2, (1,))


def test_disconnect_resets() -> None:
    h = node()
    h.send(Message(payload=b"x"))
    h.stack.disconnect()
    assert nak(h).xmit_table == {} and nak(h).seqno == 0


# --- property: exactly-once FIFO under loss, duplication and reordering ----------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    n=st.integers(2, 3),
    loss=st.sampled_from([0.0, 0.1, 0.3]),
    dup=st.sampled_from([0.0, 0.2]),
    sends=st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=25),
)
def test_exactly_once_fifo_after_retransmission(
    seed: int, n: int, loss: float, dup: float, sends: list[tuple[int, bool]]
) -> None:
    addrs: list[Address] = [A, B, C]
    addrs = addrs[:n]
    net = HarnessNet(seed=seed, loss=loss, dup=dup, reorder=True)
    for i, a in enumerate(addrs):
        layer = NAKACK2()
        layer.resend_last_seqno_max_times = 1000  # keep announcing the last seqno (a lost HIGHEST_SEQNO)
        net.add(a, layer, seed=i)
    for h in net.nodes.values():
        h.down(ViewChange(view(*addrs)))
        h.down(BecomeServer())
    sent: dict[Address, list[tuple[bytes, bool]]] = {a: [] for a in addrs}
    for k, (who, oob) in enumerate(sends):
        src = addrs[who % n]
        payload = f"{src}:{k}".encode()
        net.nodes[src].send(Message(payload=payload, flags=Flag.OOB if oob else 0))
        sent[src].append((payload, oob))
        net.route()
    for _ in range(40):
        net.advance(XMIT)
    net.loss = net.dup = 0.0
    for _ in range(5):
        net.advance(XMIT)
    for rcv, h in net.nodes.items():
        got = payloads(h.take_up())
        assert len(got) == len(set(got)), f"{rcv} got duplicates"
        for src, msgs in sent.items():
            from_src = [p for p in got if p.startswith(f"{src}:".encode())]
            assert sorted(from_src) == sorted(p for p, _ in msgs), f"{rcv} missed messages of {src}"
            regular = [p for p, oob in msgs if not oob]
            assert [p for p in from_src if p in regular] == regular, f"{rcv}: {src}'s regular messages out of order"
