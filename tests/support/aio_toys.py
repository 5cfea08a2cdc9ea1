"""Toy layers for the asyncio driver and channel tests (the real TCP/GMS layers are tested elsewhere).

`LineTransport` speaks a line protocol over real sockets through the driver's I/O commands;
`LoopbackTransport` + `SingletonGms` + `Valve` make a one-member stack for channel tests.
"""

from __future__ import annotations

import asyncio  # noqa: TID251 - test helpers wait on asyncio events
from collections.abc import Callable
from typing import Any

from pygroups.address import IpAddress
from pygroups.events import Connect, Event, ViewChange
from pygroups.message import Message
from pygroups.stack.io import Close, ConnId, IoResult, Listen, Listening, OpenConnection, Write
from pygroups.stack.layer import Layer, TransportLayer
from pygroups.view import View, ViewId


async def until(pred: Callable[[], bool], changed: asyncio.Event, timeout: float = 5.0) -> None:
    """Wait until ``pred()`` holds, re-checking whenever ``changed`` is set; fail after ``timeout``."""
    async with asyncio.timeout(timeout):
        while not pred():
            changed.clear()
            await changed.wait()


class LineTransport(TransportLayer):
    """Listens (optionally), opens connections, writes and closes on request; records everything.

    Received lines: ``echo X`` is answered with ``re X``; ``boom`` raises (a layer bug); each line
    also goes up as a message.
    """

    name = "LINE"

    def __init__(self, listen_on: IpAddress | None = None, port_range: int = 0) -> None:
        super().__init__()
        self.listen_on = listen_on
        self.port_range = port_range
        self.events: list[tuple[object, ...]] = []
        self.results: list[IoResult] = []
        self.bound: IpAddress | None = None
        self.fired: list[tuple[str, int]] = []
        self.opened: list[ConnId] = []
        self.buffers: dict[ConnId, bytes] = {}
        self.held = 0
        self.on_change: Callable[[], object] | None = None

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def start(self) -> None:
        if self.listen_on is not None:
            self.emit(Listen(self.stack.new_request_id(), self.listen_on, self.port_range))

    def on_io_result(self, result: IoResult) -> None:
        self.results.append(result)
        if isinstance(result, Listening):
            self.bound = result.addr
        self._changed()

    # --- driven by the tests (through stack.run_input) -----------------------------------------

    def open(self, peer: IpAddress, timeout_ms: int = 0, greeting: bytes = b"") -> None:
        conn = self.stack.new_conn_id()
        self.opened.append(conn)
        self.emit(OpenConnection(conn, peer, timeout_ms, local=IpAddress("127.0.0.1", 0)))
        if greeting:
            self.emit(Write(conn, greeting))  # before the connection is up: the driver buffers it

    def write(self, conn: ConnId, data: bytes) -> None:
        self.emit(Write(conn, data))

    def close(self, conn: ConnId, graceful: bool = True) -> None:
        self.emit(Close(conn, graceful))

    def schedule(self, delay_ns: int, tag: str) -> None:
        self.timers.call_later(delay_ns, self._fire, tag)

    def _fire(self, tag: str) -> None:
        self.fired.append((tag, self.now_ns()))
        self._changed()

    def backlog(self) -> int:
        return self.held

    # --- connection inputs ----------------------------------------------------------------------

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.events.append(("open", conn, peer))
        self._changed()

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        buf = self.buffers.get(conn, b"") + data
        *lines, rest = buf.split(b"\n")
        self.buffers[conn] = rest
        for line in lines:
            self.events.append(("line", conn, line))
            if line == b"boom":
                raise RuntimeError("boom")
            if line.startswith(b"echo "):
                self.emit(Write(conn, b"re " + line[5:] + b"\n"))
            self.up_msg(Message(payload=line))
        self._changed()

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.events.append(("closed", conn, error))
        self._changed()

    def lines(self) -> list[bytes]:
        return [e[2] for e in self.events if e[0] == "line"]  # type: ignore[misc]

    def closed(self) -> list[tuple[object, ...]]:
        return [e for e in self.events if e[0] == "closed"]


class LoopbackTransport(TransportLayer):
    """A one-member network: multicasts and messages to ourselves come back up (after the input's
    handler chain, as the real transport's loopback does); messages to others are recorded."""

    name = "LOOP"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Message] = []

    def down_msg(self, msg: Message) -> None:
        self.sent.append(msg)
        if msg.dest is None or msg.dest == self.local_addr:
            copy = msg.copy()
            copy.src = self.local_addr
            self.stack.call_soon(self.up_msg, copy)


class Valve(Layer):
    """Holds messages back while closed (like flow control out of credits): `backlog()` counts them."""

    name = "VALVE"

    def __init__(self) -> None:
        super().__init__()
        self.open = True
        self.held: list[Message] = []

    def down_msg(self, msg: Message) -> None:
        if self.open:
            self.down_layer.down_msg(msg)
        else:
            self.held.append(msg)

    def release(self) -> None:
        self.open = True
        held, self.held = self.held, []
        for msg in held:
            self.down_layer.down_msg(msg)

    def backlog(self) -> int:
        return len(self.held)


class SingletonGms(Layer):
    """Installs a singleton view on connect (or nothing, when ``silent``); `install` pushes a view."""

    name = "FAKE_GMS"

    def __init__(self, silent: bool = False) -> None:
        super().__init__()
        self.silent = silent
        self.disconnects = 0

    def down(self, evt: Event) -> None:
        self.down_layer.down(evt)
        if isinstance(evt, Connect) and not self.silent:
            me = self.local_addr
            assert me is not None
            self.install(View(ViewId(me, 1), (me,)))
        elif type(evt).__name__ == "Disconnect":
            self.disconnects += 1

    def install(self, view: View) -> None:
        self.down_layer.down(ViewChange(view))
        self.up_layer.up(ViewChange(view))


class Hub:
    """An in-process 'network' plus membership service for several channels in one loop.

    `HubTransport` hands messages to the hub; `HubGms` joins/leaves through it. The hub delivers
    into each stack later (``loop.call_soon``) through that stack's driver, as a socket would, so
    no stack input ever runs inside another one. ``drivers`` is filled by `track_drivers`.
    """

    def __init__(self) -> None:
        self.members: list[HubGms] = []
        self.drivers: dict[int, object] = {}
        self.view_id = 0

    def later(self, layer: Layer, fn: Callable[..., object], *args: object) -> None:
        def run() -> None:
            driver = self.drivers.get(id(layer.stack))
            if driver is not None and not driver.closed:  # type: ignore[attr-defined]
                driver._input(layer.stack.run_input, fn, *args)  # type: ignore[attr-defined]

        asyncio.get_running_loop().call_soon(run)

    def send(self, sender: HubTransport, msg: Message) -> None:
        for gms in self.members:
            t = gms.stack.transport
            if msg.dest is None or msg.dest == gms.local_addr:
                copy = msg.copy()
                copy.src = sender.local_addr
                self.later(t, t.up_msg, copy)

    def _install(self) -> None:
        self.view_id += 1
        addrs = tuple(g.local_addr for g in self.members)
        creator = addrs[0] if addrs else None
        view = View(ViewId(creator, self.view_id), addrs)  # type: ignore[arg-type]
        names = {g.local_addr: g.stack.logical_names[g.local_addr] for g in self.members}  # type: ignore[index]
        for g in self.members:
            g.stack.logical_names.update(names)  # type: ignore[arg-type]
            self.later(g, g.install, view)

    def join(self, gms: HubGms) -> None:
        self.members.append(gms)
        self._install()

    def leave(self, gms: HubGms) -> None:
        if gms in self.members:
            self.members.remove(gms)
            self._install()


class HubTransport(TransportLayer):
    name = "HUB"

    def __init__(self, hub: Hub) -> None:
        super().__init__()
        self.hub = hub

    def down_msg(self, msg: Message) -> None:
        self.hub.send(self, msg)


class HubGms(SingletonGms):
    """Joins the hub on connect (views come later, from the hub); leaves on disconnect."""

    name = "HUB_GMS"

    def __init__(self, hub: Hub) -> None:
        super().__init__(silent=True)
        self.hub = hub

    def down(self, evt: Event) -> None:
        super().down(evt)
        if isinstance(evt, Connect):
            self.hub.join(self)
        elif type(evt).__name__ == "Disconnect":
            self.hub.leave(self)


def hub_layers(hub: Hub) -> Callable[[], list[Layer]]:
    return lambda: [HubTransport(hub), HubGms(hub)]


def track_drivers(monkeypatch: Any, hub: Hub) -> None:
    """Make every Channel's driver known to ``hub`` (patches the class the channel module uses)."""
    from pygroups.aio import channel
    from pygroups.aio.driver import StackDriver

    class Tracked(StackDriver):
        def __init__(self, stack: Any, **kwargs: Any) -> None:
            super().__init__(stack, **kwargs)
            hub.drivers[id(stack)] = self

    monkeypatch.setattr(channel, "StackDriver", Tracked)
