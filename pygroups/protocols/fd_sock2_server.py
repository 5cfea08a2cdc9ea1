"""`FdServer`: FD_SOCK2's own connection table (JGroups' NioServer / BaseServer / NioConnection with
peer connections on), sans-IO. FD_SOCK2 (`pygroups.protocols.fd_sock2`) owns one.

Rules of this module:

1. One connection per peer *FD_SOCK2 server address*, used in both directions. The connecting side
   writes the preamble (cookie, version, our FD_SOCK2 server address) and then i32-length frames; an
   accepted connection is keyed by the address in its preamble. Frames carry bare messages
   (`pygroups.wire.codec.decode_bare`); the table hands their bytes to the owner untouched.
2. Concurrent connects follow BaseServer.handleIncomingConnection: an incoming connection for a key
   that already has one replaces it only if our address is the smaller, else it is closed unread.
   A replaced connection is closed without reporting its end (Java's replaceConnection); the owner
   hears of the replacement instead, so it can repeat a request the peer never read (beyond Java,
   which waits for its connect timeout and then closes the winning connection).
3. ``close(dest, notify=False)`` is Java's ``closeConnection(addr, false)``: the owner does not hear of
   it. Closing on purpose writes the graceful-close marker first (NioConnection.close(true)).
4. A connection ending on its own (peer's close, reset, refused connect) is reported to the owner with
   ``graceful`` = the peer wrote the -5 marker first, unless a newer connection took its key
   (Java would report it too; with peer-connection reuse that report would name a live link).
5. Beyond Java, for strangers: an accepted connection must send a preamble and one frame within
   ``idle_timeout_ns`` (a JGroups client writes both at once), frames are at most `MAX_FD_FRAME`
   bytes, and a bad preamble or frame closes that connection only. All of it is counted by reason
   in the owner's counters; nothing raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pygroups.address import IpAddress
from pygroups.errors import MalformedFrame
from pygroups.stack.io import Close, ConnId, OpenConnection, SocketOptions, Write
from pygroups.wire.framing import CLOSE_FRAME, CloseMarker, FrameBuffer, FramePayload, Preamble, encode_preamble, frame
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

if TYPE_CHECKING:
    from pygroups.clock import TimerHandle
    from pygroups.stack.layer import Layer

#: Largest frame read on an FD_SOCK2 connection: its messages (an FdHeader with a few addresses)
#: are far smaller; Java reads any length, we do not let a stranger make us buffer megabytes.
MAX_FD_FRAME = 64 * 1024


@dataclass(eq=False, slots=True)
class FdConn:
    """One connection of the table: ours (outgoing, keyed by the destination) or accepted (keyed by
    the FD_SOCK2 server address in the peer's preamble)."""

    conn_id: ConnId
    outgoing: bool
    peer: IpAddress | None  # None until an accepted connection's preamble is read
    buffer: FrameBuffer
    opened: bool = False
    closing: bool = False  # we emitted Close (or the peer's end arrived)
    graceful_end: bool = False  # the peer wrote the graceful-close marker
    frames: int = 0  # frames read so far
    unsent: list[bytes] = field(default_factory=list)
    idle_timer: TimerHandle | None = None


Receiver = Callable[[FdConn, bytes], None]
"""Gets every frame read, with the connection it came on."""
Closed = Callable[[FdConn, bool, "str | None"], None]
"""Gets every connection that ended on its own: (connection, closed gracefully by the peer, error)."""
Replaced = Callable[[FdConn, FdConn], None]
"""Gets (old, new) when a peer's incoming connection replaced ours to it (concurrent connects)."""


class FdServer:
    """The table of FD_SOCK2 connections; emits I/O commands through ``layer`` (which owns them)."""

    def __init__(self, layer: Layer, receiver: Receiver, closed: Closed, replaced: Replaced, *,
                 version: WireVersion = DEFAULT_VERSION) -> None:
        self.layer = layer
        self.receiver = receiver
        self.closed = closed
        self.replaced = replaced
        self.version = version
        self.local: IpAddress | None = None  # our server's address, written in every preamble
        self.running = False
        self.idle_timeout_ns = 0  # 0: accepted connections may stay silent (Java)
        self.connect_timeout_ms = 0
        self.client_bind: IpAddress | None = None
        self.options = SocketOptions()
        self._conns: dict[IpAddress, FdConn] = {}
        self._by_id: dict[ConnId, FdConn] = {}

    @property
    def counters(self) -> Mapping[str, int]:
        return self.layer.counters

    def _count(self, what: str, n: int = 1) -> None:
        self.layer.counters[what] += n

    # --- the table (BaseServer) -------------------------------------------------------------------

    def has_connection(self, dest: IpAddress) -> bool:
        return dest in self._conns

    def connection(self, dest: IpAddress) -> FdConn | None:
        return self._conns.get(dest)

    def connections(self) -> Mapping[IpAddress, ConnId]:
        return {peer: c.conn_id for peer, c in self._conns.items()}

    def owns(self, conn: ConnId) -> bool:
        return conn in self._by_id

    def send(self, dest: IpAddress, payload: bytes) -> FdConn | None:
        """BaseServer.send: on the connection to ``dest``, opened first if there is none."""
        if not self.running:
            self._count("dropped_msgs (server not running)")
            return None
        conn = self._conns.get(dest)
        if conn is None or conn.closing:
            conn = self._open(dest)
        self._write(conn, frame(payload))
        return conn

    def close(self, dest: IpAddress | None, *, notify: bool = False) -> bool:
        """BaseServer.closeConnection(addr, notify): True if there was a connection to ``dest``."""
        conn = self._conns.get(dest) if dest is not None else None
        if conn is None:
            return False
        self._close(conn)
        if notify:
            self.closed(conn, False, None)
        return True

    def close_conn(self, conn: FdConn) -> None:
        self._close(conn)

    def stop(self) -> None:
        """BaseServer.stop: every connection closed gracefully (with the marker), nothing reported."""
        self.running = False
        for conn in list(self._by_id.values()):
            self._close(conn)
        self._conns.clear()

    def _open(self, dest: IpAddress) -> FdConn:
        conn_id = self.layer.stack.new_conn_id()
        conn = FdConn(conn_id, True, dest, FrameBuffer(expect_preamble=False, version=self.version,
                                                         max_frame_size=MAX_FD_FRAME))
        self._conns[dest] = conn
        self._by_id[conn_id] = conn
        self._count("conns_opened")
        self.layer.emit(OpenConnection(conn_id, dest, self.connect_timeout_ms, self.client_bind, self.options))
        return conn

    def _write(self, conn: FdConn, data: bytes) -> None:
        if conn.closing:
            self._count("dropped_msgs (connection closing)")
        elif not conn.opened:
            conn.unsent.append(data)
        else:
            self.layer.emit(Write(conn.conn_id, data))

    def _close(self, conn: FdConn, *, marker: bool = True, graceful: bool = True) -> None:
        """NioConnection.close: the graceful-close marker (unless the peer ended), then close."""
        if conn.idle_timer is not None:
            conn.idle_timer.cancel()
            conn.idle_timer = None
        if conn.peer is not None and self._conns.get(conn.peer) is conn:
            del self._conns[conn.peer]
        if conn.closing:
            return
        conn.closing = True
        conn.unsent.clear()
        if graceful and marker and conn.opened:
            self.layer.emit(Write(conn.conn_id, CLOSE_FRAME))
        self.layer.emit(Close(conn.conn_id, graceful))

    # --- connection inputs (routed here by the stack) -----------------------------------------------

    def on_connection_opened(self, conn_id: ConnId, peer: IpAddress) -> None:
        conn = self._by_id.get(conn_id)
        if conn is not None:  # our OpenConnection succeeded
            if conn.closing:
                return
            conn.opened = True
            assert self.local is not None  # we only connect while running
            unsent, conn.unsent = conn.unsent, []
            self.layer.emit(Write(conn_id, encode_preamble(self.local, self.version)))
            for data in unsent:
                self.layer.emit(Write(conn_id, data))
            return
        if not self.running:
            self._count("conns_refused (not running)")
            self.layer.emit(Close(conn_id, graceful=False))
            return
        conn = FdConn(conn_id, False, None, FrameBuffer(expect_preamble=True, version=self.version,
                                                          max_frame_size=MAX_FD_FRAME), opened=True)
        self._by_id[conn_id] = conn
        self._count("conns_accepted")
        if self.idle_timeout_ns > 0:
            conn.idle_timer = self.layer.timers.call_later(self.idle_timeout_ns, self._idle, conn, peer)

    def _idle(self, conn: FdConn, peer: IpAddress) -> None:
        conn.idle_timer = None
        if conn.closing or conn.frames > 0:
            return
        what = "preamble" if conn.peer is None else "message"
        self._count(f"conns_closed (no {what} in time)")
        self.layer.log.warning("closing FD_SOCK2 connection from %s: no %s within %d ms", conn.peer or peer, what,
                               self.idle_timeout_ns // 1_000_000)
        self._close(conn, graceful=False)

    def on_bytes(self, conn_id: ConnId, data: bytes) -> None:
        conn = self._by_id.get(conn_id)
        if conn is None:
            self._count("bytes_on_unknown_connection", len(data))
            return
        if conn.closing:
            return  # a rejected or closed connection is not read (Java closes it unread)
        conn.buffer.feed(data)
        try:
            events = conn.buffer.events()
        except MalformedFrame as e:
            self._bad_stream(conn, e)
            return
        for ev in events:
            if conn.closing:
                return
            match ev:
                case Preamble(addr=addr):
                    conn.peer = addr
                    self._incoming(addr, conn)
                case FramePayload(data=payload):
                    conn.frames += 1
                    if conn.idle_timer is not None:
                        conn.idle_timer.cancel()
                        conn.idle_timer = None
                    self.receiver(conn, payload)
                case CloseMarker():
                    conn.graceful_end = True  # MessageReader: setClosedGracefully; the EOF follows
        if conn.buffer.buffered and not conn.closing:
            try:
                conn.buffer.events()
            except MalformedFrame as e:
                self._bad_stream(conn, e)

    def _bad_stream(self, conn: FdConn, e: MalformedFrame) -> None:
        """NioConnection.read: an exception closes the connection with notification (closeConnection)."""
        reason = "bad preamble" if conn.peer is None else "bad frame"
        self._count(f"conns_closed ({reason})")
        self.layer.log.warning("closing FD_SOCK2 connection %d from %s: %s", conn.conn_id,
                               conn.peer or "<no preamble yet>", e)
        current = conn.peer is not None and self._conns.get(conn.peer) is conn
        self._close(conn, graceful=False)
        if current:
            self.closed(conn, False, f"{reason}: {e}")

    def _incoming(self, peer: IpAddress, conn: FdConn) -> None:
        """BaseServer.handleIncomingConnection: the connection opened by the bigger address wins."""
        existing = self._conns.get(peer)
        me = self.local
        if existing is not None and existing is not conn and not (me is not None and me.sort_key() < peer.sort_key()):
            self._count("conns_rejected")
            self.layer.log.debug("rejected FD_SOCK2 connection from %s (ours exists, our address is higher)", peer)
            self._close(conn)
            return
        self._conns[peer] = conn
        if existing is not None and existing is not conn:
            self._count("conns_replaced")
            moved = existing.unsent
            existing.unsent = []
            self._close(existing)
            for data in moved:
                self._write(conn, data)
            self.replaced(existing, conn)

    def on_connection_closed(self, conn_id: ConnId, error: str | None) -> None:
        conn = self._by_id.pop(conn_id, None)
        if conn is None:
            self._count("closed_unknown_connection")
            return
        if conn.idle_timer is not None:
            conn.idle_timer.cancel()
            conn.idle_timer = None
        current = conn.peer is not None and self._conns.get(conn.peer) is conn
        if current:
            assert conn.peer is not None
            del self._conns[conn.peer]
        if conn.closing:
            return  # we closed it (or replaced it): nobody is told
        conn.closing = True
        if conn.outgoing and not conn.opened:
            self._count("connect_failed")
        elif conn.graceful_end:
            self._count("conns_closed (gracefully by peer)")
        elif error is not None:
            self._count("conns_closed (error)")
        else:
            self._count("conns_closed (eof)")
        if current or (conn.outgoing and not conn.opened):
            self.closed(conn, conn.graceful_end, error)
