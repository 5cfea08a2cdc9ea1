"""TCP.enable_suspect_events (BasicTCP.connectionClosed, JGRP-2869): SUSPECT when a member's connection dies."""

from __future__ import annotations

import random

from pygroups.address import UUID, IpAddress
from pygroups.clock import ManualClock
from pygroups.events import AddPhysicalAddress, IsLeaving, Suspect, ViewChange
from pygroups.protocols.tcp import TCP
from pygroups.stack.bind_addr import parse_bind_addr
from pygroups.stack.io import OpenConnection
from pygroups.stack.layer import answers
from pygroups.stack.stack import ProtocolStack
from pygroups.wire.framing import CLOSE_FRAME
from tests.unit.protocols.test_tcp import PB, PC, A, B, C, Recorder, accept, from_b, listen, msg, view, wire

X = UUID(9, 9)
PX = IpAddress("127.0.0.1", 7809)


class GmsStandIn(Recorder):
    """Answers GMS.isLeaving like GMS does."""

    def __init__(self) -> None:
        super().__init__()
        self.leaving = False

    @answers(IsLeaving, up=True)
    def answer_is_leaving(self, q: IsLeaving) -> bool:
        return self.leaving


def member_a(*, enabled: bool = True, top: Recorder | None = None) -> tuple[ProtocolStack, TCP, Recorder]:
    tcp = TCP()
    tcp.bind_addr, tcp.bind_port, tcp.port_range = parse_bind_addr("127.0.0.1"), 7800, 0
    tcp.enable_suspect_events = enabled
    top = top if top is not None else GmsStandIn()
    stack = ProtocolStack([tcp, top], clock=ManualClock(), rng=random.Random(1))
    listen(stack)
    stack.connect("demo", local_addr=A)
    for addr, phys in ((B, PB), (C, PC), (X, PX)):
        stack.run_input(tcp.down, AddPhysicalAddress(addr, phys))
    stack.run_input(tcp.down, ViewChange(view(A, B, C)))
    stack.take_io()
    return stack, tcp, top


def suspects(top: Recorder) -> list[Suspect]:
    return [e for e in top.events if isinstance(e, Suspect)]


def test_attribute_is_javas_and_off_by_default() -> None:
    assert TCP().enable_suspect_events is False


def test_peer_closing_without_the_marker_is_suspected() -> None:
    for error in (None, "connection reset"):
        stack, tcp, top = member_a()
        conn = accept(stack, PB)
        stack.on_bytes(conn, wire(from_b(A, b"x")))
        stack.on_connection_closed(conn, error)
        assert suspects(top) == [Suspect(frozenset({B}))]
        assert tcp.counters["num_suspect_events"] == 1


def test_our_outgoing_connection_dying_is_suspected_too() -> None:
    stack, _tcp, top = member_a()
    stack.send(msg(C, b"hi"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_opened(opn.conn_id, PC)
    stack.on_connection_closed(opn.conn_id, "broken pipe")
    assert suspects(top) == [Suspect(frozenset({C}))]


def test_graceful_close_failed_connect_and_our_own_close_are_not_suspicions() -> None:
    stack, tcp, top = member_a()
    conn = accept(stack, PB)
    stack.on_bytes(conn, CLOSE_FRAME)  # the peer left (TcpConnection.closed_gracefully)
    stack.on_connection_closed(conn, None)
    stack.send(msg(C, b"hi"))
    (opn,) = [c for c in stack.take_io() if isinstance(c, OpenConnection)]
    stack.on_connection_closed(opn.conn_id, "connection refused")  # never connected: no receiver, no notify
    conn = accept(stack, PB)
    stack.run_input(tcp.down, ViewChange(view(A, C)))  # B left: we close its connection
    stack.on_connection_closed(conn, None)
    assert suspects(top) == [] and tcp.counters["num_suspect_events"] == 0


def test_non_members_unknown_peers_leaving_and_disabled_send_nothing() -> None:
    stack, _, top = member_a()
    conn = accept(stack, PX)  # X is no member
    stack.on_connection_closed(conn, None)
    conn = accept(stack, IpAddress("127.0.0.1", 7999))  # nobody we know
    stack.on_connection_closed(conn, None)
    assert suspects(top) == []

    stack, _, top = member_a()
    assert isinstance(top, GmsStandIn)
    top.leaving = True  # GMS.isLeaving(): we are on our way out
    conn = accept(stack, PB)
    stack.on_connection_closed(conn, None)
    assert suspects(top) == []

    stack, _, top = member_a(top=Recorder())  # no GMS above: Java finds no GMS and sends nothing
    conn = accept(stack, PB)
    stack.on_connection_closed(conn, None)
    assert suspects(top) == []

    stack, _, top = member_a(enabled=False)
    conn = accept(stack, PB)
    stack.on_connection_closed(conn, None)
    assert suspects(top) == []
