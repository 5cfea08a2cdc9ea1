"""The simulator's stream connections (`pygroups.testing.sim_streams`), seen by a toy layer that opens
its own sockets: listen, connect, ordered bytes, graceful and abrupt ends, crash, pause, partition."""

from __future__ import annotations

from pygroups.address import IpAddress
from pygroups.clock import MS
from pygroups.stack.io import (
    Close,
    ConnId,
    IoFailed,
    IoResult,
    Listen,
    Listening,
    OpenConnection,
    StopListening,
    Write,
)
from pygroups.stack.layer import Layer
from pygroups.testing.sim import SimNetwork, SimNode, SimTransport


class Socks(Layer):
    """Listens on port 9000 at start; records every connection input."""

    name = "SOCKS"

    def __init__(self) -> None:
        super().__init__()
        self.log_: list[tuple[str, ...]] = []
        self.listening: IpAddress | None = None
        self.rid = 0

    def start(self) -> None:
        self.rid = self.stack.new_request_id()
        self.emit(Listen(self.rid, IpAddress(None, 9000), 1))

    def on_io_result(self, result: IoResult) -> None:
        match result:
            case Listening(addr=addr):
                self.listening = addr
            case IoFailed(error=error):
                self.log_.append(("listen failed", error))

    def connect(self, peer: IpAddress, timeout_ms: int = 0) -> ConnId:
        conn = self.stack.new_conn_id()
        self.emit(OpenConnection(conn, peer, timeout_ms))
        return conn

    def write(self, conn: ConnId, data: bytes) -> None:
        self.emit(Write(conn, data))

    def close(self, conn: ConnId, graceful: bool = True) -> None:
        self.emit(Close(conn, graceful))

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.log_.append(("open", str(conn), str(peer)))

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        self.log_.append(("bytes", str(conn), data.decode()))

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.log_.append(("closed", str(conn), str(error)))


def world(n: int = 2) -> tuple[SimNetwork, list[SimNode]]:
    net = SimNetwork(7, latency_ns=(MS, 3 * MS))
    nodes = [net.add_node(chr(ord("a") + i), lambda: [SimTransport(), Socks()]) for i in range(n)]
    for node in nodes:
        node.connect("s")
    net.run_for(10 * MS)
    return net, nodes


def socks(node: SimNode) -> Socks:
    return node.stack.find(Socks)


def run(net: SimNetwork, node: SimNode, fn: object, *args: object) -> object:
    out: list[object] = []
    net.call(node, node.stack.run_input, lambda: out.append(fn(*args)))  # type: ignore[operator]
    return out[0]


def test_listen_connect_and_ordered_bytes_both_ways() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    assert sa.listening == IpAddress("10.0.0.1", 9000) and sb.listening == IpAddress("10.0.0.2", 9000)
    conn = run(net, a, sa.connect, sb.listening)
    for i in range(20):  # written before the connect completes: kept and delivered in order
        run(net, a, sa.write, conn, f"{i},".encode())
    net.run_for(50 * MS)
    assert sa.log_ == [("open", str(conn), "10.0.0.2:9000")]
    ((_, srv_conn, peer), *data) = sb.log_
    assert peer.startswith("10.0.0.1:")
    assert "".join(d[2] for d in data) == "".join(f"{i}," for i in range(20))
    run(net, b, sb.write, ConnId(int(srv_conn)), b"pong")
    net.run_for(50 * MS)
    assert sa.log_[-1] == ("bytes", str(conn), "pong")


def test_graceful_close_delivers_data_then_orderly_end() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    conn = run(net, a, sa.connect, sb.listening)
    run(net, a, sa.write, conn, b"last")
    run(net, a, sa.close, conn)
    net.run_for(50 * MS)
    assert sa.log_ == [("closed", str(conn), "None")]  # the closing side hears its own end once
    assert [e[0] for e in sb.log_] == ["open", "bytes", "closed"] and sb.log_[-1][2] == "None"
    run(net, a, sa.write, conn, b"late")  # after the end: dropped and counted
    assert net.stats["stream_writes_dropped"] == 1


def test_abort_ends_with_an_error_and_refused_connects_fail() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    conn = run(net, a, sa.connect, sb.listening)
    net.run_for(10 * MS)
    run(net, a, sa.close, conn, False)
    net.run_for(10 * MS)
    assert sb.log_[-1][0] == "closed" and "reset" in sb.log_[-1][2]
    bad = run(net, a, sa.connect, IpAddress("10.0.0.2", 9999))
    net.run_for(10 * MS)
    assert sa.log_[-1][:2] == ("closed", str(bad)) and "refused" in sa.log_[-1][2]


def test_crash_ends_peer_connections_without_error_and_closes_listeners() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    conn = run(net, a, sa.connect, sb.listening)
    net.run_for(10 * MS)
    net.crash(b)
    net.run_for(10 * MS)
    assert sa.log_[-1] == ("closed", str(conn), "None")  # the kernel's FIN: no error, no marker
    again = run(net, a, sa.connect, sb.listening)
    net.run_for(10 * MS)
    assert sa.log_[-1][:2] == ("closed", str(again)) and "refused" in sa.log_[-1][2]


def test_pause_defers_and_partition_stalls_then_heals() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    conn = run(net, a, sa.connect, sb.listening)
    net.run_for(10 * MS)
    net.pause(b, 500 * MS)
    run(net, a, sa.write, conn, b"x")
    net.run_for(400 * MS)
    assert sb.log_[-1][0] == "open"
    net.run_for(200 * MS)
    assert sb.log_[-1][2] == "x"
    net.partition([a], [b])
    run(net, a, sa.write, conn, b"y")
    timed_out = run(net, a, sa.connect, sb.listening, 250)
    net.run_for(1000 * MS)
    assert sb.log_[-1][2] == "x"  # held while partitioned
    assert ("closed", str(timed_out)) == sa.log_[-1][:2] and "timed out" in sa.log_[-1][2]
    net.heal()
    net.run_for(300 * MS)
    assert sb.log_[-1][2] == "y"


def test_stop_listening_and_port_range() -> None:
    net, (a, b) = world()
    sa, sb = socks(a), socks(b)
    run(net, a, sa.emit, Listen(99, IpAddress(None, 9000), 1))  # 9000 taken: 9001
    run(net, a, sa.emit, Listen(100, IpAddress(None, 9000), 1))  # both taken: fails
    net.run_for(10 * MS)
    assert sa.listening == IpAddress("10.0.0.1", 9001)
    assert sa.log_[-1][0] == "listen failed"
    run(net, b, sb.emit, StopListening(sb.rid))
    conn = run(net, a, sa.connect, IpAddress("10.0.0.2", 9000))
    net.run_for(10 * MS)
    assert sa.log_[-1][:2] == ("closed", str(conn)) and "refused" in sa.log_[-1][2]
