"""`Layer`, the base class of every protocol (org.jgroups.stack.Protocol), and `TransportLayer`.

Rules of this module:

1. A layer is built with no arguments. The config loader then sets properties as attributes and
   calls ``validate()`` if the class defines it; `ProtocolStack` wires the layer and calls
   `init()`. Subclasses that define ``__init__`` call ``super().__init__()``.
2. Messages and events pass straight through by default; a layer overrides only what it handles.
   Inside, dispatch on the event type with ``match`` and on header types with a dict table.
3. A layer reaches the outside world only through its stack: ``clock``, ``timers``, ``rng``,
   ``emit()``. It never blocks: "wait for X" is state plus a timer.
4. Queries are answered by methods marked with `@answers(QueryType)`; everything else travels on.
5. Per-member state is pruned in one place: a layer overrides `members_changed`, and the base calls it
   with a `MembershipChange` when a `ViewChange` passes the default ``down``/``up``; a layer that
   overrides ``down``/``up`` calls `track_view` itself where it handles the view.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pygroups.errors import LocalProtocolError
from pygroups.events import Event, Query, ViewChange
from pygroups.message import Message

if TYPE_CHECKING:
    import random

    from pygroups.address import Address, IpAddress
    from pygroups.clock import Clock, TimerService
    from pygroups.stack.io import ConnId, IoCommand, IoResult
    from pygroups.stack.stack import ProtocolStack
    from pygroups.view import View

T = TypeVar("T")
V = TypeVar("V")
L = TypeVar("L", bound="Layer")
Q = TypeVar("Q", bound=Query[Any])
R = TypeVar("R")

_ANSWERS_ATTR = "__pygroups_answers__"


def answers(query_type: type[Q], *, up: bool = False) -> Callable[[Callable[[L, Q], R]], Callable[[L, Q], R]]:
    """Mark a method as this layer's answer to ``query_type`` (travelling down, or up if ``up``).

    The method may still pass the query on itself, e.g. ``return self.down_layer.query_down(q)``.
    """

    def mark(fn: Callable[[L, Q], R]) -> Callable[[L, Q], R]:
        setattr(fn, _ANSWERS_ATTR, (query_type, up))
        return fn

    return mark


class _LayerLog(logging.LoggerAdapter[logging.Logger]):
    """Prefixes every record with the local address as JGroups prints it (``"%s: ..." % local_addr``: the
    logical name when known)."""

    def __init__(self, logger: logging.Logger, layer: Layer) -> None:
        super().__init__(logger, {})
        self._layer = layer

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, MutableMapping[str, Any]]:
        stack = getattr(self._layer, "stack", None)
        addr = stack.local_addr if stack is not None else None
        who = "-" if addr is None or stack is None else stack.name_of(addr)
        return f"{who}: {msg}", kwargs


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """A view as one layer sees it: who joined and who left since the last view *this layer* saw
    (layers see views at different times: going down, going up, or a TMP_VIEW first)."""

    view: View
    joined: tuple[Address, ...]
    left: tuple[Address, ...]
    #: a TMP_VIEW (GMS announces the next view to the layers below before it is installed)
    tmp: bool = False

    @property
    def members(self) -> Sequence[Address]:
        return self.view.members

    def non_members(self, keys: Iterable[Address]) -> list[Address]:
        """The ``keys`` not in the view, in order (also those never in a view, e.g. added by a message)."""
        keep = set(self.view.members)
        return [a for a in keys if a not in keep]

    def retain(self, table: MutableMapping[Address, V]) -> list[V]:
        """Drop the entries of non-members and return them in table order: per-member state keyed by
        address is pruned with this."""
        return [table.pop(a) for a in self.non_members(table)]


class Layer:
    """One protocol in a stack. ``name`` is the XML element, ``protocol_id`` the header id (0 = none)."""

    name: ClassVar[str] = "Layer"
    protocol_id: ClassVar[int] = 0
    # Sanity checks (JGroups requiredDownServices/requiredUpServices): event or query types that
    # some layer below / above must handle. Queries answered with @answers count as handled.
    provides: ClassVar[frozenset[type[Event]]] = frozenset()
    requires_below: ClassVar[frozenset[type[Event]]] = frozenset()
    requires_above: ClassVar[frozenset[type[Event]]] = frozenset()

    # query type -> name of the answering method (looked up per call, so overrides are honoured)
    _answers_down: ClassVar[dict[type[Query[Any]], str]] = {}
    _answers_up: ClassVar[dict[type[Query[Any]], str]] = {}

    up_layer: Layer
    down_layer: Layer
    stack: ProtocolStack
    #: the members of the last view passed to `track_view` (empty before the first)
    view_members: tuple[Address, ...] = ()
    # True if the class overrides members_changed: the default down/up then call track_view
    _tracks_views: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in cls.__dict__:
            cls.name = cls.__name__
        down, up = dict(cls._answers_down), dict(cls._answers_up)
        for attr_name, attr in cls.__dict__.items():
            mark = getattr(attr, _ANSWERS_ATTR, None)
            if mark is not None:
                query_type, is_up = mark
                (up if is_up else down)[query_type] = attr_name
        cls._answers_down, cls._answers_up = down, up
        cls._tracks_views = cls.members_changed is not Layer.members_changed

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self._log: _LayerLog | None = None

    @classmethod
    def handled_events(cls) -> frozenset[type[Event]]:
        """What this layer provides to the sanity checks: ``provides`` plus answered queries."""
        return cls.provides | frozenset(cls._answers_down) | frozenset(cls._answers_up)

    # --- lifecycle (JGroups init/start/stop) ----------------------------------------------------------

    def init(self) -> None:
        """Called once by the stack, bottom to top, after wiring; properties are set by then."""

    def start(self) -> None:
        """Called on connect, bottom to top; schedule periodic timers here."""

    def stop(self) -> None:
        """Called on disconnect, top to bottom; the stack also cancels every timer afterwards."""

    # --- events and messages --------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        if self._tracks_views and isinstance(evt, ViewChange):
            self.track_view(evt.view)
        self.down_layer.down(evt)

    def up(self, evt: Event) -> None:
        if self._tracks_views and isinstance(evt, ViewChange):
            self.track_view(evt.view)
        self.up_layer.up(evt)

    def down_msg(self, msg: Message) -> None:
        self.down_layer.down_msg(msg)

    def up_msg(self, msg: Message) -> None:
        self.up_layer.up_msg(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        """Messages that arrived together (one frame); by default each goes through `up_msg`."""
        for msg in batch:
            self.up_msg(msg)

    def up_batch_own_then_rest(self, batch: Sequence[Message]) -> None:
        """JGroups' ``batch.remove(accept)`` for control-traffic layers: each message carrying this layer's
        header goes through `up_msg`, the others go up together as one batch."""
        rest: list[Message] = []
        pid = self.protocol_id
        for msg in batch:
            if msg.headers.get(pid) is None:
                rest.append(msg)
            else:
                self.up_msg(msg)
        if rest:
            self.up_layer.up_batch(rest)

    def query_down(self, q: Query[T]) -> T:
        handler = self._answers_down.get(type(q))
        if handler is not None:
            result: T = getattr(self, handler)(q)
            return result
        return self.down_layer.query_down(q)

    def query_up(self, q: Query[T]) -> T:
        handler = self._answers_up.get(type(q))
        if handler is not None:
            result: T = getattr(self, handler)(q)
            return result
        return self.up_layer.query_up(q)

    # --- membership (the one view-change hook) ---------------------------------------------------------

    def track_view(self, view: View, *, tmp: bool = False) -> MembershipChange:
        """Diff ``view`` against the last view this layer saw and call `members_changed` with it."""
        old, new = self.view_members, tuple(view.members)
        was, now = set(old), set(new)
        self.view_members = new
        change = MembershipChange(
            view, tuple(m for m in new if m not in was), tuple(m for m in old if m not in now), tmp
        )
        self.members_changed(change)
        return change

    def members_changed(self, change: MembershipChange) -> None:
        """Hook: prune (or create) this layer's per-member state for a new view. Overriding it makes the
        default ``down``/``up`` call it for every `ViewChange` passing by (a repeated view has no
        joined/left; the hook must tolerate seeing the same view twice)."""

    def on_io_result(self, result: IoResult) -> None:
        """The answer to an `IoRequest` this layer emitted; override when emitting requests."""
        raise LocalProtocolError(f"{self.name} emitted an I/O request but does not handle {result!r}")

    # --- connections of a layer that opens its own (FD_SOCK2); the transport's come the same way ---

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        """A connection this layer opened (`OpenConnection`) or accepted (its `Listen`) is open."""
        raise LocalProtocolError(f"{self.name} does not use connections")

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        raise LocalProtocolError(f"{self.name} does not use connections")

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        raise LocalProtocolError(f"{self.name} does not use connections")

    # --- conveniences ---------------------------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        return self.stack.clock

    @property
    def timers(self) -> TimerService:
        return self.stack.timers

    @property
    def rng(self) -> random.Random:
        return self.stack.rng

    @property
    def local_addr(self) -> Address | None:
        return self.stack.local_addr

    def now_ns(self) -> int:
        return self.stack.clock.now_ns()

    @property
    def log(self) -> logging.LoggerAdapter[logging.Logger]:
        if self._log is None:
            self._log = _LayerLog(logging.getLogger(type(self).__module__), self)
        return self._log

    def emit(self, cmd: IoCommand) -> None:
        """Queue an I/O command; an `IoRequest`'s result comes back to this layer's `on_io_result`."""
        self.stack.emit(cmd, reply_to=self)

    def backlog(self) -> int:
        """How many sent messages this layer holds back (flow control); see `ProtocolStack.backlog`."""
        return 0

    def statistics(self) -> Mapping[str, int | float]:
        """A frozen snapshot of this layer's counters; layers add their gauges by overriding."""
        return MappingProxyType(dict(self.counters))

    def managed_attributes(self) -> Mapping[str, object]:
        """The rest of Java's ``@ManagedAttribute`` set of this protocol that probe's ``jmx=`` shows (members, the
        ping destination, task states ...), under Java's names; values are rendered by the diagnostics handler
        (bool as true/false) or are already the text Java prints."""
        return {}

    def __repr__(self) -> str:
        return f"<{self.name}>"


class TransportLayer(Layer):
    """The bottom layer (JGroups TP): the stack feeds it connection inputs; it emits I/O commands.

    Events that reach the transport end here (TP.down ignores what it does not handle).
    """

    def down(self, evt: Event) -> None:
        return None

    def on_connection_opened(self, conn: ConnId, peer: IpAddress) -> None:
        raise LocalProtocolError(f"{self.name} does not use connections")

    def on_bytes(self, conn: ConnId, data: bytes) -> None:
        raise LocalProtocolError(f"{self.name} does not use connections")

    def on_connection_closed(self, conn: ConnId, error: str | None) -> None:
        raise LocalProtocolError(f"{self.name} does not use connections")
