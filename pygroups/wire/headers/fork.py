"""FORK: ForkHeader (protocol id 203, magic 83) routes a message to a fork stack and fork channel."""

from __future__ import annotations

from dataclasses import dataclass

from construct import Struct

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import BitsString

# FORK.ForkHeader.writeTo: Bits.writeString fork_stack_id, Bits.writeString fork_channel_id.
ForkHeaderFormat = Struct("fork_stack_id" / BitsString, "fork_channel_id" / BitsString)


@header(83, "ForkHeader", ForkHeaderFormat)
@dataclass(frozen=True, slots=True)
class ForkHeader(JGroupsHeader):
    fork_stack_id: str | None
    fork_channel_id: str | None = None
