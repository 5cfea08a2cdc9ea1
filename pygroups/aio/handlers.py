"""The asyncio driver's table of blocking clients: which handler carries out each kind of I/O request.

A layer describes the I/O it cannot do on the event loop (list the Kubernetes pods, resolve DNS names)
as a typed, frozen request (`pygroups.protocols.kubernetes.requests.ListPods`,
`pygroups.protocols.dns.requests.ResolveDns`). The driver looks the request's type up here and runs the
handler on a worker thread: it may block, and returns the request's `IoResult` (an `IoHint`'s handler
returns None). ``StackDriver(io_handlers=...)`` adds or replaces entries (custom clients, fakes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pygroups.aio.dns import DnsLookups
from pygroups.aio.kubernetes import KubePodLister
from pygroups.protocols.dns.requests import ResolveDns
from pygroups.protocols.kubernetes.requests import ListPods, WarmUpKubeClient
from pygroups.stack.io import IoCommand, IoResult

__all__ = ["IoHandler", "IoHandlers", "default_io_handlers", "handler_for"]

IoHandler = Callable[[Any], IoResult | None]
"""Carries out one request (blocking, on a worker thread) and returns its answer; None for a hint."""

IoHandlers = Mapping[type[IoCommand], IoHandler]


def default_io_handlers() -> dict[type[IoCommand], IoHandler]:
    """Fresh clients for one driver: the Kubernetes API client (warmed up on `WarmUpKubeClient`, which
    KUBE_PING emits from init()) and the DNS resolver. Each keeps its caches for the driver's lifetime."""
    kube = KubePodLister()
    dns = DnsLookups()
    return {ListPods: kube.list_pods, WarmUpKubeClient: kube.warm_up, ResolveDns: dns.resolve}


def handler_for(handlers: IoHandlers, cmd: IoCommand) -> IoHandler | None:
    """The handler registered for ``cmd``'s type or its nearest base class."""
    for kind in type(cmd).__mro__:
        handler = handlers.get(kind)
        if handler is not None:
            return handler
    return None
