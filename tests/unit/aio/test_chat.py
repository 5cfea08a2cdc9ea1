"""The chat's stdin reader thread (pygroups.aio.chat)."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the chat runs on asyncio
import io

from pygroups.aio.chat import _read_lines


def test_stdin_reader_stops_quietly_when_the_chat_loop_is_gone() -> None:
    """The chat can end (its loop closed) while the reader thread still waits for a line; the line that finally
    arrives must not raise "Event loop is closed" in that thread (CI reported it as an unhandled thread error)."""
    loop = asyncio.new_event_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop.close()
    _read_lines(io.StringIO("late line\n"), loop, queue)  # returns, nothing raised
    assert queue.empty()


def test_stdin_reader_hands_over_every_line_then_the_end() -> None:
    loop = asyncio.new_event_loop()
    try:
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        _read_lines(io.StringIO("a\nb\n"), loop, queue)
        loop.run_until_complete(asyncio.sleep(0))
        assert [queue.get_nowait() for _ in range(3)] == ["a\n", "b\n", None]
    finally:
        loop.close()
