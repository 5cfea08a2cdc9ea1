"""`Channel`: the asyncio face of a JGroups JChannel, and `open_channel`.

Rules of this module:

1. A channel owns one `ProtocolStack` (built from a JGroups XML stack, or from a layer factory in
   tests) and, once a loop runs, one `StackDriver`. Every stack input goes through the driver.
2. ``connect`` returns once the first view is installed; views and messages then arrive in order
   through `events()` / `receive()`, or through the ``on_view`` / ``on_message`` callbacks.
3. Exceptions always propagate: a failure of the driver (a bug in a layer, an exception in a
   callback) stops the channel and is raised by every later operation, by the event iterator and
   when the ``async with`` block ends.
4. Python values become ObjectMessages the way Java boxes them (see `make_message`); received
   payloads come back as Python values through `payload_object`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final

from pygroups.address import Address
from pygroups.aio.driver import LoopClock, StackDriver
from pygroups.aio.names import format_view as format_view
from pygroups.aio.names import generate_local_name as generate_local_name
from pygroups.aio.payloads import java_string as java_string
from pygroups.aio.payloads import make_message as make_message
from pygroups.aio.payloads import payload_object as payload_object
from pygroups.aio.payloads import primitive_value as primitive_value
from pygroups.aio.payloads import to_java_object as to_java_object
from pygroups.errors import ChannelClosed, ConnectError, ConnectTimeout, LocalProtocolError, StateTransferError
from pygroups.events import ApplState, Event, GetApplState, GetState, GetStateOk, JoinFailed, Leave, LeaveComplete
from pygroups.message import Message
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.stack.config import load_stack_file
from pygroups.stack.io import AppEvent, Received, ViewInstalled
from pygroups.stack.layer import Layer, answers
from pygroups.stack.registry import ProtocolRegistry, build_layers
from pygroups.stack.stack import ProtocolStack
from pygroups.view import View

log = logging.getLogger(__name__)

DEFAULT_STACK: Final = "tcp-core.xml"
"""The stock stack a channel uses when none is given (the one pygroups implements completely)."""

CONNECT_TIMEOUT: Final = 30.0
"""Seconds ``connect()`` waits for the first view (GMS itself retries joins and finally becomes
a singleton coordinator, so this only fires when the stack is stuck)."""

STATE_TIMEOUT: Final = 30.0
"""Seconds ``get_state()`` waits for the state by default (Java's getState takes it as an argument)."""

StackConfig = str | os.PathLike[str] | Callable[[], Sequence[Layer]]
_NOTHING: Any = object()

# --- the channel -------------------------------------------------------------------------------------


def _build_layers(config: StackConfig, variables: Mapping[str, str] | None, protocols: ProtocolRegistry) -> list[Layer]:
    if callable(config):
        return list(config())
    spec = load_stack_file(config, variables, registry=protocols)
    layers = build_layers(spec, protocols, variables=variables)
    return [layer for layer in layers if isinstance(layer, Layer)]


class _ChannelTop(Layer):
    """The channel's own layer, on top of the stack (where JChannel sits above the top protocol): it
    sees the GMS outcomes (`JoinFailed`, `LeaveComplete`) the application sentinel would only count."""

    name = "CHANNEL"

    def __init__(self, channel: Channel) -> None:
        super().__init__()
        self.channel = channel

    def up(self, evt: Event) -> None:
        match evt:
            case JoinFailed(reason=reason):  # JoinRsp.fail_reason: Java's connect() throws SecurityException
                self.channel._join_failed(reason)
            case LeaveComplete():
                self.channel._leave_complete()
            case GetStateOk():  # JChannel.up(GET_STATE_OK): Receiver.setState, then getState returns
                self.channel._state_result(evt)
            case _:
                self.up_layer.up(evt)

    @answers(GetApplState, up=True)
    def answer_appl_state(self, q: GetApplState) -> ApplState:
        """JChannel.invokeCallback(GET_APPLSTATE): Receiver.getState into a byte array."""
        return self.channel._provide_state()


class Channel:
    """A member of a group: ``async with Channel("tcp-core.xml", name="A") as ch: await ch.connect("c")``.

    ``config`` is an XML file, a stock stack name (``tcp-core.xml``, ``tcp-fc.xml``, ...) or a
    callable returning fresh layers (bottom first). ``variables`` fill ``${...}`` in the XML;
    ``name`` is the logical name (default: like Java, host name plus a random number). ``protocols`` is
    the registry the XML's protocols are built from: pygroups' own, or with an application's added
    (``BUILTIN_PROTOCOLS.with_protocols(MyProtocol)``).
    """

    def __init__(
        self,
        config: StackConfig = DEFAULT_STACK,
        *,
        name: str | None = None,
        variables: Mapping[str, str] | None = None,
        seed: int | None = None,
        protocols: ProtocolRegistry = BUILTIN_PROTOCOLS,
    ) -> None:
        self._rng = random.Random(seed)
        self._clock = LoopClock()
        self._top = _ChannelTop(self)
        layers = [*_build_layers(config, variables, protocols), self._top]
        self.stack = ProtocolStack(layers, clock=self._clock, rng=self._rng)
        self._join_error: ConnectError | None = None
        self._leave_done = False
        self._name = name
        self.name: str | None = name
        self.view: View | None = None
        self.on_message: Callable[[Message], object] | None = None
        self.on_view: Callable[[View], object] | None = None
        self.state_provider: Callable[[], bytes | None] | None = None
        self.on_state: Callable[[bytes], object] | None = None
        self._state_seq = 0
        self._state_results: dict[int, GetStateOk] = {}
        self._driver: StackDriver | None = None
        self._queue: deque[AppEvent] = deque()
        self._waiters: list[asyncio.Future[None]] = []
        self._view_seq = 0
        self._error: BaseException | None = None
        self._closed = False

    # --- state ------------------------------------------------------------------------------------

    @property
    def address(self) -> Address | None:
        return self.stack.local_addr if self.stack.connected else None

    @property
    def cluster(self) -> str | None:
        return self.stack.cluster

    @property
    def connected(self) -> bool:
        return self.stack.connected and not self._closed

    @property
    def closed(self) -> bool:
        return self._closed

    def name_of(self, addr: Address | None) -> str:
        """A member's logical name (JGroups NameCache), else the address itself."""
        return self.stack.name_of(addr)

    def format_view(self, view: View | None = None) -> str:
        """Java's View.toString with logical names, e.g. ``[A|2] (2) [A, B]`` (default: the current view)."""
        view = self.view if view is None else view
        return "null" if view is None else format_view(view, self.name_of)

    def stats(self) -> dict[str, Mapping[str, int | float]]:
        """Per-layer statistics, plus the driver's under ``"driver"``."""
        out = dict(self.stack.statistics())
        if self._driver is not None:
            out["driver"] = {
                "connections": self._driver.connection_count,
                "dropped_writes": self._driver.dropped_writes,
                "backlog": self.stack.backlog(),
            }
        return out

    # --- lifecycle --------------------------------------------------------------------------------

    async def __aenter__(self) -> Channel:
        self._ensure_driver()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close(raise_error=exc is None)

    def _ensure_driver(self) -> StackDriver:
        self._check()
        if self._driver is None:
            self._driver = StackDriver(self.stack, on_event=self._on_event, on_error=self._on_error)
        elif self._driver.loop is not asyncio.get_running_loop():
            raise LocalProtocolError("a Channel is bound to the event loop it was first used on")
        return self._driver

    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ChannelClosed("the channel is closed")

    async def connect(self, cluster: str, *, timeout: float = CONNECT_TIMEOUT, with_state: bool = False,
                      state_from: Address | None = None, state_timeout: float | None = STATE_TIMEOUT) -> None:
        """Join ``cluster`` (JChannel.connect): returns once the first view is installed. With
        ``with_state``, then fetch the state from ``state_from`` (None: the coordinator) unless we are
        alone, as JChannel.connect(cluster, target, timeout) does."""
        await self._connect(cluster, timeout)
        if with_state and self.view is not None and len(self.view.members) > 1:
            await self.get_state(state_from, timeout=state_timeout)

    async def _connect(self, cluster: str, timeout: float) -> None:
        driver = self._ensure_driver()
        if self.stack.connected:
            if self.stack.cluster == cluster:
                return
            raise LocalProtocolError(f"already connected to {self.stack.cluster!r}; disconnect first")
        await driver.settle()  # e.g. TCP's Listen from init(): discovery must know our physical address
        listen_error = getattr(self.stack.transport, "listen_error", None)
        if listen_error:  # Java's JChannel would have failed to bind in its constructor
            raise ConnectError(f"{self._name or 'channel'}: cannot join {cluster!r}: {listen_error}")
        self.name = self._name or generate_local_name(self._rng)
        seen = self._view_seq
        self.view = None
        self._join_error = None
        driver.call(self.stack.connect, cluster, name=self.name)

        def joined() -> bool:
            if self._join_error is not None:
                raise self._join_error
            return self._view_seq > seen

        try:
            await self._wait_until(joined, timeout)
        except TimeoutError:
            self._abort_connect()
            raise ConnectTimeout(
                f"{self.name}: no view for cluster {cluster!r} within {timeout:g} s (is the stack's "
                f"discovery reaching the other members?)"
            ) from None
        except ConnectError:
            self._abort_connect()
            raise

    def _abort_connect(self) -> None:
        if self._driver is not None and not self._driver.closed:
            self._driver.call(self.stack.disconnect)

    def _join_failed(self, reason: str) -> None:
        self._join_error = ConnectError(f"{self.name}: joining cluster {self.stack.cluster!r} was refused: {reason}")
        self._wake()

    def _leave_complete(self) -> None:
        self._leave_done = True
        self._wake()

    async def _leave(self, driver: StackDriver) -> None:
        """JChannel.disconnect's graceful part: GMS sends LEAVE_REQ and waits (leave_timeout) for
        LEAVE_RSP; we wait for its LeaveComplete. Stacks without GMS skip this."""
        driver.flush_sends()  # messages sent before the leave go out before LEAVE_REQ
        gms = next((layer for layer in self.stack.layers if layer.name == "pbcast.GMS"), None)
        if gms is None or self.view is None:
            return
        self._leave_done = False
        driver.call(self.stack.run_input, self._top.down, Leave())
        leave_timeout = int(getattr(gms, "leave_timeout", 1000)) / 1000
        try:
            await self._wait_until(lambda: self._leave_done, 2 * leave_timeout + 1.0)
        except TimeoutError:
            log.warning("%s: GMS did not complete the leave within %.1f s", self.name, 2 * leave_timeout + 1.0)

    async def disconnect(self) -> None:
        """Leave the cluster (GMS: LEAVE_REQ, wait for LEAVE_RSP); the channel can ``connect()`` again.
        The transport keeps its server socket until `close`."""
        if self._closed or self._driver is None or not self.stack.connected:
            return
        self._check()
        await self._leave(self._driver)
        self._driver.call(self.stack.disconnect)  # the transport closes its connections itself
        self.view = None

    async def close(self, *, raise_error: bool = False) -> None:
        """Disconnect if connected, close all sockets; idempotent. With ``raise_error``, a background
        failure of the channel is raised afterwards (as a TaskGroup would)."""
        if not self._closed:
            try:
                if self._error is None and self._driver is not None and not self._driver.closed \
                        and self.stack.connected:  # an aborted driver (StackDriver.abort) has no one to leave
                    await self._leave(self._driver)
                    self._driver.call(self.stack.disconnect)
            finally:
                self._closed = True
                self.view = None
                if self._driver is not None:
                    await self._driver.aclose()
                self._wake()
        if raise_error and self._error is not None:
            raise self._error

    # --- state transfer ---------------------------------------------------------------------------

    async def get_state(self, target: Address | None = None, *, timeout: float | None = STATE_TIMEOUT) -> bytes | None:
        """Fetch the state of ``target`` (None: the coordinator) and install it (JChannel.getState):
        the provider's ``state_provider()`` makes the bytes, our ``on_state(bytes)`` (if set) installs
        them before this returns them. None when there is no state (we are the coordinator, or the
        provider has none). `StateTransferError` on timeout (``timeout`` seconds, None = forever),
        when the provider leaves or fails, or when ``on_state`` raises."""
        driver = self._ensure_driver()
        if not self.stack.connected or self.view is None:
            raise LocalProtocolError("get_state() before connect()")
        if not any(GetState in layer.handled_events() for layer in self.stack.layers):
            raise LocalProtocolError("fetching state will fail as state transfer is not supported. Add one of "
                                     "the state transfer protocols to your configuration")
        if target is None:
            target = self.view.coordinator
        if target == self.address:
            log.debug("%s: cannot get state from myself (%s): probably the first member", self.name, self.name)
            return None
        self._state_seq += 1
        seq = self._state_seq
        timeout_ms = 0 if timeout is None else int(timeout * 1000)
        loop = asyncio.get_running_loop()
        start = loop.time()
        driver.call(self.stack.run_input, self._top.down, GetState(target, timeout_ms))
        try:
            await self._wait_until(lambda: seq in self._state_results, timeout)
        except TimeoutError:
            raise StateTransferError(
                f"{self.name}: timeout during state transfer ({(loop.time() - start) * 1000:.0f} ms)") from None
        result = self._state_results.pop(seq)
        if result.error is not None:
            raise StateTransferError(f"{self.name}: state transfer failed: {result.error}")
        return result.state

    def _provide_state(self) -> ApplState:
        """The state for a requester: ``state_provider()``; its failure goes to the requester (STATE_EX).
        Events the stack delivered before are handed over first, so the state covers them."""
        self._drain_events()
        if self.state_provider is None:
            return ApplState()
        try:
            state = self.state_provider()
        except Exception as e:  # the application's failure is the requester's StateTransferError, as in Java
            log.warning("%s: state_provider failed", self.name, exc_info=True)
            return ApplState(error=f"{type(e).__name__}: {e}")
        return ApplState(None if state is None else bytes(state))

    def _state_result(self, result: GetStateOk) -> None:
        """GET_STATE_OK: install the state with ``on_state`` (after the events delivered before it),
        then wake ``get_state``. A result after ``get_state`` gave up is still installed, as in Java."""
        self._drain_events()
        if result.error is None and result.state is not None and self.on_state is not None:
            try:
                self.on_state(result.state)
            except Exception as e:  # Java: the exception becomes getState's StateTransferException
                log.warning("%s: on_state failed", self.name, exc_info=True)
                result = GetStateOk(error=f"installing the state failed: {type(e).__name__}: {e}")
        self._state_results = {self._state_seq: result}
        self._wake()

    def _drain_events(self) -> None:
        """Hand the events the stack has delivered so far to the application now, so that a state
        taken or installed at this point is ordered after them."""
        for ev in self.stack.take_events():
            self._on_event(ev)

    # --- sending ----------------------------------------------------------------------------------

    async def send(self, dest: Address | Message | None, payload: Any = _NOTHING, *, flags: int = 0) -> None:
        """Send a message to ``dest`` (None = the whole cluster): ``send(dest, b"..")``,
        ``send(dest, "text")``, ``send(dest, 42)`` or ``send(msg)``. Returns once the message is
        queued: the sends of one loop iteration go down in one stack input, so they are bundled.
        Waits first while flow control or full socket buffers hold messages back."""
        if isinstance(dest, Message):
            if payload is not _NOTHING:
                raise LocalProtocolError("send(msg) takes no payload")
            msg = dest
            msg.flags |= flags
        else:
            msg = make_message(dest, None if payload is _NOTHING else payload, flags=flags)
        driver = self._ensure_driver()
        if not self.stack.connected:
            raise LocalProtocolError("send() before connect()")
        await driver.wait_writable()
        self._check()
        if not self.stack.connected:
            raise LocalProtocolError("the channel was disconnected while send() waited")
        driver.queue_send(msg)

    # --- receiving --------------------------------------------------------------------------------

    def _on_event(self, ev: AppEvent) -> None:
        if isinstance(ev, ViewInstalled):
            self.view = ev.view
            self._view_seq += 1
            if self.on_view is not None:
                self.on_view(ev.view)
            else:
                self._queue.append(ev)
        elif isinstance(ev, Received) and self.on_message is not None:
            self.on_message(ev.msg)
        else:
            self._queue.append(ev)
        self._wake()

    def _on_error(self, e: BaseException) -> None:
        self._error = e
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        """Wait (woken by every event, error or close) until ``predicate()``; TimeoutError after ``timeout``."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while True:
                self._check_error()
                if predicate():
                    return
                if self._closed:
                    raise ChannelClosed("the channel was closed")
                fut = loop.create_future()
                self._waiters.append(fut)
                await fut

    def _check_error(self) -> None:
        if self._error is not None:
            raise self._error

    async def receive(self, timeout: float | None = None) -> AppEvent:
        """The next `Received` or `ViewInstalled` event; TimeoutError after ``timeout`` seconds."""
        await self._wait_until(lambda: bool(self._queue), timeout)
        return self._queue.popleft()

    async def events(self) -> AsyncIterator[AppEvent]:
        """Every event in order, until the channel is closed."""
        while True:
            try:
                ev = await self.receive()
            except ChannelClosed:
                return
            yield ev

    async def wait_view(
        self,
        size: int | None = None,
        *,
        timeout: float | None = None,
        predicate: Callable[[View], bool] | None = None,
    ) -> View:
        """The current view once it has ``size`` members (and satisfies ``predicate``); with neither,
        the next new view. TimeoutError after ``timeout`` seconds, naming what was awaited."""
        seen = self._view_seq

        def ok() -> bool:
            v = self.view
            if v is None:
                return False
            if size is None and predicate is None:
                return self._view_seq > seen
            return (size is None or len(v.members) == size) and (predicate is None or predicate(v))

        try:
            await self._wait_until(ok, timeout)
        except TimeoutError:
            want = f"{size} members" if size is not None else "a new view"
            raise TimeoutError(
                f"{self.name}: no view with {want} within {timeout:g} s (current view: {self.format_view()})"
            ) from None
        assert self.view is not None
        return self.view

    def __repr__(self) -> str:
        return f"<Channel {self.name} cluster={self.cluster!r} view={self.format_view() if self.view else None}>"


class open_channel:  # used like a function: async with open_channel(...) as ch
    """``async with open_channel("tcp-core.xml", cluster="c", name="A") as ch`` = Channel + connect."""

    def __init__(
        self,
        config: StackConfig = DEFAULT_STACK,
        *,
        cluster: str,
        name: str | None = None,
        variables: Mapping[str, str] | None = None,
        timeout: float = CONNECT_TIMEOUT,
        seed: int | None = None,
        protocols: ProtocolRegistry = BUILTIN_PROTOCOLS,
    ) -> None:
        self._channel = Channel(config, name=name, variables=variables, seed=seed, protocols=protocols)
        self._cluster = cluster
        self._timeout = timeout

    async def __aenter__(self) -> Channel:
        ch = await self._channel.__aenter__()
        try:
            await ch.connect(self._cluster, timeout=self._timeout)
        except BaseException:
            await ch.close()
            raise
        return ch

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._channel.__aexit__(exc_type, exc, tb)
