"""What DNS_PING and its resolvers exchange: record types, `Resolution`, the resolver interface.

Sans-IO: DNS_PING emits a `ResolveDns` request (plain data) and reads the `Resolution` of the answer;
the resolver that does the lookups lives at the edge (`pygroups.aio.dns`). This module defines what
both sides share, so the layer never imports the networking resolver and tests can answer with a fake
(`resolve_all` over a `DNSResolver`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pygroups.address import IpAddress
from pygroups.errors import ConfigError

RECORD_TYPES = ("A", "AAAA", "SRV")
"""Java ``DNSResolver.DNSRecordType``; matched exactly like ``Enum.valueOf`` (upper case only)."""

DEFAULT_DNS_PORT = 53


@dataclass(frozen=True, slots=True)
class Resolution:
    """Addresses one or more DNS queries produced (port 0 unless an SRV record gave one), in answer
    order, and plain-words explanations of what went wrong (empty when everything resolved)."""

    addresses: tuple[IpAddress, ...] = ()
    problems: tuple[str, ...] = ()

    def __add__(self, other: Resolution) -> Resolution:
        return Resolution(self.addresses + other.addresses, self.problems + other.problems)

    @classmethod
    def of(cls, addresses: Iterable[IpAddress | tuple[str, int] | str], *problems: str) -> Resolution:
        """Convenience for fakes: ``Resolution.of(["10.0.0.1", ("10.0.0.2", 7800)])``."""
        out = []
        for a in addresses:
            if isinstance(a, IpAddress):
                out.append(a)
            elif isinstance(a, str):
                out.append(IpAddress(a, 0))
            else:
                out.append(IpAddress(a[0], a[1]))
        return cls(tuple(out), tuple(problems))


class DNSResolver(Protocol):
    """Java ``DNSResolver``: resolve one name for one record type. Must not raise for DNS failures
    (they go into ``problems``); it runs on a driver worker thread, never on the event loop."""

    def resolve_ips(self, query: str, record_type: str) -> Resolution: ...


def check_record_type(record_type: str) -> str:
    """``DNSRecordType.valueOf``: exactly ``A``, ``AAAA`` or ``SRV``."""
    if record_type not in RECORD_TYPES:
        raise ConfigError(f"<dns.DNS_PING> dns_record_type {record_type!r} is not one of {', '.join(RECORD_TYPES)} "
                          "(upper case, as Java's DNSRecordType.valueOf requires)")
    return record_type


def split_queries(dns_query: str) -> list[str]:
    """Java ``dns_query.split(",")`` then ``trim()`` each; Java keeps empty items (they fail to resolve),
    we drop them (a trailing comma is a typo, not a name)."""
    return [q.strip() for q in dns_query.split(",") if q.strip()]


def resolve_all(resolver: DNSResolver, queries: Sequence[str], record_type: str) -> Resolution:
    """Java ``DNS_PING.getMembers``: every query in order, results concatenated. A resolver that raises
    anyway (a bug, a foreign fake) costs that query only."""
    total = Resolution()
    for query in queries:
        try:
            total += resolver.resolve_ips(query, record_type)
        except Exception as e:  # the contract says no exceptions; keep discovery alive regardless
            total += Resolution(problems=(f"{query} ({record_type}): resolver error: {e!r}",))
    return total


def parse_dns_address(dns_address: str) -> tuple[str, int]:
    """``host[:port]`` (JNDI ``dns://host:port``), ``[v6]:port`` or a bare IPv6 literal; port 53 by default."""
    text = dns_address.strip()
    if not text:
        raise ConfigError("<dns.DNS_PING> dns_address is empty")
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigError(f"<dns.DNS_PING> dns_address {dns_address!r}: missing ']'")
        host, rest = text[1:end], text[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise ConfigError(f"<dns.DNS_PING> dns_address {dns_address!r}: expected ':port' after ']'")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    elif text.count(":") > 1:
        try:
            ipaddress.IPv6Address(text)
        except ValueError as e:
            raise ConfigError(f"<dns.DNS_PING> dns_address {dns_address!r} is not host[:port]") from e
    port = DEFAULT_DNS_PORT
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) <= 0xFFFF:
            raise ConfigError(f"<dns.DNS_PING> dns_address {dns_address!r}: bad port {port_text!r}")
        port = int(port_text)
    if not host:
        raise ConfigError(f"<dns.DNS_PING> dns_address {dns_address!r} has no host")
    return host, port


__all__ = ["RECORD_TYPES", "DNSResolver", "Resolution", "check_record_type", "parse_dns_address", "resolve_all",
           "split_queries"]
