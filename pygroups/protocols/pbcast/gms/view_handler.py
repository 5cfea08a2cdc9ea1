"""ViewHandler: the coordinator's request queue, batching JOIN/LEAVE/SUSPECT requests (pbcast.ViewHandler).

Rules of this module:

1. Requests are queued (duplicates dropped, as Java's ``contains`` check) and processed at the end of
   the current stack input (``call_soon``), so requests that arrive together form one batch.
2. A batch is the first request plus the following ones that can be processed together
   (JOIN/LEAVE/SUSPECT mix; COORD_LEAVE and MERGE go alone), exactly Java's ``remove()``.
3. Java processes a batch synchronously, including the wait for VIEW_ACKs. Here the processor may
   leave a view change *in flight*; the handler then stops until `batch_done()` is called (all acks
   in, or the ack timeout), and requests arriving meanwhile wait and form the next batch.
4. ``suspend()`` clears the queue and discards new requests until ``resume()``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pygroups.address import Address
from pygroups.view import View


class ReqType(enum.IntEnum):
    """GmsImpl.Request types."""

    JOIN = 1
    LEAVE = 2
    COORD_LEAVE = 3
    SUSPECT = 4
    MERGE = 5
    JOIN_WITH_STATE_TRANSFER = 6


_MEMBERSHIP = frozenset({ReqType.JOIN, ReqType.LEAVE, ReqType.SUSPECT})


@dataclass(frozen=True, slots=True)
class Request:
    type: ReqType
    mbr: Address | None = None
    views: tuple[tuple[Address, View], ...] | None = None  # MERGE only (not handled yet)

    def can_be_processed_together(self, other: Request) -> bool:
        """Request.canBeProcessedTogether (JOIN_WITH_STATE_TRANSFER is deliberately not in the set)."""
        return self.type in _MEMBERSHIP and other.type in _MEMBERSHIP

    def __str__(self) -> str:
        if self.type is ReqType.COORD_LEAVE:
            return "COORD_LEAVE"
        if self.type is ReqType.MERGE:
            return f"MERGE({len(self.views or ())} views)"
        return f"{self.type.name}({self.mbr})"


class ViewHandler:
    """Queue + batching. ``schedule(fn)`` runs ``fn`` at the end of the current input (stack.call_soon)."""

    def __init__(
        self,
        processor: Callable[[list[Request]], None],
        in_flight: Callable[[], bool],
        schedule: Callable[[Callable[[], None]], None],
    ) -> None:
        self._processor = processor
        self._in_flight = in_flight
        self._schedule = schedule
        self._requests: list[Request] = []
        self.suspended = False
        self.processing = False  # a run is scheduled or a batch is (asynchronously) being processed
        self.history: list[str] = []  # the last 20 requests, as Java keeps them

    def add(self, *reqs: Request) -> None:
        self.add_all(reqs)

    def add_all(self, reqs: Iterable[Request]) -> None:
        if self.suspended:
            return
        added = False
        for r in reqs:
            if r not in self._requests:
                self._requests.append(r)
                self.history = [*self.history[-19:], str(r)]
                added = True
        if added and not self.processing:
            self.processing = True
            self._schedule(self._run)

    def suspend(self) -> None:
        self.suspended = True
        self._requests.clear()

    def resume(self) -> None:
        self.suspended = False

    def reset(self) -> None:
        """Forget everything (stop/disconnect)."""
        self._requests.clear()
        self.processing = False

    def batch_done(self) -> None:
        """The in-flight view change finished: go on with the queue (at the end of this input)."""
        if self.processing:
            self._schedule(self._run)

    def __len__(self) -> int:
        return len(self._requests)

    @property
    def queued(self) -> tuple[Request, ...]:
        return tuple(self._requests)

    def _run(self) -> None:
        while self._requests and not self._in_flight():
            self._processor(self._take_batch())
        if not self._in_flight():
            self.processing = False

    def _take_batch(self) -> list[Request]:
        first = self._requests.pop(0)
        batch = [first]
        while self._requests and first.can_be_processed_together(self._requests[0]):
            batch.append(self._requests.pop(0))
        return batch
