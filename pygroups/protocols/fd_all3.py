"""FD_ALL3: heartbeat failure detection with one bitmap per member (org.jgroups.protocols.FD_ALL3, 5.5.6).

Every member multicasts a heartbeat every ``interval`` ms (skipped when other multicasts went out),
and every message from a member counts as one (see `FailureDetection`). Each member has a bitmap of
``num_bits = ceil(timeout / interval)`` bits, all 1 at first. Every ``interval`` ms the timeout checker
looks at each bitmap: all bits 0 means suspect; then it advances the bitmap's index and clears the bit
there. A message sets the bit at the current index.

So a member last heard from at time t is suspected by the check that runs in
``(t + num_bits * interval, t + (num_bits + 1) * interval]`` (the bit set at t is cleared by the
``num_bits``-th advance after it, and the check after that sees all zeros): with the defaults
(40 s / 8 s) between 40 and 48 s of silence.
"""

from __future__ import annotations

from collections.abc import Mapping

from pygroups.address import Address
from pygroups.errors import ConfigError
from pygroups.stack.registry import protocol

from .failure_detection import FailureDetection


class Bitmap:
    """FD_ALL3.Bitmap: ``size`` bits, all 1 at first, and the index of the current bit."""

    __slots__ = ("bits", "index")

    def __init__(self, size: int) -> None:
        self.bits = [1] * size
        self.index = 0

    def needs_to_suspect(self) -> bool:
        """True if all bits are 0."""
        return not any(self.bits)

    def advance(self) -> Bitmap:
        """Move the index on (mod size) and clear the bit there."""
        self.index = (self.index + 1) % len(self.bits)
        self.bits[self.index] = 0
        return self

    def set(self) -> Bitmap:
        self.bits[self.index] = 1
        return self

    def __repr__(self) -> str:
        return f"{self.bits} (index={self.index})"


@protocol("FD_ALL3")
class FD_ALL3(FailureDetection[Bitmap]):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.num_bits = 0

    def validate(self) -> None:
        self._check()

    def init(self) -> None:
        super().init()
        self._check()
        self.num_bits = self.compute_bits()

    def start(self) -> None:
        self._check()
        self.num_bits = self.compute_bits()  # a changed timeout/interval (Java's setters recompute)

    def _check(self) -> None:
        if self.interval >= self.timeout:
            raise ConfigError(f"FD_ALL3: interval ({self.interval}) needs to be smaller than timeout ({self.timeout})")
        if self.interval <= 0:
            raise ConfigError(f"FD_ALL3: interval ({self.interval}) must be positive")

    def compute_bits(self) -> int:
        return -(-self.timeout // self.interval)

    def timeout_check_interval(self) -> int:
        return self.interval

    def update(self, sender: Address | None, *, skip_if_exists: bool = False) -> None:
        if sender is None or sender == self.local_addr:
            return
        bm = self.timestamps.get(sender)
        if bm is None:
            self.timestamps[sender] = Bitmap(self.num_bits)
        elif not skip_if_exists:
            bm.set()

    def needs_to_be_suspected(self, mbr: Address, value: Bitmap) -> bool:
        suspect = value.needs_to_suspect()
        value.advance()
        if suspect:
            self.log.debug("haven't received a heartbeat from %s in timeout period (%d ms), adding it to "
                           "suspect list", self.stack.name_of(mbr), self.timeout)
        return suspect

    def print_timestamps(self) -> str:
        """@ManagedOperation printTimestamps."""
        return "".join(f"{self.stack.name_of(a)}: bitmap={bm}\n" for a, bm in self.timestamps.items())

    def statistics(self) -> Mapping[str, int | float]:
        stats = dict(super().statistics())
        stats["num_bits"] = self.num_bits
        return stats


__all__ = ["FD_ALL3", "Bitmap"]
