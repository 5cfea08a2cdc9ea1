"""Free loopback ports for tests that open real sockets (bound once and released: a race with other
processes is possible but harmless on a test machine, and every test binds 127.0.0.1 only)."""

from __future__ import annotations

import socket  # noqa: TID251 - picking free loopback ports

LOCAL = "127.0.0.1"


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports that were free on 127.0.0.1 a moment ago."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind((LOCAL, 0))
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]
