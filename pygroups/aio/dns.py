"""`DnsResolver`: the real resolver behind DNS_PING (dnspython plus the OS resolver), and `DnsLookups`, the
asyncio driver's handler of DNS_PING's `ResolveDns` request.

It mirrors Java's two resolvers (``DefaultDNSResolver`` / ``AddressedDNSResolver``):

* without ``dns_address``: ``A`` goes to the OS resolver (``getaddrinfo``, as Java's
  ``InetAddress.getAllByName``: /etc/hosts, search domains, IPv4 first, IPv6 too); ``AAAA`` and
  ``SRV`` are DNS queries through the system configuration (/etc/resolv.conf, as JNDI's ``dns://``).
* with ``dns_address`` (``host[:port]``): every query goes to that server over UDP, retried over TCP
  when the answer is truncated.

SRV targets: Java resolves them with the OS resolver even when ``dns_address`` is set. ``srv_targets``
picks the policy: ``"system"`` (Java exactly), ``"server"`` (the SRV answer's additional records,
then A/AAAA queries to the same server), or ``"system-then-server"`` (the default: Java's answer
whenever the OS knows the target, the server's only where Java would find nothing).

It never raises for DNS trouble: failures become plain-words ``problems`` in the `Resolution`
(NXDOMAIN, no records, server unreachable, malformed answer) and an empty or partial list. Runs on
a driver worker thread (`ResolveDns`), never on the event loop; this module does real I/O (an edge).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
from collections.abc import Iterable
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

from pygroups.address import IpAddress
from pygroups.errors import ConfigError
from pygroups.protocols.dns.records import RECORD_TYPES, Resolution, parse_dns_address, resolve_all
from pygroups.protocols.dns.requests import DEFAULT_TIMEOUT_S, DnsResolved, ResolveDns

log = logging.getLogger(__name__)

SrvTargets = Literal["system", "server", "system-then-server"]
_Answer = tuple[dns.rrset.RRset | None, dns.message.Message | None, str | None]


class DnsResolver:
    """Resolves DNS_PING queries; ``dns_address`` empty = system configuration."""

    def __init__(self, dns_address: str = "", *, timeout: float = DEFAULT_TIMEOUT_S,
                 srv_targets: SrvTargets = "system-then-server") -> None:
        if timeout <= 0:
            raise ConfigError(f"DNS timeout must be positive, got {timeout}")
        if srv_targets not in ("system", "server", "system-then-server"):
            raise ConfigError(f"srv_targets must be 'system', 'server' or 'system-then-server', got {srv_targets!r}")
        self.dns_address = dns_address.strip()
        self.timeout = timeout
        self.srv_targets: SrvTargets = srv_targets
        self.server: tuple[str, int] | None = parse_dns_address(self.dns_address) if self.dns_address else None
        self._system: dns.resolver.Resolver | None = None

    def __repr__(self) -> str:
        where = f"server {self.describe_server()}" if self.server else "system resolver"
        return f"<DnsResolver {where} timeout={self.timeout}s srv_targets={self.srv_targets}>"

    def describe_server(self) -> str:
        if self.server is None:
            return "the system's DNS servers"
        host, port = self.server
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def close(self) -> None:
        """Java ``DNSResolver.close``; nothing is held open between queries."""

    # --- the DNSResolver contract ---------------------------------------------------------------------

    def resolve_ips(self, query: str, record_type: str) -> Resolution:
        if record_type not in RECORD_TYPES:
            return Resolution(problems=(f"unknown DNS record type {record_type!r} (A, AAAA or SRV)",))
        try:
            if record_type == "A" and self.server is None:
                addrs, problem = self.system_addresses(query, 0)
                return Resolution(tuple(addrs), () if problem is None else (problem,))
            if record_type in ("A", "AAAA"):
                rrset, _, problem = self.query(query, record_type)
                return Resolution(tuple(self._addresses(rrset, 0)), () if problem is None else (problem,))
            return self._resolve_srv(query)
        except Exception as e:  # last resort: a bug or an unforeseen library error costs this query only
            log.debug("resolving %s %s failed", query, record_type, exc_info=True)
            return Resolution(problems=(f"{query} ({record_type}): unexpected resolver error: {e!r}",))

    # --- SRV ------------------------------------------------------------------------------------------

    def _resolve_srv(self, query: str) -> Resolution:
        rrset, response, problem = self.query(query, "SRV")
        addresses: list[IpAddress] = []
        problems = [] if problem is None else [problem]
        for rd in rrset or ():
            target: dns.name.Name = rd.target
            port = int(rd.port)
            if target == dns.name.root:
                problems.append(f"{query}: an SRV record says the service is not available (target '.')")
                continue
            name = target.to_text()  # with the final dot, as JNDI renders it and Java then resolves it
            found: list[IpAddress] = []
            why: list[str] = []
            if self.srv_targets != "server":
                found, p = self.system_addresses(name, port)
                why += [] if p is None else [p]
            if not found and self.srv_targets != "system":
                found, p = self._server_addresses(target, port, response)
                why += [] if p is None else [p]
            if not found:
                problems.append(f"{query}: SRV target {name} (port {port}) did not resolve: " + "; ".join(why))
            addresses += found
        return Resolution(tuple(addresses), tuple(problems))

    def _server_addresses(self, target: dns.name.Name, port: int,
                          response: dns.message.Message | None) -> tuple[list[IpAddress], str | None]:
        """The SRV answer's additional A/AAAA records for ``target``, else A then AAAA queries."""
        if response is not None:
            extra = [rrs for rrs in response.additional if rrs.name == target
                     and rrs.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA)]
            found = [a for rrs in extra for a in self._addresses(rrs, port)]
            if found:
                return found, None
        found, problems = [], []
        for rtype in ("A", "AAAA"):
            rrset, _, problem = self.query(target.to_text(), rtype)
            found += self._addresses(rrset, port)
            if problem is not None:
                problems.append(problem)
            if found:
                return found, None
        return found, "; ".join(problems) or None

    # --- the two ways of asking -------------------------------------------------------------------------

    def system_addresses(self, name: str, port: int) -> tuple[list[IpAddress], str | None]:
        """``InetAddress.getAllByName(name)``: the OS resolver, IPv4 first, duplicates removed."""
        try:
            infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, ValueError) as e:
            return [], f"{name}: the system resolver cannot resolve it ({_reason(e)})"
        out: list[IpAddress] = []
        for family, *_, sockaddr in sorted(infos, key=lambda i: i[0] != socket.AF_INET):
            try:
                scope = int(sockaddr[3]) if family == socket.AF_INET6 and len(sockaddr) > 3 else 0
                addr = IpAddress(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]), port, scope)
            except (ValueError, IndexError):
                continue
            if addr not in out:
                out.append(addr)
        return out, None if out else f"{name}: the system resolver returned no addresses"

    def query(self, name: str, record_type: str) -> _Answer:
        """One DNS query; returns the answer records (None when there are none), the response and a
        plain-words problem (None when the name has records of that type)."""
        try:
            qname = dns.name.from_text(name)
        except (dns.exception.DNSException, UnicodeError, ValueError) as e:
            return None, None, f"{name!r} is not a valid DNS name ({e})"
        rdtype = dns.rdatatype.from_text(record_type)
        try:
            response = self._ask(qname, rdtype)
        except dns.resolver.NXDOMAIN:
            return None, None, f"{name} does not exist (NXDOMAIN from {self.describe_server()})"
        except dns.resolver.NoNameservers as e:
            return None, None, f"{name} {record_type}: every DNS server failed ({_first_line(e)})"
        except dns.exception.Timeout:
            return None, None, (f"{name} {record_type}: no answer from {self.describe_server()} within "
                                f"{self.timeout:g}s (server down or unreachable?)")
        except dns.resolver.NoResolverConfiguration as e:
            return None, None, f"no system DNS configuration (/etc/resolv.conf): {e}"
        except OSError as e:
            return None, None, f"{name} {record_type}: DNS server {self.describe_server()} unreachable ({e})"
        except dns.exception.DNSException as e:
            return None, None, (f"{name} {record_type}: malformed or unexpected answer from "
                                f"{self.describe_server()} ({type(e).__name__}: {_first_line(e)})")
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            return None, response, f"{name} does not exist (NXDOMAIN from {self.describe_server()})"
        if rcode != dns.rcode.NOERROR:
            return None, response, (f"{name} {record_type}: {self.describe_server()} answered "
                                    f"{dns.rcode.to_text(rcode)}")
        try:
            rrset = response.resolve_chaining().answer if isinstance(response, dns.message.QueryMessage) else None
        except dns.exception.DNSException as e:
            return None, response, (f"{name} {record_type}: unusable answer from {self.describe_server()} "
                                    f"({type(e).__name__}: {_first_line(e)})")
        if rrset is None or len(rrset) == 0:
            return None, response, f"{name} exists but has no {record_type} records"
        return rrset, response, None

    def _ask(self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType) -> dns.message.Message:
        if self.server is None:
            answer = self._system_resolver().resolve(qname, rdtype, search=False, raise_on_no_answer=False,
                                                     lifetime=self.timeout)
            return answer.response
        host, port = self.server
        where = host if _is_ip(host) else self._server_ip(host)
        request = dns.message.make_query(qname, rdtype)
        response, _tcp = dns.query.udp_with_fallback(request, where, timeout=self.timeout, port=port)
        return response

    def _server_ip(self, host: str) -> str:
        """A ``dns_address`` given by name (JNDI accepts that too): its first address from the OS."""
        addrs, problem = self.system_addresses(host, 0)
        if not addrs:
            raise OSError(problem or f"cannot resolve DNS server {host}")
        return str(addrs[0].ip)

    def _system_resolver(self) -> dns.resolver.Resolver:
        if self._system is None:  # reads /etc/resolv.conf: on first use, on the worker thread
            self._system = dns.resolver.Resolver(configure=True)
        return self._system

    @staticmethod
    def _addresses(rrset: dns.rrset.RRset | None, port: int) -> list[IpAddress]:
        if rrset is None or rrset.rdclass != dns.rdataclass.IN:
            return []
        if rrset.rdtype not in (dns.rdatatype.A, dns.rdatatype.AAAA):
            return []
        return [IpAddress(rd.address, port) for rd in rrset]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _reason(e: BaseException) -> str:
    return e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__


def _first_line(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text.splitlines()[0]


def resolve_text(addresses: Iterable[IpAddress]) -> str:
    """Java's ``List<Address>.toString()`` rendering, for fetch_from_dns."""
    return "[" + ", ".join(str(a) for a in addresses) + "]"


class DnsLookups:
    """The asyncio driver's handler of `ResolveDns` (blocking, on its worker threads).

    Keeps one `DnsResolver` per (``dns_address``, ``timeout``), so the system configuration is read once,
    as it was once per DNS_PING layer; every one uses the ``srv_targets`` policy.
    """

    def __init__(self, *, srv_targets: SrvTargets = "system-then-server") -> None:
        self.srv_targets: SrvTargets = srv_targets
        self._resolvers: dict[tuple[str, float], DnsResolver] = {}
        self._lock = threading.Lock()

    def resolver(self, dns_address: str, timeout: float) -> DnsResolver:
        with self._lock:
            found = self._resolvers.get((dns_address, timeout))
            if found is None:
                found = DnsResolver(dns_address, timeout=timeout, srv_targets=self.srv_targets)
                self._resolvers[(dns_address, timeout)] = found
            return found

    def lookup(self, request: ResolveDns) -> Resolution:
        """Java ``DNS_PING.getMembers``: every query in order, the answers concatenated."""
        return resolve_all(self.resolver(request.dns_address, request.timeout), request.queries,
                           request.record_type)

    def resolve(self, request: ResolveDns) -> DnsResolved:
        return DnsResolved(request.request_id, self.lookup(request))


__all__ = ["DEFAULT_TIMEOUT_S", "DnsLookups", "DnsResolver", "SrvTargets", "resolve_text"]
