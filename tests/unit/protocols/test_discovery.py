"""Discovery (the base of TCPPING and SHARED_LOOPBACK_PING): rounds, early exits, timeouts, answers, caches,
bad payloads; SHARED_LOOPBACK_PING and TCPPING over the simulated network with stub layers above."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from pygroups.address import UUID, Address, IpAddress
from pygroups.events import (
    BecomeServer,
    Disconnect,
    DiscoveryResponse,
    Event,
    FindInitialMembers,
    FindMembers,
    ViewChange,
)
from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols.discovery import Responses, ping_data
from pygroups.protocols.shared_loopback import SHARED_LOOPBACK_PING
from pygroups.protocols.tcpping import TCPPING
from pygroups.stack.layer import Layer
from pygroups.testing.harness import LayerHarness
from pygroups.testing.sim import MS, SimNetwork, SimTransport
from pygroups.view import View, ViewId
from pygroups.wire.headers.ping import PingData, PingHeader, decode_ping_data_list, encode_ping_data_list

PID = 9  # TCPPING
ME = UUID(0, 100)
X, Y, Z = UUID(0, 1), UUID(0, 2), UUID(0, 3)
MY_PHYS = IpAddress("127.0.0.1", 7800)
X_PHYS = IpAddress("127.0.0.1", 7801)
REQ, RSP = PingHeader.Type.GET_MBRS_REQ, PingHeader.Type.GET_MBRS_RSP


def harness(**attrs: object) -> LayerHarness:
    layer = TCPPING()
    layer.initial_hosts = "127.0.0.1[7800]"  # type: ignore[assignment]
    layer.port_range = 3
    for k, v in attrs.items():
        setattr(layer, k, v)
    h = LayerHarness(layer, local_addr=ME, cluster=None)
    h.bottom.physical_addrs[ME] = MY_PHYS
    h.stack.connect("demo", local_addr=ME, name="me")
    return h


def rsp(sender: Address, *, coord: bool = False, server: bool = True, name: str | None = None,
        physical: IpAddress | None = None, src: Address | None = None) -> Message:
    pd = ping_data(sender, server, name, physical, coord=coord)
    msg = Message(dest=ME, src=src or sender, flags=Flag.OOB | Flag.DONT_BUNDLE, payload=encode_ping_data_list([pd]))
    return msg.put_header(PID, PingHeader(RSP))


def req(sender: Address, *, cluster: str | None = "demo", initial: bool = True, mbrs: Sequence[Address] | None = None,
        name: str = "X", physical: IpAddress | None = X_PHYS,
        payload: bytes | None = None) -> Message:
    pd = ping_data(sender, False, name, physical, mbrs=mbrs)
    data = encode_ping_data_list([pd]) if payload is None else payload
    msg = Message(dest=ME, src=sender, flags=Flag.OOB | Flag.DONT_BUNDLE, payload=data)
    return msg.put_header(PID, PingHeader(REQ, cluster, initial))


def answers(h: LayerHarness) -> list[tuple[Address | None, PingData]]:
    out = []
    for m in h.take_down():
        hdr = m.get_header(PID)
        if isinstance(hdr, PingHeader) and hdr.type == RSP:
            out += [(m.dest, pd) for pd in decode_ping_data_list(m.payload)]
    return out


def responses(h: LayerHarness) -> list[DiscoveryResponse]:
    return [e for e in h.take_up_events() if isinstance(e, DiscoveryResponse)]


# --- Responses (org.jgroups.util.Responses) ---------------------------------------------------------------


def test_responses_keep_one_entry_per_sender_and_prefer_coordinators() -> None:
    done: list[Responses] = []
    r = Responses(0, True, 1, done.append)
    r.add(ping_data(X, True, "x", None), False)
    r.add(ping_data(X, False, "x2", None), False)  # not overwritten
    assert [p.logical_name for p in r] == ["x"]
    r.add(ping_data(X, False, "x3", None), True)  # overwrite
    assert [p.logical_name for p in r] == ["x3"] and not done
    r.add(ping_data(Y, True, "y", None, coord=True), False)
    assert done == [r] and r.is_coord(Y) and not r.is_coord(X)
    r.add(ping_data(Z, True, "z", None, coord=True), False)
    assert done == [r]  # finishes once


def test_responses_done_when_all_expected_answered() -> None:
    done: list[Responses] = []
    r = Responses(2, False, None, done.append)
    r.add(ping_data(X, False, None, None, coord=True), False)
    assert not done
    r.add(ping_data(Y, False, None, None), False)
    assert done == [r]


def test_ping_data_coord_implies_server() -> None:
    assert ping_data(X, False, None, None, coord=True) == PingData(X, True, True, None, None)


# --- running a discovery ------------------------------------------------------------------------------


def test_coordinator_response_ends_discovery_early() -> None:
    h = harness()
    h.down(FindInitialMembers(5, 2000))
    assert len(h.take_down()) == 3  # 7801..7803
    h.advance(10 * MS)
    h.receive(rsp(X, server=True, name="x"))
    assert responses(h) == []
    h.receive(rsp(Y, coord=True, name="y", physical=IpAddress("127.0.0.1", 7802)))
    (r,) = responses(h)
    assert r.request_id == 5 and [p.sender for p in r.responses] == [X, Y]
    h.advance(5000 * MS)
    assert responses(h) == []  # no second answer at the timeout


def test_without_break_on_coord_rsp_discovery_runs_until_the_timeout() -> None:
    h = harness(break_on_coord_rsp=False)
    h.down(FindInitialMembers(1, 2000))
    h.receive(rsp(Y, coord=True))
    h.advance(1999 * MS)
    assert responses(h) == []
    h.advance(1 * MS)
    (r,) = responses(h)
    assert [p.sender for p in r.responses] == [Y]


def test_timeout_with_no_responses_answers_empty() -> None:
    h = harness()
    h.down(FindInitialMembers(3, 500))
    assert h.advance_to_next_timer() == 500 * MS
    assert responses(h) == [DiscoveryResponse(3, ())]


def test_concurrent_rounds_each_get_their_answer() -> None:
    h = harness()
    h.down(FindInitialMembers(1, 1000))
    h.advance(500 * MS)
    h.down(FindInitialMembers(2, 1000))
    h.receive(rsp(X))
    h.advance(500 * MS)
    (r1,) = responses(h)
    assert r1.request_id == 1 and [p.sender for p in r1.responses] == [X]
    h.receive(rsp(Y, coord=True))
    (r2,) = responses(h)
    assert r2.request_id == 2 and [p.sender for p in r2.responses] == [X, Y]


def test_num_discovery_runs_spreads_requests_over_the_timeout() -> None:
    h = harness(num_discovery_runs=3)
    h.down(FindInitialMembers(1, 3000))
    assert len(h.take_down()) == 3  # the first run, at once (Java: timer.execute)
    h.advance(999 * MS)
    assert h.take_down() == []
    h.advance(1 * MS)
    assert len(h.take_down()) == 3
    h.advance(1000 * MS)
    assert len(h.take_down()) == 3
    h.advance(1000 * MS)
    assert h.take_down() == [] and len(responses(h)) == 1
    layer = h.layer
    assert isinstance(layer, TCPPING) and layer.statistics()["num_discovery_requests"] == 3


def test_later_runs_are_cancelled_once_a_coordinator_answered() -> None:
    h = harness(num_discovery_runs=3)
    h.down(FindInitialMembers(1, 3000))
    h.take_down()
    h.receive(rsp(Y, coord=True))
    assert len(responses(h)) == 1
    h.advance(3000 * MS)
    assert h.take_down() == []


def test_find_members_ends_when_every_wanted_member_answered() -> None:
    h = harness()
    h.down(FindMembers(9, (X, Y)))
    (sent, *_) = h.take_down()
    hdr = sent.get_header(PID)
    assert isinstance(hdr, PingHeader) and not hdr.initial_discovery
    assert decode_ping_data_list(sent.payload)[0].mbrs == (X, Y)
    h.receive(rsp(X, coord=True))  # no break_on_coord_rsp outside initial discovery
    assert responses(h) == []
    h.receive(rsp(Y))
    (r,) = responses(h)
    assert r.request_id == 9 and {p.sender for p in r.responses} == {X, Y}


def test_too_many_wanted_members_are_left_out_of_the_request() -> None:
    h = harness(max_members_in_discovery_request=1)
    h.down(FindMembers(1, (X, Y)))
    assert decode_ping_data_list(h.take_down()[0].payload)[0].mbrs is None


def test_responses_teach_names_and_physical_addresses() -> None:
    h = harness()
    h.down(FindInitialMembers(1, 1000))
    h.take_down_events()
    phys = IpAddress("127.0.0.1", 7809)
    h.receive(rsp(X, name="x-name", physical=phys))
    assert h.stack.logical_names[X] == "x-name"
    assert h.bottom.physical_addrs[X] == phys
    # an entry about someone else (cache dissemination) is learnt as well
    h.receive(rsp(Z, name="zed", physical=IpAddress("127.0.0.1", 7810), src=X))
    assert h.stack.logical_names[Z] == "zed" and h.bottom.physical_addrs[Z] == IpAddress("127.0.0.1", 7810)


# --- answering ----------------------------------------------------------------------------------------


def test_a_member_answers_before_and_after_becoming_server_and_as_coordinator() -> None:
    h = harness()
    h.receive(req(X))
    ((dest, pd),) = answers(h)
    assert dest == X and pd == PingData(ME, False, False, "me", MY_PHYS)  # Java answers before BECOME_SERVER
    assert h.bottom.physical_addrs[X] == IpAddress("127.0.0.1", 7801) and h.stack.logical_names[X] == "X"
    h.down(ViewChange(View(ViewId(Y, 1), (Y, ME))))
    h.down(BecomeServer())
    h.take_down()
    h.receive(req(X))
    assert [(p.is_server, p.is_coord) for _, p in answers(h)] == [(True, False)]
    h.down(ViewChange(View(ViewId(ME, 2), (ME,))))
    h.take_down()
    h.receive(req(X))
    assert [(p.is_server, p.is_coord) for _, p in answers(h)] == [(True, True)]


def test_response_message_flags_and_header() -> None:
    h = harness()
    h.receive(req(X))
    (m,) = h.take_down()
    assert m.dest == X and m.flags == Flag.OOB | Flag.DONT_BUNDLE
    assert m.transient_flags & TransientFlag.DONT_BLOCK
    assert m.get_header(PID) == PingHeader(RSP, None, False)


def test_requests_of_another_cluster_are_dropped() -> None:
    h = harness()
    h.receive(req(X, cluster="other"))
    assert answers(h) == [] and X not in h.stack.logical_names
    assert h.layer.counters["foreign_cluster_requests"] == 1
    h.receive(req(X, cluster=None))  # Java warns and answers
    assert len(answers(h)) == 1


def test_mbrs_restricts_who_answers() -> None:
    h = harness()
    h.receive(req(X, mbrs=[Y, Z]))
    assert answers(h) == []
    h.receive(req(X, mbrs=[Y, ME]))
    assert len(answers(h)) == 1


def test_max_rank_to_reply_only_for_initial_discovery() -> None:
    h = harness(max_rank_to_reply=1)
    h.down(ViewChange(View(ViewId(Y, 1), (Y, ME))))
    h.take_down()
    h.receive(req(X, initial=True))
    assert answers(h) == []
    h.receive(req(X, initial=False))
    assert len(answers(h)) == 1


def test_leaving_member_ignores_discovery() -> None:
    h = harness()
    h.down(Disconnect())
    h.receive(req(X))
    h.receive(rsp(Y, coord=True))
    assert answers(h) == [] and h.layer.counters["dropped_while_leaving"] == 2


def test_return_entire_cache_lists_self_and_view_members_only() -> None:
    h = harness(return_entire_cache=True)
    h.bottom.physical_addrs[Y] = IpAddress("127.0.0.1", 7802)
    h.bottom.physical_addrs[Z] = IpAddress("127.0.0.1", 7803)  # not in the view
    h.down(ViewChange(View(ViewId(ME, 1), (ME, Y))))
    h.down(BecomeServer())
    h.take_down()
    h.receive(req(X))
    got = {pd.sender: pd for _, pd in answers(h)}
    assert set(got) == {ME, Y}
    assert got[ME].is_coord and got[Y].is_server and not got[Y].is_coord


def test_stagger_timeout_delays_the_answer() -> None:
    h = harness(stagger_timeout=100)
    h.down(ViewChange(View(ViewId(Y, 1), (Y, ME))))  # rank 2 of 2: 100*2/2 - 100/2 = 50 ms
    h.take_down()
    h.receive(req(X))
    assert answers(h) == []
    h.advance(49 * MS)
    assert answers(h) == []
    h.advance(1 * MS)
    assert len(answers(h)) == 1


def test_cache_is_sent_on_join_by_the_coordinator_only() -> None:
    h = harness()
    h.bottom.physical_addrs.update({X: IpAddress("127.0.0.1", 7801), Y: IpAddress("127.0.0.1", 7802)})
    h.stack.logical_names.update({X: "x", Y: "y"})
    h.down(ViewChange(View(ViewId(ME, 0), (ME,))))
    h.down(ViewChange(View(ViewId(ME, 1), (ME, X))))
    h.down(BecomeServer())
    assert sorted((str(d), p.logical_name) for d, p in answers(h)) == [(str(X), "x")]
    h.down(ViewChange(View(ViewId(ME, 2), (ME, X, Y))))
    got = sorted((str(d), p.logical_name, p.is_server) for d, p in answers(h))
    assert got == sorted([(str(Y), "x", True), (str(Y), "y", True), (str(X), "y", True)])
    h.down(ViewChange(View(ViewId(X, 3), (X, Y, ME))))  # no longer coordinator
    assert answers(h) == []


def test_send_cache_on_join_can_be_disabled() -> None:
    h = harness(send_cache_on_join=False)
    h.bottom.physical_addrs[X] = IpAddress("127.0.0.1", 7801)
    h.down(ViewChange(View(ViewId(ME, 1), (ME, X))))
    assert answers(h) == []


@pytest.mark.parametrize("payload", [b"\x00\x00\x00\x05\x02", b"\xff\xff\xff\xff", b"junk"])
def test_malformed_ping_data_is_a_counted_drop(payload: bytes) -> None:
    h = harness()
    h.down(FindInitialMembers(1, 1000))
    h.take_down()
    h.receive(req(X, payload=payload))
    assert len(answers(h)) == 1  # Java still answers a request whose data it could not read
    bad = rsp(Y, coord=True)
    bad.payload = payload
    h.receive(bad)
    assert responses(h) == []
    assert h.layer.counters["bad_ping_data"] == 2


def test_unknown_type_and_foreign_messages() -> None:
    h = harness()
    odd = Message(src=X, payload=None).put_header(PID, PingHeader(7))
    h.receive(odd)
    assert h.layer.counters["unknown_ping_type"] == 1
    plain = Message(src=X, payload=b"app")
    h.receive(plain)
    assert h.take_up() == [plain]


def test_batches_keep_non_discovery_messages_together() -> None:
    h = harness()
    seen: list[Sequence[Message]] = []
    h.top.up_batch = seen.append  # type: ignore[method-assign]
    a, b = Message(src=X, payload=b"a"), Message(src=X, payload=b"b")
    h.stack.run_input(h.layer.up_batch, [a, req(X), b])
    assert [list(batch) for batch in seen] == [[a, b]]
    assert len(answers(h)) == 1


def test_bad_numbers_are_config_errors() -> None:
    from pygroups.errors import ConfigError
    with pytest.raises(ConfigError):
        TCPPING().stagger_timeout = "-1x"  # type: ignore[assignment]
    t = TCPPING()
    t.num_discovery_runs = 0
    with pytest.raises(ConfigError):
        t.validate()


# --- in the simulator, with stub layers above discovery ---------------------------------------------


class StubGms(Layer):
    """Starts one discovery on Connect and records the answers (what GMS does, minus the join)."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[tuple[PingData, ...]] = []

    def down(self, evt: Event) -> None:
        super().down(evt)
        if type(evt).__name__ == "Connect":
            self.down_layer.down(FindInitialMembers(self.stack.new_request_id(), 1000))

    def up(self, evt: Event) -> None:
        if isinstance(evt, DiscoveryResponse):
            self.results.append(evt.responses)
        else:
            super().up(evt)


def loopback_stack() -> list[Layer]:
    return [SimTransport(), SHARED_LOOPBACK_PING(), StubGms()]


def stub(node: object) -> StubGms:
    return node.stack.find(StubGms)  # type: ignore[attr-defined, no-any-return]


def test_shared_loopback_ping_reads_the_registry_and_the_first_member_is_coordinator() -> None:
    net = SimNetwork(3)
    a, b, c = (net.add_node(n, loopback_stack) for n in "abc")
    a.connect("cl")
    net.run_for(1 * MS)
    ((only,),) = stub(a).results
    assert only.sender == a.addr and only.is_coord and only.logical_name == "a"  # JGRP-2395
    b.connect("cl")
    net.run_for(1 * MS)
    (got,) = stub(b).results  # ended at once: a coordinator answered
    assert [(p.sender, p.is_coord) for p in got] == [(a.addr, True), (b.addr, False)]
    assert b.stack.logical_names[a.addr] == "a"  # type: ignore[index]
    net.crash(a)
    net.partition([b], [c])
    c.connect("cl")
    net.run_until(lambda: bool(stub(c).results), 2000 * MS)
    (got,) = stub(c).results
    assert [p.sender for p in got] == [c.addr]  # crashed a and partitioned b are invisible
    assert not got[0].is_coord  # the registry still had b, so c is not first


def test_shared_loopback_ping_flags_follow_views_and_become_server() -> None:
    net = SimNetwork(4)
    a, b = (net.add_node(n, loopback_stack) for n in "ab")
    a.connect("cl")
    b.connect("cl")
    view = View(ViewId(b.addr, 1), (b.addr, a.addr))  # type: ignore[arg-type]
    for n in (a, b):
        net.call(n, n.stack.run_input, n.stack.layers[-1].down, ViewChange(view))
        net.call(n, n.stack.run_input, n.stack.layers[-1].down, BecomeServer())
    c = net.add_node("c", loopback_stack)
    c.connect("cl")
    net.run_for(1 * MS)
    (got,) = stub(c).results
    flags = {p.sender: (p.is_server, p.is_coord) for p in got}
    assert flags[a.addr] == (True, False) and flags[b.addr] == (True, True)
    b.disconnect()
    d = net.add_node("d", loopback_stack)
    d.connect("cl")
    net.run_until(lambda: bool(stub(d).results), 2000 * MS)
    assert b.addr not in {p.sender for p in stub(d).results[0]}


def test_shared_loopback_ping_needs_shared_loopback() -> None:
    from pygroups.errors import ConfigError
    with pytest.raises(ConfigError, match="SHARED_LOOPBACK"):
        LayerHarness(SHARED_LOOPBACK_PING())


def test_tcpping_over_the_simulated_network() -> None:
    """Requests to IpAddress destinations reach the node with that physical address; answers come back
    by logical address, and both sides learn names and addresses."""
    net = SimNetwork(5, loss=0.0)

    def tcpping_stack() -> list[Layer]:
        t = TCPPING()
        t.initial_hosts = "10.0.0.1[7800],10.0.0.2[7800],10.0.0.3[7800]"  # type: ignore[assignment]
        t.port_range = 0
        return [SimTransport(), t, StubGms()]

    a, b, c = (net.add_node(n, tcpping_stack) for n in "abc")
    for n in (a, b):
        n.connect("cl")
    net.run_for(1500 * MS)
    # b's request reached a during a's round: a request counts as a response (Java addResponse(pd, false))
    ((from_b,),) = stub(a).results
    assert (from_b.sender, from_b.is_server) == (b.addr, False)
    (got,) = stub(b).results
    assert [(p.sender, p.logical_name, str(p.physical_addr)) for p in got] == [(a.addr, "a", "10.0.0.1:7800")]
    assert b.transport.addr_cache[a.addr] == IpAddress("10.0.0.1", 7800)  # type: ignore[index]
    assert a.transport.addr_cache[b.addr] == IpAddress("10.0.0.2", 7800)  # type: ignore[index]
    assert a.stack.logical_names[b.addr] == "b"  # type: ignore[index]
    c.connect("cl")
    net.run_for(1500 * MS)
    assert {p.sender for p in stub(c).results[0]} == {a.addr, b.addr}


def test_add_node_from_a_stock_stack_and_what_a_disconnect_sends_still_leaves() -> None:
    class Goodbye(Layer):
        def down(self, evt: Event) -> None:
            if isinstance(evt, Disconnect):
                self.down_layer.down_msg(Message(payload=b"bye"))
            super().down(evt)

    net = SimNetwork(6)
    with pytest.raises(Exception, match="exactly one of factory and stack"):
        net.add_node("x")
    a = net.add_node("a", lambda: [SimTransport(), Goodbye()])
    b = net.add_node("b", lambda: [SimTransport()])
    for n in (a, b):
        n.connect("cl")
    a.disconnect()
    net.run_for(10 * MS)
    assert [m.payload for m in b.messages()] == [b"bye"]
    assert a.stack.cluster is None and "cl" not in {
        c for c, m in net.registry.clusters.items() if a.addr in m}
    c = net.add_node("c", stack="sim-fc.xml")
    assert [layer.name for layer in c.stack.layers] == [
        "SHARED_LOOPBACK", "SHARED_LOOPBACK_PING", "pbcast.NAKACK2", "UNICAST3", "pbcast.STABLE", "pbcast.GMS",
        "UFC", "MFC", "FRAG2"]
