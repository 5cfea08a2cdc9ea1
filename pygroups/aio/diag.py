"""Probe diagnostics on real sockets: the server side a `StackDriver` runs for `OpenDiagnostics`
(DiagnosticsHandler's sockets), and the client side of ``pygroups probe`` (org.jgroups.tests.Probe).

Rules of this module:

1. Server: a UDP socket bound to ``mcast_addr:port`` (SO_REUSEADDR, so every node on a host can
   bind it; bound to the group, it only sees datagrams sent to the group, as JGroups on Linux)
   joined on the requested interfaces, plus a TCP server on the first free port of
   ``port..port+port_range``. Each request goes to ``answer(bytes) -> bytes | None``; UDP answers
   leave from a second, unbound socket to the sender; a TCP answer is written on the connection,
   which is then closed. A socket that cannot be opened is logged; the node runs on.
2. Client: blocking sockets (the CLI has nothing else to do), Java Probe's behaviour: a multicast
   address gets one UDP request and every answer until ``timeout``; a unicast address first gets
   ``member-addrs``, and the request then goes to ``host:port+i`` for the i-th member seen on each
   host (JGroups' quick-n-dirty scheme: nodes on one host sit on consecutive diagnostics ports).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pygroups.aio.server_socket import bind_first_free
from pygroups.protocols.diagnostics import MAX_REQUEST, auth_header_for_java, tcp_request_end
from pygroups.stack.io import OpenDiagnostics

log = logging.getLogger(__name__)

TCP_READ_TIMEOUT = 10.0  # seconds an accepted probe connection may take to send its request
MAX_DATAGRAM = 65507


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _UdpRequests(asyncio.DatagramProtocol):
    def __init__(self, server: DiagServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        self.server._udp_request(data, addr)


class _TcpRequest(asyncio.Protocol):
    """One probe connection: read the request (up to ``\\n`` or EOF), answer, close."""

    def __init__(self, server: DiagServer) -> None:
        self.server = server
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.done = False
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(TCP_READ_TIMEOUT, transport.abort)

    def data_received(self, data: bytes) -> None:
        if self.done:
            return
        self.buf += data
        end = tcp_request_end(bytes(self.buf), self.server.cmd.passcode)
        if end is not None:
            self._answer(bytes(self.buf[:end]))
        elif len(self.buf) > MAX_REQUEST:
            self.server.dropped += 1
            self._finish()

    def eof_received(self) -> bool:
        if not self.done:
            self._answer(bytes(self.buf))  # Util.readBytes also stops at EOF
        return False

    def _answer(self, request: bytes) -> None:
        self.done = True
        answer = self.server.answer(request)
        if answer and self.transport is not None:
            self.transport.write(answer)
        self._finish()

    def _finish(self) -> None:
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class DiagServer:
    """The sockets of one `OpenDiagnostics`; `answer` turns a request into the bytes to send back."""

    def __init__(self, cmd: OpenDiagnostics, answer: Callable[[bytes], bytes | None], name: str = "") -> None:
        self.cmd = cmd
        self.answer = answer
        self.name = name
        self.udp_address: tuple[str, int] | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.dropped = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._sender: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self.closed = False

    async def start(self) -> None:
        try:
            await self._start()
        except asyncio.CancelledError:  # the driver closed meanwhile
            self.close()
            raise

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        if self.cmd.enable_udp:
            try:
                sock = self._udp_socket()
                self._udp, _ = await loop.create_datagram_endpoint(lambda: _UdpRequests(self), sock=sock)
                self._sender = socket.socket(_family(self.cmd.mcast_addr), socket.SOCK_DGRAM)
                self._sender.setblocking(False)
                self.udp_address = sock.getsockname()[:2]
            except (OSError, ValueError) as e:
                log.error("%s: diagnostics: cannot open the UDP socket on %s:%d: %s", self.name,
                          self.cmd.mcast_addr, self.cmd.port, e)
        if self.cmd.enable_tcp and not self.closed:
            try:
                sock = self._tcp_socket()
                self._server = await loop.create_server(lambda: _TcpRequest(self), sock=sock)
                self.tcp_address = sock.getsockname()[:2]
            except (OSError, ValueError) as e:
                log.error("%s: diagnostics: cannot open the TCP socket on %s[%d..%d]: %s", self.name,
                          self.cmd.bind_addr or "*", self.cmd.port, self.cmd.port + self.cmd.port_range, e)
        if self.closed:  # closed while opening
            self.close()
        log.debug("%s: diagnostics listening on udp=%s tcp=%s", self.name, self.udp_address, self.tcp_address)

    def _udp_socket(self) -> socket.socket:
        cmd = self.cmd
        group = ipaddress.ip_address(cmd.mcast_addr)
        sock = socket.socket(_family(cmd.mcast_addr), socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((cmd.mcast_addr, cmd.port))
            if group.is_multicast:
                self._join(sock, group, cmd.interfaces)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    def _join(self, sock: socket.socket, group: ipaddress.IPv4Address | ipaddress.IPv6Address,
              interfaces: Iterable[str]) -> None:
        """DiagnosticsHandler.bindToInterfaces: join on each interface; a failure is a warning."""
        targets = list(interfaces) or _all_interface_addresses(group.version)
        for ip in targets:
            try:
                if group.version == 4:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.cmd.ttl)
                    mreq = group.packed + socket.inet_aton(ip)
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
                else:
                    index = _index_of(ip)
                    mreq6 = group.packed + struct.pack("@I", index)
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
                log.debug("%s: diagnostics joined %s on %s", self.name, group, ip)
            except OSError as e:
                log.warning("%s: diagnostics: failed to join %s on %s: %s", self.name, group, ip, e)

    def _tcp_socket(self) -> socket.socket:
        cmd = self.cmd
        host = cmd.bind_addr or ""
        family = _family(host) if host else socket.AF_INET
        return bind_first_free(family, lambda port: (host, port), cmd.port, cmd.port_range, backlog=16)

    def _udp_request(self, data: bytes, addr: tuple[object, ...]) -> None:
        answer = self.answer(data)
        if not answer or self._sender is None:
            return
        if len(answer) > MAX_DATAGRAM:
            log.error("%s: diagnostics: answer of %d bytes to %s is too big for a datagram", self.name,
                      len(answer), addr[:2])
            return
        try:
            self._sender.sendto(answer, addr)
        except OSError as e:
            log.error("%s: diagnostics: failed sending the answer to %s: %s", self.name, addr[:2], e)

    def close(self) -> None:
        self.closed = True
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        if self._sender is not None:
            self._sender.close()
            self._sender = None
        if self._server is not None:
            self._server.close()
            self._server = None


def _all_interface_addresses(version: int) -> list[str]:
    from pygroups.aio.netif import local_interfaces

    return [str(next(a for a in nic.addresses if a.version == version)) for nic in local_interfaces()
            if nic.up and any(a.version == version for a in nic.addresses)]


def _index_of(ip: str) -> int:
    from pygroups.aio.netif import local_interfaces

    addr = ipaddress.ip_address(ip)
    for nic in local_interfaces():
        if addr in nic.addresses:
            return socket.if_nametoindex(nic.name)
    return 0


# --- the client (org.jgroups.tests.Probe) ------------------------------------------------------------


@dataclass
class ProbeClient:
    """Sends one probe request the way Java's Probe does and calls ``on_answer`` per answer."""

    on_answer: Callable[[bytes], object]
    port: int = 7500
    timeout_ms: int = 500
    ttl: int = 32
    bind_addr: str | None = None
    passcode: str | None = None
    verbose: Callable[[str], object] | None = None
    errors: list[str] = field(default_factory=list)

    def request_bytes(self, request: str) -> bytes:
        """Requester.createRequest: the optional passcode header, then the text."""
        data = request.encode("utf-8")
        if self.passcode is None:
            return data
        return auth_header_for_java(self.passcode, int(time.time() * 1000), random.random) + data

    def run(self, addrs: Iterable[str], request: str, *, udp: bool, tcp: bool) -> None:
        deadline = time.monotonic() + self.timeout_ms / 1000
        for name in addrs:
            addr = _resolve(name)
            if ipaddress.ip_address(addr).is_multicast:
                self._udp(addr, self.port, request, self.on_answer, deadline)
            else:
                self._unicast(addr, request, udp=udp, tcp=tcp)

    def _say(self, text: str) -> None:
        if self.verbose is not None:
            self.verbose(text)

    def _unicast(self, addr: str, request: str, *, udp: bool, tcp: bool) -> None:
        """Probe.fetchAddressesAndInvoke: ``member-addrs`` first, then the request to every target."""
        answers: list[bytes] = []
        deadline = time.monotonic() + self.timeout_ms / 1000
        if udp:
            self._udp(addr, self.port, "member-addrs", answers.append, deadline)
        if tcp:
            self._tcp(addr, self.port, "member-addrs", answers.append)
        for answer in answers:
            for host, port in parse_member_addrs(answer.decode("utf-8", "replace"), self.port):
                if udp:
                    self._say(f"sending UDP request to {host}:{port}")
                    self._udp(host, port, request, self.on_answer, time.monotonic() + self.timeout_ms / 1000)
                if tcp:
                    self._say(f"sending TCP request to {host}:{port}")
                    self._tcp(host, port, request, self.on_answer)

    def _udp(self, host: str, port: int, request: str, on_answer: Callable[[bytes], object], deadline: float) -> None:
        family = _family(host)
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            try:
                if family == socket.AF_INET:
                    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, self.ttl)
                    if self.bind_addr is not None:
                        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.bind_addr))
                else:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, self.ttl)
                sock.sendto(self.request_bytes(request), (host, port))
            except OSError as e:
                self.errors.append(f"failed sending request to {host}:{port}: {e}")
                return
            while (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    data, _ = sock.recvfrom(70000)
                except OSError:  # timeout, or ICMP port unreachable from a unicast target
                    break
                on_answer(data)

    def _tcp(self, host: str, port: int, request: str, on_answer: Callable[[bytes], object]) -> None:
        timeout = max(self.timeout_ms, 1) / 1000
        try:
            with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                if self.bind_addr is not None:
                    sock.bind((self.bind_addr, 0))
                sock.connect((host, port))
                sock.sendall(self.request_bytes(request) + b"\n")
                chunks = []
                with contextlib.suppress(OSError):  # a read timeout ends the answer, as in Java
                    while chunk := sock.recv(65536):
                        chunks.append(chunk)
        except OSError as e:
            self.errors.append(f"failed sending request to {host}:{port}: {e}")
            return
        if chunks:
            on_answer(b"".join(chunks))


def _resolve(name: str) -> str:
    """An IP literal as it is, a host name through the OS (Probe's InetAddress.getByName)."""
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        return str(socket.getaddrinfo(name, None)[0][4][0])
    except OSError as e:
        raise ValueError(f"cannot resolve {name!r}: {e}") from None


def parse_member_addrs(answer: str, port: int) -> list[tuple[str, int]]:
    """Probe.parseAddresses: hosts from ``member-addrs=h1:p1, h2:p2``; the i-th member on a host
    is asked at ``port + i``."""
    key = "member-addrs="
    start = answer.find(key)
    if start < 0:
        return []
    line = answer[start + len(key):].strip()
    end = line.find("\n")
    if end > 0:
        line = line[:end]
    counts: dict[str, int] = {}
    for item in (s.strip() for s in line.split(",")):
        if not item:
            continue
        host = item[:item.rfind(":")] if ":" in item else item
        host = host.strip("[]")
        counts[host] = counts.get(host, 0) + 1
    return [(host, port + i) for host, n in counts.items() for i in range(n)]
