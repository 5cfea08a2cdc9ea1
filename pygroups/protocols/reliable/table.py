"""`Table`: a per-sender window of seqno-indexed messages (org.jgroups.util.Table).

NAKACK2 keeps one per group member, UNICAST3 one per connection and direction. The bookkeeping is Java's:

* ``low``  -- everything at or below it is gone (purged, or removed with ``nullify``);
* ``hd``   -- highest delivered: every seqno up to it has been handed to the application;
* ``hr``   -- highest received: the largest seqno ever added;
* ``size`` -- elements present in ``(hd, hr]`` (received but not yet delivered).

``low <= hd <= hr`` always holds. Elements in ``(low, hd]`` stay retrievable with `get` (a sender
keeps its own messages for retransmission until they are stable), those in ``(hd, hr]`` wait for
the gaps below them to be filled.

Java stores elements in a matrix of rows to avoid resizing huge arrays. Here a dict keyed by seqno
gives the same O(1) add/get/remove without allocating for gaps, so a bogus huge seqno from the
network costs one entry rather than gigabytes. Range walks (`remove_many`, `missing`) only run
over ranges that hold elements or are capped by the caller. For the same reason there is nothing to
compact: `purge` and `remove_many` free memory as they go (Java's ``compact()`` and the
``xmit_table_*`` geometry properties have no counterpart).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from pygroups.objects import SeqnoList

T = TypeVar("T")

_MASK64 = (1 << 64) - 1


def seqno_list(size: int, offset: int, seqnos: Iterable[int]) -> SeqnoList:
    """A `SeqnoList` of ``size`` bits starting at ``offset`` with ``seqnos`` set (Java's
    ``new SeqnoList(size, offset).add(...)``): the bit count and offset go on the wire, so they are
    explicit rather than derived from the seqnos. Seqnos outside the range are ignored."""
    words = [0] * (((size - 1) >> 6) + 1) if size > 0 else []
    for s in seqnos:
        i = s - offset
        if 0 <= i < size:
            words[i >> 6] |= 1 << (i & 63)
    return SeqnoList(size, offset, tuple(w - (1 << 64) if w >> 63 else w for w in words))


def seqnos_of(lst: SeqnoList) -> list[int]:
    """The seqnos set in ``lst``, ascending (bits beyond ``size`` are ignored, as Java's iterator does)."""
    out: list[int] = []
    size = lst.size
    for wi, w in enumerate(lst.words):
        w &= _MASK64
        base = wi << 6
        while w:
            low = w & -w
            i = base + low.bit_length() - 1
            if i >= size:
                break
            out.append(lst.offset + i)
            w ^= low
    return out


class Table(Generic[T]):
    """Elements by seqno with Java Table's low / hd / hr / size semantics (single-threaded)."""

    __slots__ = ("_items", "hd", "hr", "low", "num_purges", "offset", "size")

    def __init__(self, offset: int = 0) -> None:
        #: the initial seqno (hd of the digest the window was created from)
        self.offset = offset
        self.low = offset
        self.hd = offset
        self.hr = offset
        self.size = 0
        self.num_purges = 0
        self._items: dict[int, T] = {}

    # --- queries ------------------------------------------------------------------------------------

    @property
    def highest_delivered(self) -> int:
        return self.hd

    @property
    def highest_received(self) -> int:
        return self.hr

    @property
    def num_missing(self) -> int:
        """Gaps in ``(hd, hr]`` (Table.getNumMissing)."""
        return self.hr - self.hd - self.size

    @property
    def num_stored(self) -> int:
        """Elements held in memory: undelivered ones plus delivered ones not yet purged."""
        return len(self._items)

    def digest(self) -> tuple[int, int]:
        """(highest delivered, highest received), the pair a Digest carries for this sender."""
        return self.hd, self.hr

    def get(self, seqno: int) -> T | None:
        """The element at ``seqno`` if it is in ``(low, hr]`` and present."""
        if seqno <= self.low or seqno > self.hr:
            return None
        return self._items.get(seqno)

    def highest_deliverable(self) -> int:
        """The highest seqno up to which there are no gaps (hd if hd + 1 is missing)."""
        s = self.hd
        items = self._items
        while s < self.hr and (s + 1) in items:
            s += 1
        return s

    def num_deliverable(self) -> int:
        return self.highest_deliverable() - self.hd

    def missing(self, max_msgs: int = 0) -> SeqnoList | None:
        """The missing seqnos above the highest deliverable one (Table.getMissing), or None.

        As in Java, the list has ``min(max_msgs, hr - start)`` bits (``max_msgs`` <= 0: no cap)
        and starts at ``start = highest_deliverable + 1``; both go on the wire in an XMIT_REQ.
        """
        if self.size == 0:
            return None
        start = self.highest_deliverable() + 1
        capacity = self.hr - start
        max_size = min(max_msgs, capacity) if max_msgs > 0 else capacity
        if max_size <= 0:
            return None
        end = min(start + max_size - 1, self.hr - 1)
        items = self._items
        gaps = [s for s in range(start, end + 1) if s not in items][:max_size]
        return seqno_list(max_size, start, gaps)

    def __iter__(self) -> Iterator[T]:
        """The undelivered elements present in ``(hd, hr]``, in seqno order."""
        return (self._items[s] for s in self._present(self.hd + 1, self.hr))

    def stored(self) -> Iterator[tuple[int, T]]:
        """Every (seqno, element) held, ascending (delivered-but-unpurged ones included)."""
        return ((s, self._items[s]) for s in sorted(self._items))

    # --- updates ------------------------------------------------------------------------------------

    def add(self, seqno: int, element: T, remove_filter: Callable[[T], bool] | None = None) -> bool:
        """Store ``element`` at ``seqno`` unless it is already delivered or present; True if added.

        With ``remove_filter``, the elements from hd + 1 on that pass it are then counted as
        delivered at once (they stay stored): a sender's DONT_LOOPBACK messages are never looped
        back to it, so they must not block its own window.
        """
        if seqno <= self.hd or seqno in self._items:
            return False
        self._items[seqno] = element
        self.size += 1
        if seqno > self.hr:
            self.hr = seqno
        if remove_filter is not None:
            items = self._items
            while self.hd < self.hr:
                nxt = items.get(self.hd + 1)
                if nxt is None or not remove_filter(nxt):
                    break
                self.hd += 1
                self.size = max(self.size - 1, 0)
        return True

    def add_many(self, pairs: Iterable[tuple[int, T]]) -> list[tuple[int, T]]:
        """Add each (seqno, element); returns the pairs that were added (Java's batch add)."""
        return [(s, e) for s, e in pairs if self.add(s, e)]

    def set_highest_delivered(self, seqno: int) -> None:
        self.hd = seqno

    def remove(self, nullify: bool = True) -> T | None:
        """Remove and return the element at hd + 1, if present."""
        got = self.remove_many(nullify, 1)
        return got[0] if got else None

    def remove_many(
        self, nullify: bool, max_results: int = 0, accept: Callable[[T], bool] | None = None
    ) -> list[T]:
        """Advance hd over the contiguous elements after it and return them (Table.removeMany).

        Elements that ``accept`` rejects advance hd but are not returned (dummies, OOB messages
        already delivered). ``nullify`` drops them from memory (receivers); a sender keeps its own
        (``nullify=False``) for retransmission until `purge`. Stops after ``max_results``
        returned elements (0 = no limit).
        """
        out: list[T] = []
        items = self._items
        while self.hd < self.hr:
            s = self.hd + 1
            elem = items.get(s)
            if elem is None:
                break
            if accept is None or accept(elem):
                out.append(elem)
            self.hd = s
            self.size = max(self.size - 1, 0)
            if nullify:
                del items[s]
                if s > self.low:
                    # elements an earlier remove_many(nullify=False) kept below s can no longer be
                    # reached (get answers None at or below low) and purge starts above low: drop them
                    self._drop_range(self.low + 1, s - 1)
                    self.low = s
            if max_results > 0 and len(out) >= max_results:
                break
        return out

    def purge(self, seqno: int, force: bool = False) -> None:
        """Drop every element <= ``seqno`` (capped at hd, or at hr with ``force``).

        ``force`` (UNICAST3 on ACK/close) also marks everything up to ``seqno`` as delivered.
        """
        if seqno <= self.low:
            return
        seqno = min(seqno, self.hr) if force else min(seqno, self.hd)
        self._drop_range(self.low + 1, seqno)
        if seqno > self.low:
            self.low = seqno
        if force:
            if seqno > self.hd:
                self.low = self.hd = seqno
            self.size = sum(1 for _ in self._present(self.hd + 1, self.hr))
        self.num_purges += 1

    # --- internals ----------------------------------------------------------------------------------

    def _present(self, first: int, last: int) -> list[int]:
        """Seqnos in [first, last] that hold an element, ascending, at cost O(min(range, stored))."""
        if last < first:
            return []
        if last - first + 1 <= 2 * len(self._items):
            items = self._items
            return [s for s in range(first, last + 1) if s in items]
        return sorted(s for s in self._items if first <= s <= last)

    def _drop_range(self, first: int, last: int) -> None:
        for s in self._present(first, last):
            del self._items[s]

    def __repr__(self) -> str:
        return (
            f"[{self.low} | {self.hd} | {self.hr}] ({self.size} elements, {self.num_missing} missing, "
            f"{self.num_stored} stored)"
        )
