"""What KUBE_PING asks its driver for and what comes back: plain frozen data, so a simulator or a test
can read the request and answer it with a fake (the asyncio driver answers with `pygroups.aio.kubernetes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pygroups.protocols.kubernetes.api import KubeConfig, KubeResult
from pygroups.stack.io import IoHint, IoRequest, IoResult

__all__ = ["ListPods", "PodsListed", "WarmUpKubeClient"]


@dataclass(frozen=True, slots=True)
class ListPods(IoRequest):
    """``Client.getPods``: list the pods ``config`` names (namespace, label selector), with its timeouts,
    ``operationAttempts`` tries and TLS/token settings; answered by `PodsListed` (or `IoFailed` if the
    client raised, which it does not for API failures: those are in the `KubeResult`)."""

    config: KubeConfig
    what: ClassVar[str] = "kubernetes pods"


@dataclass(frozen=True, slots=True)
class PodsListed(IoResult):
    """The answer to `ListPods`: the pod list, or the classified failure."""

    result: KubeResult


@dataclass(frozen=True, slots=True)
class WarmUpKubeClient(IoHint):
    """Build the API client for ``config`` now (importing the kubernetes package and the TLS setup take
    seconds), off the event loop, so the first discovery does not wait for it; no request is made.
    KUBE_PING emits it from ``init()``; without a handler it is dropped."""

    config: KubeConfig
