"""Failure detection headers: FD_ALL3 heartbeats (62), FD_SOCK2 (93), VERIFY_SUSPECT2 (94).

The older FD_SOCK (51) and VERIFY_SUSPECT (54) headers live in legacy.py.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from construct import Adapter, Array, If, Int8sb, Int16sb, Int32sb, Rebuild, Struct, len_, this

from pygroups.address import Address
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import BitsString

# FailureDetection.HeartbeatHeader.writeTo writes nothing (FD_ALL, FD_ALL2, FD_ALL3).
HeartbeatHeaderFormat = Struct()


@header(62, "HeartbeatHeader", HeartbeatHeaderFormat)
@dataclass(frozen=True, slots=True)
class HeartbeatHeader(JGroupsHeader):
    pass


class _IntCountAddresses(Adapter):  # type: ignore[misc]
    """int count + addresses; a count <= 0 reads as no members (Java only loops if size > 0)."""

    def _decode(self, obj: Any, context: Any, path: str) -> tuple[Address | None, ...]:
        return tuple(obj.addrs or ())

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        return {"addrs": list(obj)}


# FD_SOCK2.FdHeader / FD_SOCK.FdHeader member set: int size, then size addresses if size > 0.
IntCountAddressesFormat = _IntCountAddresses(
    Struct(
        "count" / Rebuild(Int32sb, len_(this.addrs)),
        "addrs" / If(this.count > 0, Array(this.count, AddressFormat)),
    )
)

# FD_SOCK2.FdHeader.writeTo: byte type, int-counted mbrs, Bits.writeString cluster, Address srv.
FdHeaderFormat = Struct(
    "type" / Int8sb,
    "mbrs" / IntCountAddressesFormat,
    "cluster" / BitsString,
    "srv" / AddressFormat,
)


@header(93, "FdHeader", FdHeaderFormat)
@dataclass(frozen=True, slots=True)
class FdHeader(JGroupsHeader):
    """mbrs: SUSPECT/UNSUSPECT; srv: CONNECT (member to watch), CONNECT_RSP (responder); cluster: CONNECT_RSP.

    Java reads mbrs into a HashSet: order and duplicates carry no meaning.
    """
    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ('mbrs',)  # Java reads them into a HashSet


    class Type(enum.IntEnum):
        SUSPECT = 1
        UNSUSPECT = 2
        CONNECT = 3
        CONNECT_RSP = 4

    type: int
    mbrs: tuple[Address | None, ...] = ()
    cluster: str | None = None
    srv: Address | None = None


# VERIFY_SUSPECT2.VerifyHeader.writeTo: short type, Address from.
VerifyHeaderFormat = Struct("type" / Int16sb, "from_" / AddressFormat)


@header(94, "VerifyHeader", VerifyHeaderFormat)
@dataclass(frozen=True, slots=True)
class VerifyHeader(JGroupsHeader):
    """from_: ARE_YOU_DEAD the checker, I_AM_NOT_DEAD the suspected member (JSON key "from")."""

    class Type(enum.IntEnum):
        ARE_YOU_DEAD = 1
        I_AM_NOT_DEAD = 2

    type: int
    from_: Address | None = None
