"""The JGroups version short: 5 bits major, 5 bits minor, 6 bits micro (org.jgroups.Version).

The wire version is a parameter everywhere (5.5 now; 5.3/5.4 later), never a constant
sprinkled through the code: encoders take a `version` argument whose default is DEFAULT_VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class WireVersion:
    major: int
    minor: int
    micro: int

    def __post_init__(self) -> None:
        if not (0 <= self.major < 32 and 0 <= self.minor < 32 and 0 <= self.micro < 64):
            raise ValueError(f"version {self.major}.{self.minor}.{self.micro} does not fit the version short")

    @property
    def short(self) -> int:
        """The value written on the wire (as an unsigned 16-bit number)."""
        return (self.major << 11) | (self.minor << 6) | self.micro

    @classmethod
    def from_short(cls, v: int) -> WireVersion:
        v &= 0xFFFF
        return cls(v >> 11, (v >> 6) & 0x1F, v & 0x3F)

    @classmethod
    def parse(cls, text: str) -> WireVersion:
        """From "5.5.6" or "5.5.6.Final"."""
        parts = text.split(".")
        return cls(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) > 2 else 0)

    def is_binary_compatible(self, other_short: int) -> bool:
        """Version.isBinaryCompatible: equal shorts, or equal major and minor (micro ignored)."""
        other = WireVersion.from_short(other_short)
        return other.short == self.short or (other.major, other.minor) == (self.major, self.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.micro}"


#: The release whose wire format pygroups speaks by default.
DEFAULT_VERSION = WireVersion(5, 5, 6)
