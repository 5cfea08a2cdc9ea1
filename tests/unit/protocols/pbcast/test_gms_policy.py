"""A custom membership_change_policy is honoured or refused, never half-applied: merges do not consult it yet,
so a stack with MERGE3 and a custom policy is a configuration error naming the attribute."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from pygroups.address import Address
from pygroups.clock import ManualClock
from pygroups.errors import ConfigError
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.stack.config import parse_stack_xml
from pygroups.stack.layer import Layer
from pygroups.stack.registry import build_layers
from pygroups.stack.stack import ProtocolStack

POLICY = "tests.unit.protocols.pbcast.test_gms_policy:keep_order"


def keep_order(current: Sequence[Address], joiners: Sequence[Address], leavers: Sequence[Address],
               suspects: Sequence[Address]) -> list[Address]:
    gone = set(leavers) | set(suspects)
    return [m for m in [*current, *joiners] if m not in gone]


def stack(merge3: bool) -> ProtocolStack:
    xml = ("<config><SHARED_LOOPBACK/><SHARED_LOOPBACK_PING/>" + ("<MERGE3/>" if merge3 else "")
           + f'<pbcast.NAKACK2/><UNICAST3/><pbcast.STABLE/><pbcast.GMS membership_change_policy="{POLICY}"/></config>')
    layers = build_layers(parse_stack_xml(xml), BUILTIN_PROTOCOLS, environ={})
    return ProtocolStack([x for x in layers if isinstance(x, Layer)], clock=ManualClock(), rng=random.Random(0))


def test_a_custom_policy_without_merge3_is_used() -> None:
    stack(merge3=False)


def test_a_custom_policy_with_merge3_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="membership_change_policy"):
        stack(merge3=True)
