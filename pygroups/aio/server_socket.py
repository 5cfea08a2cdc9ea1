"""Binding a listening socket the way JGroups' ``Util.createServerSocket`` does: the first free port of
``port .. port+port_range`` (any port when ``port`` is 0). Used by the transport's server socket and the
diagnostics TCP socket."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from typing import Any


def bind_first_free(family: socket.AddressFamily, sockaddr: Callable[[int], tuple[Any, ...]], port: int,
                    port_range: int, *, backlog: int, recv_buf_size: int = 0) -> socket.socket:
    """A non-blocking listening socket on the first free port; only "address in use" moves on to the next
    port, any other error is raised at once. ``recv_buf_size`` (> 0) is set before listen(), so accepted
    sockets inherit it."""
    ports = [0] if port == 0 else range(port, min(port + port_range, 65535) + 1)
    last: OSError | None = None
    for p in ports:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if recv_buf_size > 0:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buf_size)
            sock.bind(sockaddr(p))
            sock.listen(backlog)
            sock.setblocking(False)
            return sock
        except OSError as e:
            sock.close()
            last = e
            if e.errno != errno.EADDRINUSE:
                raise
    assert last is not None
    raise OSError(last.errno, f"no free port in {port}..{port + port_range}: {last.strerror}")
