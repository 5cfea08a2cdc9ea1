"""Channel over real loopback sockets on the stock stacks (the layers have their own tests; this checks the
wiring of Channel, driver, TCP and TCPPING)."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the channel under test is asyncio
from collections.abc import Awaitable, Callable

import pytest

from pygroups.aio.channel import open_channel, payload_object
from pygroups.stack.io import Received
from tests.support.net import free_ports


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(20):
            await test()

    asyncio.run(bounded())


@pytest.mark.parametrize("stack", ["tcp-core.xml", "tcp-fc.xml"])
def test_two_members_on_the_stock_stack(stack: str) -> None:
    ports = free_ports(2)
    hosts = ",".join(f"127.0.0.1[{p}]" for p in ports)

    def variables(i: int) -> dict[str, str]:
        return {"jgroups.bind_addr": "127.0.0.1", "jgroups.bind_port": str(ports[i]),
                "jgroups.tcpping.initial_hosts": hosts, "jgroups.tcp.port_range": "0"}

    async def body() -> None:
        async with open_channel(stack, cluster="it", name="A", variables=variables(0)) as a, \
                open_channel(stack, cluster="it", name="B", variables=variables(1)) as b:
            assert b.format_view() == "[A|1] (2) [A, B]"  # joined A: the first view already has both
            await a.wait_view(2, timeout=10)
            await b.send(None, "hi")
            await b.send(a.address, 7)
            got = []
            while len(got) < 2:
                ev = await a.receive(timeout=10)
                if isinstance(ev, Received):
                    got.append((a.name_of(ev.msg.src), payload_object(ev.msg)))
            assert got == [("B", "hi"), ("B", 7)]
            await b.disconnect()
            assert a.format_view(await a.wait_view(1, timeout=10)) == "[A|2] (1) [A]"
            await b.connect("it")  # again, with a fresh address, as JChannel does
            assert b.format_view() == "[A|3] (2) [A, B]"
            await a.wait_view(2, timeout=10)

    run(body)
