"""Addresses: logical (UUID and its subclasses) and physical (IpAddress).

Equality and ordering follow Java, because they decide who is coordinator and merge leader:
- every UUID kind is equal to every other UUID kind with the same 128 bits (UUID.equals);
- UUIDs order by a *signed* compare of the high half, then of the low half (UUID.compareTo);
- IpAddresses order by InetAddress.hashCode() as a signed int, then by port (IpAddress.compareTo).
"""

from __future__ import annotations

import ipaddress
import random
from typing import ClassVar

from pygroups.errors import LocalProtocolError

_MASK64 = (1 << 64) - 1


def _signed64(v: int) -> int:
    v &= _MASK64
    return v - (1 << 64) if v >= 1 << 63 else v


def _signed32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


class Address:
    """Base of all addresses; never instantiated itself."""

    __slots__ = ()

    def sort_key(self) -> tuple[int, int]:
        raise NotImplementedError

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Address) or isinstance(self, UUID) != isinstance(other, UUID):
            return NotImplemented  # Java throws ClassCastException: UUIDs and IpAddresses don't compare
        return self.sort_key() < other.sort_key()

    def __le__(self, other: object) -> bool:
        lt = self.__lt__(other)
        return lt if lt is NotImplemented else (lt or self == other)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return other.__lt__(self)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Address):
            return NotImplemented
        return other.__le__(self)


class UUID(Address):
    """A logical address: 128 bits kept as Java's two signed longs (msb, lsb)."""

    __slots__ = ("lsb", "msb")
    JAVA_CLASS: ClassVar[str] = "UUID"
    msb: int
    lsb: int

    def __init__(self, msb: int, lsb: int) -> None:
        object.__setattr__(self, "msb", _signed64(msb))
        object.__setattr__(self, "lsb", _signed64(lsb))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    @classmethod
    def random(cls, rng: random.Random) -> UUID:
        """A random version-4 UUID drawn from an injected rng (as java.util.UUID.randomUUID)."""
        b = bytearray(rng.getrandbits(128).to_bytes(16, "big"))
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return cls.from_bytes(bytes(b))

    @classmethod
    def from_bytes(cls, b: bytes) -> UUID:
        """From the canonical 16 bytes, most significant first."""
        return cls(int.from_bytes(b[:8], "big", signed=True), int.from_bytes(b[8:], "big", signed=True))

    @classmethod
    def parse(cls, text: str) -> UUID:
        """From the 8-4-4-4-12 hex text."""
        hexdigits = text.replace("-", "")
        if len(hexdigits) != 32:
            raise ValueError(f"not a UUID: {text!r}")
        return cls.from_bytes(bytes.fromhex(hexdigits))

    def to_bytes(self) -> bytes:
        return (self.msb & _MASK64).to_bytes(8, "big") + (self.lsb & _MASK64).to_bytes(8, "big")

    def uuid_string(self) -> str:
        h = self.to_bytes().hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def sort_key(self) -> tuple[int, int]:
        return (self.msb, self.lsb)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, UUID):
            return self.msb == other.msb and self.lsb == other.lsb
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msb, self.lsb))

    def __repr__(self) -> str:
        return f"{self.JAVA_CLASS}({self.uuid_string()})"

    def __str__(self) -> str:
        return self.uuid_string()

    def same_kind(self, other: UUID) -> bool:
        """Full structural equality (class and every field), for codec round-trip tests."""
        return type(self) is type(other) and self.msb == other.msb and self.lsb == other.lsb


class FlagsUUID(UUID):
    """UUID plus a compressed int of flags (magic 19)."""

    __slots__ = ("flags",)
    JAVA_CLASS: ClassVar[str] = "FlagsUUID"
    flags: int

    def __init__(self, msb: int, lsb: int, flags: int = 0) -> None:
        super().__init__(msb, lsb)
        object.__setattr__(self, "flags", _signed32(flags))

    def same_kind(self, other: UUID) -> bool:
        return super().same_kind(other) and self.flags == other.flags  # type: ignore[attr-defined]


class ExtendedUUID(FlagsUUID):
    """FlagsUUID plus a small map of byte-string keys to byte-string values (magic 12).

    Java writes an empty value and a null value alike (length 0) and reads both back as null,
    so values here are `bytes` with length >= 1, or None.
    """

    __slots__ = ("keys",)
    JAVA_CLASS: ClassVar[str] = "ExtendedUUID"
    keys: tuple[tuple[bytes, bytes | None], ...]

    def __init__(
        self, msb: int, lsb: int, flags: int = 0, keys: tuple[tuple[bytes, bytes | None], ...] = ()
    ) -> None:
        super().__init__(msb, lsb, flags)
        object.__setattr__(self, "keys", tuple((bytes(k), None if not v else bytes(v)) for k, v in keys))

    def same_kind(self, other: UUID) -> bool:
        return super().same_kind(other) and self.keys == other.keys  # type: ignore[attr-defined]


class SiteUUID(ExtendedUUID):
    """ExtendedUUID plus a site name and a logical name (RELAY2/3)."""

    __slots__ = ("name", "site")
    JAVA_CLASS: ClassVar[str] = "SiteUUID"
    site: str | None
    name: str | None

    def __init__(
        self,
        msb: int,
        lsb: int,
        flags: int = 0,
        keys: tuple[tuple[bytes, bytes | None], ...] = (),
        site: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(msb, lsb, flags, keys)
        object.__setattr__(self, "site", site)
        object.__setattr__(self, "name", name)

    def same_kind(self, other: UUID) -> bool:
        return (
            super().same_kind(other)
            and self.site == other.site  # type: ignore[attr-defined]
            and self.name == other.name  # type: ignore[attr-defined]
        )


class SiteMaster(SiteUUID):
    """The site master of a site (RELAY); same body as SiteUUID, other tag."""

    __slots__ = ()
    JAVA_CLASS: ClassVar[str] = "SiteMaster"


IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class IpAddress(Address):
    """A physical address: IPv4 or IPv6 (with scope id) and a port; ip None means "no IP"."""

    __slots__ = ("ip", "port", "scope_id")
    JAVA_CLASS: ClassVar[str] = "IpAddress"
    ip: IP | None
    port: int
    scope_id: int

    def __init__(self, ip: IP | str | None, port: int, scope_id: int = 0) -> None:
        if isinstance(ip, str):
            ip = ipaddress.ip_address(ip)
        if not 0 <= port <= 0xFFFF:
            raise LocalProtocolError(f"port out of range: {port}")
        scope_id = _signed32(scope_id)
        if isinstance(ip, ipaddress.IPv4Address) or scope_id < 0:
            scope_id = 0  # Inet6Address.getByAddress ignores a negative scope id
        object.__setattr__(self, "ip", ip)
        object.__setattr__(self, "port", port)
        object.__setattr__(self, "scope_id", _signed32(scope_id))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("IpAddress is immutable")

    def java_hash(self) -> int:
        """InetAddress.hashCode(): the sort key Java's IpAddress.compareTo uses."""
        if self.ip is None:
            return 0
        packed = self.ip.packed
        if len(packed) == 4:
            return int.from_bytes(packed, "big", signed=True)
        # Inet6Address: 4 groups of 4 sign-extended bytes folded with <<8, summed as int.
        total = 0
        for g in range(0, 16, 4):
            component = 0
            for b in packed[g : g + 4]:
                component = _signed32((component << 8) + (b - 256 if b > 127 else b))
            total = _signed32(total + component)
        return total

    def sort_key(self) -> tuple[int, int]:
        # Java: a null IP sorts before any IP; then hashCode, then port.
        if self.ip is None:
            return (-(1 << 40), self.port)
        return (self.java_hash(), self.port)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IpAddress):
            return self.ip == other.ip and self.port == other.port
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.ip, self.port))

    def __repr__(self) -> str:
        return f"IpAddress({self})"

    def __str__(self) -> str:
        if self.ip is None:
            return f"<null>:{self.port}"
        if self.ip.version == 6:
            scope = f"%{self.scope_id}" if self.scope_id else ""
            return f"[{self.ip}{scope}]:{self.port}"
        return f"{self.ip}:{self.port}"

    def same_kind(self, other: Address) -> bool:
        return isinstance(other, IpAddress) and self == other and self.scope_id == other.scope_id


class MillisAddress(Address):
    """util.MillisAddress (magic 22): an address that is just a long, ordered by value (tests, perf tools)."""

    __slots__ = ("millis",)
    JAVA_CLASS: ClassVar[str] = "MillisAddress"
    millis: int

    def __init__(self, millis: int) -> None:
        object.__setattr__(self, "millis", _signed64(millis))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("MillisAddress is immutable")

    def sort_key(self) -> tuple[int, int]:
        return (self.millis, 0)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, MillisAddress):
            return NotImplemented
        return self.millis < other.millis

    def __eq__(self, other: object) -> bool:
        if isinstance(other, MillisAddress):
            return self.millis == other.millis
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("millis", self.millis))

    def __repr__(self) -> str:
        return f"MillisAddress({self.millis})"

    def __str__(self) -> str:
        return str(self.millis)

    def same_kind(self, other: Address) -> bool:
        return isinstance(other, MillisAddress) and self.millis == other.millis


def java_equals(a: Address | None, b: Address | None) -> bool:
    """`a.equals(b)` exactly as Java computes it, asymmetry included.

    Python's `==` on addresses compares the 128 bits (what membership needs); Java's RELAY address
    classes override equals: a SiteMaster equals any SiteMaster of the same site (all null-site
    SiteMasters are equal, whatever their bits), a SiteUUID with a site compares the site first,
    and neither equals a plain UUID, although a plain UUID equals them. The wire writer needs the
    Java answer, because writeToNoAddrs omits a message's src when `src.equals(list_src)`.
    """
    if a is None or b is None:
        return a is b
    if isinstance(a, SiteMaster):
        if not isinstance(b, SiteMaster):
            return False
        if a.site is None or b.site is None:
            return a.site is None and b.site is None
        return a.site == b.site and a.sort_key() == b.sort_key()
    if isinstance(a, SiteUUID):
        if not isinstance(b, SiteUUID):
            return False
        if a.site is not None and b.site is not None and a.site != b.site:
            return False
        return a.sort_key() == b.sort_key()
    return a == b
