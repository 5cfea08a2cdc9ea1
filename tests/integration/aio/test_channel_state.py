"""State transfer between two real Channels over loopback (tcp-state.xml: tcp-fc.xml + BARRIER + STATE_TRANSFER)."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the channel under test is asyncio
from collections.abc import Awaitable, Callable

import pytest

from pygroups.aio.blocking import BlockingChannel
from pygroups.aio.channel import Channel, open_channel
from pygroups.errors import StateTransferError
from tests.support.net import free_ports


def run(test: Callable[[], Awaitable[None]], limit: float = 60) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(limit):
            await test()

    asyncio.run(bounded())


def variables(ports: list[int], i: int) -> dict[str, str]:
    hosts = ",".join(f"127.0.0.1[{p}]" for p in ports)
    return {"jgroups.bind_addr": "127.0.0.1", "jgroups.bind_port": str(ports[i]),
            "jgroups.tcpping.initial_hosts": hosts, "jgroups.tcp.port_range": "0"}


@pytest.mark.parametrize("size", [1024, 10 * 1024 * 1024], ids=["1KB", "10MB"])
def test_a_joiner_gets_the_coordinators_state(size: int) -> None:
    ports = free_ports(2)
    state = bytes(range(256)) * (size // 256)
    installed: list[bytes] = []

    async def body() -> None:
        async with open_channel("tcp-state.xml", cluster="st", name="A", variables=variables(ports, 0)) as a:
            a.state_provider = lambda: state
            async with Channel("tcp-state.xml", name="B", variables=variables(ports, 1)) as b:
                b.on_state = installed.append
                await b.connect("st", with_state=True, state_timeout=30)
                assert installed == [state]
                assert a.stats()["pbcast.STATE_TRANSFER"]["num_bytes_sent"] == size
                assert await a.get_state() is None  # the coordinator has nobody to ask

    run(body)


def test_get_state_errors() -> None:
    ports = free_ports(2)

    async def body() -> None:
        async with open_channel("tcp-state.xml", cluster="st", name="A", variables=variables(ports, 0)) as a, \
                open_channel("tcp-state.xml", cluster="st", name="B", variables=variables(ports, 1)) as b:
            await a.wait_view(2, timeout=10)

            def failing() -> bytes:
                raise KeyError("no state here")

            a.state_provider = failing
            with pytest.raises(StateTransferError, match="no state here"):
                await b.get_state(a.address, timeout=10)
            a.state_provider = lambda: b"ok"
            assert await b.get_state(timeout=10) == b"ok"  # no on_state: returned only

    run(body)


def test_the_blocking_channel_transfers_state() -> None:
    ports = free_ports(2)
    with BlockingChannel("tcp-state.xml", name="A", variables=variables(ports, 0)) as a, \
            BlockingChannel("tcp-state.xml", name="B", variables=variables(ports, 1)) as b:
        a.state_provider = lambda: b"blocking"
        a.connect("st")
        b.connect("st")
        b.wait_view(2, timeout=10)
        assert b.get_state(timeout=10) == b"blocking"
