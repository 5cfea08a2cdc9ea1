"""`TCP`: the TCP transport (org.jgroups.protocols.TCP / BasicTCP with blocks/cs TcpServer,
BaseServer and TcpConnection), sans-IO.

Rules of this module:

1. The server socket is requested with `Listen` as soon as the layer is initialised (so a driver
   that runs the I/O before ``connect()`` knows our physical address before discovery needs it);
   until `Listening` arrives the bundler keeps every message queued. `IoFailed` sets
   ``listen_error``, counts, and drops the queue: this member cannot send.
2. One connection per peer *listening* address. The connecting side writes the preamble (cookie,
   version, our physical address), then frames. An accepted connection is keyed by the address in
   its preamble; a bad preamble or a bad frame closes that connection only (counted by reason).
3. Concurrent connects follow BaseServer.handleIncomingConnection: when a connection to the peer
   already exists (or is being opened), the incoming one replaces it only if our address is the
   smaller; otherwise the incoming one is closed. Nothing is lost on our side: frames not yet
   written move to the winner, and frames written on a young outgoing connection that the peer
   never answered (a Java peer drops a rejected connection unread) are written again on the
   winner, or on the peer's own connection when its close marker arrives first. A pygroups peer
   also delivers what came with a rejected preamble, so a message may arrive twice; NAKACK2 and
   UNICAST3 drop duplicates by seqno.
4. Frames already received on a connection are delivered even when it is being closed. A peer
   vanishing mid-frame only discards that connection's partial frame.
5. Closing on purpose writes the graceful-close marker first (TcpConnection.closeGracefully);
   a received marker closes without writing one. Connection failures drop what was queued for
   that connection (Java drops the message; NAKACK2/UNICAST3 retransmit).
6. ``enable_suspect_events`` (BasicTCP.connectionClosed, JGRP-2869): a connection the *peer* closed
   without the graceful-close marker (EOF or an error), to a member, while we are connected and GMS
   is not leaving, sends SUSPECT(peer) up. Java's receiver thread also reports connections this side
   closed (replaced, reaped) and relies on VERIFY_SUSPECT2 to clear those; we do not report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

from pygroups.address import IpAddress
from pygroups.clock import MS
from pygroups.errors import ConfigError, MalformedFrame
from pygroups.events import IsLeaving, Suspect
from pygroups.message import Message
from pygroups.stack.bind_addr import BindAddrSpec, NetIf, resolve_bind_addr
from pygroups.stack.io import (
    Close,
    ConnId,
    IoFailed,
    IoResult,
    Listen,
    Listening,
    OpenConnection,
    SocketOptions,
    Write,
)
from pygroups.stack.layer import MembershipChange
from pygroups.stack.properties import BindAddr, Converter, Duration, Int, Size, prop
from pygroups.stack.registry import protocol
from pygroups.wire.framing import CLOSE_FRAME, CloseMarker, FrameBuffer, FramePayload, Preamble, encode_preamble, frame

from .tp import TP

#: Frames written on a fresh outgoing connection are kept this long (or until the peer sends on
#: it) so they can be written again if the peer turns out to have rejected the connection.
RETAIN_WINDOW_FALLBACK_MS = 1000
#: ... but at most this many bytes per connection (beyond that, retransmission has to do).
RETAIN_MAX_BYTES = 1 << 20


_OptBindAddr = cast("Converter[BindAddrSpec | None]", BindAddr)


@dataclass(eq=False, slots=True)
class _Conn:
    """One TcpConnection: either ours (outgoing, keyed by the destination) or accepted (keyed by
    the address read from the peer's preamble)."""

    conn_id: ConnId
    outgoing: bool
    peer: IpAddress | None  # None until an accepted connection's preamble is read
    buffer: FrameBuffer
    opened: bool = False
    closing: bool = False  # we emitted Close: no more writes
    received: bool = False  # a frame arrived on it (the peer uses it)
    unsent: list[bytes] = field(default_factory=list)  # framed, waiting for the connection to open
    retained: list[bytes] = field(default_factory=list)  # framed, written while young
    retain_until_ns: int = 0
    retained_bytes: int = 0


def _reason(e: MalformedFrame) -> str:
    text = str(e)
    for prefix, reason in (("bad cookie", "bad cookie"), ("incompatible version", "bad version"),
                           ("bad preamble", "bad preamble"), ("invalid frame length", "bad frame length"),
                           ("data after", "data after close")):
        if text.startswith(prefix):
            return reason
    return "bad stream"


@protocol("TCP")
class TCP(TP):
    """The TCP transport; see the module docstring."""

    bind_addr: BindAddrSpec | None = prop(_OptBindAddr, None, "interface to listen on (JGroups keywords allowed)")
    bind_port: int = prop(Int, 0, "port to listen on; 0 = any")
    port_range: int = prop(Int, 10, "ports tried above bind_port when it is taken")
    external_addr: BindAddrSpec | None = prop(_OptBindAddr, None, "address advertised instead of the bound one")
    external_port: int = prop(Int, 0, "port advertised with external_addr (0 = the bound port)")
    sock_conn_timeout: int = prop(Duration, 2000, "ms to wait for an outgoing connection")
    peer_addr_read_timeout: int = prop(Duration, 1000, "ms to wait for an accepted connection's preamble")
    tcp_nodelay: bool = prop(bool, False, "TCP_NODELAY on every connection")
    recv_buf_size: int = prop(Size, 0, "SO_RCVBUF (0 = OS default)")
    send_buf_size: int = prop(Size, 0, "SO_SNDBUF (0 = OS default)")
    linger: int = prop(Int, -1, "SO_LINGER seconds (-1 = off)")
    max_length: int = prop(Size, 0, "largest accepted frame (0 = unlimited)")
    reaper_interval: int = prop(Duration, 0, "ms between idle-connection reaps (0 = never)")
    conn_expire_time: int = prop(Duration, 0, "ms a connection may be idle before it is reaped (0 = never)")
    client_bind_addr: BindAddrSpec | None = prop(_OptBindAddr, None, "local address of outgoing connections")
    client_bind_port: int = prop(Int, 0, "local port of outgoing connections (0 = any)")
    enable_suspect_events: bool = prop(bool, False, "When true, a SUSPECT(P) event is passed up when a connection "
                                                    "is closed by the peer P")

    def __init__(self) -> None:
        super().__init__()
        #: The host's interfaces, for resolving bind_addr keywords (set by the driver before the
        #: stack is built; without them only literal addresses resolve, else 127.0.0.1).
        self.interfaces: Sequence[NetIf] = ()
        self.listen_error: str | None = None
        self._running = False  # between Connect and Disconnect (TcpServer's acceptor runs)
        self._listen_request: int | None = None
        self._conns: dict[IpAddress, _Conn] = {}  # the connection table: one per peer
        self._by_id: dict[ConnId, _Conn] = {}  # every live connection, including rejected/closing
        # frames of a connection the peer probably rejected: written again if that peer's own
        # connection arrives before the deadline (ns)
        self._orphans: dict[IpAddress, tuple[int, list[bytes]]] = {}
        self._last_access: dict[ConnId, int] = {}

    # --- lifecycle ------------------------------------------------------------------------------------

    def validate(self) -> None:
        if self.reaper_interval > 0 and self.conn_expire_time == 0:
            self.log.warning("reaper_interval (%d) set, but not conn_expire_time: no reaping", self.reaper_interval)
            self.reaper_interval = 0
        elif self.conn_expire_time > 0 and self.reaper_interval == 0:
            self.reaper_interval = self.conn_expire_time // 2

    def init(self) -> None:
        self._listen()

    def start(self) -> None:
        if self.physical_addr is None and self._listen_request is None:
            self._listen()  # a failed Listen is retried on the next connect
        if self.reaper_interval > 0 and self.conn_expire_time > 0:
            self.timers.call_later(self.reaper_interval * MS, self._reap)

    def stop(self) -> None:
        self.close_all()

    def handle_connect(self) -> None:
        self._running = True

    def handle_disconnect(self) -> None:
        self._running = False
        self.close_all()

    def socket_options(self) -> SocketOptions:
        return SocketOptions(self.tcp_nodelay, self.recv_buf_size, self.send_buf_size, self.linger)

    def _listen(self) -> None:
        try:
            ip = resolve_bind_addr(self.bind_addr, self.interfaces)
        except ConfigError as e:
            self._listen_failed(str(e))
            return
        self.listen_error = None
        self._listen_request = self.stack.new_request_id()
        self.emit(Listen(self._listen_request, IpAddress(ip, self.bind_port), self.port_range, self.socket_options()))

    def on_io_result(self, result: IoResult) -> None:
        if result.request_id != self._listen_request:
            self.counters["stale_io_results"] += 1
            return
        self._listen_request = None
        match result:
            case Listening(addr=addr):
                self.physical_addr = self._advertised(addr)
                self._register_local_address()
                self.counters["listening"] += 1
                self.log.debug("listening on %s (physical address %s)", addr, self.physical_addr)
                self.flush_bundler()
            case IoFailed(error=error):
                self._listen_failed(error)
            case _:
                self.counters["stale_io_results"] += 1

    def _listen_failed(self, error: str) -> None:
        self.listen_error = f"TCP cannot listen on {self.bind_addr.text if self.bind_addr else '<default>'}" \
                            f"[{self.bind_port}..{self.bind_port + self.port_range}]: {error}"
        self.counters["listen_failed"] += 1
        self.log.error("%s", self.listen_error)
        self.drop_queued("not listening")

    def _advertised(self, bound: IpAddress) -> IpAddress:
        """BaseServer.localAddress: external_addr (with external_port, else the bound port) wins."""
        if self.external_addr is None:
            return bound
        try:
            ext = resolve_bind_addr(self.external_addr, self.interfaces)
        except ConfigError as e:
            self.log.error("external_addr %s: %s; advertising %s", self.external_addr.text, e, bound)
            return bound
        return IpAddress(ext, self.external_port if self.external_port > 0 else bound.port)

    def transport_ready(self) -> bool:
        return self.physical_addr is not None

    @property
    def listening(self) -> bool:
        """True once `Listening` arrived: the physical address is known (drivers and channels wait
        for this, or for ``listen_error``, before ``connect()``, so discovery advertises it)."""
        return self.physical_addr is not None

    def down_msg(self, msg: Message) -> None:
        if self.listen_error is not None:  # Java's connect() would have failed: nothing can be sent
            self.counters["dropped_msgs (not listening)"] += 1
            return
        super().down_msg(msg)

    def members_changed(self, change: MembershipChange) -> None:
        super().members_changed(change)
        if not change.tmp:  # a TMP_VIEW keeps connections: the VIEW is still to be sent over them
            self._retain_member_connections()

    def _retain_member_connections(self) -> None:
        """BasicTCP: after a view change, close connections to physical addresses of non-members."""
        keep = {self.addr_cache[m] for m in self.members if m in self.addr_cache}
        for peer, conn in list(self._conns.items()):
            if peer not in keep:
                self.counters["conns_closed (not a member)"] += 1
                self._close(conn)

    # --- sending --------------------------------------------------------------------------------------

    def send_unicast(self, dest: IpAddress, payload: bytes) -> None:
        if not self._running:  # after DISCONNECT closed everything: never reopen a connection
            self.counters["dropped_msgs (not running)"] += 1
            return
        data = frame(payload)
        conn = self._conns.get(dest)
        if conn is None:
            conn = self._open(dest)
        self._write(conn, data)

    def _open(self, dest: IpAddress) -> _Conn:
        conn_id = self.stack.new_conn_id()
        conn = _Conn(conn_id, True, dest, self._frame_buffer(expect_preamble=False))
        self._conns[dest] = conn
        self._by_id[conn_id] = conn
        local: IpAddress | None = None
        if self.client_bind_addr is not None:
            try:
                local = IpAddress(resolve_bind_addr(self.client_bind_addr, self.interfaces), self.client_bind_port)
            except ConfigError as e:
                self.log.error("client_bind_addr %s: %s", self.client_bind_addr.text, e)
        self.counters["conns_opened"] += 1
        self.emit(OpenConnection(conn_id, dest, self.sock_conn_timeout, local, self.socket_options()))
        return conn

    def _frame_buffer(self, *, expect_preamble: bool) -> FrameBuffer:
        if self.max_length > 0:
            return FrameBuffer(expect_preamble=expect_preamble, version=self.version, max_frame_size=self.max_length)
        return FrameBuffer(expect_preamble=expect_preamble, version=self.version)

    def _write(self, conn: _Conn, data: bytes) -> None:
        if conn.closing:
            self.counters["dropped_frames (closing connection)"] += 1
            return
        if not conn.opened:
            conn.unsent.append(data)
            return
        if conn.outgoing and not conn.received and self.now_ns() < conn.retain_until_ns:
            conn.retained_bytes += len(data)
            if conn.retained_bytes <= RETAIN_MAX_BYTES:
                conn.retained.append(data)
            else:
                conn.retained.clear()
                conn.retain_until_ns = 0
        self._last_access[conn.conn_id] = self.now_ns()
        self.emit(Write(conn.conn_id, data))

    def _close(self, conn: _Conn, *, graceful: bool = True, marker: bool = True) -> None:
        """TcpConnection.close: the graceful-close marker (unless the peer sent one), then close."""
        if conn.closing:
            return
        conn.closing = True
        if conn.unsent:
            self.counters["dropped_frames (connection closed)"] += len(conn.unsent)
            conn.unsent.clear()
        if conn.peer is not None and self._conns.get(conn.peer) is conn:
            del self._conns[conn.peer]
        if graceful and marker and conn.opened:
            self.emit(Write(conn.conn_id, CLOSE_FRAME))
        self.emit(Close(conn.conn_id, graceful))

    def close_all(self) -> None:
        """Disconnect/stop: close every connection gracefully; what was queued for them is dropped."""
        for conn in list(self._by_id.values()):
            self._close(conn)
        self._orphans.clear()

    # --- connection inputs ----------------------------------------------------------------------------

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        c = self._by_id.get(conn)
        if c is not None:  # our OpenConnection succeeded
            if c.closing:
                return  # replaced while connecting; the driver closes it on our Close
            self._connected(c)
            return
        if not self._running:  # Java accepts only while connected
            self.counters["conns_refused (not connected)"] += 1
            self.emit(Close(conn, graceful=False))
            return
        # accepted: the peer's identity is in its preamble
        c = _Conn(conn, False, None, self._frame_buffer(expect_preamble=True), opened=True)
        self._by_id[conn] = c
        self.counters["conns_accepted"] += 1
        self.timers.call_later(self.peer_addr_read_timeout * MS, self._preamble_timeout, c)

    def _connected(self, c: _Conn) -> None:
        """TcpConnection.connect: the preamble, then whatever was queued."""
        assert self.physical_addr is not None  # we only connect after Listening
        c.opened = True
        c.retain_until_ns = self.now_ns() + (self.peer_addr_read_timeout or RETAIN_WINDOW_FALLBACK_MS) * MS
        unsent, c.unsent = c.unsent, []
        self._last_access[c.conn_id] = self.now_ns()
        self.emit(Write(c.conn_id, encode_preamble(self.physical_addr, self.version)))
        for data in unsent:
            self._write(c, data)

    def _preamble_timeout(self, c: _Conn) -> None:
        if c.peer is None and not c.closing and self._by_id.get(c.conn_id) is c:
            self.counters["conns_closed (no preamble)"] += 1
            self.log.warning("closing accepted connection %d: no preamble within %d ms", c.conn_id,
                             self.peer_addr_read_timeout)
            self._close(c, graceful=False)

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        c = self._by_id.get(conn)
        if c is None:
            self.counters["bytes_on_unknown_connection"] += len(data)
            return
        if c.closing and c.peer is None:
            return  # a rejected preamble: nothing on it can be trusted
        self._last_access[conn] = self.now_ns()
        c.buffer.feed(data)
        try:
            events = c.buffer.events()
        except MalformedFrame as e:
            self._bad_stream(c, e)
            return
        for ev in events:
            match ev:
                case Preamble(addr=addr):
                    c.peer = addr
                    self._incoming(addr, c)
                case FramePayload(data=payload):
                    if c.outgoing:
                        c.received = True
                        c.retained.clear()
                    if not self.receive(c.peer, payload):
                        # the peer speaks something we cannot read: it loses this connection (it
                        # reconnects on its next send); our other connections are unaffected
                        self.counters["conns_closed (bad frame)"] += 1
                        self._close(c, graceful=False)
                        return
                case CloseMarker():
                    self.counters["conns_closed (by peer)"] += 1
                    self._peer_closed(c)
        if c.buffer.buffered and not c.closing:
            try:  # a bad frame after good ones surfaces on the next call
                c.buffer.events()
            except MalformedFrame as e:
                self._bad_stream(c, e)

    def _bad_stream(self, c: _Conn, e: MalformedFrame) -> None:
        reason = _reason(e)
        self.counters[f"conns_closed ({reason})"] += 1
        self.log.warning("closing connection %d from %s: %s", c.conn_id, c.peer or "<no preamble yet>", e)
        self._close(c, graceful=False)

    def _peer_closed(self, c: _Conn) -> None:
        """The peer wrote the graceful-close marker: close without writing one."""
        self._save_retained(c)
        self._close(c, marker=False)

    def _save_retained(self, c: _Conn) -> None:
        """A young outgoing connection that the peer closed without using it was probably rejected
        (concurrent connect): its frames go again on the peer's own connection, if it comes soon."""
        if (c.outgoing and c.peer is not None and (c.retained or c.unsent) and not c.received
                and self.now_ns() < c.retain_until_ns):
            frames = c.retained + c.unsent
            c.retained, c.unsent = [], []
            winner = self._conns.get(c.peer)
            if winner is not None and winner is not c and not winner.closing:
                self.counters["frames_rewritten"] += len(frames)
                for data in frames:
                    self._write(winner, data)
            else:  # we are the smaller address: the peer's own connection is on its way
                now = self.now_ns()
                self._orphans = {p: o for p, o in self._orphans.items() if o[0] > now}
                _, earlier = self._orphans.get(c.peer, (0, []))
                self._orphans[c.peer] = (c.retain_until_ns, earlier + frames)

    def _incoming(self, peer: IpAddress, c: _Conn) -> None:
        """BaseServer.handleIncomingConnection: the bigger address's connection wins."""
        existing = self._conns.get(peer)
        me = self.physical_addr
        if existing is not None and existing is not c and not (me is not None and me.sort_key() < peer.sort_key()):
            self.counters["conns_rejected"] += 1
            self.log.debug("rejected connection from %s (ours exists and our address is higher)", peer)
            self._close(c)  # frames already read from it are still delivered
            return
        self._conns[peer] = c
        if existing is not None and existing is not c:
            self.counters["conns_replaced"] += 1
            self.log.debug("replaced connection to %s by the incoming one (our address is lower)", peer)
            moved = [] if existing.received else existing.retained
            moved = moved + existing.unsent
            existing.retained, existing.unsent = [], []
            if moved:
                self.counters["frames_rewritten"] += len(moved)
            self._close(existing)
            for data in moved:
                self._write(c, data)
        deadline, orphans = self._orphans.pop(peer, (0, []))
        if orphans and self.now_ns() < deadline:
            self.counters["frames_rewritten"] += len(orphans)
            for data in orphans:
                self._write(c, data)

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        c = self._by_id.pop(conn, None)
        self._last_access.pop(conn, None)
        if c is None:
            self.counters["closed_unknown_connection"] += 1
            return
        if c.buffer.buffered:
            self.counters["partial_frames_discarded"] += 1
        if c.peer is not None and self._conns.get(c.peer) is c:
            del self._conns[c.peer]
        if c.closing:
            return
        c.closing = True
        if c.outgoing and not c.opened:
            self.counters["connect_failed"] += 1
            if c.unsent:
                self.counters["dropped_frames (connect failed)"] += len(c.unsent)
            self.log.debug("connecting to %s failed: %s", c.peer, error)
            return
        if error is not None:
            self.counters["conns_closed (error)"] += 1
            self.log.debug("connection %d to %s failed: %s", conn, c.peer, error)
        else:
            self.counters["conns_closed (eof)"] += 1
        if self.enable_suspect_events and c.peer is not None:
            self._suspect_peer(c.peer, error)

    def _suspect_peer(self, peer_ip: IpAddress, error: str | None) -> None:
        """BasicTCP.connectionClosed: SUSPECT up for a member whose connection died under us."""
        peer = next((a for a, ip in self.addr_cache.items() if ip == peer_ip), None)
        if peer is None or peer not in self.members or peer == self.local_addr or not self._running:
            return
        if self.up_layer.query_up(IsLeaving()) is not False:  # leaving, or no GMS: Java sends nothing
            return
        self.counters["num_suspect_events"] += 1
        self.log.info("suspecting %s: connection closed by peer %s without a graceful close (%s)",
                      self.stack.name_of(peer), peer_ip, error or "end of stream")
        self.up_layer.up(Suspect(frozenset({peer})))

    # --- reaping (BaseServer.Reaper) ------------------------------------------------------------------

    def _reap(self) -> None:
        now = self.now_ns()
        for conn in list(self._conns.values()):
            last = self._last_access.get(conn.conn_id, now)
            if now - last >= self.conn_expire_time * MS:
                self.counters["conns_closed (expired)"] += 1
                self._close(conn)
        self.timers.call_later(self.reaper_interval * MS, self._reap)

    # --- introspection --------------------------------------------------------------------------------

    def connections(self) -> Mapping[IpAddress, ConnId]:
        """The connection table: peer listening address -> connection id."""
        return {peer: c.conn_id for peer, c in self._conns.items()}

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats["open_connections"] = len(self._conns)
        stats["queued_msgs"] = self.queued_messages()
        return stats
