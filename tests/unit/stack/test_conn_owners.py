"""Connections of layers other than the transport: the stack routes a connection's inputs to the layer
that emitted its `OpenConnection`, or whose `Listen` accepted it (FD_SOCK2's server socket)."""

from __future__ import annotations

import random

import pytest

from pygroups.address import IpAddress
from pygroups.clock import ManualClock
from pygroups.errors import LocalProtocolError
from pygroups.stack.io import ConnId, Listen, OpenConnection, StopListening
from pygroups.stack.layer import Layer, TransportLayer
from pygroups.stack.stack import ProtocolStack

PEER = IpAddress("127.0.0.1", 7900)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, int, object]] = []

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.seen.append(("opened", conn, str(peer)))

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        self.seen.append(("bytes", conn, data))

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.seen.append(("closed", conn, error))


class Transport(Recorder, TransportLayer):
    def __init__(self) -> None:
        Recorder.__init__(self)
        TransportLayer.__init__(self)


class Owner(Recorder, Layer):
    name = "OWNER"

    def __init__(self) -> None:
        Recorder.__init__(self)
        Layer.__init__(self)

    def on_io_result(self, result: object) -> None:
        pass


def stack() -> tuple[ProtocolStack, Transport, Owner]:
    t, o = Transport(), Owner()
    return ProtocolStack([t, o], clock=ManualClock(), rng=random.Random(1)), t, o


def test_outgoing_connections_belong_to_the_layer_that_opened_them() -> None:
    s, t, o = stack()
    conn = s.new_conn_id()
    s.run_input(o.emit, OpenConnection(conn, PEER))
    other = s.new_conn_id()
    s.run_input(t.emit, OpenConnection(other, PEER))
    assert len(s.take_io()) == 2
    s.on_connection_opened(conn, PEER)
    s.on_bytes(conn, b"x")
    s.on_connection_closed(conn, None)
    s.on_connection_opened(other, PEER)
    assert o.seen == [("opened", conn, "127.0.0.1:7900"), ("bytes", conn, b"x"), ("closed", conn, None)]
    assert t.seen == [("opened", other, "127.0.0.1:7900")]
    s.on_connection_closed(conn, None)  # a second end of the same id is the transport's problem now
    assert t.seen[-1] == ("closed", conn, None)


def test_accepted_connections_belong_to_the_layer_whose_listen_accepted_them() -> None:
    s, t, o = stack()
    rid = s.new_request_id()
    s.run_input(o.emit, Listen(rid, IpAddress(None, 7900)))
    trid = s.new_request_id()
    s.run_input(t.emit, Listen(trid, IpAddress(None, 7800)))
    a, b, c = s.new_conn_id(), s.new_conn_id(), s.new_conn_id()
    s.on_connection_opened(a, PEER, rid)
    s.on_connection_opened(b, PEER, trid)
    s.on_connection_opened(c, PEER)  # no listener named: the transport's (older drivers)
    s.on_bytes(a, b"fd")
    assert [x[:2] for x in o.seen] == [("opened", a), ("bytes", a)]
    assert [x[:2] for x in t.seen] == [("opened", b), ("opened", c)]
    s.run_input(o.emit, StopListening(rid))
    d = s.new_conn_id()
    s.on_connection_opened(d, PEER, rid)  # a late accept after StopListening goes to the transport
    assert t.seen[-1][:2] == ("opened", d)
    s.on_bytes(a, b"still")  # connections accepted earlier stay with their owner
    assert o.seen[-1] == ("bytes", a, b"still")


def test_a_plain_layer_does_not_use_connections() -> None:
    class Plain(Layer):
        pass

    with pytest.raises(LocalProtocolError, match="does not use connections"):
        Plain().on_bytes(ConnId(1), b"")
