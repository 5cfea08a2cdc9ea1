"""TP base: address cache, members, bundling and receive checks, over a recording fake wire."""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence

from pygroups.address import UUID, Address, IpAddress
from pygroups.clock import MS, ManualClock
from pygroups.events import (
    AddPhysicalAddress,
    DiscoveryResponse,
    Event,
    FindInitialMembers,
    FindMembersAsync,
    GetLogicalPhysicalMappings,
    GetPhysicalAddress,
    RemoveAddress,
    TmpView,
    ViewChange,
)
from pygroups.message import Message, MsgType
from pygroups.protocols.tp import TP
from pygroups.stack.layer import Layer
from pygroups.stack.stack import ProtocolStack
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.version import WireVersion

A, B, C, D = UUID(1, 1), UUID(2, 2), UUID(3, 3), UUID(4, 4)
PA, PB, PC = IpAddress("10.0.0.1", 7800), IpAddress("10.0.0.2", 7800), IpAddress("10.0.0.3", 7800)


class WireTP(TP):
    """TP over a recording wire: what `send_unicast` gets is what TCP would frame and write."""

    name = "WIRE_TP"

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[IpAddress, bytes]] = []

    def send_unicast(self, dest: IpAddress, payload: bytes) -> None:
        self.sent.append((dest, payload))


class Top(Layer):
    name = "TOP"

    def __init__(self) -> None:
        super().__init__()
        self.msgs: list[Message] = []
        self.batches: list[list[Message]] = []
        self.events: list[Event] = []

    def up_msg(self, msg: Message) -> None:
        self.msgs.append(msg)

    def up_batch(self, batch: Sequence[Message]) -> None:
        self.batches.append(list(batch))

    def up(self, evt: Event) -> None:
        self.events.append(evt)


def make(*, connect: bool = True) -> tuple[ProtocolStack, WireTP, Top, ManualClock]:
    tp, top, clock = WireTP(), Top(), ManualClock()
    tp.physical_addr = PA
    stack = ProtocolStack([tp, top], clock=clock, rng=random.Random(0))
    if connect:
        stack.connect("demo", local_addr=A)
        for addr, phys in ((B, PB), (C, PC)):
            stack.run_input(tp.down, AddPhysicalAddress(addr, phys))
    return stack, tp, top, clock


def view(*members: Address, vid: int = 1) -> View:
    return View(ViewId(members[0], vid), tuple(members))


def bytes_msg(dest: Address | None, payload: bytes, src: Address | None = None) -> Message:
    return Message(MsgType.BYTES, dest=dest, src=src, payload=payload)


def test_own_address_is_in_the_cache_and_mappings() -> None:
    stack, tp, _, _ = make()
    assert stack.query(GetPhysicalAddress(A)) == PA
    assert stack.query(GetLogicalPhysicalMappings()) == {A: PA, B: PB, C: PC}
    stack.run_input(tp.down, RemoveAddress(B))
    assert stack.query(GetPhysicalAddress(B)) is None


def test_non_members_stay_in_the_cache_until_they_expire() -> None:
    stack, tp, _, clock = make()
    stack.run_input(tp.down, ViewChange(view(A, B)))
    assert stack.query(GetPhysicalAddress(C)) == PC  # only marked removable (a joiner may need it)
    clock.advance(360_000 * MS)
    stack.run_input(tp.down, ViewChange(view(A, B, vid=2)))
    assert stack.query(GetPhysicalAddress(C)) is None
    assert stack.query(GetPhysicalAddress(B)) == PB


def test_tmp_view_sets_the_multicast_targets() -> None:
    stack, tp, _, _ = make()
    stack.run_input(tp.down, TmpView(view(A, C)))
    stack.send(bytes_msg(None, b"x"))
    assert [d for d, _ in tp.sent] == [PC]


def test_before_connect_no_tp_header_after_connect_the_cluster_name() -> None:
    stack, tp, _, _ = make(connect=False)
    stack.run_input(tp.down, AddPhysicalAddress(B, PB))
    stack.run_input(tp.down_msg, bytes_msg(B, b"early"))
    stack.connect("demo", local_addr=A)
    stack.send(bytes_msg(B, b"late"))
    early, late = (codec.decode_frame(p).messages[0] for _, p in tp.sent)
    assert 57 not in early.headers
    assert late.get_header(57) == TpHeader("demo")


def test_list_keeps_a_foreign_src_and_uses_our_address_as_list_src() -> None:
    stack, tp, _, _ = make()

    def send() -> None:
        tp.up_layer.down_msg(bytes_msg(B, b"mine"))
        tp.up_layer.down_msg(bytes_msg(B, b"retransmitted for C", src=C))

    stack.run_input(send)
    ((dest, payload),) = tp.sent
    f = codec.decode_frame(payload)
    assert dest == PB and f.is_list and f.src == A
    assert [m.src for m in f.messages] == [A, C]


def test_group_sends_ask_discovery_for_missing_members_every_10_s() -> None:
    stack, tp, top, clock = make()
    stack.run_input(tp.down, ViewChange(view(A, B, D)))
    stack.send(bytes_msg(None, b"1"))
    stack.send(bytes_msg(None, b"2"))
    assert [e for e in top.events if isinstance(e, FindMembersAsync)] == [FindMembersAsync((D,))]
    clock.advance(10_000 * MS)
    stack.send(bytes_msg(None, b"3"))
    assert len([e for e in top.events if isinstance(e, FindMembersAsync)]) == 2
    assert [d for d, _ in tp.sent] == [PB] * 3


def test_unicast_to_a_physical_address_needs_no_cache() -> None:
    stack, tp, _, _ = make()
    other = IpAddress("10.0.0.9", 7800)
    stack.send(bytes_msg(other, b"discovery"))
    ((dest, payload),) = tp.sent
    assert dest == other and codec.decode_frame(payload).messages[0].dest == other


def received(tp: WireTP, stack: ProtocolStack, payload: bytes, sender: IpAddress = PB) -> None:
    stack.run_input(tp.receive, sender, payload)


def from_b(dest: Address | None, payload: bytes, cluster: str | None = "demo") -> Message:
    m = bytes_msg(dest, payload, src=B)
    if cluster is not None:
        m.put_header(57, TpHeader(cluster))
    return m


def test_version_check_ignores_micro_only() -> None:
    stack, tp, top, _ = make()
    for version, delivered in ((WireVersion(5, 5, 0), True), (WireVersion(5, 6, 0), False),
                               (WireVersion(4, 5, 6), False)):
        top.msgs.clear()
        received(tp, stack, codec.encode_single(from_b(A, b"v"), version=version))
        assert bool(top.msgs) is delivered, version
    assert tp.counters["dropped_frames (version)"] == 2


def test_message_without_tp_header_is_accepted_list_without_cluster_is_not() -> None:
    stack, tp, top, _ = make()
    received(tp, stack, codec.encode_single(from_b(A, b"no header", cluster=None)))
    received(tp, stack, codec.encode_list([from_b(A, b"l")], dest=A, src=B, cluster=None))
    assert [m.payload for m in top.msgs] == [b"no header"] and top.batches == []
    assert tp.counters["dropped_msgs (cluster)"] == 1


def test_frames_from_our_own_address_and_own_multicasts_are_dropped() -> None:
    stack, tp, top, _ = make()
    received(tp, stack, codec.encode_single(from_b(None, b"x")), sender=PA)
    mine = bytes_msg(None, b"own", src=A)
    mine.put_header(57, TpHeader("demo"))
    received(tp, stack, codec.encode_single(mine))
    assert top.msgs == []
    assert tp.counters["dropped_frames (from self)"] == 1
    assert tp.counters["dropped_msgs (own multicast)"] == 1


def test_short_and_undecodable_frames_are_counted() -> None:
    stack, tp, top, _ = make()
    received(tp, stack, b"\x29")
    received(tp, stack, struct.pack(">hB", WireVersion(5, 5, 6).short, 0) + b"\x00\x99")
    assert top.msgs == []
    assert tp.counters["dropped_frames (too short)"] == 1
    assert tp.counters["dropped_frames (undecodable)"] == 1


def test_loopback_is_delivered_at_the_end_of_the_input_as_a_copy() -> None:
    stack, tp, top, _ = make()
    stack.run_input(tp.down, ViewChange(view(A, B)))
    m = bytes_msg(None, b"x")
    seen: list[int] = []

    def send() -> None:
        tp.down_msg(m)
        seen.append(len(top.msgs))

    stack.run_input(send)
    assert seen == [0] and len(top.msgs) == 1
    assert top.msgs[0] is not m and top.msgs[0].payload == b"x" and top.msgs[0].src == A


def test_find_initial_members_without_a_discovery_layer_is_answered_with_no_responses() -> None:
    """Java's transport returns null for FIND_INITIAL_MBRS: GMS goes on with nobody (a singleton), at once."""
    stack, tp, top, _ = make()
    stack.run_input(tp.down, FindInitialMembers(7, 2000))
    assert top.events == [DiscoveryResponse(7, ())]
