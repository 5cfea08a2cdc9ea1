"""PingData (org.jgroups.protocols.PingData): one member's discovery entry, shared by the wire codec,
the stack's events, discovery, GMS and the simulator; its byte form is in `pygroups.wire.headers.ping`."""

from __future__ import annotations

from dataclasses import dataclass

from pygroups.address import Address, IpAddress


@dataclass(frozen=True, slots=True)
class PingData:
    """One discovery entry. The flags are kept as written: Java's isServer() is is_server or is_coord."""

    sender: Address | None
    is_server: bool
    is_coord: bool
    logical_name: str | None
    physical_addr: IpAddress | None
    mbrs: tuple[Address | None, ...] | None = None
