"""TCP transport: the sans-IO stack driven through its inputs, bytes checked with the wire codec.

Two-node tests wire stacks together with `Net`, a tiny in-test driver: it executes the I/O
commands of every stack in FIFO order, like an asyncio driver would, and stops reading a
connection once its owner closed it (as a real socket close does).
"""

from __future__ import annotations

import functools
import json
import random
import struct
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.pcaptcp import read_streams
from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import MS, ManualClock
from pygroups.events import (
    AddPhysicalAddress,
    Disconnect,
    Event,
    FindMembersAsync,
    GetLocalAddress,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType, TransientFlag
from pygroups.protocols.tcp import TCP
from pygroups.stack.bind_addr import parse_bind_addr
from pygroups.stack.io import (
    Close,
    ConnId,
    IoCommand,
    IoFailed,
    Listen,
    Listening,
    OpenConnection,
    Write,
)
from pygroups.stack.layer import Layer
from pygroups.stack.stack import ProtocolStack
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.framing import CLOSE_FRAME, CloseMarker, FrameBuffer, FramePayload, Preamble, encode_preamble
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.version import WireVersion

A = UUID(1, 1)
B = UUID(2, 2)
C = UUID(3, 3)
PA = IpAddress("127.0.0.1", 7800)
PB = IpAddress("127.0.0.1", 7801)
PC = IpAddress("127.0.0.1", 7802)


class Recorder(Layer):
    """The top layer: records what the transport passes up."""

    name = "RECORDER"

    def __init__(self) -> None:
        super().__init__()
        self.msgs: list[Message] = []
        self.batches: list[list[Message]] = []
        self.events: list[Event] = []
        self.in_down = False

    def up_msg(self, msg: Message) -> None:
        assert not self.in_down, "the transport re-entered the layer above inside down_msg"
        self.msgs.append(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        assert not self.in_down, "the transport re-entered the layer above inside down_msg"
        self.batches.append(list(batch))
        self.msgs.extend(batch)

    def up(self, evt: Event) -> None:
        self.events.append(evt)

    def down_msg(self, msg: Message) -> None:
        self.in_down = True
        try:
            self.down_layer.down_msg(msg)
        finally:
            self.in_down = False

    def payloads(self) -> list[object]:
        return [m.payload for m in self.msgs]


def make_stack(
    port: int = 7800, clock: ManualClock | None = None, **props: object
) -> tuple[ProtocolStack, TCP, Recorder]:
    tcp = TCP()
    tcp.bind_addr = parse_bind_addr("127.0.0.1")
    tcp.bind_port = port
    tcp.port_range = 0
    for k, v in props.items():
        setattr(tcp, k, v)
    top = Recorder()
    stack = ProtocolStack([tcp, top], clock=clock or ManualClock(), rng=random.Random(port))
    return stack, tcp, top


def listen(stack: ProtocolStack) -> None:
    """Answer the Listen the transport emitted when it was initialised."""
    (cmd,) = [c for c in stack.take_io() if isinstance(c, Listen)]
    stack.on_io_result(Listening(cmd.request_id, cmd.addr))


def msg(dest: Address | None, payload: bytes, flags: int = 0, transient: int = 0) -> Message:
    return Message(MsgType.BYTES, dest=dest, flags=flags, payload=payload, transient_flags=transient)


def view(*members: Address) -> View:
    return View(ViewId(members[0], 1), tuple(members))


def writes(cmds: list[IoCommand], conn: ConnId | None = None) -> bytes:
    return b"".join(c.data for c in cmds if isinstance(c, Write) and (conn is None or c.conn_id == conn))


def split(data: bytes, *, preamble: bool) -> list[Preamble | FramePayload | CloseMarker]:
    fb = FrameBuffer(expect_preamble=preamble)
    fb.feed(data)
    return list(fb.events())


def frames(data: bytes, *, preamble: bool) -> list[codec.Frame]:
    return [codec.decode_frame(e.data) for e in split(data, preamble=preamble) if isinstance(e, FramePayload)]


def send_in_one_input(stack: ProtocolStack, tcp: TCP, msgs: list[Message]) -> None:
    def send() -> None:
        for m in msgs:
            tcp.up_layer.down_msg(m)

    stack.run_input(send)


def connected_a() -> tuple[ProtocolStack, TCP, Recorder]:
    """Node A (127.0.0.1:7800), listening and connected to cluster "demo", B and C known."""
    stack, tcp, top = make_stack(7800)
    listen(stack)
    stack.connect("demo", local_addr=A)
    stack.run_input(tcp.down, AddPhysicalAddress(B, PB))
    stack.run_input(tcp.down, AddPhysicalAddress(C, PC))
    stack.take_io()
    return stack, tcp, top


# --- listening, addresses, queries ---------------------------------------------------------------------


def test_listen_is_requested_at_init_with_the_jgroups_attributes() -> None:
    stack, tcp, _ = make_stack(7900, port_range=3, tcp_nodelay=True, recv_buf_size=1000)
    (cmd,) = stack.take_io()
    assert isinstance(cmd, Listen)
    assert cmd.addr == IpAddress("127.0.0.1", 7900)
    assert cmd.port_range == 3
    assert cmd.options.tcp_nodelay and cmd.options.recv_buf_size == 1000
    assert tcp.physical_addr is None


def test_physical_address_is_the_bound_one_and_answers_queries() -> None:
    stack, tcp, _ = make_stack(0)
    (cmd,) = stack.take_io()
    assert isinstance(cmd, Listen)
    stack.on_io_result(Listening(cmd.request_id, IpAddress("127.0.0.1", 7812)))
    stack.connect("demo", local_addr=A)
    assert stack.query(GetPhysicalAddress(A)) == IpAddress("127.0.0.1", 7812)
    assert stack.query(GetLocalAddress()) == A
    stack.run_input(tcp.down, AddPhysicalAddress(B, PB))
    assert stack.query(GetPhysicalAddress(B)) == PB
    assert stack.query(GetLogicalPhysicalMappings()) == {A: IpAddress("127.0.0.1", 7812), B: PB}


def test_external_addr_and_port_are_advertised() -> None:
    stack, tcp, _ = make_stack(7800, external_addr=parse_bind_addr("10.1.2.3"), external_port=9000)
    listen(stack)
    assert tcp.physical_addr == IpAddress("10.1.2.3", 9000)
    stack2, tcp2, _ = make_stack(7800, external_addr=parse_bind_addr("10.1.2.3"))
    listen(stack2)
    assert tcp2.physical_addr == IpAddress("10.1.2.3", 7800)


def test_sends_before_listening_are_queued_then_sent() -> None:
    stack, tcp, _ = make_stack(7800)
    (lst,) = stack.take_io()
    assert isinstance(lst, Listen)
    stack.connect("demo", local_addr=A)
    stack.run_input(tcp.down, AddPhysicalAddress(B, PB))
    stack.send(msg(B, b"early"))
    assert not [c for c in stack.take_io() if not isinstance(c, Listen)]
    stack.on_io_result(Listening(lst.request_id, lst.addr))
    cmds = stack.take_io()
    (opn,) = [c for c in cmds if isinstance(c, OpenConnection)]
    assert opn.peer == PB and opn.timeout_ms == 2000
    stack.on_connection_opened(opn.conn_id, PB)
    (f,) = frames(writes(stack.take_io()), preamble=True)
    assert f.messages[0].payload == b"early"


def test_listen_failure_is_visible_and_drops_the_queue() -> None:
    stack, tcp, _ = make_stack(7800)
    (lst,) = stack.take_io()
    assert isinstance(lst, Listen)
    stack.connect("demo", local_addr=A)
    stack.run_input(tcp.down, AddPhysicalAddress(B, PB))
    stack.send(msg(B, b"x"))
    stack.on_io_result(IoFailed(lst.request_id, "address in use"))
    assert tcp.listen_error is not None and "address in use" in tcp.listen_error
    assert tcp.counters["listen_failed"] == 1
    assert tcp.counters["dropped_msgs (not listening)"] == 1
    assert tcp.queued_messages() == 0


# --- bytes on the wire -----------------------------------------------------------------------------------


def test_preamble_matches_the_captured_java_bytes() -> None:
    # spec §9.1: B (listening on 127.0.0.1:7801, JGroups 5.6.0) opening a connection to A
    stack, tcp, _ = make_stack(7801)
    tcp.version = WireVersion(5, 6, 0)
    listen(stack)
    stack.connect("demo", local_addr=B)
    stack.run_input(tcp.down, AddPhysicalAddress(A, PA))
    stack.send(msg(A, b"hi"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PA)
    data = writes(stack.take_io())
    assert data[:15] == bytes.fromhex("62656c61 2980 0007 04 7f000001 1e79")


def test_single_message_carries_the_tp_header_as_last_header() -> None:
    stack, _tcp, _ = connected_a()
    stack.send(msg(B, b"one"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PB)
    data = writes(stack.take_io())
    evs = split(data, preamble=True)
    assert isinstance(evs[0], Preamble) and evs[0].addr == PA and evs[0].version == 0x2946
    payload = evs[1].data  # type: ignore[union-attr]
    assert payload[:3] == b"\x29\x46\x00"  # version 5.5.6, flags: single unicast
    assert payload.endswith(bytes.fromhex("0039003c000464656d6f00") + struct.pack(">i", 3) + b"one")
    (f,) = frames(data, preamble=True)
    assert not f.is_list and f.messages[0].src == A and f.messages[0].dest == B
    assert list(f.messages[0].headers) == [57]


def test_messages_to_one_destination_in_one_input_become_a_list() -> None:
    stack, tcp, _ = connected_a()

    def send_three() -> None:
        for p in (b"1", b"2", b"3"):
            tcp.up_layer.down_msg(msg(B, p))

    stack.run_input(send_three)
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PB)
    (f,) = frames(writes(stack.take_io()), preamble=True)
    assert f.is_list and not f.multicast
    assert (f.dest, f.src, f.cluster) == (B, A, "demo")
    assert [m.payload for m in f.messages] == [b"1", b"2", b"3"]
    assert all(isinstance(m.get_header(57), TpHeader) for m in f.messages)
    assert tcp.counters["batches_sent"] == 1


def test_list_round_trips_through_the_java_writer_format() -> None:
    # spec §9.4 shape: dest, src, cluster, count, then messages without addresses
    stack, tcp, _ = connected_a()
    send_in_one_input(stack, tcp, [msg(B, p) for p in (b"x", b"y")])
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PB)
    (payload,) = [e.data for e in split(writes(stack.take_io()), preamble=True) if isinstance(e, FramePayload)]
    assert payload[2] == 0x01  # LIST, unicast
    f = codec.decode_frame(payload)
    assert codec.encode_list(f.messages, dest=B, src=A, cluster="demo") == payload


def test_max_bundle_size_cuts_lists() -> None:
    stack, tcp, _ = connected_a()
    tcp.max_bundle_size = 300
    send_in_one_input(stack, tcp, [msg(B, bytes(100)) for _ in range(5)])
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PB)
    fs = frames(writes(stack.take_io()), preamble=True)
    assert sum(len(f.messages) for f in fs) == 5
    assert len(fs) >= 2
    assert all(sum(len(codec.encode_message(m)) for m in f.messages) < 300 for f in fs)


def test_dont_bundle_goes_out_alone_and_in_order() -> None:
    stack, tcp, _ = connected_a()

    def send() -> None:
        tcp.up_layer.down_msg(msg(B, b"1"))
        tcp.up_layer.down_msg(msg(B, b"2", flags=Flag.DONT_BUNDLE))
        tcp.up_layer.down_msg(msg(B, b"3"))

    stack.run_input(send)
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PB)
    fs = frames(writes(stack.take_io()), preamble=True)
    assert [[m.payload for m in f.messages] for f in fs] == [[b"1"], [b"2"], [b"3"]]


def test_multicast_goes_to_every_other_member_and_loops_back_once() -> None:
    stack, tcp, top = connected_a()
    stack.run_input(tcp.down, ViewChange(view(A, B, C)))
    stack.take_io()
    stack.send(msg(None, b"all"))
    cmds = stack.take_io()
    opens = {c.peer: c.conn_id for c in cmds if isinstance(c, OpenConnection)}
    assert set(opens) == {PB, PC}
    assert top.payloads() == [b"all"]  # loopback, delivered after down_msg returned
    assert top.msgs[0].src == A and top.msgs[0].dest is None
    for peer, conn in opens.items():
        stack.on_connection_opened(conn, peer)
    out = stack.take_io()
    for conn in opens.values():
        (f,) = frames(writes(out, conn), preamble=True)
        assert f.multicast and f.messages[0].payload == b"all"


def test_dont_loopback_and_messages_to_self() -> None:
    stack, tcp, top = connected_a()
    stack.run_input(tcp.down, ViewChange(view(A)))
    stack.send(msg(None, b"quiet", transient=TransientFlag.DONT_LOOPBACK))
    stack.send(msg(A, b"me"))
    stack.send(msg(PA, b"my-ip"))
    assert top.payloads() == [b"me", b"my-ip"]
    assert not [c for c in stack.take_io() if isinstance(c, OpenConnection | Write)]


def test_loopback_of_several_messages_is_a_batch() -> None:
    stack, tcp, top = connected_a()
    stack.run_input(tcp.down, ViewChange(view(A)))
    send_in_one_input(stack, tcp, [msg(A, p) for p in (b"1", b"2")])
    assert [[m.payload for m in b] for b in top.batches] == [[b"1", b"2"]]


def test_unknown_physical_address_drops_and_asks_discovery_throttled() -> None:
    clock = ManualClock()
    stack, tcp, top = make_stack(7800, clock=clock)
    listen(stack)
    stack.connect("demo", local_addr=A)
    d = UUID(9, 9)
    stack.send(msg(d, b"lost"))
    stack.send(msg(d, b"lost2"))
    assert [e for e in top.events if isinstance(e, FindMembersAsync)] == [FindMembersAsync((d,))]
    assert tcp.counters["dropped_msgs (no physical address)"] == 2
    clock.advance(2001 * MS)
    stack.send(msg(d, b"lost3"))
    assert len([e for e in top.events if isinstance(e, FindMembersAsync)]) == 2


def test_multicast_to_member_without_physical_address_asks_discovery() -> None:
    stack, tcp, top = connected_a()
    d = UUID(9, 9)
    stack.run_input(tcp.down, ViewChange(view(A, B, d)))
    stack.send(msg(None, b"x"))
    assert FindMembersAsync((d,)) in top.events
    assert {c.peer for c in stack.take_io() if isinstance(c, OpenConnection)} == {PB}


# --- receiving -------------------------------------------------------------------------------------------


def accept(stack: ProtocolStack, peer_listen: IpAddress, version: WireVersion | None = None) -> ConnId:
    conn = stack.new_conn_id()
    stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50000))
    stack.on_bytes(conn, encode_preamble(peer_listen) if version is None else encode_preamble(peer_listen, version))
    return conn


def wire(m: Message, **kw: object) -> bytes:
    return struct.pack(">i", len(p := codec.encode_single(m, **kw))) + p  # type: ignore[arg-type]


def from_b(dest: Address | None, payload: bytes, cluster: str = "demo") -> Message:
    m = Message(MsgType.BYTES, dest=dest, src=B, payload=payload)
    m.put_header(57, TpHeader(cluster))
    return m


def test_received_single_and_list_are_delivered_with_addresses() -> None:
    stack, tcp, top = connected_a()
    conn = accept(stack, PB)
    stack.on_bytes(conn, wire(from_b(A, b"u")) + wire(from_b(None, b"m")))
    lst = codec.encode_list([from_b(A, b"l1"), from_b(A, b"l2")], dest=A, src=B, cluster="demo")
    stack.on_bytes(conn, struct.pack(">i", len(lst)) + lst)
    assert top.payloads() == [b"u", b"m", b"l1", b"l2"]
    assert [len(b) for b in top.batches] == [2]
    assert all(m.src == B and m.dest == A for m in top.batches[0])
    assert tcp.connections() == {PB: conn}


def test_list_splits_oob_first() -> None:
    stack, _tcp, top = connected_a()
    conn = accept(stack, PB)
    reg, oob = from_b(A, b"reg"), from_b(A, b"oob")
    oob.flags = Flag.OOB
    lst = codec.encode_list([reg, oob], dest=A, src=B, cluster="demo")
    stack.on_bytes(conn, struct.pack(">i", len(lst)) + lst)
    assert [[m.payload for m in b] for b in top.batches] == [[b"oob"], [b"reg"]] or \
           [m.payload for m in top.msgs] == [b"oob", b"reg"]


def test_drops_are_counted_and_the_connection_survives() -> None:
    stack, tcp, top = connected_a()
    conn = accept(stack, PB)
    other = from_b(A, b"other-cluster", cluster="nope")
    lst_other = codec.encode_list([from_b(A, b"l")], dest=A, src=B, cluster="nope")
    not_for_us = from_b(C, b"for C")
    data = (wire(other) + struct.pack(">i", len(lst_other)) + lst_other + wire(not_for_us)
            + wire(from_b(A, b"ok")))
    stack.on_bytes(conn, data)
    assert top.payloads() == [b"ok"]
    assert tcp.counters["dropped_msgs (cluster)"] == 2
    assert tcp.counters["dropped_msgs (not for us)"] == 1
    assert tcp.connections() == {PB: conn}


def _bad_version_frame() -> bytes:
    bad = bytearray(codec.encode_single(from_b(A, b"v")))
    bad[0:2] = struct.pack(">h", WireVersion(5, 4, 0).short)
    return bytes(bad)


@pytest.mark.parametrize(("reason", "payload"), [
    ("version", _bad_version_frame()),
    ("undecodable", b"\x29\x46\x00\x00\x63\xff\xff"),  # a header magic nobody registered
])
def test_a_peer_sending_what_we_cannot_read_loses_its_own_connection(reason: str, payload: bytes) -> None:
    """Bad input (issue 3): the frame is counted and logged, the sender's connection is closed
    (the good frame before it is still delivered), and other connections carry on."""
    stack, tcp, top = connected_a()
    conn_b, conn_c = accept(stack, PB), accept(stack, PC)
    stack.take_io()
    stack.on_bytes(conn_b, wire(from_b(A, b"before")) + struct.pack(">i", len(payload)) + payload
                   + wire(from_b(A, b"after")))
    assert top.payloads() == [b"before"]
    assert tcp.counters[f"dropped_frames ({reason})"] == 1
    assert tcp.counters["conns_closed (bad frame)"] == 1
    assert [c for c in stack.take_io() if isinstance(c, Close)] == [Close(conn_b, graceful=False)]
    assert tcp.connections() == {PC: conn_c}
    stack.on_bytes(conn_c, wire(from_b(A, b"from C")))
    assert top.payloads() == [b"before", b"from C"]


def test_message_to_our_physical_address_is_accepted() -> None:
    stack, _tcp, top = connected_a()
    conn = accept(stack, PB)
    stack.on_bytes(conn, wire(from_b(PA, b"discovery")))
    assert top.payloads() == [b"discovery"]


def bad_connection(stack: ProtocolStack, data: bytes) -> tuple[ConnId, list[IoCommand]]:
    conn = stack.new_conn_id()
    stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50001))
    stack.take_io()
    stack.on_bytes(conn, data)
    return conn, stack.take_io()


def test_bad_preambles_close_only_that_connection() -> None:
    stack, tcp, top = connected_a()
    good = accept(stack, PB)
    cases = {
        "bad cookie": b"java" + bytes(20),
        "bad version": encode_preamble(PC, WireVersion(5, 4, 12)),
        "bad preamble": b"bela\x29\x46\x00\x07\x09" + bytes(20),
    }
    for reason, data in cases.items():
        conn, cmds = bad_connection(stack, data)
        assert cmds == [Close(conn, graceful=False)], reason
        assert tcp.counters[f"conns_closed ({reason})"] == 1
        stack.on_connection_closed(conn, None)
    stack.on_bytes(good, wire(from_b(A, b"still fine")))
    assert top.payloads() == [b"still fine"]
    assert tcp.connections() == {PB: good}


def test_bad_frame_length_closes_after_delivering_the_good_frames() -> None:
    stack, tcp, top = connected_a()
    conn = accept(stack, PB)
    stack.take_io()
    stack.on_bytes(conn, wire(from_b(A, b"good")) + struct.pack(">i", -7) + b"junk")
    assert top.payloads() == [b"good"]
    assert stack.take_io() == [Close(conn, graceful=False)]
    assert tcp.counters["conns_closed (bad frame length)"] == 1
    assert tcp.connections() == {}


def test_missing_preamble_times_out() -> None:
    clock = ManualClock()
    stack, tcp, _ = make_stack(7800, clock=clock)
    listen(stack)
    stack.connect("demo", local_addr=A)
    conn = stack.new_conn_id()
    stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50001))
    stack.on_bytes(conn, b"bel")
    clock.advance(1000 * MS)
    stack.handle_timers()
    assert stack.take_io() == [Close(conn, graceful=False)]
    assert tcp.counters["conns_closed (no preamble)"] == 1


def test_connections_are_refused_while_not_connected() -> None:
    stack, tcp, top = make_stack(7800)
    listen(stack)
    conn = stack.new_conn_id()
    stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50001))
    assert stack.take_io() == [Close(conn, graceful=False)]
    stack.on_bytes(conn, encode_preamble(PB) + wire(from_b(A, b"x")))
    assert top.msgs == [] and tcp.counters["conns_refused (not connected)"] == 1


def test_mid_frame_disconnect_leaves_no_half_state() -> None:
    stack, tcp, top = connected_a()
    conn = accept(stack, PB)
    full = wire(from_b(A, b"complete"))
    stack.on_bytes(conn, full[:7])
    stack.on_connection_closed(conn, "connection reset")
    assert top.payloads() == [] and tcp.connections() == {}
    assert tcp.counters["partial_frames_discarded"] == 1
    conn2 = accept(stack, PB)
    stack.on_bytes(conn2, full)
    assert top.payloads() == [b"complete"]


def test_graceful_close_marker_received_and_sent() -> None:
    stack, tcp, top = connected_a()
    conn = accept(stack, PB)
    stack.take_io()
    stack.on_bytes(conn, wire(from_b(A, b"last")) + CLOSE_FRAME)
    assert top.payloads() == [b"last"]
    assert stack.take_io() == [Close(conn, graceful=True)]  # no marker back
    assert tcp.connections() == {}
    stack.on_connection_closed(conn, None)
    conn2 = accept(stack, PB)
    stack.take_io()
    stack.disconnect()
    assert stack.take_io() == [Write(conn2, CLOSE_FRAME), Close(conn2, graceful=True)]


def test_view_change_closes_connections_to_non_members() -> None:
    stack, tcp, _ = connected_a()
    cb, cc = accept(stack, PB), accept(stack, PC)
    stack.take_io()
    stack.run_input(tcp.down, ViewChange(view(A, B)))
    assert stack.take_io() == [Write(cc, CLOSE_FRAME), Close(cc, graceful=True)]
    assert tcp.connections() == {PB: cb}


def test_connect_failure_drops_what_was_queued() -> None:
    stack, tcp, _ = connected_a()
    stack.send(msg(B, b"x"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_closed(opn.conn_id, "connection refused")
    assert tcp.counters["connect_failed"] == 1
    assert tcp.counters["dropped_frames (connect failed)"] == 1
    stack.send(msg(B, b"y"))  # the next send reconnects
    assert [c.peer for c in stack.take_io() if isinstance(c, OpenConnection)] == [PB]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=12), st.booleans())
def test_arbitrary_bytes_never_raise(chunks: list[bytes], with_preamble: bool) -> None:
    stack, _tcp, _ = connected_a()
    conn = stack.new_conn_id()
    stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50002))
    if with_preamble:
        stack.on_bytes(conn, encode_preamble(PB))
    for chunk in chunks:
        stack.on_bytes(conn, chunk)
    stack.on_connection_closed(conn, None)
    stack.send(msg(B, b"still works"))
    assert any(isinstance(c, OpenConnection) for c in stack.take_io())


# --- two stacks over an in-test network ------------------------------------------------------------------


class Net:
    """Executes the I/O commands of several stacks in FIFO order (a deterministic driver)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng  # None: one FIFO; else a random pick among per-connection FIFOs
        self.channels: dict[tuple[int, int], deque[Callable[[], None]]] = {}
        self.clock = ManualClock()
        self.nodes: dict[IpAddress, ProtocolStack] = {}
        self.links: dict[tuple[int, ConnId], tuple[ProtocolStack, ConnId]] = {}
        self.closed: set[tuple[int, ConnId]] = set()
        self.actions: deque[Callable[[], None]] = deque()
        self.next_port = 40000

    def add(self, port: int, addr: Address, cluster: str = "demo") -> tuple[ProtocolStack, TCP, Recorder]:
        stack, tcp, top = make_stack(port, clock=self.clock)
        self.pump(stack)
        stack.connect(cluster, local_addr=addr)
        return stack, tcp, top

    def pump(self, stack: ProtocolStack) -> None:
        for cmd in stack.take_io():
            match cmd:
                case Listen():
                    self.nodes[cmd.addr] = stack
                    stack.on_io_result(Listening(cmd.request_id, cmd.addr))
                    self.pump(stack)
                case OpenConnection():
                    self._queue(stack, -cmd.conn_id, functools.partial(self._open, stack, cmd))
                case Write():
                    self._queue(stack, cmd.conn_id, functools.partial(self._write, stack, cmd))
                case Close():
                    self.closed.add((id(stack), cmd.conn_id))
                    self._queue(stack, cmd.conn_id, functools.partial(self._close, stack, cmd))

    def _queue(self, stack: ProtocolStack, key: int, action: Callable[[], None]) -> None:
        if self.rng is None:
            self.actions.append(action)
        else:  # bytes of one connection stay in order; connections interleave at random
            self.channels.setdefault((id(stack), key), deque()).append(action)

    def _next(self) -> Callable[[], None] | None:
        if self.rng is None:
            return self.actions.popleft() if self.actions else None
        live = [k for k, q in self.channels.items() if q]
        if not live:
            return None
        return self.channels[self.rng.choice(live)].popleft()

    def _open(self, stack: ProtocolStack, cmd: OpenConnection) -> None:
        target = self.nodes.get(cmd.peer)
        if target is None:
            stack.on_connection_closed(cmd.conn_id, "connection refused")
            return
        acc = target.new_conn_id()
        self.links[(id(stack), cmd.conn_id)] = (target, acc)
        self.links[(id(target), acc)] = (stack, cmd.conn_id)
        self.next_port += 1
        stack.on_connection_opened(cmd.conn_id, cmd.peer)
        target.on_connection_opened(acc, IpAddress("127.0.0.1", self.next_port))

    def _write(self, stack: ProtocolStack, cmd: Write) -> None:
        peer = self.links.get((id(stack), cmd.conn_id))
        if peer is not None and (id(peer[0]), peer[1]) not in self.closed:
            peer[0].on_bytes(peer[1], cmd.data)

    def _close(self, stack: ProtocolStack, cmd: Close) -> None:
        peer = self.links.pop((id(stack), cmd.conn_id), None)
        stack.on_connection_closed(cmd.conn_id, None)
        if peer is not None and (id(peer[0]), peer[1]) not in self.closed:
            self.links.pop((id(peer[0]), peer[1]), None)
            self.closed.add((id(peer[0]), peer[1]))
            peer[0].on_connection_closed(peer[1], None)

    def crash(self, stack: ProtocolStack) -> None:
        """The process dies: its listener and connections vanish (peers see a reset)."""
        for key in [k for k, v in self.nodes.items() if v is stack]:
            del self.nodes[key]
        for (sid, conn), (peer, pconn) in list(self.links.items()):
            if sid == id(stack):
                del self.links[(sid, conn)]
                self.links.pop((id(peer), pconn), None)
                peer.on_connection_closed(pconn, "connection reset")

    def step(self) -> bool:
        """Execute one pending I/O action; False when there is none."""
        for stack in list(self.nodes.values()):
            self.pump(stack)
        action = self._next()
        if action is None:
            return False
        action()
        return True

    def run(self) -> None:
        for _ in range(10_000):
            if not self.step():
                return
        raise AssertionError("the network did not settle")


def pair(rng: random.Random | None = None,
         ) -> tuple[Net, tuple[ProtocolStack, TCP, Recorder], tuple[ProtocolStack, TCP, Recorder]]:
    net = Net(rng)
    a, b = net.add(7800, A), net.add(7801, B)
    for s, t, _ in (a, b):
        s.run_input(t.down, AddPhysicalAddress(A, PA))
        s.run_input(t.down, AddPhysicalAddress(B, PB))
        s.run_input(t.down, ViewChange(view(A, B)))
    return net, a, b


def test_two_nodes_exchange_messages_over_one_connection() -> None:
    net, (sa, ta, ra), (sb, tb, rb) = pair()
    sa.send(msg(B, b"hello B"))
    net.run()
    sb.send(msg(A, b"hello A"))
    net.run()
    assert rb.payloads() == [b"hello B"] and ra.payloads() == [b"hello A"]
    assert len(ta.connections()) == len(tb.connections()) == 1
    assert tb.counters["conns_opened"] == 0  # B answered over A's connection


def test_concurrent_connects_keep_the_bigger_addresses_connection_and_lose_nothing() -> None:
    net, (sa, ta, ra), (sb, tb, rb) = pair()
    sa.send(msg(B, b"from A"))
    sb.send(msg(A, b"from B"))
    net.run()
    assert rb.payloads() == [b"from A"] and ra.payloads() == [b"from B"]
    # both ends keep B's outgoing connection (B's address is bigger); A's was closed
    assert tb.counters["conns_rejected"] == 1 and ta.counters["conns_replaced"] == 1
    assert ta.counters["frames_rewritten"] == 1
    (a_conn,) = ta.connections().values()
    (b_conn,) = tb.connections().values()
    assert net.links[(id(sb), b_conn)] == (sa, a_conn)
    sa.send(msg(B, b"again"))
    sb.send(msg(A, b"again"))
    net.run()
    assert rb.payloads()[-1] == b"again" and ra.payloads()[-1] == b"again"
    assert len(ta.connections()) == len(tb.connections()) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 4), st.integers(1, 4))
def test_concurrent_connects_in_any_interleaving(seed: int, n_a: int, n_b: int) -> None:
    net, (sa, ta, ra), (sb, tb, rb) = pair(random.Random(seed))
    for i in range(max(n_a, n_b)):  # several inputs each, so frames go before and after the tie-break
        if i < n_a:
            sa.send(msg(B, b"a%d" % i))
        if i < n_b:
            sb.send(msg(A, b"b%d" % i))
        for _ in range(seed % 4):
            net.step()
    net.run()
    assert set(rb.payloads()) == {b"a%d" % i for i in range(n_a)}
    assert set(ra.payloads()) == {b"b%d" % i for i in range(n_b)}
    (a_conn,) = ta.connections().values()
    (b_conn,) = tb.connections().values()
    assert net.links[(id(sb), b_conn)] == (sa, a_conn)


def test_frames_queued_on_a_connection_being_opened_move_to_the_winner() -> None:
    stack, tcp, _ = connected_a()  # A = 127.0.0.1:7800 < B = 127.0.0.1:7801
    stack.send(msg(B, b"pending"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    incoming = accept(stack, PB)  # B's own connection arrives before ours is open: B's wins
    cmds = stack.take_io()
    assert cmds[0] == Close(opn.conn_id, graceful=True)  # not open yet: no marker to write
    (f,) = frames(writes(cmds[1:], incoming), preamble=False)
    assert f.messages[0].payload == b"pending"
    stack.on_connection_opened(opn.conn_id, PB)  # the driver may still report it opened: ignored
    assert stack.take_io() == []
    assert tcp.connections() == {PB: incoming}
    assert tcp.counters["conns_replaced"] == 1


def test_incoming_from_a_smaller_address_is_rejected_but_what_it_carried_is_delivered() -> None:
    stack, tcp, top = connected_a()
    small = IpAddress("127.0.0.1", 7799)
    stack.send(msg(small, b"ours"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, small)
    stack.take_io()
    acc = stack.new_conn_id()
    stack.on_connection_opened(acc, IpAddress("127.0.0.1", 50003))
    stack.on_bytes(acc, encode_preamble(small) + wire(from_b(A, b"theirs")))
    assert stack.take_io() == [Write(acc, CLOSE_FRAME), Close(acc, graceful=True)]
    assert top.payloads() == [b"theirs"]
    assert tcp.connections() == {small: opn.conn_id} and tcp.counters["conns_rejected"] == 1


def test_multicast_between_three_nodes() -> None:
    net = Net()
    nodes = [net.add(7800 + i, addr) for i, addr in enumerate((A, B, C))]
    for s, t, _ in nodes:
        for addr, phys in ((A, PA), (B, PB), (C, PC)):
            s.run_input(t.down, AddPhysicalAddress(addr, phys))
        s.run_input(t.down, ViewChange(view(A, B, C)))
    nodes[0][0].send(msg(None, b"to all"))
    net.run()
    assert [r.payloads() for _, _, r in nodes] == [[b"to all"]] * 3


def test_reconnect_after_peer_restart_on_the_same_address() -> None:
    net, (sa, ta, _ra), (sb, _tb, _rb) = pair()
    sa.send(msg(B, b"1"))
    net.run()
    net.crash(sb)
    assert ta.connections() == {}
    _sb2, _tb2, rb2 = net.add(7801, B)
    sa.send(msg(B, b"2"))
    net.run()
    assert rb2.payloads() == [b"2"]


def test_graceful_leave_closes_with_the_marker_and_peer_reconnects_later() -> None:
    net, (sa, ta, _ra), (sb, _tb, rb) = pair()
    sa.send(msg(B, b"1"))
    net.run()
    sb.disconnect()
    net.run()
    assert ta.connections() == {} and ta.counters["conns_closed (by peer)"] == 1
    sb.connect("demo", local_addr=B)
    sa.send(msg(B, b"2"))
    net.run()
    assert rb.payloads() == [b"1", b"2"]


def test_other_cluster_traffic_is_dropped_between_nodes() -> None:
    net = Net()
    (_sa, ta, ra), (sb, tb, _rb) = net.add(7800, A, "demo"), net.add(7801, B, "other")
    sb.run_input(tb.down, AddPhysicalAddress(A, PA))
    sb.send(msg(A, b"wrong cluster"))
    net.run()
    assert ra.payloads() == [] and ta.counters["dropped_msgs (cluster)"] == 1


def test_statistics_count_messages_and_bytes() -> None:
    net, (sa, ta, _ra), (_sb, tb, _rb) = pair()
    sa.send(msg(B, b"12345"))
    net.run()
    sa_stats, sb_stats = ta.statistics(), tb.statistics()
    assert sa_stats["msgs_sent"] == 1 and sb_stats["msgs_received"] == 1
    assert sa_stats["bytes_sent"] == sb_stats["bytes_received"] > 5
    assert sa_stats["open_connections"] == 1


# --- the real JGroups 5.5.6 capture (tests/data/java/5.5.6/tcp-3node.pcap) -------------------------------

DATA = Path(__file__).resolve().parents[2] / "data" / "java" / "5.5.6"


def java_nodes() -> dict[int, tuple[UUID, IpAddress]]:
    nodes = json.loads((DATA / "tcp-3node.nodes.json").read_text())["nodes"]
    out = {}
    for n in nodes.values():
        host, port = n["physical"].rsplit(":", 1)
        out[int(port)] = (UUID.parse(n["uuid"]), IpAddress(host, int(port)))
    return out


def java_node_stack(port: int, nodes: dict[int, tuple[UUID, IpAddress]]) -> tuple[ProtocolStack, TCP, Recorder]:
    stack, tcp, top = make_stack(port)
    listen(stack)
    stack.connect("demo", local_addr=nodes[port][0])
    for addr, phys in nodes.values():
        stack.run_input(tcp.down, AddPhysicalAddress(addr, phys))
    stack.run_input(tcp.down, ViewChange(view(*(a for a, _ in nodes.values()))))
    stack.take_io()
    return stack, tcp, top


BAD = ("dropped_frames", "dropped_msgs (cluster)", "dropped_msgs (not for us)", "conns_closed")


def test_replaying_java_connections_delivers_every_frame() -> None:
    nodes = java_nodes()
    streams = [s for s in read_streams(DATA / "tcp-3node.pcap") if s.data and min(s.src[1], s.dst[1]) in nodes]
    assert len(streams) == 6
    delivered = 0
    for s in streams:
        data = bytes(s.data)
        if s.dst[1] in nodes:  # client -> server: the preamble, then frames; replayed into the server
            stack, tcp, top = java_node_stack(s.dst[1], nodes)
            conn = stack.new_conn_id()
            stack.on_connection_opened(conn, IpAddress(*s.src))
            client = next(p for p, (_, phys) in nodes.items() if data[8:15] == encode_preamble(phys)[8:15])
            assert data[:15] == encode_preamble(nodes[client][1])  # Java's preamble is ours, byte for byte
        else:  # server -> client: frames on the connection the client opened
            client = next(p for p, _ in nodes.items() if any(
                o.dst[1] == s.src[1] and o.src[1] == s.dst[1] and bytes(o.data[8:15]) == encode_preamble(
                    nodes[p][1])[8:15] for o in streams))
            stack, tcp, top = java_node_stack(client, nodes)
            stack.send(msg(nodes[s.src[1]][0], b"open"))
            (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
            conn = opn.conn_id
            stack.on_connection_opened(conn, opn.peer)
        for i in range(0, len(data), 1400):  # segment-sized chunks, frames split across them
            stack.on_bytes(conn, data[i : i + 1400])
        bad = {k: v for k, v in tcp.counters.items() if k.startswith(BAD) and v}
        assert bad == {} or set(bad) == {"conns_closed (by peer)"}, (s.src, s.dst, bad)
        assert tcp.counters["msgs_received"] > 0
        delivered += len(top.msgs)
    assert delivered > 2600  # 1300 bulk multicasts and 1300 unicasts, plus the control traffic


def test_sends_after_disconnect_open_no_connection() -> None:
    """Found by the channel: a message flushed after DISCONNECT closed everything reopened a
    connection that then lingered into the next session. Once disconnected, sends are dropped."""
    stack, tcp, _ = connected_a()

    def disconnect_then_send() -> None:
        tcp.down(Disconnect())
        tcp.up_layer.down_msg(msg(B, b"late"))

    stack.run_input(disconnect_then_send)
    assert not [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    assert tcp.counters["dropped_msgs (not running)"] == 1
