"""FD_SOCK2 over real loopback sockets through the asyncio driver: three channels on tcp-core.xml plus
FD_SOCK2 (bound to 127.0.0.1). Killing a member's driver (every socket reset, no goodbye) makes the
survivors suspect and exclude it; a graceful disconnect makes nobody suspect anything."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the channels under test are asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from pygroups.aio.channel import Channel
from pygroups.protocols.fd_sock2 import FD_SOCK2
from pygroups.stack.config import resolve_stack
from tests.support.net import free_ports


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(30):
            await test()

    asyncio.run(bounded())


@pytest.fixture
def stack_file(tmp_path: Path) -> Path:
    """tcp-core.xml with FD_SOCK2 above TCPPING (where tcp.xml has it)."""
    core = Path(resolve_stack("tcp-core.xml")).read_text()
    fd = '<FD_SOCK2 bind_addr="127.0.0.1" connect_timeout="500ms" suspect_msg_interval="1s"/>\n    <pbcast.NAKACK2'
    text, n = re.subn(r"<pbcast\.NAKACK2", fd, core, count=1)
    assert n == 1
    path = tmp_path / "tcp-fdsock.xml"
    path.write_text(text)
    return path


@contextlib.asynccontextmanager
async def three(stack_file: Path) -> AsyncIterator[list[Channel]]:
    ports = free_ports(3)
    hosts = ",".join(f"127.0.0.1[{p}]" for p in ports)
    channels = [Channel(str(stack_file), name=n, variables={
        "jgroups.bind_addr": "127.0.0.1", "jgroups.bind_port": str(ports[i]),
        "jgroups.tcpping.initial_hosts": hosts, "jgroups.tcp.port_range": "0"}) for i, n in enumerate("ABC")]
    try:
        for ch in channels:
            await ch.connect("fd-it")
        for ch in channels:
            await ch.wait_view(3, timeout=10)
        await until(lambda: all(fd(ch).ping_dest.connected for ch in channels), "a complete ring")
        yield channels
    finally:
        for ch in channels:
            await ch.close()


def fd(ch: Channel) -> FD_SOCK2:
    return ch.stack.find(FD_SOCK2)


async def until(pred: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.01)  # polling real sockets under a deadline
    assert pred(), what


def test_ring_over_real_sockets(stack_file: Path) -> None:
    async def body() -> None:
        async with three(stack_file) as (a, b, c):
            for ch in (a, b, c):
                srv = fd(ch).server_address
                assert srv is not None and str(srv.ip) == "127.0.0.1"
                physical = ch.stack.transport.physical_addr
                assert physical is not None and srv.port in range(physical.port + 100, physical.port + 104)
            assert fd(a).ping_dest.dest == b.address and fd(b).ping_dest.dest == c.address
            assert fd(c).ping_dest.dest == a.address
            assert sum(fd(ch).counters["SUSPECT sent"] for ch in (a, b, c)) == 0

    run(body)


def test_killed_member_is_suspected_and_excluded(stack_file: Path) -> None:
    async def body() -> None:
        async with three(stack_file) as (a, b, c):
            driver = c._driver
            assert driver is not None
            driver.abort()  # kill -9: the sockets die without the graceful-close marker
            await a.wait_view(2, timeout=10)
            await b.wait_view(2, timeout=10)
            assert a.format_view() == b.format_view() and "C" not in a.format_view()
            assert fd(b).counters["ping dest connection lost"] == 1  # B watched C
            assert fd(a).counters["suspect events raised"] >= 1  # A, the coordinator, acted on it
            await until(lambda: fd(a).ping_dest.dest == b.address and fd(b).ping_dest.dest == a.address
                        and fd(a).ping_dest.connected and fd(b).ping_dest.connected, "the ring of two")

    run(body)


def test_graceful_disconnect_is_not_a_suspicion(stack_file: Path) -> None:
    async def body() -> None:
        async with three(stack_file) as (a, b, c):
            await b.disconnect()
            await a.wait_view(2, timeout=10)
            await c.wait_view(2, timeout=10)
            await until(lambda: fd(a).ping_dest.dest == c.address and fd(c).ping_dest.dest == a.address
                        and fd(a).ping_dest.connected and fd(c).ping_dest.connected, "the ring of two")
            await asyncio.sleep(1.5)  # a SUSPECT would be re-sent within suspect_msg_interval (1 s)
            for ch in (a, c):
                assert fd(ch).counters["SUSPECT sent"] == 0, fd(ch).counters
                assert fd(ch).counters["SUSPECT received"] == 0
                assert fd(ch).counters["suspect events raised"] == 0

    run(body)
