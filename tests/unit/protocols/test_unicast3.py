"""UNICAST3 at the LayerHarness level: ordering, duplicates, OOB, ACK/XMIT_REQ/SEND_FIRST_SEQNO,
connection ids, connection expiry/CLOSE, and the bytes Java 5.5.6 writes for DATA/ACK/XMIT_REQ."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.address import UUID, Address
from pygroups.clock import MS
from pygroups.events import ViewChange
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.objects import SeqnoList
from pygroups.protocols.unicast3 import UNICAST3, seqno_list
from pygroups.testing.harness import HarnessPair, LayerHarness
from pygroups.testing.sim import SimNetwork, SimTransport
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.unicast import ACK, CLOSE, DATA, SEND_FIRST_SEQNO, XMIT_REQ, UnicastHeader3

PID = 48
ME, PEER, OTHER = UUID(0, 1), UUID(0, 2), UUID(0, 3)
CATALOGUE = Path(__file__).parents[2] / "data" / "java" / "5.5.6" / "catalogue.jsonl"


def make(local: Address = ME, **props: object) -> tuple[LayerHarness, UNICAST3]:
    layer = UNICAST3()
    for k, v in props.items():
        setattr(layer, k, v)
    return LayerHarness(layer, local_addr=local), layer


def data(seqno: int, *, conn_id: int = 0, first: bool | None = None, src: Address = PEER, dest: Address = ME,
         flags: int = 0, payload: bytes | None = None) -> Message:
    first = seqno == 1 if first is None else first
    msg = Message(dest=dest, src=src, flags=flags, payload=payload if payload is not None else b"%d" % seqno)
    return msg.put_header(PID, UnicastHeader3(DATA, seqno, conn_id, first))


def ack(seqno: int, ts: int, *, conn_id: int = 0, src: Address = PEER) -> Message:
    return Message(MsgType.EMPTY, dest=ME, src=src, flags=Flag.NO_FC).put_header(
        PID, UnicastHeader3(ACK, seqno, conn_id, timestamp=ts))


def hdr(msg: Message) -> UnicastHeader3:
    h = msg.get_header(PID)
    assert isinstance(h, UnicastHeader3)
    return h


def payloads(msgs: list[Message]) -> list[bytes]:
    return [m.payload for m in msgs]


def of_type(msgs: list[Message], t: int) -> list[Message]:
    return [m for m in msgs if isinstance(m.get_header(PID), UnicastHeader3) and hdr(m).type == t]


def view(*members: Address) -> ViewChange:
    return ViewChange(View(ViewId(members[0], 1), tuple(members)))


def catalogue(name: str) -> bytes:
    for line in CATALOGUE.read_text().splitlines():
        entry = json.loads(line)
        if entry["name"] == name:
            return bytes.fromhex(entry["hex"])
    raise LookupError(name)


# --- send side ------------------------------------------------------------------------------------------


def test_seqnos_start_at_1_with_first_and_conn_ids_count_per_destination() -> None:
    h, _ = make()
    for _ in range(3):
        h.send(Message(dest=PEER, payload=b"x"))
    h.send(Message(dest=OTHER, payload=b"y"))
    out = h.take_down()
    assert [(hdr(m).seqno, hdr(m).conn_id, hdr(m).first) for m in out] == [
        (1, 0, True), (2, 0, False), (3, 0, False), (1, 1, True)]
    assert all(m.src == ME for m in out)


def test_multicasts_and_no_reliability_pass_untouched() -> None:
    h, layer = make()
    h.send(Message(payload=b"mcast"))
    h.send(Message(dest=PEER, flags=Flag.NO_RELIABILITY, payload=b"unreliable"))
    assert all(not m.headers for m in h.take_down())
    h.receive(Message(src=PEER, payload=b"m"))
    h.receive(Message(dest=ME, src=PEER, flags=Flag.NO_RELIABILITY, payload=b"u"))
    h.receive(Message(dest=ME, src=PEER, payload=b"no header"))
    assert payloads(h.take_up()) == [b"m", b"u", b"no header"]
    assert layer.statistics()["num_send_connections"] == 0


def test_ack_purges_send_window_and_stale_or_foreign_acks_are_ignored() -> None:
    h, layer = make()
    for _ in range(5):
        h.send(Message(dest=PEER))
    assert layer.num_unacked_messages(PEER) == 5
    h.receive(ack(2, ts=5))
    assert layer.num_unacked_messages(PEER) == 3
    h.receive(ack(4, ts=4))  # older timestamp: a reordered ACK
    h.receive(ack(4, ts=9, conn_id=7))  # another connection
    assert layer.num_unacked_messages(PEER) == 3
    h.receive(ack(5, ts=6))
    assert layer.num_unacked_messages() == 0
    assert layer.statistics()["num_acks_received"] == 2


def test_ack_timestamps_compare_across_int_wraparound() -> None:
    h, layer = make()
    for _ in range(3):
        h.send(Message(dest=PEER))
    h.receive(ack(1, ts=2**31 - 1))
    h.receive(ack(3, ts=-(2**31)))  # the next int after MAX_VALUE
    assert layer.num_unacked_messages() == 0


def test_xmit_req_resends_requested_messages_with_their_data_header() -> None:
    h, layer = make()
    for i in range(1, 6):
        h.send(Message(dest=PEER, payload=b"%d" % i))
    h.take_down()
    req = Message(MsgType.OBJECT, dest=ME, src=PEER, flags=Flag.OOB | Flag.NO_FC, payload=SeqnoList.of([2, 4, 9]))
    h.receive(req.put_header(PID, UnicastHeader3(XMIT_REQ)))
    out = h.take_down()
    assert [(m.payload, hdr(m).seqno, hdr(m).first) for m in out] == [(b"2", 2, False), (b"4", 4, False)]
    assert layer.statistics()["xmit_reqs_received"] == 3
    assert layer.statistics()["xmit_rsps_sent"] == 2


def test_sender_resends_highest_unacked_when_nothing_moved_between_runs() -> None:
    h, layer = make()
    h.advance(0)  # Java's task starts at once
    for i in range(1, 4):
        h.send(Message(dest=PEER, payload=b"%d" % i))
    h.take_down()
    h.advance(500 * MS)  # records the watermark
    assert h.take_down() == []
    h.advance(500 * MS)
    resent = h.take_down()
    assert [(m.payload, hdr(m).seqno) for m in resent] == [(b"3", 3)]
    h.receive(ack(3, ts=1))
    h.advance(500 * MS)
    h.advance(500 * MS)
    assert h.take_down() == []
    assert layer.statistics()["num_xmits"] == 1


def test_malformed_xmit_req_is_counted_not_raised() -> None:
    h, layer = make()
    h.send(Message(dest=PEER))
    bad = Message(MsgType.OBJECT, dest=ME, src=PEER, payload="not a seqno list")
    h.receive(bad.put_header(PID, UnicastHeader3(XMIT_REQ)))
    h.receive(Message(dest=ME, src=PEER).put_header(PID, UnicastHeader3(9)))
    assert layer.statistics()["dropped_malformed"] == 1
    assert layer.statistics()["dropped_unknown_type"] == 1


# --- receive side ---------------------------------------------------------------------------------------


def test_in_order_delivery_from_out_of_order_input_and_duplicates_dropped() -> None:
    h, layer = make()
    for s in (3, 5, 1, 1, 2, 3, 4):
        h.receive(data(s))
    assert payloads(h.take_up()) == [b"1", b"2", b"3", b"4", b"5"]
    st_ = layer.statistics()
    assert st_["num_duplicates"] == 2
    assert st_["num_msgs_delivered"] == 5
    assert st_["xmit_table_undelivered_msgs"] == 0


def test_oob_is_delivered_on_arrival_exactly_once() -> None:
    h, _ = make()
    h.receive(data(3, flags=Flag.OOB))
    assert payloads(h.take_up()) == []  # no receive entry before the first message
    h.receive(data(1))  # drains the cache first: the OOB message goes up on arrival of the entry
    assert payloads(h.take_up()) == [b"3", b"1"]
    h.receive(data(3, flags=Flag.OOB))
    h.receive(data(2))
    h.receive(data(4))
    assert payloads(h.take_up()) == [b"2", b"4"]


def test_delayed_ack_is_sent_by_the_retransmit_task() -> None:
    h, layer = make()
    h.receive(data(1))
    h.receive(data(2))
    assert h.take_down() == []
    h.advance(0)
    (a,) = h.take_down()
    assert a.type == MsgType.EMPTY and a.dest == PEER and a.flags == Flag.NO_FC
    assert (hdr(a).type, hdr(a).seqno, hdr(a).conn_id, hdr(a).timestamp) == (ACK, 2, 0, 1)
    h.advance(500 * MS)
    assert h.take_down() == []  # nothing new arrived
    h.receive(data(3))
    h.advance(500 * MS)
    assert [(hdr(m).seqno, hdr(m).timestamp) for m in h.take_down()] == [(3, 2)]
    assert layer.statistics()["num_acks_sent"] == 2


def test_ack_threshold_1_acks_every_message() -> None:
    h, _ = make(ack_threshold=1)
    h.receive(data(1))
    h.receive(data(3))
    assert [hdr(m).seqno for m in of_type(h.take_down(), ACK)] == [1, 1]


def test_a_batch_of_ack_threshold_messages_is_acked_at_once() -> None:
    h, layer = make(ack_threshold=4)
    h.stack.run_input(layer.up_batch, [data(s) for s in (1, 2, 3, 5)])
    assert payloads(h.take_up()) == [b"1", b"2", b"3"]
    assert [hdr(m).seqno for m in of_type(h.take_down(), ACK)] == [3]
    h.stack.run_input(layer.up_batch, [data(4), Message(src=PEER, payload=b"mcast")])
    assert payloads(h.take_up()) == [b"4", b"5", b"mcast"]
    assert of_type(h.take_down(), ACK) == []  # below the threshold: delayed


def test_receiver_asks_for_gaps_on_the_second_run_with_xmit_req() -> None:
    h, layer = make()
    h.advance(0)
    for s in (1, 2, 4, 7):
        h.receive(data(s))
    h.take_down()
    h.advance(500 * MS)
    assert of_type(h.take_down(), XMIT_REQ) == []  # first run only records the gaps
    h.advance(500 * MS)
    (req,) = of_type(h.take_down(), XMIT_REQ)
    assert req.type == MsgType.OBJECT and req.dest == PEER and req.flags == Flag.OOB | Flag.NO_FC
    assert req.payload == seqno_list(4, 3, [3, 5, 6])
    assert req.payload.seqnos == (3, 5, 6)
    h.receive(data(3))
    h.receive(data(5))
    h.receive(data(6))
    assert payloads(h.take_up())[-5:] == [b"3", b"4", b"5", b"6", b"7"]
    assert layer.statistics()["xmit_reqs_sent"] == 3


def test_new_gaps_are_asked_for_one_run_after_they_were_first_seen() -> None:
    h, _ = make()
    h.advance(0)
    h.receive(data(1))
    h.receive(data(3))
    h.advance(500 * MS)  # records gap 2
    h.receive(data(5))
    h.advance(500 * MS)  # asks for 2 only, records 4
    h.advance(500 * MS)  # asks for 2 and 4
    reqs = of_type(h.take_down(), XMIT_REQ)
    assert [r.payload.seqnos for r in reqs] == [(2,), (2, 4)]


def test_xmit_req_size_is_capped_by_max_xmit_req_size() -> None:
    h, _ = make(max_xmit_req_size=2)
    h.advance(0)
    for s in (1, 2, 4, 7):
        h.receive(data(s))
    h.advance(500 * MS)
    h.advance(500 * MS)
    (req,) = of_type(h.take_down(), XMIT_REQ)
    assert req.payload == seqno_list(2, 3, [3])  # Java: a window of 2 seqnos from the first gap


def test_a_duplicate_triggers_a_new_ack_so_lost_acks_are_repaired() -> None:
    h, _ = make()
    h.advance(0)
    for s in (1, 2, 3):
        h.receive(data(s))
    h.advance(500 * MS)
    assert [(hdr(m).seqno, hdr(m).timestamp) for m in of_type(h.take_down(), ACK)] == [(3, 1)]
    h.receive(data(3))  # the sender's resend of its highest unacked message: our ACK was lost
    h.advance(500 * MS)
    assert [(hdr(m).seqno, hdr(m).timestamp) for m in of_type(h.take_down(), ACK)] == [(3, 2)]


# --- SEND_FIRST_SEQNO, conn_id changes ------------------------------------------------------------------


def test_unknown_connection_triggers_send_first_seqno_rate_limited() -> None:
    h, layer = make()
    h.receive(data(5, conn_id=3))
    h.receive(data(6, conn_id=3))
    (req,) = h.take_down()
    assert req.dest == PEER and req.type == MsgType.EMPTY and req.flags == Flag.OOB | Flag.NO_FC
    assert (hdr(req).type, hdr(req).timestamp) == (SEND_FIRST_SEQNO, 1)
    assert layer.statistics()["num_cached_msgs"] == 2
    h.advance(2000 * MS)
    h.take_down()
    h.receive(data(7, conn_id=3))
    assert [hdr(m).type for m in h.take_down()] == [SEND_FIRST_SEQNO]
    # the sender answers with its lowest unacked message, flagged first: the cache drains in order
    h.receive(data(5, conn_id=3, first=True))
    assert payloads(h.take_up()) == [b"5", b"6", b"7"]
    assert layer.statistics()["num_cached_msgs"] == 0


def test_sender_answers_send_first_seqno_with_lowest_unacked_marked_first() -> None:
    h, layer = make()
    for i in range(1, 5):
        h.send(Message(dest=PEER, payload=b"%d" % i))
    h.take_down()
    h.receive(ack(2, ts=3))
    sfs = Message(MsgType.EMPTY, dest=ME, src=PEER, flags=Flag.OOB | Flag.NO_FC)
    h.receive(sfs.put_header(PID, UnicastHeader3(SEND_FIRST_SEQNO, timestamp=4)))
    (resent,) = h.take_down()
    assert (resent.payload, hdr(resent).seqno, hdr(resent).conn_id, hdr(resent).first) == (b"3", 3, 0, True)
    assert resent.transient_flags & TransientFlag.DONT_BLOCK
    # the stored message keeps its original header; an old timestamp is ignored
    assert hdr(layer.send_table[PEER].win.get(3)).first is False  # type: ignore[arg-type]
    h.receive(sfs.copy())
    assert h.take_down() == []


def test_new_conn_id_with_first_resets_the_receive_window() -> None:
    h, layer = make()
    for s in (1, 2, 3):
        h.receive(data(s, conn_id=0))
    h.take_up()
    h.receive(data(2, conn_id=9, first=False))  # not first: cached, SEND_FIRST_SEQNO
    assert [hdr(m).type for m in h.take_down()] == [SEND_FIRST_SEQNO]
    h.receive(data(1, conn_id=9, payload=b"restarted-1"))
    assert payloads(h.take_up()) == [b"restarted-1", b"2"]
    assert layer.recv_table[PEER].conn_id == 9


def test_receiver_losing_state_recovers_through_send_first_seqno() -> None:
    pair = HarnessPair(UNICAST3(), UNICAST3())
    a, b = pair.a, pair.b
    for i in range(3):
        a.send(Message(dest=b.local_addr, payload=b"%d" % i))
    pair.exchange()
    pair.advance(500 * MS)  # delayed ACK purges a's window
    pair.exchange()
    assert payloads(b.take_up()) == [b"0", b"1", b"2"]
    assert a.layer.num_unacked_messages() == 0  # type: ignore[attr-defined]
    b.layer.remove_all_connections()  # type: ignore[attr-defined]  # b lost its state
    a.send(Message(dest=b.local_addr, payload=b"3"))
    pair.exchange()  # #4 (not first) -> SEND_FIRST_SEQNO -> #4 again with first=true
    assert payloads(b.take_up()) == [b"3"]
    assert b.layer.recv_table[a.local_addr].win.hd == 4  # type: ignore[attr-defined]


def test_send_first_seqno_resends_from_the_lowest_unacked_message() -> None:
    pair = HarnessPair(UNICAST3(), UNICAST3())
    a, b = pair.a, pair.b
    for i in range(3):
        a.send(Message(dest=b.local_addr, payload=b"%d" % i))
    pair.exchange()
    assert payloads(b.take_up()) == [b"0", b"1", b"2"]
    b.layer.remove_all_connections()  # type: ignore[attr-defined]  # before any ACK reached a
    a.send(Message(dest=b.local_addr, payload=b"3"))
    got: list[bytes] = []
    for _ in range(4):
        pair.exchange()
        got += payloads(b.take_up())
        pair.advance(500 * MS)
    # Java semantics: the new receive entry starts at a's lowest unacked seqno (1), so 0-2 come again
    # (the receiver is a new incarnation), then XMIT_REQ fills 2-3 and everything arrives in order
    assert got == [b"0", b"1", b"2", b"3"]
    assert a.layer.num_unacked_messages() == 0  # type: ignore[attr-defined]


# --- loopback to self -----------------------------------------------------------------------------------


def test_unicast_to_self_is_delivered_from_the_send_window_when_looped_back() -> None:
    h, layer = make()
    h.send(Message(dest=ME, payload=b"a"))
    h.send(Message(dest=ME, payload=b"b", flags=Flag.OOB))
    h.send(Message(dest=ME, payload=b"c"))
    down = h.take_down()
    assert [hdr(m).seqno for m in down] == [1, 2, 3]
    h.receive(down[1].copy())  # the OOB one arrives first
    # as in Java, the send window doubles as the receive window: everything sent is deliverable
    assert payloads(h.take_up()) == [b"b", b"a", b"c"]
    h.receive(down[0].copy())
    h.receive(down[2].copy())
    h.receive(down[1].copy())
    assert payloads(h.take_up()) == []
    assert layer.num_unacked_messages() == 0


def test_loopback_property_bypasses_the_window() -> None:
    h, layer = make(loopback=True)
    h.send(Message(dest=ME, payload=b"a"))
    h.send(Message(dest=ME, payload=b"b", transient_flags=TransientFlag.DONT_LOOPBACK))
    assert h.take_down() == []
    assert payloads(h.take_up()) == [b"a"]
    assert layer.statistics()["num_loopbacks"] == 1


# --- connection management ------------------------------------------------------------------------------


def test_idle_connection_closes_then_is_removed_with_close_to_members() -> None:
    h, layer = make()
    h.down(view(ME, PEER))
    h.send(Message(dest=PEER))
    h.receive(ack(1, ts=1))
    h.receive(data(1))
    h.take_down()
    h.advance(0)
    h.take_down()
    h.advance(120_000 * MS)
    assert layer.send_table[PEER].state.name == "CLOSING"
    assert layer.recv_table[PEER].state.name == "CLOSING"
    for _ in range(480):
        h.advance(500 * MS)
    (close,) = of_type(h.take_down(), CLOSE)
    assert (close.dest, close.type, close.flags, hdr(close).conn_id) == (PEER, MsgType.EMPTY, Flag.NO_FC, 0)
    assert layer.statistics()["num_send_connections"] == 0
    assert layer.statistics()["num_receive_connections"] == 0
    h.send(Message(dest=PEER))  # a new connection with a new conn_id
    (m,) = h.take_down()
    assert (hdr(m).seqno, hdr(m).conn_id, hdr(m).first) == (1, 1, True)


def test_using_a_closing_connection_reopens_it() -> None:
    h, layer = make(conn_expiry_timeout=1000, conn_close_timeout=5000)
    h.down(view(ME, PEER))
    h.send(Message(dest=PEER))
    h.advance(0)
    h.advance(1000 * MS)
    assert layer.send_table[PEER].state.name == "CLOSING"
    h.send(Message(dest=PEER))
    assert layer.send_table[PEER].state.name == "OPEN"
    assert [hdr(m).seqno for m in of_type(h.take_down(), DATA)][-1] == 2


def test_close_removes_the_receive_entry_only_for_its_conn_id() -> None:
    h, layer = make()
    h.receive(data(1, conn_id=4))
    close = Message(MsgType.EMPTY, dest=ME, src=PEER)
    h.receive(close.copy().put_header(PID, UnicastHeader3(CLOSE, conn_id=3)))
    assert PEER in layer.recv_table
    h.receive(close.copy().put_header(PID, UnicastHeader3(CLOSE, conn_id=4)))
    assert PEER not in layer.recv_table


def test_view_change_closes_non_members_which_are_removed_silently() -> None:
    h, layer = make(conn_close_timeout=10_000)
    h.down(view(ME, PEER, OTHER))
    h.send(Message(dest=OTHER))
    h.receive(data(1, src=OTHER))
    h.advance(0)
    h.down(view(ME, PEER))
    assert layer.send_table[OTHER].state.name == "CLOSING"
    assert layer.recv_table[OTHER].state.name == "CLOSING"
    h.take_down()
    for _ in range(21):
        h.advance(500 * MS)
    assert OTHER not in layer.send_table and OTHER not in layer.recv_table
    assert of_type(h.take_down(), CLOSE) == []  # not a member: no CLOSE


def test_max_retransmit_time_closes_send_entries_to_non_members() -> None:
    h, layer = make(max_retransmit_time=3000)
    h.send(Message(dest=OTHER))
    assert layer.statistics()["age_out_cache_size"] == 1
    h.advance(3000 * MS)
    assert layer.send_table[OTHER].state.name == "CLOSING"
    h.send(Message(dest=PEER))
    h.down(view(ME, PEER))
    assert layer.statistics()["age_out_cache_size"] == 0


def test_stop_sends_pending_acks_and_clears_state() -> None:
    h, layer = make()
    h.send(Message(dest=PEER))
    h.receive(data(1))
    h.take_down()
    h.stack.disconnect()
    assert [hdr(m).type for m in h.take_down()] == [ACK]
    assert layer.statistics()["num_send_connections"] == 0
    assert layer.statistics()["num_receive_connections"] == 0


def test_messages_sent_before_start_are_dropped() -> None:
    layer = UNICAST3()
    h = LayerHarness(layer, local_addr=ME, cluster=None)
    h.stack.run_input(layer.down_msg, Message(dest=PEER))
    assert h.take_down() == []
    assert layer.statistics()["dropped_not_running"] == 1


# --- bytes (spec §9.4 and the Java catalogue) -----------------------------------------------------------


def test_data_header_bytes_match_java() -> None:
    frame = codec.decode_frame(catalogue("frame-single-unicast"))
    (java_msg,) = frame.messages
    assert java_msg.src is not None and java_msg.dest is not None
    tp = java_msg.headers[57]
    h, _ = make(local=java_msg.src)
    h.send(Message(java_msg.type, dest=java_msg.dest, flags=java_msg.flags, payload=java_msg.payload))
    (ours,) = h.take_down()
    ours.put_header(57, tp)
    assert codec.encode_message(ours) == codec.encode_message(java_msg)


def test_ack_and_xmit_req_bytes_match_spec_9_4() -> None:
    frame = codec.decode_frame(catalogue("frame-list-unicast"))
    java_ack, java_xmit, _ = frame.messages
    a, b = frame.src, frame.dest
    assert a is not None and b is not None
    h, layer = make(local=a)
    h.advance(0)
    for s in [*range(1, 37), 38]:
        h.receive(data(s, src=b, dest=a))
    layer._timestamper = 8  # the capture's ACK is the 9th timestamp
    h.advance(500 * MS)
    (ours_ack,) = h.take_down()
    h.advance(500 * MS)
    (ours_xmit,) = h.take_down()
    for ours, java in ((ours_ack, java_ack), (ours_xmit, java_xmit)):
        ours.put_header(57, java.headers[57])
        ours.src, ours.dest = java.src, java.dest
        assert codec.encode_message(ours) == codec.encode_message(java)
    assert ours_xmit.payload == SeqnoList(1, 37, (1,))


# --- two peers over a lossy link ------------------------------------------------------------------------


def _lossy_run(seed: int, n: int, loss: float, dup: float, oob_every: int) -> None:
    rnd = random.Random(seed)
    pair = HarnessPair(UNICAST3(), UNICAST3(), seed=seed)
    a, b = pair.a, pair.b
    sides = ((a, b), (b, a))
    for x in (a, b):
        x.down(view(a.local_addr, b.local_addr))

    def move(lossy: bool) -> None:
        for src, dst in sides:
            msgs = src.take_down()
            if lossy:
                rnd.shuffle(msgs)
            arrived: list[Message] = []
            for m in msgs:
                if lossy and rnd.random() < loss:
                    continue
                arrived += [m.copy() for _ in range(2 if lossy and rnd.random() < dup else 1)]
            if arrived and rnd.random() < 0.5:  # as one batch (a list frame), else one by one
                dst.stack.run_input(dst.layer.up_batch, arrived)
            else:
                for m in arrived:
                    dst.receive(m)

    sent: dict[int, list[bytes]] = {0: [], 1: []}
    oob: set[bytes] = set()
    for i in range(n):
        side = rnd.randrange(2)
        src, dst = sides[side]
        body = b"%d-%d" % (side, i)
        flags = Flag.OOB if oob_every and i % oob_every == 0 else 0
        src.send(Message(dest=dst.local_addr, payload=body, flags=flags))
        sent[side].append(body)
        if flags:
            oob.add(body)
        if rnd.random() < 0.3:
            move(lossy=True)
        if rnd.random() < 0.2:
            pair.advance(rnd.choice((100, 250, 500)) * MS)
    for _ in range(20):
        move(lossy=True)
        pair.advance(500 * MS)
    for _ in range(20):  # the link heals: retransmission must converge
        move(lossy=False)
        pair.advance(500 * MS)
    move(lossy=False)

    for side, (src, dst) in enumerate(sides):
        got = payloads(dst.take_up())
        assert sorted(got) == sorted(sent[side])  # exactly once
        assert [p for p in got if p not in oob] == [p for p in sent[side] if p not in oob]  # FIFO
        assert src.layer.num_unacked_messages() == 0  # type: ignore[attr-defined]
        assert dst.layer.statistics()["xmit_table_undelivered_msgs"] == 0


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), n=st.integers(1, 60), loss=st.floats(0, 0.6), dup=st.floats(0, 0.3),
       oob_every=st.sampled_from([0, 3, 7]))
def test_lossy_link_ends_with_exactly_once_fifo_delivery(seed: int, n: int, loss: float, dup: float,
                                                         oob_every: int) -> None:
    _lossy_run(seed, n, loss, dup, oob_every)


@pytest.mark.parametrize("seed", range(5))
def test_lossy_link_examples(seed: int) -> None:
    _lossy_run(seed, 100, 0.3, 0.2, 5)


# --- real wire bytes through the simulator ---------------------------------------------------------------


class WireCodec:
    """Every message crosses the simulated network as a JGroups 5.5.6 single-message frame."""

    def encode(self, msg: Message) -> bytes:
        return codec.encode_single(msg)

    def decode(self, data: bytes) -> list[Message]:
        return list(codec.decode_frame(data).messages)


@pytest.mark.parametrize("seed", range(8))
def test_three_nodes_over_a_lossy_simulated_network_with_wire_bytes(seed: int) -> None:
    net = SimNetwork(seed, latency_ns=(1 * MS, 5 * MS), loss=0.2, duplicate=0.1, reorder=0.2, codec=WireCodec())
    nodes = [net.add_node(name, lambda: [SimTransport(), UNICAST3()]) for name in "abc"]
    for node in nodes:
        node.connect("sim")
    per_pair = 20
    for i in range(per_pair):
        for src in nodes:
            for dst in nodes:  # to ourselves too: through the send window and the transport's loopback
                src.send(Message(dest=dst.addr, payload=f"{src.name}:{i}".encode(),
                                 flags=Flag.OOB if i % 7 == 3 else 0))
        net.run_for(2 * MS)

    def done() -> bool:
        return all(len(n.messages()) == per_pair * len(nodes) for n in nodes)

    def all_acked() -> bool:
        return all(n.stack.find(UNICAST3).num_unacked_messages() == 0 for n in nodes)

    net.run_until(done, 60_000 * MS, what="all delivered")
    net.run_until(all_acked, 60_000 * MS, what="all acked")  # ACKs get lost too: resends go on until then
    for node in nodes:
        per_sender: dict[str, list[int]] = {}
        for m in node.messages():
            sender, i = m.payload.decode().split(":")
            per_sender.setdefault(sender, []).append(int(i))
        for seq in per_sender.values():
            assert sorted(seq) == list(range(per_pair))  # exactly once
            assert [i for i in seq if i % 7 != 3] == [i for i in range(per_pair) if i % 7 != 3]  # FIFO
        stats = node.stack.find(UNICAST3).statistics()
        assert stats["xmit_table_undelivered_msgs"] == stats["num_cached_msgs"] == 0
