"""`pygroups demo`: a three-member cluster on loopback in one process, narrated.

Each member is a full `Channel` on a stock stack with its own TCP port on 127.0.0.1, exactly as
separate processes (or Java nodes) would be: members join one by one, exchange a few messages, one
leaves. No input needed; a few seconds. The narration prints Java's formats (Chat's lines).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable, Sequence

from pygroups.aio.channel import DEFAULT_STACK, Channel, StackConfig
from pygroups.aio.chat import message_line, view_line
from pygroups.message import Message
from pygroups.view import View

NAMES = ("A", "B", "C", "D", "E", "F", "G", "H")
DEMO_CLUSTER = "pygroups-demo"


def free_port_block(count: int, candidates: Sequence[int] = range(7800, 8800, 10)) -> int:
    """The first base port with ``count`` consecutive free ports on 127.0.0.1."""
    for base in candidates:
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the driver binds
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise OSError(f"no {count} consecutive free ports on 127.0.0.1 in {candidates[0]}..{candidates[-1]}")


def demo_variables(base_port: int, index: int, count: int) -> dict[str, str]:
    """Member ``index`` binds base_port + index; discovery probes base_port .. base_port + count - 1."""
    return {
        "jgroups.bind_addr": "127.0.0.1",
        "jgroups.bind_port": str(base_port + index),
        "jgroups.tcpping.initial_hosts": f"127.0.0.1[{base_port}]",
        "jgroups.tcp.port_range": str(count - 1),
    }


class _Member:
    def __init__(self, ch: Channel, say: Callable[[str, str], None]) -> None:
        self.ch = ch
        self.received: list[str] = []
        self.changed = asyncio.Event()
        self._name = ch.name or "?"
        self._say_to = say
        ch.on_view = self._view
        ch.on_message = self._message

    def _say(self, text: str) -> None:
        self._say_to(self._name, text)

    def _view(self, view: View) -> None:
        self._say(view_line(self.ch, view))
        self.changed.set()

    def _message(self, msg: Message) -> None:
        line = message_line(self.ch, msg)
        self.received.append(line)
        self._say(line)
        self.changed.set()

    async def until(self, pred: Callable[[], bool], timeout: float, what: str) -> None:
        try:
            async with asyncio.timeout(timeout):
                while not pred():
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise TimeoutError(f"{self.ch.name}: {what} within {timeout:g} s (view: {self.ch.format_view()})") from None

    async def until_view_size(self, size: int, timeout: float) -> None:
        def ok() -> bool:
            return self.ch.view is not None and len(self.ch.view.members) == size

        await self.until(ok, timeout, f"no view with {size} members")

    async def until_received(self, count: int, timeout: float) -> None:
        await self.until(lambda: len(self.received) >= count, timeout, f"fewer than {count} messages")


async def run_demo(
    write: Callable[[str], object],
    *,
    config: StackConfig = DEFAULT_STACK,
    count: int = 3,
    base_port: int | None = None,
    cluster: str = DEMO_CLUSTER,
    timeout: float = 15.0,
) -> None:
    """Start ``count`` members, exchange messages, let the last one leave; raises on any failure."""
    if not 2 <= count <= len(NAMES):
        raise ValueError(f"count must be 2..{len(NAMES)}")
    started = time.monotonic()
    base = free_port_block(count) if base_port is None else base_port
    stack_name = config if isinstance(config, str) else "custom stack"

    def say(who: str, text: str) -> None:
        write(f"  {who}  {text}\n")

    write(f"pygroups demo: {count} members of cluster {cluster!r} in this process, stack {stack_name}, "
          f"TCP on 127.0.0.1:{base}-{base + count - 1}\n\n")
    members: list[_Member] = []
    try:
        for i in range(count):
            name = NAMES[i]
            ch = Channel(config, name=name, variables=demo_variables(base, i, count))
            m = _Member(ch, say)
            members.append(m)
            write(f"{name} joins" + (" (first member: it waits for discovery, then becomes coordinator)\n"
                                     if i == 0 else "\n"))
            await ch.connect(cluster, timeout=timeout)
            for other in members:
                await other.until_view_size(i + 1, timeout)
        write("\nEvery member multicasts one message (an ObjectMessage carrying a Java String):\n")
        for m in members:
            await m.ch.send(None, f"hello from {m.ch.name}")
        for m in members:
            await m.until_received(count, timeout)
        first, last = members[0], members[-1]
        write(f"\n{members[1].ch.name} sends a unicast to {first.ch.name}:\n")
        await members[1].ch.send(first.ch.address, "just for you")
        await first.until_received(count + 1, timeout)
        write(f"\n{last.ch.name} leaves:\n")
        members.pop()
        await last.ch.close()
        for m in members:
            await m.until_view_size(count - 1, timeout)
        if len(members) > 1:
            write(f"\n{first.ch.name}, the coordinator, leaves: the next member takes over:\n")
            members.pop(0)
            await first.ch.close()
            for m in members:
                await m.until_view_size(count - 2, timeout)
    finally:
        for m in members:
            m.ch.on_view = m.ch.on_message = None
            with contextlib.suppress(Exception):
                await m.ch.close()
    write(f"\nDone in {time.monotonic() - started:.1f} s. Next: run `pygroups chat --name X` in two terminals "
          f"(it interoperates with Java's org.jgroups.demos.Chat -props tcp-core.xml).\n")
