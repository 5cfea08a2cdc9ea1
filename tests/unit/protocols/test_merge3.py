"""MERGE3: configuration checks, INFO (multicast and, without IP multicast, through discovery), the view
consistency check (who is asked for its view, the MERGE event), VIEW_REQ/VIEW_RSP and bad input."""

from __future__ import annotations

import pytest

from pygroups.address import UUID, IpAddress
from pygroups.clock import MS
from pygroups.errors import ConfigError
from pygroups.events import AddPhysicalAddress, FindMembersNotify, Merge, TmpView, ViewChange
from pygroups.message import Message, MsgType, TransientFlag
from pygroups.ping_data import PingData
from pygroups.protocols.merge3 import MERGE3
from pygroups.testing.harness import LayerHarness
from pygroups.view import MergeView, View, ViewId
from pygroups.wire.headers.merge3 import MergeHeader, decode_view_rsp, encode_view_rsp

PID = 38
T = MergeHeader.Type
A, B, C, D = UUID(1, 1), UUID(1, 2), UUID(1, 3), UUID(1, 4)
PHYS = IpAddress("10.0.0.1", 7800)


def v(creator: UUID, vid: int, *members: UUID) -> View:
    return View(ViewId(creator, vid), tuple(members))


def make(local: UUID = A, *, multicast: bool = True, **props: object) -> tuple[LayerHarness, MERGE3]:
    m = MERGE3()
    m.min_interval, m.max_interval = 100, 1000
    for k, val in props.items():
        setattr(m, k, val)
    h = LayerHarness(m, local_addr=local)
    m.transport_supports_multicasting = multicast
    h.bottom.physical_addrs[local] = PHYS
    h.stack.logical_names[local] = "alpha"
    return h, m


def install(h: LayerHarness, view: View) -> None:
    h.down(ViewChange(view))
    h.take_down_events()


def msg(kind: int, src: UUID, dest: UUID | None = A, *, view_id: ViewId | None = None,
        payload: bytes | None = None, name: str | None = None) -> Message:
    m = Message(MsgType.BYTES if payload is not None else MsgType.EMPTY, src=src, dest=dest, payload=payload)
    return m.put_header(PID, MergeHeader(T(kind), view_id, name, None))


def run_check(h: LayerHarness, m: MERGE3) -> None:
    h.advance(m.check_interval * MS)


def test_configuration_as_java() -> None:
    m = MERGE3()
    m.min_interval, m.max_interval = 1000, 1000
    with pytest.raises(ConfigError, match="min_interval"):
        m.init()
    m = MERGE3()
    m.init()
    assert (m.min_interval, m.max_interval, m.max_participants_in_merge, m.check_interval) == (1000, 10000, 100, 16000)
    m = MERGE3()
    m.check_interval = 5000  # <= max_interval: Java warns and computes it
    m.init()
    assert m.check_interval == 16000


def test_info_is_multicast_with_view_id_name_and_physical_address() -> None:
    h, m = make()
    install(h, v(A, 3, A, B))
    h.advance(1500 * MS)  # max(min, random(1..max) + max/2) <= 1500 ms
    (info,) = [x for x in h.take_down() if x.get_header(PID) is not None][:1]
    assert info.dest is None and info.type is MsgType.EMPTY
    assert info.transient_flags & TransientFlag.DONT_LOOPBACK
    assert info.get_header(PID) == MergeHeader(T.INFO, ViewId(A, 3), "alpha", PHYS)
    assert all(500 <= m.next_info_interval() <= 1500 for _ in range(100))


def test_without_multicast_info_goes_to_every_member_discovery_finds() -> None:
    h, m = make(multicast=False)
    install(h, v(A, 3, A))
    h.advance(1500 * MS)
    (find,) = [e for e in h.take_down_events() if isinstance(e, FindMembersNotify)][:1]
    h.take_down()
    other = IpAddress("10.0.0.2", 7800)
    h.stack.run_input(find.callback, PingData(B, True, True, "b", other))
    h.stack.run_input(find.callback, PingData(A, True, True, "alpha", PHYS))  # ourselves: nothing
    h.stack.run_input(find.callback, PingData(C, True, False, "c", None))  # no address: counted
    (info,) = h.take_down()
    assert info.dest == other and info.type is MsgType.EMPTY
    assert info.get_header(PID) == MergeHeader(T.INFO, ViewId(A, 3), "alpha", PHYS)
    assert m.counters["INFO not sent (no physical address)"] == 1


def test_info_fills_the_caches_and_keeps_the_highest_view_id() -> None:
    h, m = make()
    install(h, v(A, 3, A))
    h.receive(msg(T.INFO, B, None, view_id=ViewId(B, 5), name="bee").put_header(
        PID, MergeHeader(T.INFO, ViewId(B, 5), "bee", IpAddress("10.0.0.2", 7800))))
    h.receive(msg(T.INFO, B, None, view_id=ViewId(B, 4)))
    assert m.views == {B: ViewId(B, 5)}
    assert h.stack.logical_names[B] == "bee"
    assert AddPhysicalAddress(B, IpAddress("10.0.0.2", 7800)) in h.take_down_events()


def test_consistent_views_send_no_view_requests() -> None:
    h, m = make()
    install(h, v(A, 3, A, B))
    h.receive(msg(T.INFO, B, None, view_id=ViewId(A, 3)))
    h.take_down()
    run_check(h, m)
    assert not [x for x in h.take_down() if x.get_header(PID).type == T.VIEW_REQ]
    assert m.views == {}  # cleared after every check


def test_inconsistency_asks_creators_and_lowest_senders_then_sends_merge_up() -> None:
    h, m = make()
    install(h, v(A, 3, A))
    h.receive(msg(T.INFO, D, None, view_id=ViewId(B, 7)))  # B's view, seen from D and C
    h.receive(msg(T.INFO, C, None, view_id=ViewId(B, 7)))
    h.take_down()
    run_check(h, m)
    reqs = [x for x in h.take_down() if x.get_header(PID).type == T.VIEW_REQ]
    assert sorted(r.dest for r in reqs) == [B, C]  # creator B and C, the lowest sender of B's view id
    assert all(r.type is MsgType.EMPTY for r in reqs)
    vb = v(B, 7, B, C, D)
    h.receive(msg(T.VIEW_RSP, B, payload=encode_view_rsp(vb)))
    h.receive(msg(T.VIEW_RSP, C, payload=encode_view_rsp(MergeView(vb.view_id, vb.members, (v(C, 2, C),)))))
    (merge,) = [e for e in h.take_up_events() if isinstance(e, Merge)]
    assert dict(merge.views) == {A: v(A, 3, A), B: vb, C: vb}  # the MergeView read as a plain View
    assert m.num_merge_events == 1
    assert m.statistics()["num_merge_events"] == 1  # what probe's jmx=MERGE3 shows


def test_missing_view_responses_end_the_collection_after_a_tenth_of_the_check_interval() -> None:
    h, m = make()
    install(h, v(A, 3, A))
    h.receive(msg(T.INFO, B, None, view_id=ViewId(B, 7)))
    run_check(h, m)
    h.advance(m.check_interval // 10 * MS - 1)
    assert m._view_rsps is not None
    h.advance(1)
    assert m._view_rsps is None and not [e for e in h.take_up_events() if isinstance(e, Merge)]
    assert m.counters["checks without enough VIEW_RSPs"] == 1


def test_identical_views_do_not_merge() -> None:
    h, m = make()
    install(h, v(A, 3, A, B))
    h.receive(msg(T.INFO, B, None, view_id=ViewId(B, 9)))
    run_check(h, m)
    h.receive(msg(T.VIEW_RSP, B, payload=encode_view_rsp(v(A, 3, A, B))))
    assert not [e for e in h.take_up_events() if isinstance(e, Merge)]


def test_max_participants_drops_the_lowest_addresses_as_javas_treeset_remove_if() -> None:
    h, m = make(A)
    install(h, v(A, 3, A))
    m.max_participants_in_merge = 2
    for i, who in enumerate((B, C, D)):
        h.receive(msg(T.INFO, who, None, view_id=ViewId(who, 10 + i)))
    h.take_down()
    run_check(h, m)
    reqs = [x.dest for x in h.take_down() if x.get_header(PID).type == T.VIEW_REQ]
    assert reqs == [C, D]


def test_ergonomics_raise_max_participants_to_at_least_100() -> None:
    h, m = make(max_participants_in_merge=5)
    install(h, v(A, 3, A))
    assert m.max_participants_in_merge == 100


def test_view_req_is_answered_with_the_view() -> None:
    h, _m = make()
    install(h, v(A, 3, A, B))
    h.take_down()
    h.receive(msg(T.VIEW_REQ, B))
    (rsp,) = h.take_down()
    assert rsp.dest == B and rsp.type is MsgType.BYTES and rsp.transient_flags & TransientFlag.DONT_BLOCK
    assert rsp.get_header(PID) == MergeHeader(T.VIEW_RSP)
    assert decode_view_rsp(rsp.payload) == v(A, 3, A, B)


def test_bad_view_responses_are_counted_not_raised() -> None:
    h, m = make()
    install(h, v(A, 3, A))
    h.receive(msg(T.VIEW_RSP, B, payload=b"\x01\xff"))
    h.receive(msg(T.VIEW_RSP, B))  # no payload
    h.receive(msg(T.VIEW_RSP, B, payload=encode_view_rsp(v(B, 1, B))))  # nobody asked
    assert m.counters["malformed VIEW_RSP"] == 2
    assert m.counters["VIEW_RSP not expected"] == 1
    assert not h.take_up_events()


def test_a_view_change_restarts_the_tasks_and_tmp_view_stops_them() -> None:
    h, m = make()
    install(h, v(A, 3, A))
    assert m._info_timer is not None and m._check_timer is not None
    h.down(TmpView(v(A, 4, A, B)))
    assert m._info_timer is None and m._check_timer is None
    install(h, v(A, 4, A, B))
    assert m._info_timer is not None and m._check_timer is not None
