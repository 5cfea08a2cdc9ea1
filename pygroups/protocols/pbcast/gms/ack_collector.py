"""AckCollector: which members still owe a VIEW_ACK for the view being installed (util.AckCollector).

The waiting part of Java's class is GMS's business here (a timer), so this is only the set.
"""

from __future__ import annotations

from collections.abc import Iterable

from pygroups.address import Address


class AckCollector:
    def __init__(self) -> None:
        self._missing: list[Address] = []

    def reset(self, expected: Iterable[Address], *exclude: Address | None) -> None:
        skip = set(exclude)
        self._missing = []
        for m in expected:
            if m is not None and m not in skip and m not in self._missing:
                self._missing.append(m)

    def ack(self, *members: Address | None) -> None:
        """Also used for suspects: a suspected member is no longer waited for."""
        for m in members:
            if m is not None and m in self._missing:
                self._missing.remove(m)

    def retain_all(self, members: Iterable[Address]) -> None:
        keep = set(members)
        self._missing = [m for m in self._missing if m in keep]

    def clear(self) -> None:
        self._missing = []

    @property
    def missing(self) -> tuple[Address, ...]:
        return tuple(self._missing)

    def __len__(self) -> int:
        return len(self._missing)
