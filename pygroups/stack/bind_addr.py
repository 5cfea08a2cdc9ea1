"""``bind_addr`` values: parsing, and resolution as a pure function over given interfaces.

Mirrors ``Util.getAddress(String, StackType)`` and ``PropertyConverters.Default`` of JGroups
5.5.6. Nothing here touches the OS: the caller passes the interfaces (see
`pygroups.aio.netif.local_interfaces`) and, if host names must be resolved, a `HostResolver`.

Resolution rules (Java's, in order, for one alternative):
- a scope keyword, any case: ``GLOBAL``, ``SITE_LOCAL``, ``LINK_LOCAL``, ``LOOPBACK``, ``NON_LOOPBACK``
  -> the first address of that scope on an up interface; IPv4 only unless the stack is IPv6;
- ``use-localhost`` / ``use_localhost`` (prefix, any case) -> the local host's address;
- ``match-interface:RE`` -> the first up interface whose *name* fully matches RE, then its first
  address of the right IP version (None if it has none: Java does not try the next interface);
- ``match-address:RE`` / ``match-host:RE`` -> the first address (in Java text form) / host name
  that fully matches RE, preferring the right IP version;
- ``custom:CLASS`` -> not supported (a Java ``Supplier<InetAddress>`` class);
- anything else is an IP literal or a host name.
A comma list tries each alternative in turn and fails only if none yields an address; a single
alternative that yields nothing leaves the default (the first non-loopback address).
Java picks "first" from a HashSet; we use interface order, which is deterministic.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pygroups.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class StackType(enum.Enum):
    """JGroups StackType: which IP version addresses are picked for."""

    IPV4 = "IPv4"
    IPV6 = "IPv6"
    DUAL = "Dual"


class AddressScope(enum.Enum):
    GLOBAL = "GLOBAL"
    SITE_LOCAL = "SITE_LOCAL"
    LINK_LOCAL = "LINK_LOCAL"
    LOOPBACK = "LOOPBACK"
    NON_LOOPBACK = "NON_LOOPBACK"


@dataclass(frozen=True, slots=True)
class NetIf:
    """One network interface as seen by the resolver (name, addresses in OS order, up flag)."""

    name: str
    addresses: tuple[IPAddress, ...]
    up: bool = True


class HostResolver(Protocol):
    """DNS, injected: the pure core never resolves names itself."""

    def addresses_of(self, host: str) -> Sequence[IPAddress]: ...
    def name_of(self, addr: IPAddress) -> str: ...
    def local_host(self) -> IPAddress | None: ...


class NoDns:
    """The default resolver: IP literals and ``localhost`` only; reverse lookups yield the literal."""

    def addresses_of(self, host: str) -> Sequence[IPAddress]:
        if host.lower() == "localhost":
            return (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
        raise ConfigError(f"cannot resolve host name {host!r} without a resolver "
                          "(pass pygroups.aio.netif.SystemResolver())")

    def name_of(self, addr: IPAddress) -> str:
        return java_host_address(addr)

    def local_host(self) -> IPAddress | None:
        return None


@dataclass(frozen=True, slots=True)
class Scope:
    scope: AddressScope


@dataclass(frozen=True, slots=True)
class Match:
    kind: str            # "interface" | "address" | "host"
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Host:
    name: str            # an IP literal or a host name


@dataclass(frozen=True, slots=True)
class UseLocalhost:
    pass


Alternative = Scope | Match | Host | UseLocalhost


@dataclass(frozen=True, slots=True)
class BindAddrSpec:
    """A parsed bind_addr value: the alternatives in order, plus the text it came from."""

    text: str
    alternatives: tuple[Alternative, ...]


_MATCH_KINDS = {"match-interface": "interface", "match-address": "address", "match-host": "host"}


def parse_bind_addr(text: str) -> BindAddrSpec:
    """Parse (but do not resolve) a bind_addr value; bad keywords and regexes are ConfigErrors."""
    parts = [p.strip() for p in text.split(",")] if "," in text else [text]
    alts = [_parse_one(p) for p in parts if p]
    if not alts:
        raise ConfigError(f"{text!r} is not a bind address")
    return BindAddrSpec(text, tuple(alts))


def _parse_one(value: str) -> Alternative:
    try:
        return Scope(AddressScope[value.upper()])
    except KeyError:
        pass
    if value.upper().startswith(("USE-LOCALHOST", "USE_LOCALHOST")):
        return UseLocalhost()
    if value.startswith("match"):
        for prefix, kind in _MATCH_KINDS.items():
            if value.startswith(prefix):
                # Java skips one character after the prefix, whatever it is (normally ':')
                try:
                    return Match(kind, re.compile(value[len(prefix) + 1:]))
                except re.error as e:
                    raise ConfigError(f"{value!r}: bad regular expression: {e}") from None
        raise ConfigError(f"{value!r}: expected match-address:RE, match-host:RE or match-interface:RE")
    if value.startswith("custom:"):
        raise ConfigError(f"{value!r}: custom: bind addresses (Java Supplier classes) are not supported")
    if not value or any(c.isspace() for c in value):
        raise ConfigError(f"{value!r} is not an address or host name")
    return Host(value)


# ------------------------------------------------------------------------------------ resolution

def is_loopback(a: IPAddress) -> bool:
    return a.packed[0] == 127 if a.version == 4 else a == ipaddress.IPv6Address("::1")


def is_link_local(a: IPAddress) -> bool:
    return a.packed[:2] == b"\xa9\xfe" if a.version == 4 else (a.packed[0] == 0xFE and a.packed[1] & 0xC0 == 0x80)


def is_site_local(a: IPAddress) -> bool:
    """Java's isSiteLocalAddress: 10/8, 172.16/12, 192.168/16 and fec0::/10 (not 100.64/10)."""
    b = a.packed
    if a.version == 4:
        return b[0] == 10 or (b[0] == 172 and b[1] & 0xF0 == 16) or (b[0] == 192 and b[1] == 168)
    return b[0] == 0xFE and b[1] & 0xC0 == 0xC0


def in_scope(a: IPAddress, scope: AddressScope) -> bool:
    match scope:
        case AddressScope.GLOBAL:
            return not (is_loopback(a) or is_link_local(a) or is_site_local(a))
        case AddressScope.SITE_LOCAL:
            return is_site_local(a)
        case AddressScope.LINK_LOCAL:
            return is_link_local(a)
        case AddressScope.LOOPBACK:
            return is_loopback(a)
        case AddressScope.NON_LOOPBACK:
            return not is_loopback(a)


def java_host_address(a: IPAddress, ifname: str | None = None) -> str:
    """InetAddress.getHostAddress(): IPv6 uncompressed without leading zeros, plus ``%ifname`` for
    every IPv6 address enumerated from an interface (Java keeps the scope, e.g. ``fd00:0:0:0:0:0:0:2%eth0``)."""
    if a.version == 4:
        return str(a)
    text = ":".join(f"{int.from_bytes(a.packed[i:i + 2], 'big'):x}" for i in range(0, 16, 2))
    return f"{text}%{ifname}" if ifname else text


def _wanted(a: IPAddress, ip: StackType) -> bool:
    return (a.version == 4 and ip is not StackType.IPV6) or (a.version == 6 and ip is StackType.IPV6)


def _resolve_one(alt: Alternative, ifs: Sequence[NetIf], ip: StackType, dns: HostResolver) -> IPAddress | None:
    up = [i for i in ifs if i.up]
    match alt:
        case Scope(scope):
            addrs = [a for i in up for a in i.addresses if in_scope(a, scope)]
            return next((a for a in addrs if a.version == (6 if ip is StackType.IPV6 else 4)), None)
        case UseLocalhost():
            return dns.local_host()
        case Match("interface", pattern):
            for i in up:
                if pattern.fullmatch(i.name):
                    first = next((a for a in i.addresses if _wanted(a, ip)), None)
                    return first or (i.addresses[0] if ip is StackType.DUAL and i.addresses else None)
            return None
        case Match(kind, pattern):
            for i in up:
                hits = [a for a in i.addresses if pattern.fullmatch(
                    dns.name_of(a) if kind == "host" else java_host_address(a, i.name))]
                if hits:
                    return next((a for a in hits if _wanted(a, ip)), hits[0])
            return None
        case Host(name):
            try:
                candidates: Sequence[IPAddress] = (ipaddress.ip_address(name),)
            except ValueError:
                candidates = dns.addresses_of(name)
            if ip is StackType.DUAL:
                return candidates[0] if candidates else None
            return next((a for a in candidates if a.version == (6 if ip is StackType.IPV6 else 4)), None)
    raise AssertionError(alt)  # pragma: no cover


def default_address(interfaces: Sequence[NetIf], ip: StackType = StackType.DUAL) -> IPAddress:
    """JGroups' NON_LOOPBACK_ADDRESS default, falling back to the loopback address."""
    found = _resolve_one(Scope(AddressScope.NON_LOOPBACK), interfaces, ip, NoDns())
    if found is not None:
        return found
    return ipaddress.IPv6Address("::1") if ip is StackType.IPV6 else ipaddress.IPv4Address("127.0.0.1")


def resolve_bind_addr(value: BindAddrSpec | str | None, interfaces: Sequence[NetIf], *,
                      ip_version: StackType = StackType.DUAL, resolver: HostResolver | None = None) -> IPAddress:
    """The address a JGroups transport would bind to for `value` on a host with `interfaces`."""
    dns = resolver or NoDns()
    spec = parse_bind_addr(value) if isinstance(value, str) else value
    if spec is None:
        return default_address(interfaces, ip_version)
    if len(spec.alternatives) == 1:
        found = _resolve_one(spec.alternatives[0], interfaces, ip_version, dns)
        return found if found is not None else default_address(interfaces, ip_version)
    for alt in spec.alternatives:
        try:
            found = _resolve_one(alt, interfaces, ip_version, dns)
        except ConfigError:
            continue  # Java ignores failing alternatives of a comma list
        if found is not None:
            return found
    raise ConfigError(f"bind_addr {spec.text!r}: no alternative matches an address on this host "
                      f"(interfaces: {', '.join(i.name for i in interfaces) or 'none'})")
