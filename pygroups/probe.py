"""``pygroups probe``: JGroups' Probe (org.jgroups.tests.Probe) for Java and Python nodes alike.

Same options and output as ``java org.jgroups.tests.Probe``::

    pygroups probe                                   # UDP multicast to 224.0.75.75:7500
    pygroups probe -addr 127.0.0.1 -port 7500 -tcp true jmx=GMS member-addrs
    pygroups probe -cluster 'prod.*' -passcode secret keys

Without keys every node answers with its address, view, cluster and version. ``-addr`` with a
unicast address first asks that node for ``member-addrs`` and then asks ``port``, ``port+1``, ... on
each member's host (nodes on one host take consecutive diagnostics ports). ``-tcp``/``-udp`` take
``true``/``false`` as in Java; a bare ``-tcp`` means true. Exit status: 0 when at least one node
answered, 1 when none did, 2 on a usage error. The sockets live in `pygroups.aio.diag`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pygroups.stack.properties import parse_bool

DEFAULT_DIAG_PORT = 7500
DEFAULT_DIAG_ADDR = "224.0.75.75"
DEFAULT_DIAG_ADDR_IPV6 = "ff0e::0:75:75"
PREFIX = "**"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``probe`` on the ``pygroups`` command line."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "probe", allow_abbrev=False,
        help="query the diagnostics of running JGroups/pygroups nodes (JGroups' Probe)",
        description="Query JGroups and pygroups nodes like org.jgroups.tests.Probe: "
                    "'pygroups probe keys' lists what nodes answer, e.g. jmx=GMS, member-addrs, props.")
    p.add_argument("-addr", "--addr", dest="addrs", action="append", default=[], metavar="ADDR",
                   help="multicast group or node address (repeatable; default: 224.0.75.75, with -tcp "
                        "the host's first non-loopback address)")
    p.add_argument("-bind_addr", "--bind_addr", default=None, metavar="ADDR",
                   help="local address (UDP: the interface multicasts leave from)")
    p.add_argument("-port", "--port", type=int, default=0, help="diagnostics port (default 7500)")
    p.add_argument("-ttl", "--ttl", type=int, default=32, help="multicast TTL (default 32)")
    p.add_argument("-timeout", "--timeout", type=int, default=500, metavar="MS",
                   help="ms to wait for answers (default 500)")
    p.add_argument("-passcode", "--passcode", default=None, help="diag.passcode of the nodes")
    p.add_argument("-cluster", "--cluster", default=None, metavar="REGEX",
                   help="only nodes whose cluster name matches REGEX answer")
    p.add_argument("-match", "--match", default=None, metavar="TEXT", help="print only answers containing TEXT")
    p.add_argument("-weed_out_duplicates", "--weed_out_duplicates", action="store_true",
                   help="print one answer per local_addr")
    p.add_argument("-udp", "--udp", nargs="?", const="true", default=None, metavar="true|false",
                   help="use UDP (default true)")
    p.add_argument("-tcp", "--tcp", nargs="?", const="true", default=None, metavar="true|false",
                   help="use TCP instead of UDP (default false)")
    p.add_argument("-4", dest="ipv4", action="store_true", help="IPv4 (the default)")
    p.add_argument("-6", dest="ipv6", action="store_true", help="IPv6: the default group is ff0e::0:75:75")
    p.add_argument("-v", "--verbose", action="store_true", help="say where requests go")
    p.add_argument("keys", nargs="*", help="keys, e.g. jmx=GMS view member-addrs keys props")
    p.set_defaults(func=run)
    return p


def _flag(value: str | None, default: bool, keys: list[str]) -> bool:
    """``-tcp true|false`` as in Java; a bare ``-tcp`` followed by a key takes the key back."""
    if value is None:
        return default
    try:
        return parse_bool(value)
    except Exception:
        keys.insert(0, value)
        return True


def build_request(keys: Sequence[str], cluster: str | None) -> str:
    """Probe.main's request text: ``cluster=X`` (with -cluster) and every key, each followed by a space."""
    parts = ([f"cluster={cluster}"] if cluster is not None else []) + list(keys)
    return "".join(f"{p} " for p in parts)


class Printer:
    """Probe's default response handler: ``#N (B bytes):`` then the answer; counts matches."""

    def __init__(self, write: Callable[[str], object], match: str | None, weed_out_duplicates: bool) -> None:
        self.write, self.match, self.weed = write, match, weed_out_duplicates
        self.count = self.matched = self.not_matched = 0
        self._senders: set[str] = set()

    def __call__(self, data: bytes) -> None:
        text = data.decode("utf-8", errors="replace")
        if self.weed and self._duplicate(text):
            return
        self.count += 1
        if self.match is None or self.match in text:
            self.matched += 1
            self.write(f"#{self.count} ({len(data)} bytes):\n{text}\n")
        else:
            self.not_matched += 1

    def _duplicate(self, text: str) -> bool:
        i = text.find("local_addr")
        if i < 0:
            return False
        rest = text[i + 1 + len("local_addr"):].split()
        addr = rest[0] if rest else ""
        if addr in self._senders:
            return True
        self._senders.add(addr)
        return False

    def summary(self) -> str:
        return f"{self.count} responses ({self.matched} matches, {self.not_matched} non matches)\n"


def _non_loopback_address(ipv6: bool) -> str:
    """Util.getNonLoopbackAddress: the first address of an up, non-loopback interface."""
    from pygroups.aio.netif import local_interfaces

    for nic in local_interfaces():
        for a in nic.addresses:
            if nic.up and not a.is_loopback and not a.is_link_local and a.version == (6 if ipv6 else 4):
                return str(a)
    return "::1" if ipv6 else "127.0.0.1"


def run(args: argparse.Namespace, write: Callable[[str], object] | None = None) -> int:
    from pygroups.aio.diag import ProbeClient

    out: Callable[[str], object] = write if write is not None else sys.stdout.write
    keys = list(args.keys)
    udp = _flag(args.udp, True, keys)
    tcp = _flag(args.tcp, False, keys)
    if not udp and not tcp:
        sys.stderr.write("pygroups probe: either UDP or TCP mode has to be enabled\n")
        return 2
    if tcp:
        udp = False
    ipv6 = args.ipv6 or any(":" in a for a in args.addrs) or (args.bind_addr is not None and ":" in args.bind_addr)
    addrs = list(args.addrs)
    if not addrs:
        if udp:
            addrs.append(DEFAULT_DIAG_ADDR_IPV6 if ipv6 else DEFAULT_DIAG_ADDR)
        if tcp:
            addrs.append(_non_loopback_address(ipv6))
    printer = Printer(out, args.match, args.weed_out_duplicates)
    client = ProbeClient(printer, port=args.port or DEFAULT_DIAG_PORT, timeout_ms=args.timeout, ttl=args.ttl,
                         bind_addr=args.bind_addr, passcode=args.passcode,
                         verbose=(lambda s: out(f"{PREFIX} {s}\n")) if args.verbose else None)
    if args.verbose:
        out(f"{PREFIX} addrs: {addrs}\n{PREFIX} udp: {java_bool(udp)}, tcp: {java_bool(tcp)}\n\n")
    try:
        client.run(addrs, build_request(keys, args.cluster), udp=udp, tcp=tcp)
    except ValueError as e:  # not an IP address
        sys.stderr.write(f"pygroups probe: {e}\n")
        return 2
    for err in client.errors:
        sys.stderr.write(err + "\n")
    out(printer.summary())
    return 0 if printer.count else 1


def java_bool(b: bool) -> str:
    return "true" if b else "false"
