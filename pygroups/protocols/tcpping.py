"""TCPPING: static discovery (org.jgroups.protocols.TCPPING).

Requests go point to point to every ``initial_hosts`` entry expanded by ``port_range`` and to the
"dynamic hosts" learnt since (physical addresses from requests, views and ADD_PHYSICAL_ADDRESS,
at most ``max_dynamic_hosts``, oldest dropped first), never to our own physical address. The
destination of such a request is an `IpAddress`: the transport sends it straight to that address.

Host names are resolved through an injected `HostResolver` (``resolver``; the sans-IO default
knows IP literals and ``localhost``). Names that do not resolve are retried on every discovery
round, as Java does (JGRP-2535).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from pathlib import Path

from pygroups.address import Address, IpAddress
from pygroups.errors import ConfigError
from pygroups.events import AddPhysicalAddress, Event, GetPhysicalAddress, ViewChange
from pygroups.protocols.discovery import Discovery, Responses, ping_data
from pygroups.stack.bind_addr import HostResolver, NoDns
from pygroups.stack.properties import HostList, HostPort, Int, Str, parse_host_list, prop
from pygroups.stack.registry import protocol
from pygroups.wire.headers.ping import PingHeader


@protocol("TCPPING")
class TCPPING(Discovery):
    """Discovery by a static list of hosts (plus the dynamic hosts learnt at run time)."""

    initial_hosts: tuple[HostPort, ...] = prop(HostList, (), "Hosts (host[port]) probed for the initial membership")
    initial_hosts_file: str = prop(Str, "", "File with the initial hosts; overrides initial_hosts when set")
    port_range: int = prop(Int, 1, "Additional ports probed per host: host[p] probes p .. p+port_range")
    max_dynamic_hosts: int = prop(Int, 2000, "Max hosts kept beyond the ones in initial_hosts")

    def __init__(self) -> None:
        super().__init__()
        self.resolver: HostResolver = NoDns()
        self.hosts: list[IpAddress] = []          # Java's initial_hosts (resolved and expanded)
        self.unresolved_hosts: set[str] = set()
        self.dynamic_hosts: list[IpAddress] = []  # JGRP-989, a BoundedList
        self.default_port = 0
        self._programmatic = False
        self._file_hosts: tuple[HostPort, ...] | None = None
        self._bind_variants_added = False

    def is_dynamic(self) -> bool:
        return False

    def set_initial_hosts(self, hosts: Sequence[IpAddress]) -> None:
        """``setInitialHosts2``: use exactly these addresses (no expansion, no resolution)."""
        if hosts:
            self.hosts = list(dict.fromkeys(hosts))
            self._programmatic = True

    def validate(self) -> None:
        super().validate()
        if self.initial_hosts_file:
            try:
                text = Path(self.initial_hosts_file).read_text()
            except OSError as e:
                raise ConfigError(f"<TCPPING> initial_hosts_file '{self.initial_hosts_file}' not found: {e}") from e
            # Util.readContents(input, '#'): a '#' comments out the rest of its line
            self._file_hosts = parse_host_list(" ".join(line.split("#", 1)[0] for line in text.splitlines()))

    def init(self) -> None:
        super().init()
        transport = self.stack.transport
        port = getattr(transport, "bind_port", 0)
        self.default_port = port if isinstance(port, int) else 0
        if self.default_port == 0:
            self.log.warning("a bind_port of 0 doesn't make any sense with TCPPING")
        if not self._programmatic:
            self.hosts, self.unresolved_hosts = [], set()
            self._resolve_hosts()

    def _configured_hosts(self) -> tuple[HostPort, ...]:
        return self._file_hosts if self._file_hosts is not None else self.initial_hosts

    def _resolve_hosts(self, only: set[str] | None = None) -> None:
        """Util.parseCommaDelimitedHostsInto: every address of every host, at port .. port+port_range."""
        for hp in self._configured_hosts():
            if only is not None and hp.host not in only:
                continue
            try:
                addrs = [ipaddress.ip_address(hp.host)]
            except ValueError:
                try:
                    addrs = list(self.resolver.addresses_of(hp.host))
                except ConfigError:
                    addrs = []
            if not addrs:
                self.unresolved_hosts.add(hp.host)
                continue
            self.unresolved_hosts.discard(hp.host)
            port = self.default_port if hp.port is None else hp.port
            for ip in addrs:
                for p in range(port, port + self.port_range + 1):
                    if p <= 0xFFFF:
                        addr = IpAddress(ip, p)
                        if addr not in self.hosts:
                            self.hosts.append(addr)
        if self.unresolved_hosts and only is None:
            self.log.warning("unable to resolve the following hostnames: %s", sorted(self.unresolved_hosts))

    def _add_bind_addr_variants(self, physical: IpAddress | None) -> None:
        """JGRP-2910: also probe the bind address at every initial host's port. Java does it in init() with
        TP.bind_addr; here once the transport's own physical address (its bound IP) is known."""
        if self._bind_variants_added or self._programmatic or physical is None or physical.ip is None:
            return
        self._bind_variants_added = True
        for addr in list(self.hosts):
            variant = IpAddress(physical.ip, addr.port)
            if variant not in self.hosts:
                self.hosts.append(variant)

    def _add_dynamic(self, physical: IpAddress | None) -> None:
        if physical is None or physical in self.hosts or physical in self.dynamic_hosts:
            return
        self.dynamic_hosts.append(physical)
        while len(self.dynamic_hosts) > max(self.max_dynamic_hosts, 0):
            self.dynamic_hosts.pop(0)

    # --- events -----------------------------------------------------------------------------------------

    def down(self, evt: Event) -> None:
        super().down(evt)
        match evt:
            case ViewChange(view=view):
                for mbr in view.members:
                    self._add_dynamic(self.down_layer.query_down(GetPhysicalAddress(mbr)))
            case AddPhysicalAddress(physical=physical):
                self._add_dynamic(physical)
            case _:
                pass

    def discovery_request_received(self, sender: Address | None, logical_name: str | None,
                                   physical: IpAddress | None) -> None:
        self._add_dynamic(physical)

    def find_members(self, members: Sequence[Address] | None, initial_discovery: bool,
                     responses: Responses) -> None:
        me = self.local_addr
        physical = None if me is None else self.down_layer.query_down(GetPhysicalAddress(me))
        self._add_bind_addr_variants(physical)
        wanted = members if members is not None and len(members) <= self.max_members_in_discovery_request else None
        data = ping_data(me, False, self.stack.logical_name, physical, mbrs=wanted)  # JGRP-1670
        targets = list(self.hosts)
        targets += [h for h in self.dynamic_hosts if h not in targets]
        if not self._programmatic and self.unresolved_hosts:
            self._resolve_hosts(set(self.unresolved_hosts))
        hdr = PingHeader(PingHeader.Type.GET_MBRS_REQ, self.cluster_name, initial_discovery)
        self.send_discovery_requests((a for a in targets if a != physical), hdr, data)  # never to ourselves
