"""What DNS_PING asks its driver for and what comes back: plain frozen data, so a simulator or a test
can read the request and answer it with a fake (the asyncio driver answers with `pygroups.aio.dns`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pygroups.protocols.dns.records import Resolution
from pygroups.stack.io import IoRequest, IoResult

__all__ = ["DEFAULT_TIMEOUT_S", "DnsResolved", "ResolveDns"]

DEFAULT_TIMEOUT_S = 2.0
"""Per query (JNDI's default is 1 s doubled over 4 retries, up to 15 s: far beyond a join timeout)."""


@dataclass(frozen=True, slots=True)
class ResolveDns(IoRequest):
    """Java ``DNS_PING.getMembers``: resolve every name of ``queries`` in order for ``record_type`` (``A``,
    ``AAAA`` or ``SRV``) and concatenate the answers. ``dns_address`` (``host[:port]``) asks that server
    directly, empty the system resolver; ``timeout`` is seconds per query. Answered by `DnsResolved`
    (DNS failures are ``problems`` in its `Resolution`, not an `IoFailed`)."""

    queries: tuple[str, ...]
    record_type: str
    dns_address: str = ""
    timeout: float = DEFAULT_TIMEOUT_S
    what: ClassVar[str] = "dns"


@dataclass(frozen=True, slots=True)
class DnsResolved(IoResult):
    """The answer to `ResolveDns`: the addresses found and what went wrong, in plain words."""

    resolution: Resolution
