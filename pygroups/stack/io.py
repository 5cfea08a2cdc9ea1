"""What crosses the sans-IO boundary: I/O commands out, I/O results in, application events out.

Rules of this module:

1. The stack never performs I/O. Layers emit `IoCommand`s; the driver drains them with
   `ProtocolStack.take_io()` and executes them in order.
2. Connection lifecycle comes back through dedicated stack inputs, keyed by `ConnId`
   (``on_connection_opened``, ``on_bytes``, ``on_connection_closed``). An `OpenConnection` that
   fails is reported as ``on_connection_closed(conn_id, error)`` without a prior open. A connection
   belongs to the layer that emitted its `OpenConnection`, or the `Listen` that accepted it (the
   driver names that listener in ``on_connection_opened(..., listener=request_id)``): the stack
   routes the connection's inputs to that layer (the transport's, and FD_SOCK2's own server socket).
3. Anything else that takes time (binding a port, listing Kubernetes pods) is an `IoRequest`
   answered by exactly one `IoResult` with the same ``request_id`` through ``on_io_result``;
   the stack routes it back to the layer that emitted the request. Requests are plain frozen data
   (never a closure), so a simulator or a test can read them; a protocol's own request and result
   types live with the protocol (e.g. `pygroups.protocols.kubernetes.requests.ListPods`), and the
   driver maps each request type to the client that carries it out.
4. An `IoHint` needs no answer and may be dropped (e.g. "warm up the Kubernetes client"): it can
   save time, never change behaviour.
5. Application events (`AppEvent`) are what the top of the stack hands to the channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, NewType

from pygroups.address import IpAddress
from pygroups.message import Message
from pygroups.view import View

ConnId = NewType("ConnId", int)
"""A connection id, unique per stack; allocated with `ProtocolStack.new_conn_id()`."""


# --- commands (stack -> driver) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IoCommand:
    """Base of everything a stack asks its driver to do."""


@dataclass(frozen=True, slots=True)
class SocketOptions:
    """Socket settings from the transport's XML (TCP ``tcp_nodelay``, ``recv_buf_size``, ...); 0 = OS default."""

    tcp_nodelay: bool = True
    recv_buf_size: int = 0
    send_buf_size: int = 0
    linger: int = -1


@dataclass(frozen=True, slots=True)
class OpenConnection(IoCommand):
    """Open a stream connection to ``peer`` (giving up after ``timeout_ms``, 0 = OS default) from
    ``local`` (the bind address, port 0) with ``options``; the driver reports back under ``conn_id``."""

    conn_id: ConnId
    peer: IpAddress
    timeout_ms: int = 0
    local: IpAddress | None = None
    options: SocketOptions = SocketOptions()


@dataclass(frozen=True, slots=True)
class Write(IoCommand):
    """Send ``data`` on an open connection, in order after earlier writes."""

    conn_id: ConnId
    data: bytes


@dataclass(frozen=True, slots=True)
class Close(IoCommand):
    """Close a connection; ``graceful`` flushes pending writes first, otherwise abort."""

    conn_id: ConnId
    graceful: bool = True


@dataclass(frozen=True, slots=True)
class IoRequest(IoCommand):
    """A command answered by one `IoResult` carrying the same ``request_id``."""

    request_id: int
    what: ClassVar[str] = "I/O request"
    """Names the request in logs and in `failed`'s text."""

    def failed(self, error: BaseException) -> IoFailed:
        """The answer when the client carrying the request out raised (a bug or an unforeseen error:
        clients return the failures they expect inside their result)."""
        return IoFailed(self.request_id, f"{self.what} failed: {error!r}")


@dataclass(frozen=True, slots=True)
class IoHint(IoCommand):
    """A command that needs no answer and that an executor without a handler for it drops: it may
    only save time (e.g. build a slow client before its first request), never change behaviour."""


@dataclass(frozen=True, slots=True)
class Listen(IoRequest):
    """Accept connections on ``addr`` (port 0 = any), trying ports up to ``addr.port + port_range``
    (JGroups bind_port/port_range); answered by `Listening` or `IoFailed`. Accepted connections
    get ``options`` and are reported with ``on_connection_opened(conn, peer, listener=request_id)``
    under a fresh `ConnId`; they belong to the layer that emitted the request."""

    addr: IpAddress
    port_range: int = 0
    options: SocketOptions = SocketOptions()


@dataclass(frozen=True, slots=True)
class StopListening(IoCommand):
    """Close the server socket opened by the `Listen` with ``request_id`` (FD_SOCK2.stop closes its
    NioServer). Connections it accepted stay open until closed one by one. Unknown ids are ignored."""

    request_id: int


@dataclass(frozen=True, slots=True)
class OpenDiagnostics(IoCommand):
    """Open the probe sockets (JGroups DiagnosticsHandler.start): with ``enable_udp`` a UDP socket
    bound to ``mcast_addr:port`` that joins the group on the interfaces with the addresses in
    ``interfaces`` (none: every interface), with ``enable_tcp`` a server socket on the first free
    port of ``bind_addr`` (None: any address) ``port .. port + port_range``. The driver hands every
    request to `ProtocolStack.on_diagnostics` and sends the answer back (UDP: to the sender; TCP: on
    the connection, then closes it). ``passcode`` says requests carry an authentication header.
    Failures are logged by the driver; the node runs on without diagnostics."""

    enable_udp: bool
    enable_tcp: bool
    mcast_addr: str
    port: int
    port_range: int = 50
    bind_addr: str | None = None
    ttl: int = 8
    interfaces: tuple[str, ...] = ()
    passcode: bool = False


@dataclass(frozen=True, slots=True)
class CloseDiagnostics(IoCommand):
    """Close the probe sockets opened by `OpenDiagnostics` (DiagnosticsHandler.stop)."""


# --- results (driver -> stack) -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IoResult:
    """The answer to the `IoRequest` with the same ``request_id``."""

    request_id: int


@dataclass(frozen=True, slots=True)
class IoFailed(IoResult):
    """The request could not be carried out; ``error`` says why (for logs, not for parsing)."""

    error: str


@dataclass(frozen=True, slots=True)
class Listening(IoResult):
    """A `Listen` succeeded; ``addr`` is the address actually bound (the real port when 0 was asked)."""

    addr: IpAddress


# --- application events (stack -> channel) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppEvent:
    """Base of what `ProtocolStack.next_event()` returns."""


@dataclass(frozen=True, slots=True)
class Received(AppEvent):
    """A message delivered to the application (JGroups Receiver.receive)."""

    msg: Message


@dataclass(frozen=True, slots=True)
class ViewInstalled(AppEvent):
    """A new view was installed (JGroups Receiver.viewAccepted)."""

    view: View
