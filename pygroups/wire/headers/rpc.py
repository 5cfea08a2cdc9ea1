"""RpcDispatcher / MessageDispatcher: RequestCorrelator headers (magic 67 and 68).

They travel under RequestCorrelator's protocol id (200) by default; Infinispan's JGroupsTransport
puts a RequestCorrelator$Header on every command it sends.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from construct import Int8sb, Int16sb, Struct

from pygroups.address import Address
from pygroups.wire.addresses import AddressesFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import VLong


class RpcType(enum.IntEnum):
    REQ = 0
    RSP = 1
    EXC_RSP = 2


# RequestCorrelator.Header.writeTo: byte type, long-compressed req_id, short corrId.
RequestCorrelatorHeaderFormat = Struct("type" / Int8sb, "req_id" / VLong, "corr_id" / Int16sb)


@header(67, "Header", RequestCorrelatorHeaderFormat)
@dataclass(frozen=True, slots=True)
class RequestCorrelatorHeader(JGroupsHeader):
    """req_id 0 means no response is expected; corr_id names the correlator (several may share a channel)."""

    Type = RpcType

    type: int
    req_id: int = 0
    corr_id: int = 0


# RequestCorrelator.MultiDestinationHeader.writeTo: the Header fields, then Util.writeAddresses
# exclusion_list.
MultiDestinationHeaderFormat = Struct(
    "type" / Int8sb, "req_id" / VLong, "corr_id" / Int16sb, "exclusion_list" / AddressesFormat
)


@header(68, "MultiDestinationHeader", MultiDestinationHeaderFormat)
@dataclass(frozen=True, slots=True)
class MultiDestinationHeader(JGroupsHeader):
    """A multicast request that the members of exclusion_list must drop (None: nobody excluded)."""

    Type = RpcType

    type: int
    req_id: int = 0
    corr_id: int = 0
    exclusion_list: tuple[Address | None, ...] | None = None
