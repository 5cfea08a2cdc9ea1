"""Probe diagnostics on real sockets, loopback only: pygroups nodes answer the probe client over TCP
and over UDP multicast (a group joined on the loopback interface only, sent with TTL 0 from
127.0.0.1: nothing leaves the host). The byte formats are in tests/unit/protocols/test_diagnostics.py."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the driver under test is asyncio
import socket  # noqa: TID251 - a raw probe connection
from collections.abc import Awaitable, Callable, Mapping

import pytest

from pygroups.aio.channel import Channel, open_channel
from pygroups.aio.diag import DiagServer, ProbeClient, parse_member_addrs
from pygroups.aio.driver import StackDriver
from tests.support.net import free_ports

GROUP = "239.255.75.75"  # an admin-scoped test group, never JGroups' 224.0.75.75


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(body(), 60))


def free_block(n: int) -> int:
    """n consecutive free loopback ports, below the ephemeral range (no client socket takes one)."""
    for base in range(22000, 32000, 89):
        try:
            for p in range(base, base + n):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
    raise AssertionError("no free block of ports")


def node_vars(tcp_port: int, hosts: str, **diag: str) -> dict[str, str]:
    return {"jgroups.bind_addr": "127.0.0.1", "jgroups.bind_port": str(tcp_port), "jgroups.tcp.port_range": "0",
            "jgroups.tcpping.initial_hosts": hosts, "jgroups.diag.enabled": "true",
            **{f"jgroups.diag.{k}": v for k, v in diag.items()}}


async def diag_of(ch: Channel) -> DiagServer:
    driver = ch._driver
    assert isinstance(driver, StackDriver)
    await driver.settle()
    assert driver.diagnostics is not None
    return driver.diagnostics


async def probe(request: str, addr: str, port: int, *, tcp: bool, passcode: str | None = None,
                ttl: int = 0, timeout_ms: int = 1500) -> list[str]:
    answers: list[str] = []
    client = ProbeClient(lambda b: answers.append(b.decode()), port=port, timeout_ms=timeout_ms, ttl=ttl,
                         bind_addr="127.0.0.1", passcode=passcode)
    await asyncio.to_thread(client.run, [addr], request, udp=not tcp, tcp=tcp)
    return sorted(answers)


def test_tcp_probe_with_member_addrs_discovery_on_consecutive_ports() -> None:
    """Two nodes take diag.port and diag.port+1 (the first free port of the range); Probe's -addr
    scheme asks the first for member-addrs, then port and port+1."""
    ports = free_ports(2)
    hosts = ",".join(f"127.0.0.1[{p}]" for p in ports)
    base = free_block(21)
    diag: Mapping[str, str] = {"enable_tcp": "true", "enable_udp": "false", "port": str(base), "port_range": "20"}

    async def body() -> None:
        va, vb = node_vars(ports[0], hosts, **diag), node_vars(ports[1], hosts, **diag)
        async with open_channel("tcp-core.xml", cluster="dc", name="A", variables=va) as a, \
                open_channel("tcp-core.xml", cluster="dc", name="B", variables=vb) as b:
            await a.wait_view(2, timeout=10)
            da, db = await diag_of(a), await diag_of(b)
            assert da.udp_address is None and da.tcp_address is not None and db.tcp_address is not None
            assert (da.tcp_address[1], db.tcp_address[1]) == (base, base + 1)
            answers = await probe("", "127.0.0.1", base, tcp=True)
            assert [x.splitlines()[0] for x in answers] == [f"A (ip=127.0.0.1:{ports[0]})",
                                                           f"B (ip=127.0.0.1:{ports[1]})"]
            assert all(x.splitlines()[1:3] == ["view=[A|1] (2) [A, B]", "cluster=dc"] for x in answers)
            keyed = await probe("cluster=d. member-addrs jmx=GMS.coord", "127.0.0.1", base, tcp=True)
            assert [x.split("\n", 1)[1] for x in keyed] == [
                f"member-addrs={m}\r\nGMS={{coord={c}}}\r\n" for m, c in
                ((f"127.0.0.1:{ports[0]}, 127.0.0.1:{ports[1]}", "true"),
                 (f"127.0.0.1:{ports[1]}, 127.0.0.1:{ports[0]}", "false"))]
            assert await probe("cluster=other", "127.0.0.1", base, tcp=True) == []
        with pytest.raises(OSError):  # closed with the channel
            socket.create_connection(("127.0.0.1", base), timeout=2).close()

    run(body)


def test_udp_probe_on_a_loopback_multicast_group() -> None:
    port = free_ports(1)[0]
    diag_port = free_ports(1)[0]

    async def body() -> None:
        variables = node_vars(port, f"127.0.0.1[{port}]", mcast_addr=GROUP, port=str(diag_port))
        async with open_channel("tcp-core.xml", cluster="mc", name="M", variables=variables) as m:
            d = await diag_of(m)
            assert d.udp_address == (GROUP, diag_port) and d.tcp_address is None
            answers = await probe("keys", GROUP, diag_port, tcp=False)
            assert len(answers) == 1
            assert answers[0].startswith(f"M [ip=127.0.0.1:{port}, 1 mbr(s), cluster=mc, version=5.5.6.Final")
            assert "\nkeys=dump keys uuids member-addrs " in answers[0]
            assert await probe("cluster=nope", GROUP, diag_port, tcp=False, timeout_ms=300) == []

    run(body)


def test_tcp_request_ends_at_newline_or_eof_and_passcode_is_checked() -> None:
    port = free_ports(1)[0]

    async def body() -> None:
        variables = node_vars(port, f"127.0.0.1[{port}]", enable_tcp="true", enable_udp="false", port="0",
                              bind_addr="127.0.0.1")
        async with open_channel("tcp-core.xml", cluster="pc", name="P", variables=variables) as p:
            d = await diag_of(p)
            assert d.tcp_address is not None
            tcp_port = d.tcp_address[1]

            def raw(data: bytes) -> bytes:
                with socket.create_connection(("127.0.0.1", tcp_port), timeout=5) as s:
                    s.sendall(data)
                    s.shutdown(socket.SHUT_WR)
                    out = b""
                    while chunk := s.recv(65536):
                        out += chunk
                    return out

            assert (await asyncio.to_thread(raw, b"member-addrs")).endswith(f"127.0.0.1:{port}\r\n".encode())
            assert (await asyncio.to_thread(raw, b"member-addrs\nignored")).endswith(b"\r\n")
            tp = p.stack.transport
            tp.diag_passcode = "pw"  # type: ignore[attr-defined]
            assert await probe("", "127.0.0.1", tcp_port, tcp=True) == []
            assert await probe("", "127.0.0.1", tcp_port, tcp=True, passcode="bad") == []
            (answer,) = await probe("", "127.0.0.1", tcp_port, tcp=True, passcode="pw")
            assert answer.startswith(f"P (ip=127.0.0.1:{port})\n")

    run(body)


def test_no_sockets_when_disabled() -> None:
    port = free_ports(1)[0]

    async def body() -> None:
        variables = {"jgroups.bind_port": str(port), "jgroups.tcpping.initial_hosts": f"127.0.0.1[{port}]"}
        async with open_channel("tcp-core.xml", cluster="off", name="O", variables=variables) as o:
            driver = o._driver
            assert isinstance(driver, StackDriver) and driver.diagnostics is None

    run(body)


@pytest.mark.parametrize(("answer", "targets"), [
    ("A [ip=...]\nmember-addrs=127.0.0.1:7800, 127.0.0.1:7801\r\n", [("127.0.0.1", 7500), ("127.0.0.1", 7501)]),
    ("x\nmember-addrs=127.0.0.2:7800\r\nother=1\r\n", [("127.0.0.2", 7500)]),
    ("member-addrs=[::1]:7800", [("::1", 7500)]),
    ("no addresses", []),
])
def test_parse_member_addrs_like_probe(answer: str, targets: list[tuple[str, int]]) -> None:
    assert parse_member_addrs(answer, 7500) == targets
