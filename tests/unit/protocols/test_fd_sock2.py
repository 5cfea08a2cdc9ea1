"""FD_SOCK2 alone in a `LayerHarness`: the test plays the driver, reading the layer's I/O commands and
feeding its connection inputs, so every byte on the FD_SOCK2 sockets is checked with the wire codec.

Members are A < B < C < D (view order); the member under test listens at its physical port + 100.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from conformance.pcaptcp import Stream, read_streams
from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import MS
from pygroups.events import Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.protocols.fd_sock2 import FD_SOCK2
from pygroups.protocols.fd_sock2_ring import next_of, previous_of
from pygroups.protocols.fd_sock2_server import MAX_FD_FRAME
from pygroups.stack.bind_addr import parse_bind_addr
from pygroups.stack.config import load_stack_file
from pygroups.stack.io import (
    Close,
    ConnId,
    IoCommand,
    IoFailed,
    Listen,
    Listening,
    OpenConnection,
    StopListening,
    Write,
)
from pygroups.stack.properties import apply_attributes
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.framing import CLOSE_FRAME, FrameBuffer, FramePayload, Preamble, encode_preamble, frame
from pygroups.wire.headers.fd import FdHeader

T = FdHeader.Type
A, B, C, D = (UUID(0, i) for i in range(1, 5))
PHYS = {m: IpAddress("127.0.0.1", 7800 + i) for i, m in enumerate((A, B, C, D))}
FD = {m: IpAddress("127.0.0.1", 7900 + i) for i, m in enumerate((A, B, C, D))}
CLUSTER = "fd"


def bare(kind: FdHeader.Type, src: Address, *, srv: Address | None = None, cluster: str | None = None) -> bytes:
    return codec.encode_bare(Message(MsgType.EMPTY, src=src, headers={71: FdHeader(kind, srv=srv, cluster=cluster)}))


class Member:
    """One FD_SOCK2 layer (``me``) with a scripted outside world."""

    def __init__(self, me: Address, **props: object) -> None:
        self.me = me
        self.fd = FD_SOCK2()
        for k, v in props.items():
            setattr(self.fd, k, v)
        self.h = LayerHarness(self.fd, local_addr=me, cluster=None)
        self.h.bottom.physical_addrs.update(PHYS)
        self.h.connect(CLUSTER)
        self.pending: list[IoCommand] = []
        (listen,) = self.io(Listen)
        assert listen.addr.port == PHYS[me].port + 100
        self.h.stack.on_io_result(Listening(listen.request_id, FD[me]))

    # --- the scripted driver ----------------------------------------------------------------------

    def io(self, kind: type[IoCommand] | None = None) -> list:  # type: ignore[type-arg]
        self.pending += self.h.stack.take_io()
        if kind is None:
            out, self.pending = self.pending, []
            return out
        out = [c for c in self.pending if isinstance(c, kind)]
        self.pending = [c for c in self.pending if not isinstance(c, kind)]
        return out

    def view(self, *members: Address, vid: int = 1) -> None:
        self.h.down(ViewChange(View(ViewId(members[0], vid), tuple(members))))

    def opens(self) -> list[OpenConnection]:
        return self.io(OpenConnection)

    def writes(self, conn: ConnId) -> list[bytes]:
        out = [c.data for c in self.pending + self.h.stack.take_io() if isinstance(c, Write) and c.conn_id == conn]
        self.pending = [c for c in self.pending if not (isinstance(c, Write) and c.conn_id == conn)]
        return out

    def frames(self, conn: ConnId, *, preamble: bool) -> list[Message | Preamble | str]:
        """What we wrote on ``conn``, decoded: the preamble, bare messages, "close" for the marker."""
        buf = FrameBuffer(expect_preamble=preamble)
        buf.feed(b"".join(self.writes(conn)))
        out: list[Message | Preamble | str] = []
        for ev in buf.events():
            if isinstance(ev, Preamble):
                out.append(ev)
            elif isinstance(ev, FramePayload):
                out.append(codec.decode_bare(ev.data))
            else:
                out.append("close")
        return out

    def accept(self, peer_fd: IpAddress, data: bytes = b"") -> ConnId:
        """A peer connects to our server socket and writes ``data``."""
        conn = self.h.stack.new_conn_id()
        self.h.stack.on_connection_opened(conn, IpAddress("127.0.0.1", 50000 + conn), 1)
        if data:
            self.h.stack.on_bytes(conn, data)
        return conn

    def answer_connect(self, op: OpenConnection, target: Address, *, cluster: str = CLUSTER) -> None:
        """The peer at ``op.peer`` accepts, reads our CONNECT and answers CONNECT_RSP."""
        self.h.stack.on_connection_opened(op.conn_id, op.peer)
        pre, connect = self.frames(op.conn_id, preamble=True)
        assert isinstance(pre, Preamble) and pre.addr == FD[self.me]
        assert isinstance(connect, Message) and connect.src == self.me
        hdr = connect.headers[71]
        assert isinstance(hdr, FdHeader) and hdr.type == T.CONNECT and hdr.srv == target
        self.h.stack.on_bytes(op.conn_id, frame(bare(T.CONNECT_RSP, target, srv=target, cluster=cluster)))

    def suspects_sent(self) -> list[set[Address]]:
        return [set(h.mbrs) for m in self.h.take_down() if isinstance(h := m.headers.get(71), FdHeader)
                and h.type == T.SUSPECT]

    def watch(self, target: Address) -> OpenConnection:
        """Complete the connect to ``target``'s first port; returns that connection."""
        (op,) = self.opens()
        assert op.peer == FD[target]
        self.answer_connect(op, target)
        assert self.fd.ping_dest.dest == target and self.fd.ping_dest.connected
        return op


# --- ports ------------------------------------------------------------------------------------------------


def test_bind_ports_follow_java_compute_bind_ports() -> None:
    fd = FD_SOCK2()
    assert fd.compute_bind_ports(7800) == [7900, 7901, 7902, 7903]
    fd.offset = 50000
    assert fd.compute_bind_ports(7800) == [57800, 57801, 57802, 57803]
    fd.offset = 100
    # wrap-around: (65500 + 100) % 65536 = 64, below min_port -> + 1024 (JGRP-2560)
    assert fd.compute_bind_ports(65500) == [1088, 1089, 1090, 1091]


def test_listen_tries_each_port_then_gives_up_without_raising() -> None:
    fd = FD_SOCK2()
    h = LayerHarness(fd, local_addr=A, cluster=None)
    h.bottom.physical_addrs[A] = PHYS[A]
    h.connect(CLUSTER)
    tried = []
    for _ in range(4):
        (listen,) = [c for c in h.stack.take_io() if isinstance(c, Listen)]
        tried.append(listen.addr.port)
        h.stack.on_io_result(IoFailed(listen.request_id, "address in use"))
    assert tried == [7900, 7901, 7902, 7903]
    assert h.stack.take_io() == [] and fd.counters["listen_failed"] == 1
    assert fd.server_address is None


def test_stop_closes_the_server_socket_and_connections_gracefully() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.disconnect()
    cmds = m.io()
    assert any(isinstance(c, StopListening) for c in cmds)
    assert Write(op.conn_id, CLOSE_FRAME) in cmds and Close(op.conn_id, True) in cmds


# --- the ring ---------------------------------------------------------------------------------------------


def test_neighbours() -> None:
    assert next_of([A, B, C], B) == C and next_of([A, B, C], C) == A and next_of([A], A) is None
    assert previous_of([A, B, C], A) == C and previous_of([A, B], A) == B and previous_of([A], A) is None
    assert next_of([A, C], B) is None


def test_connects_to_the_next_member_with_preamble_and_bare_connect() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    assert op.timeout_ms == 1000
    assert m.fd.counters["connected to ping dest"] == 1 and m.suspects_sent() == []


def test_view_change_repicks_and_closes_old_dest_unless_left_neighbour() -> None:
    m = Member(B)
    m.view(A, B, C)
    old = m.watch(C)
    m.view(A, B, D, C, vid=2)  # D joins between B and C
    new = m.watch(D)
    assert Close(old.conn_id, True) in m.io(Close)  # C is not our left neighbour: link closed
    m.view(A, B, D, vid=3)  # C left; our ping dest is still D: nothing to do
    assert m.opens() == []
    m.view(D, B, vid=4)  # {D,B}: D is now our right *and* left neighbour: same link kept
    assert m.opens() == [] and m.io(Close) == []
    assert m.fd.ping_dest.dest_physical == new.peer


def test_two_members_keep_the_link_to_the_left_neighbour() -> None:
    m = Member(B)
    m.view(A, B)
    m.watch(A)
    m.view(A, B, C, vid=2)  # new right neighbour C; A is now our left neighbour: its link stays
    m.watch(C)
    assert m.io(Close) == []


def test_view_of_one_closes_the_link() -> None:
    m = Member(B)
    m.view(A, B)
    op = m.watch(A)
    m.view(B, vid=2)
    assert Close(op.conn_id, True) in m.io(Close) and not m.fd.ping_dest.connected


def test_unreachable_neighbour_is_suspected_and_the_next_one_watched() -> None:
    m = Member(A)
    m.view(A, B, C)
    ops = m.opens()
    assert [o.peer for o in ops] == [FD[B]]
    for port in range(4):  # every candidate port refuses
        (op,) = ops if port == 0 else m.opens()
        assert op.peer == IpAddress("127.0.0.1", 7901 + port)
        m.h.stack.on_connection_closed(op.conn_id, "connection refused")
    m.watch(C)
    assert m.suspects_sent() == [{B}]
    assert B not in m.fd.pingable_mbrs


def test_no_connect_rsp_within_connect_timeout_tries_next_port() -> None:
    m = Member(A)
    m.view(A, B)
    (op,) = m.opens()
    m.h.stack.on_connection_opened(op.conn_id, op.peer)  # accepted but never answered
    m.h.advance(999 * MS)
    assert m.opens() == []
    m.h.advance(1 * MS)
    (nxt,) = m.opens()
    assert nxt.peer.port == FD[B].port + 1
    assert Close(op.conn_id, True) in m.io(Close)  # our own new connection is closed (not existing)
    assert m.fd.counters["connect attempts failed (timed out)"] == 1


def test_connect_rsp_of_another_cluster_or_member_fails_the_attempt() -> None:
    m = Member(A)
    m.view(A, B)
    (op,) = m.opens()
    m.h.stack.on_connection_opened(op.conn_id, op.peer)
    m.h.stack.on_bytes(op.conn_id, frame(bare(T.CONNECT_RSP, B, srv=B, cluster="other")))
    (nxt,) = m.opens()
    m.h.stack.on_connection_opened(nxt.conn_id, nxt.peer)
    m.h.stack.on_bytes(nxt.conn_id, frame(bare(T.CONNECT_RSP, C, srv=C, cluster=CLUSTER)))
    assert not m.fd.ping_dest.connected
    assert m.fd.counters["connect attempts failed (wrong member or cluster)"] == 2


def test_server_answers_connect_with_cluster_and_own_address() -> None:
    m = Member(B)
    conn = m.accept(FD[A], encode_preamble(FD[A]) + frame(bare(T.CONNECT, A, srv=B)))
    (rsp,) = m.frames(conn, preamble=False)
    assert isinstance(rsp, Message) and rsp.src == B
    assert rsp.headers[71] == FdHeader(T.CONNECT_RSP, cluster=CLUSTER, srv=B)
    assert m.fd.srv.connections() == {FD[A]: conn}


def test_concurrent_connects_repeat_connect_over_the_winning_connection() -> None:
    m = Member(A)  # A's FD address 127.0.0.1:7900 is smaller than B's: B's connection wins
    m.view(A, B)
    (op,) = m.opens()
    m.h.stack.on_connection_opened(op.conn_id, op.peer)
    m.writes(op.conn_id)
    incoming = m.accept(FD[B], encode_preamble(FD[B]) + frame(bare(T.CONNECT, B, srv=A)))
    assert Close(op.conn_id, True) in m.io(Close)
    out = m.frames(incoming, preamble=False)
    kinds = [x.headers[71].type for x in out if isinstance(x, Message)]  # type: ignore[union-attr]
    assert kinds == [T.CONNECT, T.CONNECT_RSP]  # our CONNECT again, then the answer to B's
    m.h.stack.on_bytes(incoming, frame(bare(T.CONNECT_RSP, B, srv=B, cluster=CLUSTER)))
    assert m.fd.ping_dest.connected and m.fd.ping_dest.dest_physical == FD[B]


def test_concurrent_connects_when_the_rejection_arrives_before_the_winning_connection() -> None:
    """The peer (bigger address) closes our connection unread, gracefully, and that close reaches us before its
    own connection does (full-stack simulation seed 346): CONNECT goes again, then over the winner; no other
    port is tried and nobody is suspected (Java waits connect_timeout, tries the next ports and suspects B)."""
    m = Member(A)
    m.view(A, B)
    (op,) = m.opens()
    m.h.stack.on_connection_opened(op.conn_id, op.peer)
    m.writes(op.conn_id)
    m.h.stack.on_bytes(op.conn_id, CLOSE_FRAME)  # B: BaseServer.handleIncomingConnection closes ours
    m.h.stack.on_connection_closed(op.conn_id, None)
    (again,) = m.opens()
    assert again.peer == FD[B]  # the same port again, not B's next candidate
    m.h.stack.on_connection_opened(again.conn_id, again.peer)
    incoming = m.accept(FD[B], encode_preamble(FD[B]) + frame(bare(T.CONNECT, B, srv=A)))
    out = m.frames(incoming, preamble=False)
    kinds = [x.headers[71].type for x in out if isinstance(x, Message)]  # type: ignore[union-attr]
    assert T.CONNECT in kinds
    m.h.stack.on_bytes(incoming, frame(bare(T.CONNECT_RSP, B, srv=B, cluster=CLUSTER)))
    assert m.fd.ping_dest.connected and m.fd.ping_dest.dest_physical == FD[B]
    assert m.suspects_sent() == [] and m.fd.counters["ping dest unreachable"] == 0


# --- suspicion ------------------------------------------------------------------------------------------


def test_abrupt_close_of_the_ping_dest_link_is_a_suspicion() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.on_connection_closed(op.conn_id, None)  # EOF without the -5 marker: the process died
    m.watch(A)  # the ring closes over the next member; then (Java: after the loop) SUSPECT goes out
    assert m.suspects_sent() == [{C}]
    assert m.fd.counters["ping dest connection lost"] == 1


def test_graceful_close_of_the_ping_dest_link_is_not_a_suspicion() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.on_bytes(op.conn_id, CLOSE_FRAME)  # C leaves: NioConnection.close(true)
    m.h.stack.on_connection_closed(op.conn_id, None)
    assert m.suspects_sent() == []
    m.watch(A)
    assert m.fd.counters["ping dest closed gracefully"] == 1
    m.h.advance(5000 * MS)  # C is still in the view (it closed the link, but did not leave): watched again
    m.watch(C)
    assert m.fd.counters["members watched again after a graceful close"] == 1 and m.suspects_sent() == []


def test_in_a_view_of_two_a_member_is_watched_again_after_a_graceful_close_or_unsuspect() -> None:
    m = Member(B)
    m.view(A, B)
    op = m.watch(A)
    m.h.stack.on_bytes(op.conn_id, CLOSE_FRAME)
    m.h.stack.on_connection_closed(op.conn_id, None)
    assert m.opens() == [] and not m.fd.ping_dest.connected
    m.h.advance(5000 * MS)
    op = m.watch(A)
    m.h.stack.on_connection_closed(op.conn_id, "reset")  # now it dies: suspected
    assert m.suspects_sent() == [{A}]
    m.h.receive(Message(MsgType.EMPTY, src=A, headers={71: FdHeader(T.UNSUSPECT, mbrs=(A,))}))
    m.watch(A)  # VERIFY_SUSPECT2 found it alive: watched again


def test_a_member_we_could_not_reach_is_watched_again_after_unsuspect() -> None:
    """Found against real sockets: when the first connect to a joiner fails (all its ports), VERIFY_SUSPECT2 finds it
    alive and UNSUSPECT follows; the failed attempt must not leave the joiner recorded as our ping dest, or the
    ring stays open and its later crash is noticed by FD_ALL3 only (Java keeps the dest too: beyond Java)."""
    m = Member(A)
    m.view(A, B)
    for _ in range(4):
        (op,) = m.opens()
        m.h.stack.on_connection_closed(op.conn_id, "refused")
    assert m.suspects_sent() == [{B}] and not m.fd.ping_dest.connected
    m.h.receive(Message(MsgType.EMPTY, src=B, headers={71: FdHeader(T.UNSUSPECT, mbrs=(B,))}))
    m.watch(B)


def test_a_graceful_leaver_is_not_watched_again_once_the_view_drops_it() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.on_bytes(op.conn_id, CLOSE_FRAME)
    m.h.stack.on_connection_closed(op.conn_id, None)
    m.watch(A)
    m.view(A, B, vid=2)
    m.h.advance(10_000 * MS)
    assert m.opens() == [] and m.suspects_sent() == []


def test_garbage_from_the_ping_dest_closes_the_link_and_suspects_it() -> None:
    m = Member(B)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.on_bytes(op.conn_id, struct.pack(">i", 0))  # a zero length: the stream is broken
    assert Close(op.conn_id, False) in m.io(Close)
    m.watch(A)
    assert m.suspects_sent() == [{C}] and m.fd.counters["conns_closed (bad frame)"] == 1


def test_closing_other_links_or_our_own_is_not_a_suspicion() -> None:
    m = Member(B)
    m.view(A, B, C)
    m.watch(C)
    conn = m.accept(FD[A], encode_preamble(FD[A]) + frame(bare(T.CONNECT, A, srv=B)))
    m.h.stack.on_connection_closed(conn, "connection reset")  # A (who watches us) died: not our business
    assert m.suspects_sent() == []
    m.h.down(Suspect(frozenset()))  # unrelated events pass
    m.h.stack.disconnect()  # leaving: our own links close without suspicion
    assert m.suspects_sent() == []


def test_suspect_is_rebroadcast_every_interval_until_a_view_drops_it() -> None:
    m = Member(B, suspect_msg_interval=5000)
    m.view(A, B, C)
    op = m.watch(C)
    m.h.stack.on_connection_closed(op.conn_id, "connection reset")
    m.watch(A)
    assert m.suspects_sent() == [{C}]
    m.h.advance(4999 * MS)
    assert m.suspects_sent() == []
    m.h.advance(1 * MS)
    assert m.suspects_sent() == [{C}]
    m.h.advance(5000 * MS)
    assert m.suspects_sent() == [{C}]
    m.view(A, B, vid=2)
    m.h.advance(20_000 * MS)
    assert m.suspects_sent() == []


def test_coordinator_raises_suspect_for_a_suspect_message() -> None:
    m = Member(A)
    m.view(A, B, C)
    m.h.receive(Message(MsgType.EMPTY, src=B, headers={71: FdHeader(T.SUSPECT, mbrs=(C,))}))
    ups = m.h.take_up_events()
    assert Suspect(frozenset({C})) in ups
    assert Suspect(frozenset({C})) in m.h.take_down_events()


def test_next_in_line_raises_suspect_when_the_coordinator_is_suspected() -> None:
    b = Member(B)
    b.view(A, B, C)
    b.h.receive(Message(MsgType.EMPTY, src=C, headers={71: FdHeader(T.SUSPECT, mbrs=(A,))}))
    assert Suspect(frozenset({A})) in b.h.take_up_events()
    c = Member(C)
    c.view(A, B, C)
    c.h.receive(Message(MsgType.EMPTY, src=B, headers={71: FdHeader(T.SUSPECT, mbrs=(A,))}))
    assert not any(isinstance(e, Suspect) for e in c.h.take_up_events())


def test_suspect_from_a_non_member_is_dropped_and_counted() -> None:
    m = Member(B)
    m.view(A, B, C)
    stranger = UUID(9, 9)
    m.h.receive(Message(MsgType.EMPTY, src=stranger, headers={71: FdHeader(T.SUSPECT, mbrs=(A,))}))
    m.h.receive(Message(MsgType.EMPTY, src=None, headers={71: FdHeader(T.SUSPECT, mbrs=(A,))}))
    assert not any(isinstance(e, Suspect) for e in m.h.take_up_events())
    assert m.fd.counters["SUSPECT dropped (sender not a member)"] == 2
    assert m.fd.suspected_mbrs == []


def test_unsuspect_down_is_multicast_and_received_unsuspect_makes_member_pingable() -> None:
    m = Member(A)
    m.view(A, B, C)
    m.h.down(Unsuspect(B))
    (msg,) = m.h.take_down()
    assert msg.headers[71] == FdHeader(T.UNSUSPECT, mbrs=(B,)) and msg.transient_flags & TransientFlag.DONT_BLOCK
    # B unreachable -> suspected; then UNSUSPECT(B) arrives: B is pingable again and watched
    for _ in range(4):
        (op,) = m.opens()
        assert op.peer.ip == FD[B].ip and op.peer.port in range(7901, 7905)
        m.h.stack.on_connection_closed(op.conn_id, "refused")
    m.watch(C)
    assert m.suspects_sent() == [{B}] and B not in m.fd.pingable_mbrs
    m.h.receive(Message(MsgType.EMPTY, src=C, headers={71: FdHeader(T.UNSUSPECT, mbrs=(B,))}))
    assert B in m.fd.pingable_mbrs and B not in m.fd.suspected_mbrs


# --- bad input on the server socket -----------------------------------------------------------------------


def _closed(m: Member, conn: ConnId) -> bool:
    return any(isinstance(c, Close) and c.conn_id == conn for c in m.io(Close))


def test_stranger_sending_garbage_is_closed_and_counted() -> None:
    m = Member(B)
    conn = m.accept(FD[A], b"GET / HTTP/1.1\r\n\r\n")
    assert _closed(m, conn) and m.fd.counters["conns_closed (bad preamble)"] == 1


def test_stranger_sending_nothing_is_closed_after_connect_timeout() -> None:
    m = Member(B)
    silent = m.accept(FD[A])
    half = m.accept(FD[A], encode_preamble(FD[C]))  # a preamble, then nothing
    m.h.advance(999 * MS)
    assert not _closed(m, silent)
    m.h.advance(1 * MS)
    closes = {c.conn_id for c in m.io(Close)}
    assert {silent, half} <= closes
    assert m.fd.counters["conns_closed (no preamble in time)"] == 1
    assert m.fd.counters["conns_closed (no message in time)"] == 1


def test_bad_frames_are_counted_never_raised() -> None:
    m = Member(B)
    pre = encode_preamble(FD[A])
    conn = m.accept(FD[A], pre + frame(b"\x99" * 10))  # undecodable message: logged, link kept
    assert m.fd.counters["bad messages on FD_SOCK2 connections"] == 1 and not _closed(m, conn)
    no_hdr = codec.encode_bare(Message(MsgType.EMPTY, src=A))
    m.h.stack.on_bytes(conn, frame(no_hdr))
    assert m.fd.counters["messages without FdHeader on FD_SOCK2 connections"] == 1
    m.h.stack.on_bytes(conn, frame(bare(T.SUSPECT, A)) + frame(bare(T.CONNECT_RSP, A, srv=A, cluster=CLUSTER)))
    assert m.fd.counters["SUSPECT/UNSUSPECT on an FD_SOCK2 connection ignored"] == 1
    assert m.fd.counters["CONNECT_RSP dropped (not waiting)"] == 1
    m.h.stack.on_bytes(conn, struct.pack(">i", MAX_FD_FRAME + 1))  # a huge length: closed
    assert _closed(m, conn) and m.fd.counters["conns_closed (bad frame)"] == 1


def test_connection_flood_is_absorbed_and_the_ring_survives() -> None:
    m = Member(B)
    m.view(A, B, C)
    m.watch(C)
    flood = [m.accept(FD[A], b"bela") for _ in range(2000)]
    m.h.advance(1000 * MS)
    closed = {c.conn_id for c in m.io(Close)}
    assert set(flood) <= closed
    assert m.fd.counters["conns_closed (no preamble in time)"] == 2000
    for conn in flood:
        m.h.stack.on_connection_closed(conn, None)
    assert m.fd.ping_dest.connected and m.suspects_sent() == []
    assert m.fd.srv.connections() == {FD[C]: m.fd.srv.connections()[FD[C]]}


@pytest.mark.parametrize("junk", [b"", b"\x00" * 3, struct.pack(">i", -7), b"bela\x00\x00"])
def test_stranger_leaving_mid_preamble_leaves_nothing_behind(junk: bytes) -> None:
    m = Member(B)
    conn = m.accept(FD[A], junk)
    m.h.stack.on_connection_closed(conn, "reset")  # the stranger goes away mid-preamble
    m.h.advance(5000 * MS)
    assert m.fd.srv.connections() == {} and m.fd.counters["conns_accepted"] == 1
    assert not m.fd.srv.owns(conn)



# --- against the real capture of a 3-node JGroups 5.5.6 cluster (tests/data/java/5.5.6/tcp-3node.pcap) -------

DATA = Path(__file__).resolve().parents[2] / "data" / "java" / "5.5.6"


def _java() -> tuple[dict[int, UUID], list[Stream]]:
    """Java's members by FD_SOCK2 port (physical + 100) and the FD_SOCK2 streams of the capture."""
    nodes = json.loads((DATA / "tcp-3node.nodes.json").read_text())["nodes"]
    by_fd = {int(n["physical"].rsplit(":", 1)[1]) + 100: UUID.parse(n["uuid"]) for n in nodes.values()}
    streams = [s for s in read_streams(DATA / "tcp-3node.pcap") if s.data and (s.src[1] in by_fd or s.dst[1] in by_fd)]
    return by_fd, streams


def _frames(data: bytes, *, preamble: bool) -> list[bytes]:
    buf = FrameBuffer(expect_preamble=preamble)
    buf.feed(data)
    return [ev.data for ev in buf.events() if isinstance(ev, FramePayload)]


class JavaPeer(Member):
    """A Member whose addresses are those of a Java node of the capture."""

    def __init__(self, me: UUID, fd_port: int, members: dict[int, UUID]) -> None:
        self.me = me
        self.fd = FD_SOCK2()
        self.h = LayerHarness(self.fd, local_addr=me, cluster=None)
        self.h.bottom.physical_addrs.update({m: IpAddress("127.0.0.1", p - 100) for p, m in members.items()})
        self.h.connect("demo")
        self.pending = []
        (listen,) = self.io(Listen)
        assert listen.addr.port == fd_port
        self.h.stack.on_io_result(Listening(listen.request_id, IpAddress("127.0.0.1", fd_port)))


def test_our_connect_rsp_is_javas_byte_for_byte() -> None:
    """Each Java client stream replayed into our server: we answer every CONNECT with exactly the
    CONNECT_RSP bytes the Java server wrote."""
    members, streams = _java()
    clients = [s for s in streams if s.dst[1] in members]
    assert len(clients) == 3
    for s in clients:
        me = JavaPeer(members[s.dst[1]], s.dst[1], members)
        conn = me.accept(IpAddress(*s.src), bytes(s.data))
        ours = _frames(b"".join(me.writes(conn)), preamble=False)
        reply = next(r for r in streams if r.src == s.dst and r.dst == s.src)
        theirs = [f for f in _frames(bytes(reply.data), preamble=False)
                  if codec.decode_bare(f).headers[71].type == T.CONNECT_RSP]  # type: ignore[union-attr]
        assert ours == theirs and theirs
        bad = {k: v for k, v in me.fd.counters.items() if ("bad" in k or "without" in k or "closed" in k) and v}
        assert bad == {}


def test_our_connect_is_javas_byte_for_byte_and_javas_answer_connects_us() -> None:
    """Each Java client replayed by us: the same view makes us write the same preamble and CONNECT; the
    Java server's answer completes our connect."""
    members, streams = _java()
    order = sorted(members)  # A, B, C by port: the view of the capture
    for s in (s for s in streams if s.dst[1] in members):
        client_port = next(p for p in members if bytes(s.data)[8:15] == encode_preamble(
            IpAddress("127.0.0.1", p))[8:15])
        me = JavaPeer(members[client_port], client_port, members)
        view = [members[p] for p in order]
        if client_port == order[0] and s.dst[1] == order[1]:
            view = view[:2]  # A watched B while the view was {A, B}
        me.view(*view)
        (op,) = me.opens()
        assert op.peer == IpAddress("127.0.0.1", s.dst[1])
        me.h.stack.on_connection_opened(op.conn_id, op.peer)
        written = b"".join(me.writes(op.conn_id))
        java = bytes(s.data)
        assert written == java[: len(written)]  # preamble + CONNECT, as Java wrote them
        reply = next(r for r in streams if r.src == s.dst and r.dst == s.src)
        me.h.stack.on_bytes(op.conn_id, bytes(reply.data))
        assert me.fd.ping_dest.connected and me.fd.ping_dest.dest == members[s.dst[1]]


# --- configuration ---------------------------------------------------------------------------------------


def test_stock_stacks_configure_fd_sock2_with_java_names() -> None:
    k8s = load_stack_file("kubernetes.xml", environ={}, check=False).get("FD_SOCK2")
    assert k8s is not None
    fd = FD_SOCK2()
    assert apply_attributes(fd, k8s.attributes, element="FD_SOCK2") == {}
    assert fd.offset == 50000 and fd.compute_bind_ports(7800)[0] == 57800
    fd = FD_SOCK2()
    leftover = apply_attributes(fd, {"bind_addr": "127.0.0.1", "port_range": "0", "client_bind_port": "9000",
                                     "external_addr": "10.1.2.3", "external_port": "30000",
                                     "suspect_msg_interval": "2s", "connect_timeout": "300ms",
                                     "min_port": "2000", "max_port": "60000", "linger": "5"}, element="FD_SOCK2")
    assert leftover == {} and fd.suspect_msg_interval == 2000 and fd.connect_timeout == 300
    assert fd.compute_bind_ports(59950) == [2050]  # (59950 + 100) % 60000 = 50 -> + min_port


def test_external_addr_and_port_go_into_the_preamble() -> None:
    m = Member(B, external_addr=parse_bind_addr("10.1.2.3"), external_port=30000)
    assert m.fd.server_address == IpAddress("10.1.2.3", 30000)
    m.view(A, B, C)
    (op,) = m.opens()
    m.h.stack.on_connection_opened(op.conn_id, op.peer)
    pre = m.frames(op.conn_id, preamble=True)[0]
    assert isinstance(pre, Preamble) and pre.addr == IpAddress("10.1.2.3", 30000)


def test_client_bind_port_and_socket_options_follow_java() -> None:
    m = Member(B, client_bind_port=9000, linger=3)
    m.view(A, B, C)
    (op,) = m.opens()
    assert op.local == IpAddress(None, 9000) and op.options.linger == 3 and not op.options.tcp_nodelay
