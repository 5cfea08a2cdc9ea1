"""The host's network interfaces and DNS, for `pygroups.stack.bind_addr` (which is pure).

Standard library only. On Linux, interface names come from ``socket.if_nameindex()``, the IPv4
address and the up flag from ``ioctl`` (SIOCGIFADDR / SIOCGIFFLAGS: the primary address only)
and IPv6 addresses from ``/proc/net/if_inet6``. Elsewhere we fall back to one pseudo-interface
holding the addresses the host name resolves to, plus loopback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from collections.abc import Sequence
from pathlib import Path

from pygroups.stack.bind_addr import IPAddress, NetIf

_SIOCGIFFLAGS = 0x8913
_SIOCGIFADDR = 0x8915
_IFF_UP = 0x1


def local_interfaces() -> list[NetIf]:
    """The host's interfaces in kernel index order, each with its addresses and up flag."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            return _linux_interfaces()
    return _fallback_interfaces()


def _linux_interfaces() -> list[NetIf]:
    import fcntl  # Linux-only import, kept local

    v6: dict[str, list[IPAddress]] = {}
    inet6 = Path("/proc/net/if_inet6")
    if inet6.exists():
        for line in inet6.read_text().splitlines():
            fields = line.split()
            if len(fields) == 6:
                v6.setdefault(fields[5], []).append(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
    out: list[NetIf] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            req = struct.pack("256s", name.encode()[:15])
            addrs: list[IPAddress] = []
            with contextlib.suppress(OSError):  # no IPv4 address on this interface
                addrs.append(ipaddress.IPv4Address(fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)[20:24]))
            up = True
            with contextlib.suppress(OSError):
                up = bool(struct.unpack("H", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req)[16:18])[0] & _IFF_UP)
            out.append(NetIf(name, tuple(addrs + v6.get(name, [])), up))
    return out


def _fallback_interfaces() -> list[NetIf]:
    found: list[IPAddress] = []
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None):
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if addr not in found:
                found.append(addr)
    loop = NetIf("lo", (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")))
    return [loop, NetIf("host", tuple(a for a in found if a not in loop.addresses))]


class SystemResolver:
    """Host-name resolution through the OS (blocking: call it before starting the stack)."""

    def addresses_of(self, host: str) -> Sequence[IPAddress]:
        out: list[IPAddress] = []
        try:
            infos = socket.getaddrinfo(host, None)
        except OSError as e:
            from pygroups.errors import ConfigError

            raise ConfigError(f"cannot resolve host name {host!r}: {e}") from e
        for info in infos:
            addr = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if addr not in out:
                out.append(addr)
        return out

    def name_of(self, addr: IPAddress) -> str:
        try:
            return socket.gethostbyaddr(str(addr))[0]
        except OSError:
            return str(addr)

    def local_host(self) -> IPAddress | None:
        try:
            return ipaddress.ip_address(socket.gethostbyname(socket.gethostname()))
        except OSError:
            return None
