"""`ProtocolStack`: the sans-IO surface of one member, shaped like aioquic's ``QuicConnection``.

Rules of this module:

1. Inputs are the public methods ``connect``, ``disconnect``, ``send``, ``on_connection_opened``,
   ``on_bytes``, ``on_connection_closed``, ``on_io_result``, ``on_diagnostics``, ``handle_timers``
   and ``run_input``.
   Each runs to completion, sees one frozen ``clock.now_ns()``, and may not be re-entered; work a
   layer defers with ``call_soon`` runs at the end of the same input.
2. Outputs are pulled by the driver: ``take_io()`` (I/O commands, drained), ``next_event()``
   (application events) and ``next_deadline_ns()`` (when to call ``handle_timers`` next).
3. Connection inputs go to the layer that owns the connection: the one that emitted its
   `OpenConnection`, or the `Listen` that accepted it; the transport owns every other one.
4. ``layers[0]`` is the transport (XML order: bottom first). Sentinels sit below the bottom (it
   raises: nothing may fall off the stack) and above the top (it turns messages and views into
   application events).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from itertools import pairwise
from typing import Any, TypeVar

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import Clock, TimerService
from pygroups.errors import ConfigError, LocalProtocolError
from pygroups.events import Connect, Disconnect, Event, Query, SetLocalAddress, ViewChange
from pygroups.message import Message
from pygroups.stack.io import (
    AppEvent,
    ConnId,
    IoCommand,
    IoRequest,
    IoResult,
    Listen,
    OpenConnection,
    Received,
    StopListening,
    ViewInstalled,
)
from pygroups.stack.layer import Layer, TransportLayer

T = TypeVar("T")
L = TypeVar("L", bound=Layer)


class _InputClock:
    """The stack's clock: frozen at the start of each input so one input sees one instant."""

    __slots__ = ("_frozen", "_source")

    def __init__(self, source: Clock) -> None:
        self._source = source
        self._frozen: int | None = None

    def now_ns(self) -> int:
        return self._source.now_ns() if self._frozen is None else self._frozen


class _Input:
    """The context of one stack input: freezes the clock, refuses re-entry, runs ``call_soon`` work.

    A class rather than a generator context manager: it wraps every message, so its cost counts."""

    __slots__ = ("_stack",)

    def __init__(self, stack: ProtocolStack) -> None:
        self._stack = stack

    def __enter__(self) -> None:
        stack = self._stack
        if stack._in_input:
            raise LocalProtocolError("re-entrant input: a stack input was called while another one runs")
        stack._in_input = True
        stack.clock._frozen = stack.clock._source.now_ns()

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        stack = self._stack
        try:
            if exc_type is None:
                soon = stack._soon
                while soon:
                    fn, args = soon.popleft()
                    fn(*args)
        finally:
            stack._soon.clear()
            stack.clock._frozen = None
            stack._in_input = False


class _Bottom(Layer):
    """Below the transport: reaching it is a bug in the transport."""

    name = "<bottom>"

    def down(self, evt: Event) -> None:
        raise LocalProtocolError(f"{evt!r} fell off the bottom of the stack (below {self.up_layer.name})")

    def down_msg(self, msg: Message) -> None:
        raise LocalProtocolError(f"{msg!r} fell off the bottom of the stack (below {self.up_layer.name})")

    def query_down(self, q: Query[T]) -> T:
        return q.unanswered()


class _Top(Layer):
    """Above the top layer: messages and views become application events; other events are counted."""

    name = "<top>"

    def __init__(self, events: deque[AppEvent]) -> None:
        super().__init__()
        self._events = events

    def up(self, evt: Event) -> None:
        if isinstance(evt, ViewChange):
            self._events.append(ViewInstalled(evt.view))
        else:
            self.counters[f"ignored {type(evt).__name__}"] += 1

    def up_msg(self, msg: Message) -> None:
        self._events.append(Received(msg))

    def query_up(self, q: Query[T]) -> T:
        return q.unanswered()


class ProtocolStack:
    """The layers of one member plus its clock, timers, rng, outbox and event queue."""

    def __init__(self, layers: Sequence[Layer], *, clock: Clock, rng: random.Random) -> None:
        _sanity_check(layers)
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.clock = _InputClock(clock)
        self.timers = TimerService(self.clock)
        self.rng = rng
        self.local_addr: Address | None = None
        self.cluster: str | None = None
        # JGroups NameCache, per stack: logical address -> logical name (discovery and the
        # channel fill it; views and logs print through it). Includes our own name once connected.
        self.logical_names: dict[Address, str] = {}
        self._io: list[IoCommand] = []
        self._events: deque[AppEvent] = deque()
        self._pending_requests: dict[int, Layer] = {}
        # connections and server sockets of layers other than the transport (e.g. FD_SOCK2)
        self._conn_owners: dict[ConnId, Layer] = {}
        self._listeners: dict[int, Layer] = {}
        self._last_conn_id = 0
        self._last_request_id = 0
        self._in_input = False
        self._soon: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        self._input_guard = _Input(self)
        # only layers that can hold messages back are asked (the channel asks on every send)
        self._backlog_layers = [x for x in self.layers if type(x).backlog is not Layer.backlog]
        self.stale_io_results = 0
        self._bottom = _Bottom()
        self._top = _Top(self._events)
        chain = [self._bottom, *self.layers, self._top]
        for lower, upper in pairwise(chain):
            lower.up_layer = upper
            upper.down_layer = lower
        for layer in chain:
            layer.stack = self
        with self._input():
            for layer in self.layers:
                layer.init()

    # --- introspection --------------------------------------------------------------------------------

    @property
    def transport(self) -> TransportLayer:
        bottom = self.layers[0]
        assert isinstance(bottom, TransportLayer)  # checked by _sanity_check
        return bottom

    @property
    def connected(self) -> bool:
        return self.cluster is not None

    def find(self, kind: type[L]) -> L:
        """The (first) layer of class ``kind``; raises LookupError when there is none."""
        for layer in self.layers:
            if isinstance(layer, kind):
                return layer
        raise LookupError(f"no {kind.__name__} in {[layer.name for layer in self.layers]}")

    def query(self, q: Query[T]) -> T:
        """Ask the stack from the top (the way JChannel sends a query down)."""
        return self._top.down_layer.query_down(q)

    @property
    def logical_name(self) -> str | None:
        """This member's logical name (set by `connect`)."""
        return None if self.local_addr is None else self.logical_names.get(self.local_addr)

    def name_of(self, addr: Address | None) -> str:
        """How JGroups prints an address: its logical name when known, else the address itself."""
        if addr is None:
            return "null"
        return self.logical_names.get(addr) or str(addr)

    def backlog(self) -> int:
        """Messages accepted by `send` but held back inside the stack (flow control out of credits).

        A driver applies backpressure while this is above zero (Java's sender thread would block)."""
        return sum(layer.backlog() for layer in self._backlog_layers)

    def statistics(self) -> dict[str, Mapping[str, int | float]]:
        return {layer.name: layer.statistics() for layer in self.layers}

    # --- inputs ---------------------------------------------------------------------------------------

    def connect(self, cluster: str, *, local_addr: Address | None = None, name: str | None = None) -> None:
        """Join ``cluster``: set the local address (a fresh UUID from ``rng`` unless given) and
        logical ``name`` (JChannel.name; default: the address string), start the layers bottom to
        top, then send CONNECT down. Membership arrives later as views."""
        if self.cluster is not None:
            raise LocalProtocolError(f"already connected to {self.cluster!r}")
        with self._input():
            self.local_addr = local_addr if local_addr is not None else UUID.random(self.rng)
            self.logical_names[self.local_addr] = name if name is not None else str(self.local_addr)
            top = self._top.down_layer
            top.down(SetLocalAddress(self.local_addr))
            for layer in self.layers:
                layer.start()
            self.cluster = cluster
            top.down(Connect(cluster))

    def disconnect(self) -> None:
        """Send DISCONNECT down, stop the layers top to bottom and cancel all timers. Idempotent."""
        if self.cluster is None:
            return
        with self._input():
            self._top.down_layer.down(Disconnect())
            for layer in reversed(self.layers):
                layer.stop()
            self.timers.clear()
            self._pending_requests.clear()
            self.cluster = None

    def send(self, msg: Message) -> None:
        """Send an application message down the stack."""
        if self.cluster is None:
            raise LocalProtocolError("send() before connect()")
        with self._input():
            self._top.down_layer.down_msg(msg)

    def send_many(self, msgs: Sequence[Message]) -> int:
        """Send several application messages in one input, so the transport bundles them (Java's
        bundler does the same with messages queued while the socket is busy). Returns how many
        were sent: none once disconnected (messages still queued at disconnect are dropped)."""
        if self.cluster is None:
            return 0
        with self._input():
            top = self._top.down_layer
            for msg in msgs:
                top.down_msg(msg)
        return len(msgs)

    def on_connection_opened(self, conn: ConnId, peer: IpAddress, listener: int | None = None) -> None:
        """An `OpenConnection` succeeded, or the server socket of the `Listen` with request id
        ``listener`` accepted ``conn`` from ``peer``."""
        with self._input():
            owner = self._conn_owners.get(conn)
            if owner is None and listener is not None and (owner := self._listeners.get(listener)) is not None:
                self._conn_owners[conn] = owner
            (owner or self.transport).on_connection_opened(conn, peer)

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        with self._input():
            (self._conn_owners.get(conn) or self.transport).on_bytes(conn, data)

    def on_connection_closed(self, conn: ConnId, error: str | None = None) -> None:
        """A connection ended (``error`` None = orderly), or an `OpenConnection` failed."""
        with self._input():
            (self._conn_owners.pop(conn, None) or self.transport).on_connection_closed(conn, error)

    def on_io_result(self, result: IoResult) -> None:
        """Route ``result`` to the layer that emitted the request; stale results are counted and dropped."""
        layer = self._pending_requests.pop(result.request_id, None)
        if layer is None:
            self.stale_io_results += 1
            return
        with self._input():
            layer.on_io_result(result)

    def on_diagnostics(self, request: bytes) -> bytes | None:
        """A probe request read by the driver's diagnostics sockets (see `OpenDiagnostics`); returns
        the answer to send back, or None when the request gets none."""
        handler = getattr(self.transport, "on_diagnostics", None)
        if handler is None:
            return None
        with self._input():
            answer: bytes | None = handler(request)
        return answer

    def handle_timers(self) -> None:
        """Fire every timer due at ``clock.now_ns()``."""
        with self._input():
            self.timers.run_due(self.clock.now_ns())

    def run_input(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` as an input (frozen time, no re-entry): for simulated transports and tests."""
        with self._input():
            fn(*args)

    # --- outputs --------------------------------------------------------------------------------------

    def next_deadline_ns(self) -> int | None:
        return self.timers.next_deadline_ns()

    def take_io(self) -> list[IoCommand]:
        """The I/O commands emitted since the last call, in order; the outbox is emptied."""
        io, self._io = self._io, []
        return io

    def next_event(self) -> AppEvent | None:
        return self._events.popleft() if self._events else None

    def take_events(self) -> list[AppEvent]:
        events = list(self._events)
        self._events.clear()
        return events

    # --- for layers -----------------------------------------------------------------------------------

    def emit(self, cmd: IoCommand, *, reply_to: Layer | None = None) -> None:
        """Queue ``cmd`` for the driver; an `IoRequest` needs ``reply_to`` (see `Layer.emit`)."""
        if isinstance(cmd, IoRequest):
            if reply_to is None:
                raise LocalProtocolError(f"{cmd!r} needs a layer to reply to")
            self._pending_requests[cmd.request_id] = reply_to
        if reply_to is not None and reply_to is not self.layers[0]:  # connections of another layer
            if isinstance(cmd, OpenConnection):
                self._conn_owners[cmd.conn_id] = reply_to
            elif isinstance(cmd, Listen):
                self._listeners[cmd.request_id] = reply_to
        if isinstance(cmd, StopListening):
            self._listeners.pop(cmd.request_id, None)
        self._io.append(cmd)

    def call_soon(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` once the current handler chain has returned, still inside this input
        (same frozen time), after anything queued earlier. This is how a layer avoids re-entering
        its neighbours: the transport's loopback delivery and end-of-input bundling use it."""
        if not self._in_input:
            raise LocalProtocolError("call_soon() outside a stack input")
        self._soon.append((fn, args))

    def new_conn_id(self) -> ConnId:
        """A fresh connection id, for outgoing connections (transport) and accepted ones (driver)."""
        self._last_conn_id += 1
        return ConnId(self._last_conn_id)

    def new_request_id(self) -> int:
        self._last_request_id += 1
        return self._last_request_id

    def _input(self) -> _Input:
        return self._input_guard

    def __repr__(self) -> str:
        names = ", ".join(layer.name for layer in self.layers)
        return f"<ProtocolStack {self.local_addr} cluster={self.cluster!r} [{names}]>"


def _sanity_check(layers: Sequence[Layer]) -> None:
    """JGroups ProtocolStack.sanityCheck: a transport at the bottom, unique names and ids, services."""
    if not layers:
        raise ConfigError("a stack needs at least a transport")
    if not isinstance(layers[0], TransportLayer):
        raise ConfigError(f"the bottom layer must be a transport, not {layers[0].name}")
    names: set[str] = set()
    ids: dict[int, str] = {}
    for layer in layers:
        if "stack" in vars(layer):
            raise ConfigError(f"{layer.name} is already part of a stack")
        if layer.name in names:
            raise ConfigError(f"protocol {layer.name} occurs more than once in the stack")
        names.add(layer.name)
        if layer.protocol_id:
            if layer.protocol_id in ids:
                raise ConfigError(
                    f"protocol id {layer.protocol_id} of {layer.name} is also used by "
                    f"{ids[layer.protocol_id]}; ids have to be unique"
                )
            ids[layer.protocol_id] = layer.name
    for i, layer in enumerate(layers):
        below = frozenset[type[Event]]().union(*(x.handled_events() for x in layers[:i]))
        above = frozenset[type[Event]]().union(*(x.handled_events() for x in layers[i + 1 :]))
        for kind, available, where in (
            (layer.requires_below, below, "below"),
            (layer.requires_above, above, "above"),
        ):
            missing = sorted(t.__name__ for t in kind - available)
            if missing:
                raise ConfigError(f"{layer.name} needs a layer {where} it that handles {', '.join(missing)}")
