"""`FD_SOCK2`: failure detection over TCP connections between neighbours (org.jgroups.protocols.FD_SOCK2,
JGroups 5.5.6), sans-IO.

Rules of this module:

1. On start the layer listens on its own server socket at the transport's physical port + ``offset``,
   trying ``port_range`` more ports (Java's computeBindPorts: modulo ``max_port``, below ``min_port``
   shifted up), one `Listen` after the other. Its connections belong to it (the stack routes their
   inputs here); the table is `pygroups.protocols.fd_sock2_server.FdServer`.
2. The ring: each member watches the next member of the view (Java's ``pingDest``). On a view change,
   on a lost connection and on UNSUSPECT the member re-picks it with Java's ``connectToNextPingDest``
   loop, run as a queue of requests (Java's ProcessingQueue) whose connect waits are state plus a timer:
   for each candidate port of the neighbour, write a bare CONNECT and wait ``connect_timeout`` for a
   CONNECT_RSP naming our cluster and that member. A neighbour no port answers is suspected and the
   next one tried. After success, the connection to the previous neighbour is closed unless that one
   is our left neighbour (it watches us over it). Any CONNECT is answered with CONNECT_RSP.
3. When the connection to the member we watch ends while we are not leaving, it is dropped from the
   pingable members and the next one is watched; it is *suspected* only if the peer did not write the
   graceful-close marker first (beyond Java, see the note below). After a graceful close the member
   is made pingable again ``suspect_msg_interval`` later if it is still in the view.
4. Suspicions are multicast as SUSPECT (below NAKACK2: unreliable), re-sent every
   ``suspect_msg_interval`` until a view without the suspects arrives. Whoever receives a SUSPECT and
   would be coordinator once the suspects are gone sends Suspect up (to VERIFY_SUSPECT2 and GMS) and
   down. Unsuspect coming down is multicast as UNSUSPECT (DONT_BLOCK); receiving one makes the member
   pingable again.
5. Bad input is counted by reason and logged, never raised: strangers on the server socket (see
   `FdServer`), undecodable frames, messages without an FdHeader, SUSPECT/UNSUSPECT on the FD socket,
   CONNECT_RSPs nobody waits for, and SUSPECT/UNSUSPECT multicast by non-members (beyond Java: it
   acts on any sender; a non-member cannot make a coordinator raise a suspicion here).

Note on graceful leaves. Java 5.5.6 reads the -5 marker (NioConnection sets ``closed_gracefully``) but
FD_SOCK2 never looks at it: a leave avoids a suspicion only if the survivors install the view without
the leaver before its sockets close (they re-pick their neighbour first); otherwise Java multicasts a
harmless SUSPECT for the leaver (seen in capture 1). pygroups uses the marker, so a graceful close never
suspects; a crashed process writes no marker and is suspected at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import cast

from pygroups.address import Address, IpAddress
from pygroups.clock import MS
from pygroups.errors import ConfigError, RemoteProtocolError
from pygroups.events import Connect, Disconnect, Event, GetPhysicalAddress, Suspect, Unsuspect, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.protocols.fd_sock2_ring import Attempt, BroadcastTask, PingDest, State, next_of, previous_of
from pygroups.protocols.fd_sock2_server import FdConn, FdServer
from pygroups.stack.bind_addr import BindAddrSpec, resolve_bind_addr
from pygroups.stack.io import ConnId, IoFailed, IoResult, Listen, Listening, SocketOptions, StopListening
from pygroups.stack.layer import Layer
from pygroups.stack.properties import BindAddr, Converter, Duration, Int, prop
from pygroups.stack.registry import protocol
from pygroups.view import print_members
from pygroups.wire import codec
from pygroups.wire.headers.fd import FdHeader

_OptBindAddr = cast("Converter[BindAddrSpec | None]", BindAddr)
T = FdHeader.Type


@protocol("FD_SOCK2")
class FD_SOCK2(Layer):
    """Failure detection by TCP connections to the next member; see the module docstring."""

    bind_addr: BindAddrSpec | None = prop(_OptBindAddr, None, "interface of the server socket (default: all)",
                                          env=("jgroups.bind_addr",))
    offset: int = prop(Int, 100, "offset from the transport's bind port")
    port_range: int = prop(Int, 3, "number of ports to probe for finding a free port")
    client_bind_port: int = prop(Int, 0, "start port of client sockets (0 = any)")
    external_addr: BindAddrSpec | None = prop(_OptBindAddr, None, "address advertised instead of the bound one",
                                              env=("jgroups.external_addr",))
    external_port: int = prop(Int, 0, "port advertised with external_addr (0 = the bound port)",
                              env=("jgroups.external_port",))
    suspect_msg_interval: int = prop(Duration, 5000, "ms between re-broadcasts of SUSPECT")
    connect_timeout: int = prop(Duration, 1000, "ms to wait for a connect attempt (and its CONNECT_RSP)")
    min_port: int = prop(Int, 1024, "lowest port of the server socket (wrap-around, JGRP-2560)")
    max_port: int = prop(Int, 0xFFFF + 1, "highest port + 1 of the server socket (wrap-around)")
    linger: int = prop(Int, -1, "SO_LINGER seconds (-1 = off)")

    def __init__(self) -> None:
        super().__init__()
        self.cluster: str | None = None
        self.shutting_down = False
        self.members: list[Address] = []
        self.pingable_mbrs: list[Address] = []
        self.suspected_mbrs: list[Address] = []
        self.ping_dest = PingDest()
        self.num_suspect_events = 0
        self.suspect_history: deque[str] = deque(maxlen=20)
        self.srv = FdServer(self, self._received, self._conn_closed, self._conn_replaced)
        self.bind_ports: list[int] = []
        self._listen_request: int | None = None
        self._listen_index = 0
        self._requests: deque[tuple[str, Address | None]] = deque()
        self._busy = False
        self._round_suspects: list[Address] = []
        self._attempt: Attempt | None = None
        self.bcast_task = BroadcastTask(self, lambda suspects: self._send_fd(T.SUSPECT, suspects))

    def validate(self) -> None:
        if self.port_range < 0:
            raise ConfigError(f"FD_SOCK2: port_range ({self.port_range}) must be >= 0")
        if self.max_port <= self.min_port:
            raise ConfigError(f"FD_SOCK2: max_port ({self.max_port}) must be > min_port ({self.min_port})")

    # --- lifecycle (FD_SOCK2.start/stop) -------------------------------------------------------------

    def start(self) -> None:
        transport = self.stack.transport
        self.srv.version = getattr(transport, "version", self.srv.version)
        self.srv.connect_timeout_ms = self.connect_timeout
        self.srv.idle_timeout_ns = self.connect_timeout * MS
        self.srv.options = SocketOptions(tcp_nodelay=False, linger=self.linger)  # NioServer's defaults
        self.srv.client_bind = IpAddress(None, self.client_bind_port) if self.client_bind_port > 0 else None
        physical = self.down_layer.query_down(GetPhysicalAddress(self.local_addr)) if self.local_addr else None
        if physical is None:
            self.counters["listen_failed"] += 1
            self.log.error("FD_SOCK2 cannot listen: the transport has no physical address")
            return
        self.bind_ports = self.compute_bind_ports(physical.port)
        self._listen_index = 0
        self._listen()

    def stop(self) -> None:
        if self._listen_request is not None:
            self.emit(StopListening(self._listen_request))
            self._listen_request = None
        self.srv.stop()
        self.srv.local = None
        self.members.clear()
        self.pingable_mbrs.clear()
        self.suspected_mbrs.clear()
        self.bcast_task.clear()
        self.ping_dest.reset()
        self._cancel_attempt()
        self._requests.clear()
        self._busy = False

    def compute_bind_ports(self, actual_port: int) -> list[int]:
        """FD_SOCK2.computeBindPorts: physical port + offset + 0..port_range, wrapped into the port range."""
        ports = []
        for i in range(self.port_range + 1):
            port = (actual_port + self.offset + i) % self.max_port
            if port < self.min_port:
                port += self.min_port
            ports.append(port)
        return ports

    def _listen(self) -> None:
        ip = None
        if self.bind_addr is not None:
            try:
                ip = resolve_bind_addr(self.bind_addr, getattr(self.stack.transport, "interfaces", ()))
            except ConfigError as e:
                self.counters["listen_failed"] += 1
                self.log.error("FD_SOCK2 bind_addr %s: %s", self.bind_addr.text, e)
                return
        self._listen_request = self.stack.new_request_id()
        port = self.bind_ports[self._listen_index]
        self.emit(Listen(self._listen_request, IpAddress(ip, port), 0, self.srv.options))

    def on_io_result(self, result: IoResult) -> None:
        if result.request_id != self._listen_request:
            self.counters["stale_io_results"] += 1
            return
        match result:
            case Listening(addr=addr):
                self.srv.local = self._advertised(addr)
                self.srv.running = True
                self.counters["listening"] += 1
                self.log.info("server listening on %s (advertised as %s)", addr, self.srv.local)
                if self.members:  # a view arrived before the socket was ready
                    self._enqueue("connect", None)
            case IoFailed(error=error):
                self._listen_request = None
                self._listen_index += 1
                if self._listen_index < len(self.bind_ports):
                    self._listen()
                    return
                self.counters["listen_failed"] += 1
                self.log.error("failed to find an available port in ports %s: %s", self.bind_ports, error)
            case _:
                self.counters["stale_io_results"] += 1

    def _advertised(self, bound: IpAddress) -> IpAddress:
        """BaseServer.localAddress: external_addr[:external_port] wins, then bind_addr; Java then uses
        the local host's address, pygroups the transport's (the address peers already reach us at)."""
        interfaces = getattr(self.stack.transport, "interfaces", ())
        if self.external_addr is not None:
            try:
                ext = resolve_bind_addr(self.external_addr, interfaces)
                return IpAddress(ext, self.external_port if self.external_port > 0 else bound.port)
            except ConfigError as e:
                self.log.error("external_addr %s: %s; advertising %s", self.external_addr.text, e, bound)
        if self.bind_addr is not None or (bound.ip is not None and not bound.ip.is_unspecified):
            return bound
        physical = self.down_layer.query_down(GetPhysicalAddress(self.local_addr)) if self.local_addr else None
        return IpAddress(physical.ip if physical is not None else "127.0.0.1", bound.port)

    @property
    def server_address(self) -> IpAddress | None:
        """The address of our server socket as peers see it (None until it listens)."""
        return self.srv.local

    # --- events --------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        match evt:
            case Unsuspect(member=mbr):
                self._broadcast_unsuspect(mbr)
            case Connect(cluster=cluster):
                self.shutting_down = False
                self.cluster = cluster
            case Disconnect():
                self.shutting_down = True
                self.cluster = None
            case ViewChange(view=view):
                self.down_layer.down(evt)
                self._handle_view(list(view.members))
                return
            case _:
                pass
        self.down_layer.down(evt)

    def up_msg(self, msg: Message) -> None:
        hdr = msg.headers.get(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        if not isinstance(hdr, FdHeader):
            self.counters["dropped_msgs (not an FdHeader)"] += 1
            return
        self._handle(hdr, msg.src)

    def up_batch(self, batch: Sequence[Message]) -> None:
        rest = []
        for msg in batch:
            hdr = msg.headers.get(self.protocol_id)
            if hdr is None:
                rest.append(msg)
            elif isinstance(hdr, FdHeader):
                self._handle(hdr, msg.src)
            else:
                self.counters["dropped_msgs (not an FdHeader)"] += 1
        if rest:
            self.up_layer.up_batch(rest)

    def _handle(self, hdr: FdHeader, sender: Address | None) -> None:
        """FD_SOCK2.handle: SUSPECT and UNSUSPECT multicast by members."""
        kind = {T.SUSPECT: "SUSPECT", T.UNSUSPECT: "UNSUSPECT"}.get(hdr.type)  # type: ignore[call-overload]
        if kind is None:
            self.counters[f"dropped_msgs (type {hdr.type} multicast)"] += 1
            return
        if sender is None or (sender not in self.members and sender != self.local_addr):
            self.counters[f"{kind} dropped (sender not a member)"] += 1
            self.log.warning("dropped %s%s from non-member %s", kind, list(hdr.mbrs), self.stack.name_of(sender))
            return
        mbrs = [m for m in hdr.mbrs if m is not None]
        self.counters[f"{kind} received"] += 1
        if kind == "SUSPECT":
            self.log.debug("received SUSPECT message from %s: suspects=%s", self.stack.name_of(sender), mbrs)
            self._suspect(mbrs)
        else:
            self.log.debug("received UNSUSPECT message from %s: mbrs=%s", self.stack.name_of(sender), mbrs)
            for m in mbrs:
                self._unsuspect(m)
            self._enqueue("connect", None)

    def _handle_view(self, members: list[Address]) -> None:
        """FD_SOCK2.handleView."""
        self.members = list(members)
        self.suspected_mbrs = [m for m in self.suspected_mbrs if m in members]
        self.bcast_task.adjust(members)
        self.pingable_mbrs = list(members)
        self._enqueue("close" if len(members) < 2 else "connect", None)

    # --- the ring: Java's request queue and connectToNextPingDest --------------------------------------

    def _enqueue(self, kind: str, suspect: Address | None) -> None:
        self._requests.append((kind, suspect))
        self._process()

    def _process(self) -> None:
        while self._requests and not self._busy:
            kind, suspect = self._requests.popleft()
            if not self.srv.running:
                continue  # no server socket (yet): Java has one before any view arrives
            if kind == "close":
                self._close_connection_to_ping_dest()
            else:
                self._busy = True
                self._round_suspects = [suspect] if suspect is not None else []
                self._round_step()

    def _round_step(self) -> None:
        """One pass of connectToNextPingDest's loop: pick the right neighbour, connect unless it is ours."""
        while self.pingable_mbrs:
            new = next_of(self.pingable_mbrs, self.local_addr)
            if not self.ping_dest.dest_changed(new):
                break
            assert new is not None
            attempt = Attempt(new, self._candidates(new), self.ping_dest.dest, self.ping_dest.dest_physical)
            self.ping_dest.reset().dest = new
            self.log.debug("trying to connect to %s", self.stack.name_of(new))
            self._attempt = attempt
            if self._next_candidate():
                return  # waiting for a CONNECT_RSP
        self._end_round()

    def _candidates(self, mbr: Address) -> list[IpAddress]:
        """getPhysicalAddresses: the member's physical address with our computed port list."""
        pa = self.down_layer.query_down(GetPhysicalAddress(mbr))
        if pa is None:
            self.counters["no physical address for ping dest"] += 1
            return []
        return [IpAddress(pa.ip, p, pa.scope_id) for p in self.compute_bind_ports(pa.port)]

    def _next_candidate(self) -> bool:
        """Write CONNECT to the next candidate port; False when none is left (the member failed)."""
        a = self._attempt
        assert a is not None
        a.index += 1
        if a.index >= len(a.candidates):
            self._attempt = None
            if not self.ping_dest.connected:  # connectTo(Address) returned false
                if a.target in self.pingable_mbrs:
                    self.pingable_mbrs.remove(a.target)
                self._round_suspects.append(a.target)
                # beyond Java (which keeps it as dest): forget the unreachable member, so that once it is
                # pingable again (UNSUSPECT after VERIFY_SUSPECT2 found it alive) it is watched again
                self.ping_dest.reset()
                self.counters["ping dest unreachable"] += 1
                self.log.debug("could not connect to %s on %s", self.stack.name_of(a.target), a.candidates)
            return False
        dest = a.candidate
        a.retried = False
        a.existing = self.srv.has_connection(dest)
        a.conn = self.srv.send(dest, self._connect_msg(a.target))
        self.counters["CONNECT sent"] += 1
        a.timer = self.timers.call_later(self.connect_timeout * MS, self._attempt_failed, a, "timed out")
        return True

    def _connect_msg(self, target: Address) -> bytes:
        """A bare CONNECT: EmptyMessage, src = us, FdHeader(CONNECT, srv = the member we want to watch)."""
        msg = Message(MsgType.EMPTY, src=self.local_addr, headers={self.protocol_id: FdHeader(T.CONNECT, srv=target)})
        return codec.encode_bare(msg)

    def _attempt_failed(self, a: Attempt, why: str) -> None:
        if self._attempt is not a:
            return
        if a.timer is not None:
            a.timer.cancel()
            a.timer = None
        self.counters[f"connect attempts failed ({why})"] += 1
        if not a.existing and a.conn is not None and self.srv.connection(a.candidate) is a.conn:
            self.srv.close(a.candidate)  # a connection we opened for this attempt (Java: if !existing_connection)
        if not self._next_candidate():
            self._round_step()

    def _connect_rsp(self, hdr: FdHeader, conn: FdConn) -> None:
        a = self._attempt
        if a is None or a.conn is None or (conn is not a.conn and conn.peer != a.candidate):
            self.counters["CONNECT_RSP dropped (not waiting)"] += 1
            return
        if hdr.cluster != self.cluster or hdr.srv != self.ping_dest.dest:
            self.log.debug("addresses don't match: my ping-dest=%s, server's address=%s (cluster %s)",
                           self.ping_dest.dest, hdr.srv, hdr.cluster)
            self._attempt_failed(a, "wrong member or cluster")
            return
        if a.timer is not None:
            a.timer.cancel()
        self._attempt = None
        self.ping_dest.dest_physical = a.candidate
        self.ping_dest.state = State.CONNECTED
        self.counters["connected to ping dest"] += 1
        self.log.debug("connected successfully to %s (%s)", self.stack.name_of(a.target), a.candidate)
        left = previous_of(self.members, self.local_addr)
        if a.old_dest is not None and a.old_dest != left and a.old_physical != a.candidate:
            self.srv.close(a.old_physical)  # the previous ping dest, unless it watches us over it
        self._end_round()

    def _cancel_attempt(self) -> None:
        if self._attempt is not None and self._attempt.timer is not None:
            self._attempt.timer.cancel()
        self._attempt = None

    def _end_round(self) -> None:
        self._busy = False
        suspects, self._round_suspects = self._round_suspects, []
        if suspects:
            self._broadcast_suspect(suspects)
        self._process()

    def _close_connection_to_ping_dest(self) -> None:
        """FD_SOCK2.closeConnectionToPingDest (a view of one)."""
        if not self.ping_dest.connected:
            return
        self.ping_dest.state = State.DISCONNECTED
        self.srv.close(self.ping_dest.dest_physical)
        self.log.debug("connection to %s closed", self.ping_dest)
        self.ping_dest.reset()

    # --- the server socket's traffic ------------------------------------------------------------------

    def _received(self, conn: FdConn, data: bytes) -> None:
        """FD_SOCK2.receive: a bare message on one of our connections."""
        try:
            msg = codec.decode_bare(data)
        except RemoteProtocolError as e:
            self.counters["bad messages on FD_SOCK2 connections"] += 1
            self.log.warning("failed handling message received from %s: %s", conn.peer, e)
            return
        hdr = msg.headers.get(self.protocol_id)
        if not isinstance(hdr, FdHeader):
            self.counters["messages without FdHeader on FD_SOCK2 connections"] += 1
            self.log.warning("message from %s does not have a header (id=%d)", conn.peer, self.protocol_id)
            return
        match hdr.type:
            case T.CONNECT:
                self.counters["CONNECT received"] += 1
                rsp = Message(MsgType.EMPTY, src=self.local_addr,
                              headers={self.protocol_id: FdHeader(T.CONNECT_RSP, cluster=self.cluster,
                                                                  srv=self.local_addr)})
                if conn.peer is not None and self.srv.connection(conn.peer) is not None:
                    self.srv.send(conn.peer, codec.encode_bare(rsp))  # srv.send(sender): keyed by its preamble
                    self.counters["CONNECT_RSP sent"] += 1
                else:  # never opens a connection to an address a stranger wrote in its preamble
                    self.counters["CONNECT dropped (connection gone)"] += 1
            case T.CONNECT_RSP:
                self._connect_rsp(hdr, conn)
            case T.SUSPECT | T.UNSUSPECT:
                self.counters["SUSPECT/UNSUSPECT on an FD_SOCK2 connection ignored"] += 1
            case _:
                self.counters[f"messages of unknown type {hdr.type} on FD_SOCK2 connections"] += 1
                self.log.warning("type %d not known (from %s)", hdr.type, conn.peer)

    def _conn_replaced(self, old: FdConn, new: FdConn) -> None:
        """The peer's connection replaced ours while we waited for its CONNECT_RSP: the peer rejects
        our connection unread (it has the bigger address), so CONNECT goes again over its own."""
        a = self._attempt
        if a is not None and a.conn is old and old.peer is not None:
            self.counters["CONNECT resent (connection replaced)"] += 1
            a.conn = self.srv.send(old.peer, self._connect_msg(a.target))

    def _conn_closed(self, conn: FdConn, graceful: bool, error: str | None) -> None:
        """FD_SOCK2.connectionClosed (and a failed connect of an attempt in progress)."""
        a = self._attempt
        if a is not None and a.conn is conn:
            replacement = self.srv.connection(a.candidate)
            if replacement is not None and not replacement.closing and conn.outgoing and conn.opened:
                # the peer connected to us meanwhile and its connection won: ask again over that one
                self.counters["CONNECT resent (connection replaced)"] += 1
                a.conn = self.srv.send(a.candidate, self._connect_msg(a.target))
                return
            if graceful and conn.opened and not a.retried:
                # closed unread with the marker: the peer connected to us at the same time and, its address
                # being the bigger, kept its own connection, which has not reached us yet. Ask again (once):
                # once its connection arrives it replaces ours and `_conn_replaced` repeats CONNECT over it.
                # Java waits connect_timeout, tries the next ports and suspects a live member.
                a.retried = True
                self.counters["CONNECT resent (connection rejected)"] += 1
                a.conn = self.srv.send(a.candidate, self._connect_msg(a.target))
                return
            self._attempt_failed(a, "connection closed" if conn.opened else "connect failed")
            return
        if conn.peer is None or conn.peer != self.ping_dest.dest_physical or self.shutting_down:
            return
        dest = self.ping_dest.dest
        if dest is None:
            return
        if dest in self.pingable_mbrs:
            self.pingable_mbrs.remove(dest)
        # beyond Java (which keeps the stale dest): forget the link, so that the member can be watched
        # again once it is pingable again (UNSUSPECT, or the re-admission below), even in a view of two
        self.ping_dest.reset()
        if graceful:
            self.counters["ping dest closed gracefully"] += 1
            self.log.debug("connection to %s closed gracefully: not a suspicion", self.stack.name_of(dest))
            # a leaver is gone from the next view; a live member that closed the link (its view changed
            # first) is watched again after a while, so the ring has no lasting gap
            self.timers.call_later(self.suspect_msg_interval * MS, self._readmit, dest)
            self._enqueue("connect", None)
        else:
            self.counters["ping dest connection lost"] += 1
            self.log.info("connection to %s closed (%s): suspecting it", self.stack.name_of(dest),
                          error or "end of stream without the graceful-close marker")
            self._enqueue("connect", dest)

    def _readmit(self, mbr: Address) -> None:
        if mbr in self.members and mbr not in self.pingable_mbrs and mbr not in self.suspected_mbrs:
            self.counters["members watched again after a graceful close"] += 1
            self.pingable_mbrs.append(mbr)  # Membership.add appends; the ring order is the view's anyway
            order = {m: i for i, m in enumerate(self.members)}
            self.pingable_mbrs.sort(key=lambda m: order.get(m, len(order)))
            self._enqueue("connect", None)

    # --- connection inputs (the stack routes ours here) -----------------------------------------------

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.srv.on_connection_opened(conn, peer)

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        self.srv.on_bytes(conn, data)

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.srv.on_connection_closed(conn, error)

    # --- suspicion ------------------------------------------------------------------------------------

    def _suspect(self, suspects: list[Address]) -> None:
        """FD_SOCK2.suspect: remember, and raise SUSPECT if we are coordinator without the suspects."""
        suspects = [s for s in suspects if s != self.local_addr]
        now = self.now_ns()
        for s in suspects:
            self.suspect_history.append(f"{now // MS}ms: {s}")
            if s not in self.suspected_mbrs:
                self.suspected_mbrs.append(s)
        if not self.suspected_mbrs:
            return
        eligible = [m for m in self.members if m not in self.suspected_mbrs]
        if eligible and eligible[0] == self.local_addr:
            found = frozenset(self.suspected_mbrs)
            self.counters["suspect events raised"] += 1
            self.log.info("suspecting %s (connection to them lost, reported by FD_SOCK2)",
                          [self.stack.name_of(s) for s in self.suspected_mbrs])
            self.up_layer.up(Suspect(found))
            self.down_layer.down(Suspect(found))

    def _unsuspect(self, mbr: Address) -> None:
        if mbr in self.suspected_mbrs:
            self.suspected_mbrs.remove(mbr)
        self.bcast_task.remove(mbr)
        if mbr not in self.pingable_mbrs:
            self.pingable_mbrs.append(mbr)  # Membership.add appends

    def _broadcast_suspect(self, suspects: list[Address]) -> None:
        """FD_SOCK2.broadcastSuspectMessage: multicast now, then keep re-sending (BroadcastTask)."""
        self.log.info("broadcasting suspect(%s)", [self.stack.name_of(s) for s in suspects])
        self._send_fd(T.SUSPECT, suspects)
        self.num_suspect_events += 1
        self.counters["SUSPECT sent"] += 1
        self.bcast_task.add(suspects, self.members)

    def _broadcast_unsuspect(self, mbr: Address | None) -> None:
        if mbr is None:
            return
        self.log.debug("broadcasting unsuspect(%s)", self.stack.name_of(mbr))
        self._send_fd(T.UNSUSPECT, [mbr], TransientFlag.DONT_BLOCK)
        self.counters["UNSUSPECT sent"] += 1

    def _send_fd(self, kind: T, mbrs: Sequence[Address], transient: int = 0) -> None:
        msg = Message(MsgType.EMPTY, transient_flags=transient,
                      headers={self.protocol_id: FdHeader(kind, mbrs=tuple(mbrs))})
        self.down_layer.down_msg(msg)

    # --- introspection --------------------------------------------------------------------------------

    def statistics(self) -> Mapping[str, int | float]:
        stats: dict[str, int | float] = dict(self.counters)
        stats["num_suspect_events"] = self.num_suspect_events
        stats["num_suspected_members"] = len(self.suspected_mbrs)
        stats["open_connections"] = len(self.srv.connections())
        stats["actual_bind_port"] = self.srv.local.port if self.srv.local is not None else 0
        stats["client_connected"] = int(self.ping_dest.connected)
        return stats

    def managed_attributes(self) -> Mapping[str, object]:
        name_of = self.stack.name_of
        pd = self.ping_dest
        return {"cluster": self.cluster, "shutting_down": self.shutting_down,
                "members": print_members(self.members, name_of),
                "pingable_mbrs": print_members(self.pingable_mbrs, name_of),
                "suspected_mbrs": print_members(self.suspected_mbrs, name_of),
                "client_state": pd.state.value,
                "ping_dest": f"{name_of(pd.dest)} [{pd.dest_physical} {pd.state.value}]" if pd.dest else "null"}
