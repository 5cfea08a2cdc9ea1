"""Headers of the older failure detectors still in conf/*.xml: FD_SOCK (magic 51), VERIFY_SUSPECT (54)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from construct import Int8sb, Int16sb, Struct

from pygroups.address import Address, IpAddress
from pygroups.wire.addresses import AddressFormat, IpAddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.headers.fd import IntCountAddressesFormat
from pygroups.wire.javatypes import optional

# FD_SOCK.FdHeader.writeTo: byte type, Address mbr, Util.writeStreamable(IpAddress sock_addr),
# int size + size addresses (read only if size > 0, into a HashSet).
FdSockHeaderFormat = Struct(
    "type" / Int8sb,
    "mbr" / AddressFormat,
    "sock_addr" / optional(IpAddressFormat),
    "mbrs" / IntCountAddressesFormat,
)


@header(51, "FdHeader", FdSockHeaderFormat)
@dataclass(frozen=True, slots=True)
class FdSockHeader(JGroupsHeader):

    UNORDERED_FIELDS: ClassVar[tuple[str, ...]] = ('mbrs',)  # Java reads them into a HashSet
    class Type(enum.IntEnum):
        SUSPECT = 10
        UNSUSPECT = 11
        WHO_HAS_SOCK = 12
        I_HAVE_SOCK = 13
        GET_CACHE = 14
        GET_CACHE_RSP = 15

    type: int
    mbr: Address | None = None
    sock_addr: IpAddress | None = None
    mbrs: tuple[Address | None, ...] = ()


# VERIFY_SUSPECT.VerifyHeader.writeTo: short type, Address from (as VERIFY_SUSPECT2).
VerifySuspectHeaderFormat = Struct("type" / Int16sb, "from_" / AddressFormat)


@header(54, "VerifyHeader", VerifySuspectHeaderFormat)
@dataclass(frozen=True, slots=True)
class VerifySuspectHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        ARE_YOU_DEAD = 1
        I_AM_NOT_DEAD = 2

    type: int
    from_: Address | None = None
