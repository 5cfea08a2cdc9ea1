"""GMS client role: discovery, JOIN_REQ (bytes as Java), JOIN_RSP handling, retries, singleton start."""

from __future__ import annotations

import logging

import pytest

from pygroups.clock import MS
from pygroups.events import BecomeServer, Connect, DiscoveryResponse, FindInitialMembers, SetDigest, ViewChange
from pygroups.message import Flag, MsgType
from pygroups.protocols.pbcast.gms import JoinFailed
from pygroups.protocols.pbcast.gms.client import ClientRole
from pygroups.protocols.pbcast.gms.coordinator import CoordinatorRole
from pygroups.protocols.pbcast.gms.participant import ParticipantRole
from pygroups.wire.headers.gms import GmsHeader
from tests.unit.protocols.pbcast.test_gms_helpers import (
    PID,
    A,
    B,
    C,
    T,
    catalogue_message,
    discovery,
    find_request,
    join_rsp_msg,
    make_gms,
    of_type,
    ping,
    v,
    zero_digest,
)


def test_connect_passes_down_first_then_asks_discovery_with_join_timeout() -> None:
    h, gms, _ = make_gms(B, join_timeout=3000)
    events = h.take_down_events()
    kinds = [type(e) for e in events]
    assert kinds.index(Connect) < kinds.index(FindInitialMembers)
    (req,) = [e for e in events if isinstance(e, FindInitialMembers)]
    assert req.timeout_ms == 3000
    assert isinstance(gms.role, ClientRole)
    assert gms.view is None


def test_empty_discovery_makes_a_singleton_coordinator_with_view_id_0() -> None:
    h, gms, _ = make_gms(A)
    discovery(h)
    down = h.take_down_events()
    assert down == [SetDigest(zero_digest(A)), ViewChange(v(A, 0, A)), BecomeServer()]
    assert h.take_up_events() == [ViewChange(v(A, 0, A)), BecomeServer()]
    assert gms.is_coordinator and gms.coordinator == A
    assert gms.view == v(A, 0, A)
    assert h.take_down() == []  # no VIEW_ACK, no JOIN_REQ


def test_join_req_is_the_message_java_sends() -> None:
    """Spec §9.2 / catalogue hdr-gms-join-req: BytesMessage without array, OOB, GmsHeader(JOIN_REQ, mbr=B)."""
    h, _gms, _ = make_gms(B)
    discovery(h, ping(A, coord=True))
    (msg,) = h.take_down()
    java = catalogue_message("hdr-gms-join-req")
    assert (msg.type, msg.dest, msg.src, msg.flags, msg.payload) == (
        java.type, java.dest, java.src, java.flags, java.payload)
    assert msg.type is MsgType.BYTES and msg.payload is None and msg.flags == Flag.OOB
    assert msg.headers == {PID: java.headers[PID]}


def test_join_rsp_sets_digest_then_installs_view_then_acks_the_creator() -> None:
    h, gms, _ = make_gms(B)
    discovery(h, ping(A, coord=True))
    h.take_down()
    view = v(A, 1, A, B)
    h.receive(join_rsp_msg(view, zero_digest(A, B), src=A, dest=B))
    assert h.take_down_events() == [SetDigest(zero_digest(A, B)), ViewChange(view), BecomeServer()]
    assert h.take_up_events() == [ViewChange(view), BecomeServer()]
    (ack,) = h.take_down()
    java = catalogue_message("hdr-gms-view-ack")
    assert (ack.type, ack.dest, ack.flags) == (java.type, A, java.flags)
    assert ack.headers == {PID: java.headers[PID]}
    assert isinstance(gms.role, ParticipantRole) and not gms.is_coordinator
    h.advance(60_000 * MS)  # the join timer is gone: no more JOIN_REQs or discovery
    assert h.take_down() == [] and h.take_down_events() == []


def test_join_rsp_from_catalogue_bytes_is_accepted() -> None:
    h, gms, _ = make_gms(B)
    discovery(h, ping(A, coord=True))
    h.take_down()
    msg = catalogue_message("hdr-gms-view-ack")  # any A<->B message to reuse addresses
    rsp = join_rsp_msg(v(A, 1, A, B), zero_digest(A, B), src=A, dest=B)
    assert rsp.payload is not None and rsp.payload[1:].hex() == (
        "03029dc05a9805a43cab91cebc7e0d62477801010002029dc05a9805a43cab91cebc7e0d62477802baa2daf63e689d8b"
        "523c54d93ea94e0a00020000")  # catalogue joinrsp-view-digest, after the presence byte
    h.receive(rsp)
    assert gms.view == v(A, 1, A, B)
    assert msg.dest == A


def test_join_timeout_tries_the_next_coordinator_then_a_new_discovery_round() -> None:
    h, gms, _ = make_gms(C, join_timeout=1000)
    discovery(h, ping(A, coord=True), ping(B, coord=True))
    (first,) = h.take_down()
    h.advance(1000 * MS)
    (second,) = h.take_down()
    assert {first.dest, second.dest} == {A, B}
    assert h.take_down_events() == []
    h.advance(1000 * MS)
    find_request(h)  # attempt 2 starts with discovery
    assert isinstance(gms.role, ClientRole)


def test_max_join_attempts_ends_as_singleton_like_java() -> None:
    """Java counts attempts from 1 and gives up when ++attempts >= max: max 3 = 2 JOIN rounds."""
    h, gms, _ = make_gms(B, join_timeout=500, max_join_attempts=3)
    joins = 0
    for _ in range(2):
        discovery(h, ping(A, coord=True))
        joins += len(of_type(h.take_down(), T.JOIN_REQ))
        h.advance(500 * MS)
    assert joins == 2
    assert gms.view == v(B, 0, B) and gms.is_coordinator


def test_max_join_attempts_0_retries_forever() -> None:
    h, gms, _ = make_gms(B, join_timeout=100, max_join_attempts=0)
    for _ in range(30):
        discovery(h, ping(A, coord=True))
        assert len(of_type(h.take_down(), T.JOIN_REQ)) == 1
        h.advance(100 * MS)
    assert gms.view is None


def test_join_rsp_with_fail_reason_surfaces_join_failed_and_stops() -> None:
    h, gms, _ = make_gms(B)
    discovery(h, ping(A, coord=True))
    h.take_down()
    h.receive(join_rsp_msg(v(A, 1, A, B), zero_digest(A, B), src=A, dest=B, fail="auth failed"))
    assert JoinFailed("auth failed") in h.take_up_events()
    assert gms.join_failure == "auth failed" and gms.view is None
    h.advance(60_000 * MS)
    assert h.take_down() == [] and h.take_down_events() == []


@pytest.mark.parametrize("digest_members", [(), (C,)])
def test_join_rsp_without_me_in_the_digest_is_ignored(digest_members: tuple[object, ...]) -> None:
    h, gms, _ = make_gms(B)
    discovery(h, ping(A, coord=True))
    h.take_down()
    view = v(A, 1, A, *digest_members) if digest_members else v(A, 1, A)
    h.receive(join_rsp_msg(view, zero_digest(*view.members), src=A, dest=B))
    assert gms.view is None and gms.counters["invalid JOIN_RSP"] == 1


def test_only_clients_answered_the_lowest_address_becomes_coordinator() -> None:
    low, high = sorted([A, B])
    h, gms, _ = make_gms(low)
    discovery(h, ping(high, server=False))
    assert gms.view == v(low, 0, low)


def test_only_clients_answered_others_retry_after_all_clients_retry_timeout() -> None:
    low, high = sorted([A, B])
    h, gms, _ = make_gms(high, all_clients_retry_timeout=100)
    discovery(h, ping(low, server=False))
    assert gms.view is None and h.take_down_events() == []
    h.advance(100 * MS)
    discovery(h, ping(low, coord=True))
    assert len(of_type(h.take_down(), T.JOIN_REQ)) == 1


def test_discovery_response_for_someone_else_passes_up() -> None:
    from pygroups.events import DiscoveryResponse

    h, _gms, _ = make_gms(B)
    find_request(h)
    evt = DiscoveryResponse(9999, ())
    h.up(evt)
    assert evt in h.take_up_events()


def test_banner_is_logged_like_java(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pygroups.gms.banner")
    h, _gms, _ = make_gms(B, connect=False, print_local_addr=True)
    h.bottom.physical_addrs[B] = __import__("pygroups.address").address.IpAddress("10.0.0.1", 7801)
    h.stack.connect("demo", local_addr=B, name="B")
    (rec,) = [r for r in caplog.records if r.name == "pygroups.gms.banner"]
    assert "GMS: address=B, cluster=demo, physical address=10.0.0.1:7801" in rec.getMessage()
    assert rec.getMessage().count("-" * 67) == 2


def test_late_join_rsp_after_singleton_is_dropped() -> None:
    h, gms, _ = make_gms(B)
    discovery(h)
    assert isinstance(gms.role, CoordinatorRole)
    h.receive(join_rsp_msg(v(A, 1, A, B), zero_digest(A, B), src=A, dest=B))
    assert gms.view == v(B, 0, B)
    assert isinstance(h.layer, type(gms)) and GmsHeader(T.VIEW).type == 5


def test_a_slow_discovery_is_waited_for_however_long_its_io_takes() -> None:
    """Java's joiner blocks in findMembers (KUBE_PING's API call and its retries) before it waits join_timeout:
    GMS must not give up on discovery by a timer of its own (it once became a singleton after 2 x join_timeout)."""
    h, gms, _ = make_gms(B, join_timeout=2000)
    req = find_request(h)
    h.advance(60_000 * MS)  # the API answered slowly: a minute of retries
    assert isinstance(gms.role, ClientRole) and gms.view is None
    assert h.take_down() == []
    h.up(DiscoveryResponse(req.request_id, (ping(A, coord=True),)))
    (join,) = h.take_down()
    assert join.dest == A and join.get_header(PID).type == GmsHeader.Type.JOIN_REQ
