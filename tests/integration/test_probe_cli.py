"""``pygroups probe`` against a pygroups node on loopback (real sockets), and against nobody."""

from __future__ import annotations

import asyncio  # noqa: TID251 - a node runs while the CLI probes it

import pytest

from pygroups import cli
from pygroups.aio.channel import open_channel
from pygroups.aio.driver import StackDriver
from tests.support.net import free_port


def test_probe_a_running_node_over_tcp(capsys: pytest.CaptureFixture[str]) -> None:
    port, base = free_port(), free_port()
    variables = {"jgroups.bind_port": str(port), "jgroups.tcpping.initial_hosts": f"127.0.0.1[{port}]",
                 "jgroups.diag.enabled": "true", "jgroups.diag.enable_udp": "false",
                 "jgroups.diag.enable_tcp": "true", "jgroups.diag.port": str(base), "jgroups.diag.port_range": "0"}

    async def body() -> tuple[int, int]:
        async with open_channel("tcp-core.xml", cluster="cli", name="N", variables=variables) as ch:
            assert isinstance(ch._driver, StackDriver)
            await ch._driver.settle()
            args = ["probe", "-addr", "127.0.0.1", "-port", str(base), "-tcp", "-timeout", "2000"]
            rc = await asyncio.to_thread(cli.main, [*args, "jmx=GMS.coord", "member-addrs"])
            rc_other = await asyncio.to_thread(cli.main, [*args, "-cluster", "nope"])
            return rc, rc_other

    rc, rc_other = asyncio.run(asyncio.wait_for(body(), 60))
    out = capsys.readouterr().out
    header = f"N [ip=127.0.0.1:{port}, 1 mbr(s), cluster=cli, version=5.5.6.Final (pygroups "
    first, second = out.split("1 responses (1 matches, 0 non matches)\n")[0], out.split("\n1 responses")[-1]
    assert rc == 0 and first.startswith("#1 (") and header in first
    assert f"member-addrs=127.0.0.1:{port}\r\nGMS={{coord=true}}\r\n" in first
    assert rc_other == 1 and "0 responses (0 matches, 0 non matches)" in second


def test_nobody_answers(capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()  # nothing listens there
    assert cli.main(["probe", "-addr", "127.0.0.1", "-port", str(port), "-tcp", "true", "-timeout", "200"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "0 responses (0 matches, 0 non matches)\n"
    assert "Connection refused" in captured.err
