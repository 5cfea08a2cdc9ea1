"""Socket plumbing shared by the driver: address conversions between `IpAddress` and the socket module, and the
socket options TCP's XML asks for."""

from __future__ import annotations

import contextlib
import socket
import struct
from typing import Any

from pygroups.address import IpAddress
from pygroups.stack.io import SocketOptions


def apply_socket_options(sock: socket.socket, options: SocketOptions) -> None:
    """TCP_NODELAY, SO_RCVBUF/SO_SNDBUF (when > 0) and SO_LINGER (when >= 0), as TCP's XML asks."""
    if sock.type != socket.SOCK_STREAM:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if options.tcp_nodelay else 0)
    if options.recv_buf_size > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, options.recv_buf_size)
    if options.send_buf_size > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, options.send_buf_size)
    if options.linger >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, options.linger))


def family_of(addr: IpAddress) -> socket.AddressFamily:
    return socket.AF_INET6 if addr.ip is not None and addr.ip.version == 6 else socket.AF_INET


def sockaddr(addr: IpAddress, port: int | None = None) -> tuple[Any, ...]:
    port = addr.port if port is None else port
    if addr.ip is None:
        return ("", port)
    if addr.ip.version == 6:
        return (str(addr.ip), port, 0, addr.scope_id)
    return (str(addr.ip), port)


def ip_address_of(sockname: Any) -> IpAddress:
    host = str(sockname[0]).split("%", 1)[0]
    scope = int(sockname[3]) if len(sockname) > 3 else 0
    return IpAddress(host, int(sockname[1]), scope)
