"""`pygroups chat`: the JGroups Chat demo (org.jgroups.demos.Chat) on a `Channel`.

Output is Java's: ``** view: [A|1] (2) [A, B]`` for each view and ``[B]: hello`` for each message
(``"[" + msg.getSrc() + "]: " + msg.getObject()``). Like Java, each stdin line is lower-cased and
multicast as an ObjectMessage carrying a Java String, and a line starting with "quit" or "exit"
ends the chat. Differences: the ``> `` prompt is printed only when stdin is a terminal, and end of
input leaves the cluster (Java's Chat keeps looping on it).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Callable, Coroutine, Mapping
from typing import IO, Any

from pygroups.aio.channel import Channel, StackConfig, java_string, payload_object
from pygroups.message import Message
from pygroups.view import View

DEFAULT_CLUSTER = "chat"  # Chat.CLUSTER


def run_sync(coro: Coroutine[Any, Any, None]) -> None:
    """``asyncio.run`` for the command line (which, being outside pygroups.aio, does not import asyncio)."""
    asyncio.run(coro)


def view_line(ch: Channel, view: View) -> str:
    """Chat.viewAccepted."""
    return "** view: " + ch.format_view(view)


def message_line(ch: Channel, msg: Message) -> str:
    """Chat.receive."""
    return f"[{ch.name_of(msg.src)}]: {java_string(payload_object(msg))}"


def chat_line(line: str) -> str | None:
    """What Chat.eventLoop does with one input line: the text to send, or None to stop."""
    text = line.rstrip("\r\n").lower()
    if text.startswith(("quit", "exit")):
        return None
    return text


def _read_lines(stream: IO[str], loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    """Blocking stdin reads on a daemon thread (stdin has no portable non-blocking API). The chat may end
    (its loop closed) while this thread still waits for a line: it then stops quietly."""
    try:
        for line in iter(stream.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line)
        loop.call_soon_threadsafe(queue.put_nowait, None)
    except RuntimeError:  # "Event loop is closed": nobody is reading any more
        pass


async def run_chat(
    config: StackConfig,
    *,
    name: str | None = None,
    cluster: str = DEFAULT_CLUSTER,
    variables: Mapping[str, str] | None = None,
    stdin: IO[str] | None = None,
    write: Callable[[str], object] | None = None,
    prompt: bool | None = None,
    connect_timeout: float = 30.0,
) -> None:
    """Join ``cluster``, print views and messages, send stdin lines until EOF or quit/exit."""
    stdin = sys.stdin if stdin is None else stdin
    if write is None:
        def write(text: str) -> None:
            sys.stdout.write(text)
            sys.stdout.flush()
    if prompt is None:
        prompt = stdin.isatty()
    ch = Channel(config, name=name, variables=variables)
    ch.on_view = lambda v: write(view_line(ch, v) + "\n")
    ch.on_message = lambda m: write(message_line(ch, m) + "\n")
    async with ch:
        await ch.connect(cluster, timeout=connect_timeout)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=_read_lines, args=(stdin, loop, queue), name="chat-stdin", daemon=True).start()
        while True:
            if prompt:
                write("> ")
            line = await queue.get()
            if line is None:
                break
            text = chat_line(line)
            if text is None:
                break
            await ch.send(None, text)
