"""`BlockingChannel`: a synchronous facade over `Channel` for scripts (an event loop in a thread).

Every method hands a coroutine to the channel's private loop thread and waits for its result, so
exceptions come out of the call that caused them. ``on_message`` / ``on_view`` (and the state
transfer's ``state_provider`` / ``on_state``) callbacks run on
the loop thread (keep them short; use `receive` to process events on the caller's thread).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from pygroups.address import Address
from pygroups.aio.channel import _NOTHING, CONNECT_TIMEOUT, DEFAULT_STACK, STATE_TIMEOUT, Channel, StackConfig
from pygroups.errors import ChannelClosed
from pygroups.message import Message
from pygroups.stack.io import AppEvent
from pygroups.view import View

T = TypeVar("T")


class BlockingChannel:
    """``with BlockingChannel("tcp-core.xml", name="A") as ch: ch.connect("c"); ch.send(None, "hi")``."""

    def __init__(
        self,
        config: StackConfig = DEFAULT_STACK,
        *,
        name: str | None = None,
        variables: Mapping[str, str] | None = None,
        seed: int | None = None,
    ) -> None:
        self.channel = Channel(config, name=name, variables=variables, seed=seed)  # config errors raise here
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"pygroups-{name or 'channel'}",
                                        daemon=True)
        self._thread.start()
        self._stopped = False

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        if self._stopped:
            raise ChannelClosed("the channel is closed")

        async def call() -> T:
            return await make()

        fut: Future[T] = asyncio.run_coroutine_threadsafe(call(), self._loop)
        return fut.result()

    # --- the Channel API, blocking ----------------------------------------------------------------

    def connect(self, cluster: str, *, timeout: float = CONNECT_TIMEOUT, with_state: bool = False,
                state_from: Address | None = None, state_timeout: float | None = STATE_TIMEOUT) -> None:
        self._run(lambda: self.channel.connect(cluster, timeout=timeout, with_state=with_state,
                                               state_from=state_from, state_timeout=state_timeout))

    def get_state(self, target: Address | None = None, *, timeout: float | None = STATE_TIMEOUT) -> bytes | None:
        return self._run(lambda: self.channel.get_state(target, timeout=timeout))

    def send(self, dest: Address | Message | None, payload: Any = _NOTHING, *, flags: int = 0) -> None:
        self._run(lambda: self.channel.send(dest, payload, flags=flags))

    def receive(self, timeout: float | None = None) -> AppEvent:
        """The next event; TimeoutError after ``timeout`` seconds, ChannelClosed once closed."""
        return self._run(lambda: self.channel.receive(timeout))

    def events(self) -> Iterator[AppEvent]:
        """Every event in order, until the channel is closed."""
        while True:
            try:
                yield self.receive()
            except ChannelClosed:
                return

    def wait_view(self, size: int | None = None, *, timeout: float | None = None) -> View:
        return self._run(lambda: self.channel.wait_view(size, timeout=timeout))

    def disconnect(self) -> None:
        self._run(self.channel.disconnect)

    def close(self) -> None:
        """Disconnect, close the sockets and stop the loop thread; idempotent."""
        if self._stopped:
            return
        try:
            self._run(self.channel.close)
        finally:
            self._stopped = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()

    # --- state (read-only snapshots) ----------------------------------------------------------------

    @property
    def address(self) -> Address | None:
        return self.channel.address

    @property
    def name(self) -> str | None:
        return self.channel.name

    @property
    def view(self) -> View | None:
        return self.channel.view

    @property
    def cluster(self) -> str | None:
        return self.channel.cluster

    def name_of(self, addr: Address | None) -> str:
        return self.channel.name_of(addr)

    def format_view(self, view: View | None = None) -> str:
        return self.channel.format_view(view)

    def stats(self) -> dict[str, Mapping[str, int | float]]:
        return self._run(self._stats)

    async def _stats(self) -> dict[str, Mapping[str, int | float]]:
        return self.channel.stats()

    @property
    def on_message(self) -> Callable[[Message], object] | None:
        return self.channel.on_message

    @on_message.setter
    def on_message(self, fn: Callable[[Message], object] | None) -> None:
        self.channel.on_message = fn

    @property
    def on_view(self) -> Callable[[View], object] | None:
        return self.channel.on_view

    @on_view.setter
    def on_view(self, fn: Callable[[View], object] | None) -> None:
        self.channel.on_view = fn

    @property
    def state_provider(self) -> Callable[[], bytes | None] | None:
        return self.channel.state_provider

    @state_provider.setter
    def state_provider(self, fn: Callable[[], bytes | None] | None) -> None:
        self.channel.state_provider = fn

    @property
    def on_state(self) -> Callable[[bytes], object] | None:
        return self.channel.on_state

    @on_state.setter
    def on_state(self, fn: Callable[[bytes], object] | None) -> None:
        self.channel.on_state = fn

    def __enter__(self) -> BlockingChannel:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
