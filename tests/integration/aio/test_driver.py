"""StackDriver over real loopback sockets, with a toy line-protocol transport (tests/support/aio_toys.py)."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the driver under test is asyncio
import random
import socket  # noqa: TID251 - raw peers and busy ports
import threading  # noqa: TID251 - a blocking call's worker thread
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pytest

from pygroups.address import IpAddress
from pygroups.aio.driver import LoopClock, StackDriver
from pygroups.aio.handlers import IoHandler
from pygroups.errors import ChannelClosed
from pygroups.protocols.dns.requests import ResolveDns
from pygroups.protocols.kubernetes.requests import ListPods, WarmUpKubeClient
from pygroups.stack.io import (
    AppEvent,
    ConnId,
    IoFailed,
    IoHint,
    IoRequest,
    IoResult,
    Listen,
    Listening,
    Received,
)
from pygroups.stack.stack import ProtocolStack
from tests.support.aio_toys import LineTransport, until
from tests.support.net import free_port

LOCAL = "127.0.0.1"


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(20):
            await test()

    asyncio.run(bounded())


@dataclass
class Node:
    t: LineTransport
    stack: ProtocolStack
    d: StackDriver
    changed: asyncio.Event
    events: list[AppEvent] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)

    def input(self, fn: Callable[..., object], *args: Any) -> None:
        self.d.call(self.stack.run_input, fn, *args)

    async def until(self, pred: Callable[[], object]) -> None:
        await until(lambda: bool(pred()), self.changed)


async def node(listen: bool = True, port: int = 0, port_range: int = 0, high_water: int = 1 << 20,
               io_handlers: dict[type[Any], IoHandler] | None = None) -> Node:
    t = LineTransport(IpAddress(LOCAL, port) if listen else None, port_range)
    stack = ProtocolStack([t], clock=LoopClock(), rng=random.Random(7))
    changed = asyncio.Event()
    t.on_change = changed.set
    events: list[AppEvent] = []
    errors: list[BaseException] = []

    def on_error(e: BaseException) -> None:
        errors.append(e)
        changed.set()

    d = StackDriver(stack, on_event=events.append, on_error=on_error, high_water=high_water, io_handlers=io_handlers)
    n = Node(t, stack, d, changed, events, errors)
    d.call(stack.connect, "test")
    if listen:
        await n.until(lambda: t.results)
    return n


def test_listen_connect_write_echo_and_peer_close() -> None:
    async def body() -> None:
        a, b = await node(), await node(listen=False)
        assert a.t.bound is not None and a.t.bound.port != 0 and str(a.t.bound.ip) == LOCAL
        b.input(b.t.open, a.t.bound, 1000, b"hello\n")  # written before the socket is up
        await a.until(lambda: a.t.lines() == [b"hello"])
        await b.until(lambda: b.t.events)
        conn_b = b.t.opened[0]
        assert b.t.events == [("open", conn_b, a.t.bound)]
        (kind, conn_a, peer), _ = a.t.events
        assert kind == "open" and str(peer.ip) == LOCAL and peer.port != 0  # type: ignore[attr-defined]
        assert [e.msg.payload for e in a.events if isinstance(e, Received)] == [b"hello"]

        b.input(b.t.write, conn_b, b"echo x\nech")
        b.input(b.t.write, conn_b, b"o y\n")
        await b.until(lambda: b.t.lines() == [b"re x", b"re y"])

        b.input(b.t.close, conn_b)  # closed by the stack: reported back once the socket is gone
        await a.until(lambda: a.t.closed())
        await b.until(lambda: b.t.closed())
        assert a.t.closed() == [("closed", conn_a, None)]
        assert b.t.closed() == [("closed", conn_b, None)]
        assert b.d.connection_count == 0 and a.d.connection_count == 0
        await a.d.aclose()
        await b.d.aclose()
        assert a.errors == b.errors == []

    run(body)


def test_stack_close_while_connecting_still_sends_what_was_written() -> None:
    async def body() -> None:
        a, b = await node(), await node(listen=False)
        assert a.t.bound is not None

        def open_and_close() -> None:
            b.t.open(a.t.bound, 0, b"bye\n")  # type: ignore[arg-type]
            b.t.close(b.t.opened[0])

        b.input(open_and_close)
        await a.until(lambda: a.t.closed())
        await b.until(lambda: b.t.events)
        assert a.t.lines() == [b"bye"]
        assert b.t.events == [("closed", b.t.opened[0], None)]  # never reported as opened
        await a.d.aclose()
        await b.d.aclose()

    run(body)


def test_driver_close_is_seen_by_the_peer() -> None:
    async def body() -> None:
        a, b = await node(), await node(listen=False)
        assert a.t.bound is not None
        b.input(b.t.open, a.t.bound, 0, b"x\n")
        await a.until(lambda: a.t.lines())
        await b.d.aclose()
        await a.until(lambda: a.t.closed())
        assert a.t.closed()[0][2] is None
        with pytest.raises(ChannelClosed):
            b.d.call(b.stack.run_input, b.t.write, b.t.opened[0], b"late\n")
        await a.d.aclose()

    run(body)


def test_connection_refused_is_reported_as_closed_with_an_error() -> None:
    async def body() -> None:
        b = await node(listen=False)
        port = free_port()
        b.input(b.t.open, IpAddress(LOCAL, port), 1000, b"lost\n")
        await b.until(lambda: b.t.events)
        ((kind, conn, error),) = b.t.events
        assert kind == "closed" and conn == b.t.opened[0]
        assert isinstance(error, str) and f"{LOCAL}:{port}" in error
        await b.d.aclose()

    run(body)


def test_connect_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    async def body() -> None:
        b = await node(listen=False)
        loop = asyncio.get_running_loop()
        monkeypatch.setattr(loop, "sock_connect", lambda sock, addr: loop.create_future())  # never connects
        b.input(b.t.open, IpAddress(LOCAL, 9), 20)
        await b.until(lambda: b.t.events)
        ((kind, _, error),) = b.t.events
        assert kind == "closed" and "timed out" in str(error)
        await b.d.aclose()

    run(body)


def test_listen_walks_the_port_range_and_fails_without_one() -> None:
    async def body() -> None:
        with socket.socket() as busy:
            busy.bind((LOCAL, 0))
            busy.listen()
            port = busy.getsockname()[1]
            a = await node(port=port, port_range=5)
            (res,) = a.t.results
            assert isinstance(res, Listening) and port < res.addr.port <= port + 5
            b = await node(port=port, port_range=0)
            (res,) = b.t.results
            assert isinstance(res, IoFailed) and str(port) in res.error
        await a.d.aclose()
        await b.d.aclose()

    run(body)


def test_timers_fire_in_order_through_the_loop() -> None:
    async def body() -> None:
        b = await node(listen=False)
        start = b.stack.clock.now_ns()
        b.input(b.t.schedule, 3_000_000, "late")
        b.input(b.t.schedule, 1_000_000, "early")
        b.input(b.t.schedule, 1_000_000, "early2")
        await b.until(lambda: len(b.t.fired) == 3)
        assert [tag for tag, _ in b.t.fired] == ["early", "early2", "late"]
        assert b.t.fired[0][1] >= start + 1_000_000 and b.t.fired[2][1] >= start + 3_000_000
        assert b.stack.next_deadline_ns() is None and b.d._timer is None
        await b.d.aclose()

    run(body)


def test_exception_in_a_layer_stops_the_driver_and_is_surfaced() -> None:
    async def body() -> None:
        a, b = await node(), await node(listen=False)
        assert a.t.bound is not None
        b.input(b.t.open, a.t.bound, 0, b"boom\n")
        await a.until(lambda: a.errors)
        assert isinstance(a.errors[0], RuntimeError) and a.d.closed
        with pytest.raises(RuntimeError, match="boom"):
            a.d.call(a.stack.run_input, a.t.schedule, 1, "x")
        await b.until(lambda: b.t.closed())  # a aborted its sockets
        await b.d.aclose()

    run(body)


def test_backpressure_on_full_socket_buffers_and_on_stack_backlog() -> None:
    async def body() -> None:
        loop = asyncio.get_running_loop()
        with socket.socket() as server:
            server.bind((LOCAL, 0))
            server.listen()
            server.setblocking(False)
            b = await node(listen=False, high_water=64 * 1024)
            b.input(b.t.open, IpAddress(LOCAL, server.getsockname()[1]))
            peer, _ = await loop.sock_accept(server)
            await b.until(lambda: b.t.events)
            chunk, total = b"z" * 65536, 0
            while b.d.writable():  # the peer does not read: kernel buffers fill, then asyncio's
                b.input(b.t.write, b.t.opened[0], chunk)
                total += len(chunk)
                assert total < 1 << 30
            waiter = asyncio.ensure_future(b.d.wait_writable())
            await asyncio.sleep(0)
            assert not waiter.done()
            with peer:
                got = 0
                while got < total:
                    got += len(await loop.sock_recv(peer, 1 << 20))
                await asyncio.wait_for(waiter, 5)
                assert b.d.writable()

                b.t.held = 1  # a layer holds a message back (flow control)
                assert not b.d.writable()
                waiter = asyncio.ensure_future(b.d.wait_writable())
                await asyncio.sleep(0)
                assert not waiter.done()
                b.input(setattr, b.t, "held", 0)  # credits arrived: the next input wakes the sender
                await asyncio.wait_for(waiter, 5)
                await b.d.aclose()

    run(body)


def test_accepted_connection_ids_are_fresh() -> None:
    async def body() -> None:
        a, b = await node(), await node(listen=False)
        assert a.t.bound is not None
        b.input(b.t.open, a.t.bound, 0, b"1\n")
        b.input(b.t.open, a.t.bound, 0, b"2\n")
        await a.until(lambda: len(a.t.lines()) == 2)
        ids = {e[1] for e in a.t.events if e[0] == "open"}
        assert len(ids) == 2 and all(isinstance(i, int) for i in ids)
        assert a.stack.new_conn_id() == ConnId(3)
        await a.d.aclose()
        await b.d.aclose()

    run(body)


class ListenAtInit(LineTransport):
    """Emits its Listen when the stack is built, as TCP does (Java binds in TCP.init)."""

    def init(self) -> None:
        self.emit(Listen(self.stack.new_request_id(), IpAddress(LOCAL, 0)))

    def start(self) -> None:
        pass


def test_commands_from_init_run_when_the_driver_starts_and_settle_waits_for_them() -> None:
    async def body() -> None:
        t = ListenAtInit()
        stack = ProtocolStack([t], clock=LoopClock(), rng=random.Random(1))
        d = StackDriver(stack, on_event=lambda ev: None)
        assert t.results == []
        await d.settle()
        (res,) = t.results
        assert isinstance(res, Listening) and res.addr.port != 0
        await d.settle()  # nothing in flight: returns at once
        await d.aclose()

    run(body)


# --- typed requests for blocking clients (Kubernetes API, DNS) run off the event loop -----------------------


@dataclass(frozen=True, slots=True)
class Blocking(IoRequest):
    """A test request whose handler (given to the driver) blocks a worker thread."""

    what: ClassVar[str] = "kubernetes pods"


@dataclass(frozen=True, slots=True)
class Done(IoResult):
    value: str


@dataclass(frozen=True, slots=True)
class Warm(IoHint):
    pass


def test_default_handlers_cover_the_core_requests() -> None:
    async def body() -> None:
        n = await node(listen=False)
        assert {ListPods, WarmUpKubeClient, ResolveDns} <= set(n.d.io_handlers)
        await n.d.aclose()

    run(body)


def test_blocking_request_runs_off_the_loop_and_answers_the_layer() -> None:
    """While the handler blocks its worker thread, the loop keeps running (timers, other tasks); then its answer."""
    async def body() -> None:
        release = threading.Event()
        ticks = 0
        loop_thread = threading.get_ident()
        threads: list[int] = []

        def blocking_call(req: Blocking) -> Done:
            threads.append(threading.get_ident())
            assert release.wait(10), "the test never released the call"
            return Done(req.request_id, "pods")

        n = await node(listen=False, io_handlers={Blocking: blocking_call})

        async def ticker() -> None:
            nonlocal ticks
            while not release.is_set():
                ticks += 1
                if ticks == 5:
                    release.set()  # only a running loop gets here while the call blocks
                await asyncio.sleep(0.01)

        rid = n.stack.new_request_id()
        n.input(n.t.emit, Blocking(rid))
        await ticker()
        await n.until(lambda: [r for r in n.t.results if isinstance(r, Done)])
        (done,) = [r for r in n.t.results if isinstance(r, Done)]
        assert done == Done(rid, "pods") and ticks >= 5 and threads != [loop_thread]
        await n.d.aclose()

    run(body)


def test_blocking_request_that_raises_is_answered_with_io_failed() -> None:
    async def body() -> None:
        def broken(req: Blocking) -> Done:
            raise RuntimeError("no route to the API server")

        def wrong(req: Blocking) -> str:
            return "not an IoResult"

        n = await node(listen=False, io_handlers={Blocking: broken})
        n.input(n.t.emit, Blocking(n.stack.new_request_id()))
        await n.until(lambda: [r for r in n.t.results if isinstance(r, IoFailed)])
        (failed,) = [r for r in n.t.results if isinstance(r, IoFailed)]
        assert "kubernetes pods failed" in failed.error and "no route" in failed.error
        assert n.errors == [] and not n.d.closed  # an expected kind of failure, not a driver error
        # a handler that answers nonsense is a failure of that request too
        n.d.io_handlers[Blocking] = wrong  # type: ignore[assignment]
        n.input(n.t.emit, Blocking(n.stack.new_request_id()))
        await n.until(lambda: len([r for r in n.t.results if isinstance(r, IoFailed)]) == 2)
        assert "not an IoResult" in [r for r in n.t.results if isinstance(r, IoFailed)][1].error
        await n.d.aclose()

    run(body)


def test_blocking_request_result_after_close_is_dropped() -> None:
    async def body() -> None:
        started, release = threading.Event(), threading.Event()

        def slow(req: Blocking) -> Done:
            started.set()
            release.wait(10)
            return Done(req.request_id, "late")

        n = await node(listen=False, io_handlers={Blocking: slow})
        n.input(n.t.emit, Blocking(n.stack.new_request_id()))
        await asyncio.to_thread(started.wait, 10)
        await n.d.aclose()
        release.set()
        await asyncio.sleep(0.05)
        assert [r for r in n.t.results if isinstance(r, Done)] == []

    run(body)


def test_hints_run_their_handler_off_the_loop_or_are_dropped() -> None:
    async def body() -> None:
        warmed = threading.Event()
        n = await node(listen=False)
        n.input(n.t.emit, Warm())  # no handler: dropped, no error, no answer
        assert n.errors == [] and not n.d.closed

        def warm(hint: Warm) -> None:
            warmed.set()
            raise RuntimeError("a failed warm-up is only logged")

        n.d.io_handlers[Warm] = warm
        n.input(n.t.emit, Warm())
        assert await asyncio.to_thread(warmed.wait, 10)
        await asyncio.sleep(0.05)
        assert n.errors == [] and not n.d.closed and not [r for r in n.t.results if isinstance(r, IoFailed)]
        await n.d.aclose()

    run(body)
