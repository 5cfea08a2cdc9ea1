"""DNS_PING: discovery through DNS (org.jgroups.protocols.dns.DNS_PING, protocol id 61).

Each discovery run resolves ``dns_query`` (a comma list of names) for ``dns_record_type`` and sends
GET_MBRS_REQ to the answers: an SRV answer with a port is probed at that port (plus the transport
ports with ``probe_transport_ports``), any other address at the **transport's** ``bind_port ..
bind_port+port_range``; never to our own physical address (JGRP-2669). Members find each other
without a static list, so the protocol is dynamic (no cache dissemination).

The DNS lookup is blocking I/O, so the layer never runs it: it emits a `ResolveDns` request (the
names, record type, server and timeout) and sends the discovery requests when the `DnsResolved`
answer comes back (the asyncio driver resolves with `pygroups.aio.dns`, a simulation or a test with
a fake). Failures (NXDOMAIN, timeouts, malformed answers) are logged and give an empty or partial
target list; the node then forms a singleton, as in Java.

Deliberate differences from Java: an unknown ``dns_record_type`` is a configuration error at
init (Java fails at the first discovery run); empty items in the comma list are skipped (Java
resolves ``""``, which is the loopback address); the DNS timeout is short and configurable
(``resolver_timeout``); SRV targets the OS does not know are asked from ``dns_address`` too
(see `pygroups.aio.dns`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pygroups.address import Address, IpAddress
from pygroups.clock import MS
from pygroups.errors import ConfigError
from pygroups.events import GetPhysicalAddress
from pygroups.protocols.discovery import Discovery, Responses, ping_data
from pygroups.protocols.dns.records import Resolution, check_record_type, parse_dns_address, split_queries
from pygroups.protocols.dns.requests import DEFAULT_TIMEOUT_S, DnsResolved, ResolveDns
from pygroups.stack.io import IoFailed, IoResult
from pygroups.stack.properties import Bool, Str, prop
from pygroups.stack.registry import protocol
from pygroups.wire.headers.ping import PingData, PingHeader


@dataclass(slots=True)
class _Lookup:
    """A discovery run waiting for its DNS answer."""

    data: PingData
    physical: IpAddress | None
    initial: bool
    record_type: str
    started_ns: int


@protocol("dns.DNS_PING")
class DNS_PING(Discovery):
    """Discovery by DNS A, AAAA or SRV records (e.g. a Kubernetes headless Service)."""

    dns_context_factory: str = prop(Str, "com.sun.jndi.dns.DnsContextFactory",
                                    "Java JNDI context factory (accepted for compatibility, unused)")
    dns_address: str = prop(Str, "", "DNS server host[:port] to ask directly; empty = system resolver")
    dns_record_type: str = prop(Str, "A", "DNS record type: A, AAAA or SRV")
    dns_query: str = prop(Str, "", "Comma-separated list of DNS names to resolve (required)")
    probe_transport_ports: bool = prop(Bool, False, "For SRV answers with a port, also probe the transport "
                                       "ports (ignored for A/AAAA)")

    def __init__(self) -> None:
        super().__init__()
        self.resolver_timeout: float = DEFAULT_TIMEOUT_S
        """Seconds per DNS query (Python only; JNDI waits up to 15 s)."""
        self._lookups: dict[int, _Lookup] = {}
        self._running = False
        self.last_resolution: Resolution | None = None
        self._failing: tuple[str, ...] | None = None  # the problems last warned about (None: resolving fine)

    def is_dynamic(self) -> bool:
        return True

    # --- lifecycle ------------------------------------------------------------------------------------

    def validate(self) -> None:
        super().validate()
        if not self.dns_query.strip():
            raise ConfigError("<dns.DNS_PING> dns_query can not be null or empty (set the dns_query attribute "
                              "or the jgroups.dns.dns_query property, e.g. to the headless Service's name)")
        check_record_type(self.dns_record_type)

    def init(self) -> None:
        """Java ``init()`` builds ``AddressedDNSResolver`` (with a ``dns_address``) or ``DefaultDNSResolver``:
        here the resolver is the driver's, so only its settings are checked (a bad address fails here)."""
        super().init()
        self.check_resolver_settings()

    def check_resolver_settings(self) -> None:
        """ConfigError for a ``dns_address`` that is not ``host[:port]`` or a timeout that is not positive."""
        if self.resolver_timeout <= 0:
            raise ConfigError(f"DNS timeout must be positive, got {self.resolver_timeout}")
        if self.dns_address.strip():
            parse_dns_address(self.dns_address.strip())

    def resolve_request(self, request_id: int) -> ResolveDns:
        """The lookup of one discovery run, from the attributes as they are now."""
        return ResolveDns(request_id, tuple(split_queries(self.dns_query)), self.dns_record_type,
                          self.dns_address.strip(), self.resolver_timeout)

    def start(self) -> None:
        super().start()
        self._running = True

    def stop(self) -> None:
        super().stop()
        self._running = False
        self._lookups.clear()  # answers still in flight are dropped when they arrive

    def statistics(self) -> Mapping[str, int | float]:
        return {**super().statistics(), "dns_lookups_pending": len(self._lookups)}

    def _transport_ports(self) -> tuple[int, int]:
        """Java ``TP.getBindPort()`` / ``getPortRange()`` (read when used; 0 for transports without them)."""
        transport = self.stack.transport
        port, port_range = getattr(transport, "bind_port", 0), getattr(transport, "port_range", 0)
        return (port if isinstance(port, int) else 0), (port_range if isinstance(port_range, int) else 0)

    # --- discovery ------------------------------------------------------------------------------------

    def find_members(self, members: Sequence[Address] | None, initial_discovery: bool,
                     responses: Responses) -> None:
        me = self.local_addr
        physical = None if me is None else self.down_layer.query_down(GetPhysicalAddress(me))
        wanted = members if members is not None and len(members) <= self.max_members_in_discovery_request else None
        data = ping_data(me, False, self.stack.logical_name, physical, mbrs=wanted)  # JGRP-1670
        request_id = self.stack.new_request_id()
        self._lookups[request_id] = _Lookup(data, physical, initial_discovery, self.dns_record_type, self.now_ns())
        self.counters["dns_lookups"] += 1
        self.emit(self.resolve_request(request_id))

    def on_io_result(self, result: IoResult) -> None:
        lookup = self._lookups.pop(result.request_id, None)
        if lookup is None or not self._running:
            self.counters["dns_results_ignored"] += 1  # stopped meanwhile
            return
        took_ms = (self.now_ns() - lookup.started_ns) // MS
        match result:
            case DnsResolved(resolution=Resolution() as resolution):
                pass
            case IoFailed(error=error):
                resolution = Resolution(problems=(f"DNS lookup failed: {error}",))
            case _:
                value = getattr(result, "resolution", result)
                resolution = Resolution(problems=(f"DNS lookup returned {type(value)!r}, not a Resolution",))
        self.last_resolution = resolution
        if resolution.problems:
            self.counters["dns_problems"] += 1
            self.log.debug("%s: DNS trouble for %r (%s): %s", self.local_addr, self.dns_query, lookup.record_type,
                           "; ".join(resolution.problems))
        self._report(resolution, lookup.record_type)
        if resolution.addresses:
            self.log.debug("%s: entries collected from DNS (in %d ms): %s", self.local_addr, took_ms,
                           list(resolution.addresses))
        else:
            self.counters["dns_empty"] += 1
            self.log.debug("%s: no entries collected from DNS (in %d ms)", self.local_addr, took_ms)
        self.send_requests(self.targets(resolution.addresses, lookup.record_type, lookup.physical), lookup)

    def _report(self, resolution: Resolution, record_type: str) -> None:
        """Say once, at WARNING, when DNS gives no members and why (Java only logs at DEBUG/TRACE, which
        hides the usual "every pod forms its own cluster" cause); say when it recovers."""
        failing = None if resolution.addresses else resolution.problems
        if failing == self._failing:
            return
        if failing is not None:
            where = f"DNS server {self.dns_address}" if self.dns_address else "the system resolver"
            self.log.warning("%s: DNS_PING found no members: %s records of %r from %s: %s", self.local_addr,
                             record_type, self.dns_query, where, "; ".join(failing) or "no addresses")
        elif self._failing is not None:
            self.log.info("%s: DNS_PING resolves %r again (%d addresses)", self.local_addr, self.dns_query,
                          len(resolution.addresses))
        self._failing = failing

    def targets(self, resolved: Sequence[IpAddress], record_type: str,
                physical: IpAddress | None) -> list[IpAddress]:
        """Java ``findMembers``' target set: SRV ports as given, else the transport's port range; no self."""
        port, port_range = self._transport_ports()
        out: dict[IpAddress, None] = {}
        for addr in resolved:
            if record_type == "SRV" and addr.port > 0:
                out[addr] = None
                if not self.probe_transport_ports:
                    continue
            for p in range(port, port + port_range + 1):
                if 0 <= p <= 0xFFFF:
                    out[IpAddress(addr.ip, p, addr.scope_id)] = None
        if physical is not None:
            out.pop(physical, None)  # JGRP-2669
        return list(out)

    def send_requests(self, targets: Sequence[IpAddress], lookup: _Lookup) -> None:
        if targets:
            self.log.debug("%s: sending discovery requests to %s", self.local_addr, list(targets))
        hdr = PingHeader(PingHeader.Type.GET_MBRS_REQ, self.cluster_name, lookup.initial)
        self.send_discovery_requests(targets, hdr, lookup.data)

    # --- diagnosis (pygroups doctor resolves with pygroups.aio.dns, then asks for these words) -------------

    def explain(self, resolution: Resolution) -> list[str]:
        """Plain words for ``pygroups doctor``: what was asked, what came back, and whom we would probe."""
        where = f"DNS server {self.dns_address}" if self.dns_address else "the system resolver"
        lines = [f"DNS_PING asks {where} for {self.dns_record_type} records of {self.dns_query!r}"]
        if resolution.addresses:
            lines.append("resolved: " + ", ".join(str(a) for a in resolution.addresses))
            port, port_range = self._transport_ports()
            targets = self.targets(resolution.addresses, self.dns_record_type, None)
            lines.append(f"discovery requests would go to {len(targets)} address(es) "
                         f"(transport ports {port}..{port + port_range}): "
                         + ", ".join(str(t) for t in targets[:20]) + (" ..." if len(targets) > 20 else ""))
        else:
            lines.append("no addresses: this node would form a cluster of its own")
        lines += [f"problem: {p}" for p in resolution.problems]
        return lines


__all__ = ["DNS_PING"]
