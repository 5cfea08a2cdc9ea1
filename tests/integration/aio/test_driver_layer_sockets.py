"""StackDriver with a layer above the transport that has its own server socket (as FD_SOCK2 does):
accepted connections reach that layer, StopListening closes its socket, abort() resets every socket."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the driver under test is asyncio
import random
import socket  # noqa: TID251 - a raw peer
from collections.abc import Awaitable, Callable

import pytest

from pygroups.address import IpAddress
from pygroups.aio.driver import LoopClock, StackDriver
from pygroups.stack.io import ConnId, IoResult, Listen, Listening, StopListening
from pygroups.stack.layer import Layer
from pygroups.stack.stack import ProtocolStack
from tests.support.aio_toys import LineTransport, until
from tests.support.net import free_port

LOCAL = "127.0.0.1"


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(20):
            await test()

    asyncio.run(bounded())


class Sock(Layer):
    """Listens on its own port; records the inputs of the connections it owns."""

    name = "SOCK"

    def __init__(self, changed: asyncio.Event) -> None:
        super().__init__()
        self.changed = changed
        self.rid = 0
        self.bound: IpAddress | None = None
        self.seen: list[tuple[str, int, object]] = []

    def start(self) -> None:
        self.rid = self.stack.new_request_id()
        self.emit(Listen(self.rid, IpAddress(LOCAL, 0)))

    def on_io_result(self, result: IoResult) -> None:
        if isinstance(result, Listening):
            self.bound = result.addr
        self.changed.set()

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        self.seen.append(("open", conn, peer))
        self.changed.set()

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        self.seen.append(("bytes", conn, data))
        self.changed.set()

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        self.seen.append(("closed", conn, error))
        self.changed.set()


def test_a_layer_owns_its_server_socket_and_abort_resets_everything() -> None:
    async def body() -> None:
        changed = asyncio.Event()
        line = LineTransport(IpAddress(LOCAL, 0))
        sock = Sock(changed)
        line.on_change = changed.set
        stack = ProtocolStack([line, sock], clock=LoopClock(), rng=random.Random(3))
        driver = StackDriver(stack, on_event=lambda ev: None)
        driver.call(stack.connect, "t")
        await until(lambda: sock.bound is not None and line.results != [], changed)
        assert sock.bound is not None
        loop = asyncio.get_running_loop()

        reader, writer = await asyncio.open_connection(LOCAL, sock.bound.port)
        writer.write(b"fd bytes")
        await writer.drain()
        await until(lambda: [k for k, *_ in sock.seen] == ["open", "bytes"], changed)
        assert line.events == []  # the transport never heard of it

        driver.call(stack.run_input, sock.emit, StopListening(sock.rid))
        with socket.socket() as s:
            s.setblocking(False)
            refused = False
            try:
                await loop.sock_connect(s, (LOCAL, sock.bound.port))
            except OSError:
                refused = True
            assert refused

        driver.abort()  # kill -9: the peer's read ends without any further byte
        try:
            rest = await reader.read()
        except ConnectionResetError:
            rest = b""
        assert rest == b""  # EOF or reset, nothing written on the way out
        writer.close()
        assert driver.closed and driver.connection_count == 0
        driver.abort()  # idempotent
        await driver.aclose()

    run(body)


def test_stop_listening_before_the_socket_is_bound_leaves_no_server() -> None:
    async def body() -> None:
        changed = asyncio.Event()
        sock = Sock(changed)
        stack = ProtocolStack([LineTransport(None), sock], clock=LoopClock(), rng=random.Random(4))
        driver = StackDriver(stack, on_event=lambda ev: None)
        driver.call(stack.connect, "t")
        await driver.settle()
        port = free_port()

        def listen_and_stop() -> None:  # a disconnect right after connect: both in one flush
            rid = stack.new_request_id()
            sock.emit(Listen(rid, IpAddress(LOCAL, port)))
            sock.emit(StopListening(rid))

        driver.call(stack.run_input, listen_and_stop)
        await driver.settle()
        with socket.socket() as s:
            s.setblocking(False)
            with pytest.raises(OSError):
                await asyncio.get_running_loop().sock_connect(s, (LOCAL, port))
        await driver.aclose()

    run(body)
