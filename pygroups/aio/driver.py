"""`StackDriver`: runs one sans-IO `ProtocolStack` on the running asyncio loop (aioquic style).

Rules of this module:

1. Every input goes through `StackDriver.call` (from the channel) or `_input` (from sockets and
   timers); each is followed by `_flush()`, which executes `take_io()`, hands `next_event()`s to
   ``on_event`` and re-arms the single ``loop.call_at`` timer for `next_deadline_ns()`.
2. Connections: one `asyncio.Protocol` per socket. An accepted socket gets ``stack.new_conn_id()``
   and is reported with ``on_connection_opened``; an `OpenConnection` is reported with
   ``on_connection_opened`` once connected, or with ``on_connection_closed(conn, error)`` when it
   fails. Every connection id ends with exactly one ``on_connection_closed``: on EOF (error None),
   reset or error, and also after the stack's own `Close` once the socket is gone (the transport
   forgets the id then). Writes to a connection that is still being opened are buffered until it
   is open; one closed by the stack while opening is never reported as opened.
3. Backpressure: each socket has a write high-water mark (asyncio ``pause_writing``); `writable()`
   is False while any socket is paused or the stack holds messages back (``stack.backlog()``).
   The channel's ``send`` awaits `wait_writable()`, as Java's sender thread blocks.
4. An exception raised by the stack while handling network input or a timer, or by ``on_event``,
   is a bug: the driver stops (aborting every socket) and hands the exception to ``on_error``;
   later calls raise it. An exception from the input of a `call` goes straight to its caller.
5. The driver executes what the layers emitted while the stack was built as soon as it starts
   (TCP's `Listen` from ``init()``); `settle()` waits until such requests are answered. A server
   socket lives until `StopListening` names its `Listen`, or `aclose()`; its accepted connections
   are reported with that `Listen`'s request id (the stack routes them to the listening layer).
   `abort()` resets every socket with no graceful-close marker: a killed process, as peers see it.
6. `OpenDiagnostics` opens the probe sockets (`pygroups.aio.diag.DiagServer`); each request is a
   stack input (``on_diagnostics``) and its answer goes back on the socket it came from. They are
   closed by `CloseDiagnostics` and by `aclose()`.
7. A request for a blocking client (`ListPods`, `ResolveDns`, ...) runs its handler from the
   ``io_handlers`` table (`pygroups.aio.handlers`: request type -> handler) on the driver's own worker
   threads, never on the loop; its result is fed back as an input, an exception becomes `IoFailed`.
   Results that arrive after `aclose()` are dropped; a call still running then is not waited for (its
   thread finishes on its own, e.g. at the client's read timeout). An `IoHint` runs its handler the
   same way (e.g. KUBE_PING's warm-up of the API client, emitted from init()) or is dropped without one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pygroups.address import IpAddress
from pygroups.aio.diag import DiagServer
from pygroups.aio.handlers import IoHandler, IoHandlers, default_io_handlers, handler_for
from pygroups.aio.server_socket import bind_first_free
from pygroups.aio.sockets import apply_socket_options, family_of, ip_address_of, sockaddr
from pygroups.errors import ChannelClosed
from pygroups.events import SendQueue
from pygroups.message import Message
from pygroups.stack.io import (
    AppEvent,
    Close,
    CloseDiagnostics,
    ConnId,
    IoCommand,
    IoFailed,
    IoHint,
    IoRequest,
    IoResult,
    Listen,
    Listening,
    OpenConnection,
    OpenDiagnostics,
    SocketOptions,
    StopListening,
    Write,
)
from pygroups.stack.stack import ProtocolStack

log = logging.getLogger(__name__)

HIGH_WATER = 4 * 1024 * 1024
MAX_SEND_BATCH = 256  # messages queued by send() before they go down in one input regardless
"""Bytes buffered per socket before the sender is held back (asyncio ``pause_writing``)."""


class LoopClock:
    """The stack's clock: ``int(loop.time() * 1e9)`` once a loop is attached (monotonic before)."""

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop

    def now_ns(self) -> int:
        if self.loop is None:
            return time.monotonic_ns()
        return int(self.loop.time() * 1e9)


class _Conn(asyncio.Protocol):
    """One TCP connection: feeds its bytes and its end into the stack."""

    def __init__(
        self, driver: StackDriver, conn_id: ConnId | None, options: SocketOptions, peer: IpAddress | None = None,
        listener: int | None = None,
    ) -> None:
        self.driver = driver
        self.listener = listener  # accepted: the request id of the Listen whose server accepted it
        self.conn_id = conn_id  # None for accepted sockets until connection_made
        self.options = options
        self.peer = peer  # the address we connected to (outgoing only)
        self.transport: asyncio.Transport | None = None
        self.closed_by_stack = False
        self.lost: asyncio.Future[None] = driver.loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=self.driver.high_water, low=self.driver.high_water // 4)
        sock = transport.get_extra_info("socket")
        if self.conn_id is None:  # accepted
            if sock is not None:
                with contextlib.suppress(OSError):
                    apply_socket_options(sock, self.options)
            self.driver._accepted(self, transport)
        else:  # ours: report it now, before any data_received (the reader is already armed)
            self.driver._connected(self, transport)

    def data_received(self, data: bytes) -> None:
        if self.conn_id is not None and not self.closed_by_stack:
            self.driver._input(self.driver.stack.on_bytes, self.conn_id, data)

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost reports the orderly end

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
        self.driver._lost(self, exc)

    def pause_writing(self) -> None:
        self.driver._paused.add(id(self))

    def resume_writing(self) -> None:
        self.driver._paused.discard(id(self))
        self.driver._wake_writers()


@dataclass
class _Pending:
    """An `OpenConnection` in progress: writes wait here until the socket is connected."""

    writes: list[bytes] = field(default_factory=list)
    closed: bool = False
    graceful: bool = True


class StackDriver:
    """Executes a stack's I/O commands on asyncio and feeds socket events and timers back into it."""

    def __init__(
        self,
        stack: ProtocolStack,
        *,
        on_event: Callable[[AppEvent], None],
        on_error: Callable[[BaseException], None] | None = None,
        high_water: int = HIGH_WATER,
        io_handlers: IoHandlers | None = None,
    ) -> None:
        """``io_handlers`` add to or replace the default blocking clients (`default_io_handlers`)."""
        self.stack = stack
        self.io_handlers: dict[type[IoCommand], IoHandler] = {**default_io_handlers(), **(io_handlers or {})}
        self.loop = asyncio.get_running_loop()
        self.on_event = on_event
        self.on_error = on_error
        self.high_water = high_water
        self.error: BaseException | None = None
        self.closed = False
        self._conns: dict[ConnId, _Conn] = {}
        self._pending: dict[ConnId, _Pending] = {}
        self._servers: dict[int, asyncio.Server] = {}  # Listen request id -> its server socket
        self._stopped: set[int] = set()  # StopListening that came before its Listen was bound
        self._tasks: set[asyncio.Task[None]] = set()
        self._paused: set[int] = set()
        self._writers: list[asyncio.Future[None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: int | None = None
        self.dropped_writes = 0
        self._requests: set[asyncio.Task[None]] = set()
        self._send_queue: list[Message] = []
        self._send_scheduled = False
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.diagnostics: DiagServer | None = None
        clock = getattr(stack.clock, "_source", None)
        if isinstance(clock, LoopClock):
            clock.loop = self.loop
        if hasattr(stack.transport, "send_queue_probe"):
            stack.transport.send_queue_probe = self.write_queue  # RED's view of our write buffers
        self._flush()  # what the layers emitted in init(), e.g. TCP's Listen (Java binds in TCP.init too)

    # --- inputs -----------------------------------------------------------------------------------

    def call(self, fn: Callable[..., object], *args: Any, **kwargs: Any) -> Any:
        """Run a stack input (``stack.connect``, ``stack.send``, ...) and flush; its exceptions
        propagate to the caller."""
        self._check()
        try:
            return fn(*args, **kwargs)
        finally:
            if not self.closed:
                try:
                    self._flush()
                except Exception as e:  # e.g. an application callback: the driver stops, as in _input
                    self._fail(e)
                    raise

    def queue_send(self, msg: Message) -> None:
        """Send ``msg`` with the others queued in this loop iteration, as one stack input (see
        `ProtocolStack.send_many`): one input per message would defeat the transport's bundling."""
        self._check()
        self._send_queue.append(msg)
        if len(self._send_queue) >= MAX_SEND_BATCH:
            self._send_queued()
        elif not self._send_scheduled:
            self._send_scheduled = True
            self.loop.call_soon(self._send_queued)

    def flush_sends(self) -> None:
        """Send what `queue_send` holds now (before a leave, so nothing sent earlier is lost)."""
        self._send_queued()

    def _send_queued(self) -> None:
        self._send_scheduled = False
        msgs, self._send_queue = self._send_queue, []
        if msgs:
            self._input(self.stack.send_many, msgs)

    def _input(self, fn: Callable[..., object], *args: Any) -> None:
        """An input from the network or a timer: an exception stops the driver."""
        if self.closed:
            return
        try:
            fn(*args)
            self._flush()
        except Exception as e:  # a bug in a layer: surface it, do not keep running half-broken
            self._fail(e)

    def _check(self) -> None:
        if self.error is not None:
            raise self.error
        if self.closed:
            raise ChannelClosed("the stack driver is closed")

    # --- outputs ----------------------------------------------------------------------------------

    def _flush(self) -> None:
        for cmd in self.stack.take_io():
            self._execute(cmd)
        while (ev := self.stack.next_event()) is not None:
            self.on_event(ev)
        self._arm_timer()
        self._wake_writers()

    def _execute(self, cmd: IoCommand) -> None:
        match cmd:
            case Write(conn_id, data):
                conn = self._conns.get(conn_id)
                if conn is not None and conn.transport is not None and not conn.closed_by_stack:
                    conn.transport.write(data)
                elif (pending := self._pending.get(conn_id)) is not None and not pending.closed:
                    pending.writes.append(data)
                else:
                    self.dropped_writes += 1
            case OpenConnection():
                log.debug("%s: conn %d: connecting to %s", self.stack.logical_name, cmd.conn_id, cmd.peer)
                self._pending[cmd.conn_id] = _Pending()
                self._spawn(self._open(cmd))
            case Close(conn_id, graceful):
                log.debug("%s: conn %d: close (graceful=%s)", self.stack.logical_name, conn_id, graceful)
                self._close_conn(conn_id, graceful)
            case Listen():
                task = self._spawn(self._listen(cmd))
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)
            case StopListening(request_id):
                if (server := self._servers.pop(request_id, None)) is not None:
                    server.close()
                else:
                    self._stopped.add(request_id)
            case OpenDiagnostics():
                self._close_diagnostics()
                self.diagnostics = DiagServer(cmd, self._on_probe, self.stack.logical_name or "")
                task = self._spawn(self.diagnostics.start())
                self._requests.add(task)
                task.add_done_callback(self._requests.discard)
            case CloseDiagnostics():
                self._close_diagnostics()
            case IoCommand() if (handler := handler_for(self.io_handlers, cmd)) is not None:
                self._spawn(self._run_handler(cmd, handler))
            case IoHint():
                log.debug("%s: no handler for %r: dropped", self.stack.logical_name, cmd)
            case _:
                raise TypeError(f"the asyncio driver cannot execute {cmd!r}")

    def _on_probe(self, request: bytes) -> bytes | None:
        """A probe request from the diagnostics sockets: a stack input whose answer goes back."""
        answer: list[bytes | None] = [None]

        def run() -> None:
            answer[0] = self.stack.on_diagnostics(request)

        self._input(run)
        return answer[0]

    def _close_diagnostics(self) -> None:
        if self.diagnostics is not None:
            self.diagnostics.close()
            self.diagnostics = None

    async def _run_handler(self, cmd: IoCommand, handler: IoHandler) -> None:
        """A blocking client call on a worker thread; a request's answer (or `IoFailed`) becomes an input."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=4, thread_name_prefix=f"pygroups-io-{self.stack.logical_name or ''}")
        try:
            answer = await self.loop.run_in_executor(self._executor, handler, cmd)
        except Exception as e:
            if not isinstance(cmd, IoRequest):
                log.debug("%s: %r failed: %r", self.stack.logical_name, cmd, e)
                return
            failed = cmd.failed(e)
            log.warning("%s: %s", self.stack.logical_name, failed.error)
            answer = failed
        if not isinstance(cmd, IoRequest):
            return
        if not isinstance(answer, IoResult):
            answer = cmd.failed(TypeError(f"the handler returned {answer!r}, not an IoResult"))
        if not self.closed:
            self._input(self.stack.on_io_result, answer)

    def _arm_timer(self) -> None:
        deadline = self.stack.next_deadline_ns()
        if deadline == self._timer_deadline and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_deadline = deadline
        if deadline is not None:
            self._timer = self.loop.call_at(deadline / 1e9, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_deadline = None
        self._input(self.stack.handle_timers)
        if not self.closed:
            self._arm_timer()

    # --- backpressure -----------------------------------------------------------------------------

    def writable(self) -> bool:
        """False while a socket's write buffer is above the high-water mark or the stack holds
        messages back (flow control)."""
        if self._paused or self.stack.backlog() > 0:
            return False
        return sum(len(w) for p in self._pending.values() for w in p.writes) < self.high_water

    def write_queue(self) -> SendQueue:
        """How full the fullest connection's write buffer is, against the high-water mark (RED)."""
        sizes = [c.transport.get_write_buffer_size() for c in self._conns.values() if c.transport is not None]
        sizes += [sum(len(w) for w in p.writes) for p in self._pending.values()]
        return SendQueue(max(sizes, default=0), self.high_water)

    async def wait_writable(self) -> None:
        while not self.writable():
            self._check()
            fut = self.loop.create_future()
            self._writers.append(fut)
            await fut
        self._check()

    def _wake_writers(self) -> None:
        if self._writers and (self.closed or self.writable()):
            writers, self._writers = self._writers, []
            for fut in writers:
                if not fut.done():
                    fut.set_result(None)

    # --- connections ------------------------------------------------------------------------------

    async def _listen(self, cmd: Listen) -> None:
        try:
            sock = self._bind(cmd)
            server = await self.loop.create_server(
                lambda: _Conn(self, None, cmd.options, listener=cmd.request_id), sock=sock)
        except OSError as e:
            self._input(self.stack.on_io_result, IoFailed(cmd.request_id, f"cannot listen on {cmd.addr}: {e}"))
            return
        if self.closed or cmd.request_id in self._stopped:
            self._stopped.discard(cmd.request_id)
            server.close()
            return
        self._servers[cmd.request_id] = server
        bound = ip_address_of(sock.getsockname())
        self._input(self.stack.on_io_result, Listening(cmd.request_id, bound))

    @staticmethod
    def _bind(cmd: Listen) -> socket.socket:
        """Bind to the first free port of addr.port .. addr.port + port_range (Util.createServerSocket)."""
        return bind_first_free(family_of(cmd.addr), lambda port: sockaddr(cmd.addr, port), cmd.addr.port,
                               cmd.port_range, backlog=128, recv_buf_size=cmd.options.recv_buf_size)

    async def _open(self, cmd: OpenConnection) -> None:
        conn_id = cmd.conn_id
        sock = socket.socket(family_of(cmd.peer), socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            apply_socket_options(sock, cmd.options)
            if cmd.local is not None:  # TCP client_bind_addr / client_bind_port (0: any port)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(sockaddr(cmd.local))
            connect = self.loop.sock_connect(sock, sockaddr(cmd.peer))
            if cmd.timeout_ms > 0:
                await asyncio.wait_for(connect, cmd.timeout_ms / 1000)
            else:
                await connect
            await self.loop.create_connection(lambda: _Conn(self, conn_id, cmd.options, cmd.peer), sock=sock)
        except (OSError, TimeoutError) as e:
            sock.close()
            pending = self._pending.pop(conn_id, None)
            log.debug("%s: conn %d: connect to %s failed: %r", self.stack.logical_name, conn_id, cmd.peer, e)
            if pending is not None:
                what = "timed out" if isinstance(e, TimeoutError) else (e.strerror or str(e))
                self._input(self.stack.on_connection_closed, conn_id, f"connect to {cmd.peer} failed: {what}")
            return
        except asyncio.CancelledError:
            sock.close()
            raise

    def _connected(self, conn: _Conn, transport: asyncio.Transport) -> None:
        """An `OpenConnection` succeeded (called from connection_made, before any data_received)."""
        assert conn.conn_id is not None and conn.peer is not None
        pending = self._pending.pop(conn.conn_id, None)
        if pending is None or self.closed:  # the driver was reset or closed meanwhile
            conn.closed_by_stack = True
            transport.abort()
            return
        self._conns[conn.conn_id] = conn
        if pending.closed:  # closed by the stack while connecting: send what it wrote, then close
            conn.closed_by_stack = True
            if pending.graceful:
                for data in pending.writes:
                    transport.write(data)
                transport.close()
            else:
                transport.abort()
            return
        for data in pending.writes:
            transport.write(data)
        log.debug("%s: conn %d: connected to %s", self.stack.logical_name, conn.conn_id, conn.peer)
        self._input(self.stack.on_connection_opened, conn.conn_id, conn.peer)

    def _accepted(self, conn: _Conn, transport: asyncio.Transport) -> None:
        if self.closed:
            transport.abort()
            return
        conn.conn_id = self.stack.new_conn_id()
        self._conns[conn.conn_id] = conn
        peer = ip_address_of(transport.get_extra_info("peername"))
        log.debug("%s: conn %d: accepted from %s", self.stack.logical_name, conn.conn_id, peer)
        self._input(self.stack.on_connection_opened, conn.conn_id, peer, conn.listener)

    def _lost(self, conn: _Conn, exc: Exception | None) -> None:
        self._paused.discard(id(conn))
        self._wake_writers()
        if conn.conn_id is None or self._conns.get(conn.conn_id) is not conn:
            return
        del self._conns[conn.conn_id]
        error = None if exc is None else str(exc) or repr(exc)
        log.debug("%s: conn %d: closed (%s)", self.stack.logical_name, conn.conn_id, error or "orderly")
        self._input(self.stack.on_connection_closed, conn.conn_id, error)

    def _close_conn(self, conn_id: ConnId, graceful: bool) -> None:
        conn = self._conns.get(conn_id)
        if conn is not None:
            if not conn.closed_by_stack:
                conn.closed_by_stack = True
                self._paused.discard(id(conn))
                if conn.transport is not None:
                    conn.transport.close() if graceful else conn.transport.abort()
            return
        pending = self._pending.get(conn_id)
        if pending is not None:
            pending.closed, pending.graceful = True, graceful

    @property
    def connection_count(self) -> int:
        """Open sockets (including ones the stack closed that are still flushing)."""
        return len(self._conns)

    # --- lifecycle --------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (e := task.exception()) is not None:
            self._fail(e)

    def _fail(self, e: BaseException) -> None:
        if self.error is None and not self.closed:
            log.error("stack driver stopped by %r", e, exc_info=e)
            self.error = e
            self._shutdown(graceful=False)
            if self.on_error is not None:
                self.on_error(e)

    def _shutdown(self, *, graceful: bool) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
        for server in self._servers.values():
            server.close()
        self._close_diagnostics()
        for conn in list(self._conns.values()):
            conn.closed_by_stack = True
            if conn.transport is not None:
                conn.transport.close() if graceful else conn.transport.abort()
        self._conns.clear()
        self._pending.clear()
        self._paused.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._wake_writers()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every I/O request in flight (``Listen``) has been answered: a channel does this
        before connecting, so the transport knows its physical address before discovery runs (Java
        binds the server socket in TCP.init, synchronously)."""
        while self._requests:
            self._check()
            _, pending = await asyncio.wait(set(self._requests), timeout=timeout)
            if pending:
                raise TimeoutError(f"I/O requests still unanswered after {timeout:g} s")
        self._check()

    async def _wait_closed(self, conns: list[_Conn], servers: list[asyncio.Server], timeout: float) -> None:
        if conns:
            await asyncio.wait([c.lost for c in conns], timeout=timeout)
        for c in conns:
            if not c.lost.done() and c.transport is not None:
                c.transport.abort()
        for server in servers:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), timeout)

    def abort(self) -> None:
        """Stop as a killed process would (rule 5): sockets reset unflushed, no further input. Idempotent."""
        if not self.closed:
            self._shutdown(graceful=False)

    async def aclose(self, *, timeout: float = 2.0) -> None:
        """Close every socket (flushing what was written) and stop; idempotent."""
        if self.closed:
            return
        conns = [c for c in self._conns.values() if c.transport is not None]
        servers, self._servers = list(self._servers.values()), {}
        self._shutdown(graceful=True)
        for server in servers:
            server.close()
        await self._wait_closed(conns, servers, timeout)
