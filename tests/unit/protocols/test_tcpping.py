"""TCPPING against the real JGroups 5.5.6 capture (tests/data/java/5.5.6/tcp-3node.pcap, tcp.xml, TCPPING id 9):
requests and answers are byte-identical to what the jar sent; plus the host list rules of TCPPING.findMembers."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from pygroups.address import UUID, Address, IpAddress
from pygroups.capture.dump import dump_bytes
from pygroups.clock import MS
from pygroups.events import AddPhysicalAddress, BecomeServer, FindInitialMembers, FindMembersAsync, ViewChange
from pygroups.message import Flag, Message, TransientFlag
from pygroups.protocols.tcpping import TCPPING
from pygroups.stack.properties import HostPort
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.ping import PingData, PingHeader, decode_ping_data_list, encode_ping_data_list
from pygroups.wire.headers.tp import TpHeader

DATA = Path(__file__).resolve().parents[2] / "data" / "java" / "5.5.6"
TP_ID, TCPPING_ID = 57, 9


@cache
def capture() -> tuple[dict[str, tuple[UUID, IpAddress]], tuple[Message, ...]]:
    nodes = json.loads((DATA / "tcp-3node.nodes.json").read_text())["nodes"]
    who = {}
    for name, n in nodes.items():
        ip, port = n["physical"].rsplit(":", 1)
        who[name] = (UUID.parse(n["uuid"]), IpAddress(ip, int(port)))
    msgs = tuple(rec.message for rec in dump_bytes((DATA / "tcp-3node.pcap").read_bytes())
                 if rec.message is not None and isinstance(rec.message.get_header(TCPPING_ID), PingHeader))
    return who, msgs


def wire(msg: Message) -> str:
    """What TP would write: the message plus its TpHeader."""
    out = msg.copy()
    out.put_header(TP_ID, TpHeader("demo"))
    return codec.encode_message(out).hex()


def node(name: str, *, initial_hosts: str = "127.0.0.1[7800]", port_range: int = 2) -> LayerHarness:
    who, _ = capture()
    addr, physical = who[name]
    layer = TCPPING()
    layer.initial_hosts = initial_hosts  # type: ignore[assignment]  # parsed like the XML attribute
    layer.port_range = port_range
    h = LayerHarness(layer, local_addr=addr, cluster=None)
    h.bottom.physical_addrs[addr] = physical
    h.stack.connect("demo", local_addr=addr, name=name)
    return h


def from_wire(msg: Message) -> Message:
    """A captured message as it reaches discovery (TP removed its header)."""
    out = msg.copy()
    out.headers.pop(TP_ID, None)
    return out


def test_tcpping_is_registered_with_jgroups_defaults() -> None:
    t = TCPPING()
    assert (t.name, t.protocol_id) == ("TCPPING", 9)
    assert (t.port_range, t.max_dynamic_hosts, t.initial_hosts) == (1, 2000, ())
    assert (t.break_on_coord_rsp, t.send_cache_on_join, t.num_discovery_runs) == (True, True, 1)
    assert (t.max_members_in_discovery_request, t.discovery_rsp_expiry_time) == (500, 60000)
    assert not t.return_entire_cache


def test_request_is_byte_identical_to_javas() -> None:
    who, msgs = capture()
    b = node("B")
    b.down(FindInitialMembers(1, 2000))
    sent = b.take_down()
    # 7800..7802 minus our own 7801
    assert [m.dest for m in sent] == [IpAddress("127.0.0.1", 7800), IpAddress("127.0.0.1", 7802)]
    java = next(m for m in msgs if m.src == who["B"][0] and m.dest == IpAddress("127.0.0.1", 7800))
    assert wire(sent[0]) == wire(java) == codec.encode_message(java).hex()
    assert sent[0].flags == Flag.OOB | Flag.DONT_BUNDLE
    assert sent[0].transient_flags & TransientFlag.DONT_LOOPBACK


def test_coordinator_answer_and_cache_dissemination_match_javas() -> None:
    """A (the Python coordinator here) answers B's and C's captured requests and disseminates its cache
    exactly as the Java coordinator did: the same GET_MBRS_RSP messages, byte for byte."""
    who, msgs = capture()
    (a_addr, _), (b_addr, b_phys), (c_addr, c_phys) = who["A"], who["B"], who["C"]
    a = node("A")
    a.down(FindInitialMembers(1, 2000))
    a.advance(2000 * MS)
    a.down(ViewChange(View(ViewId(a_addr, 0), (a_addr,))))
    a.down(BecomeServer())
    a.take_down()
    req_b = next(m for m in msgs if m.src == b_addr and m.dest == IpAddress("127.0.0.1", 7800))
    req_c = next(m for m in msgs if m.src == c_addr and m.dest == IpAddress("127.0.0.1", 7800))
    ours = []
    a.receive(from_wire(req_b))
    a.down(ViewChange(View(ViewId(a_addr, 1), (a_addr, b_addr))))
    ours += a.take_down()
    a.receive(from_wire(req_c))
    a.down(ViewChange(View(ViewId(a_addr, 2), (a_addr, b_addr, c_addr))))
    ours += a.take_down()
    assert a.bottom.physical_addrs[b_addr] == b_phys and a.bottom.physical_addrs[c_addr] == c_phys
    assert a.stack.logical_names[c_addr] == "C"
    java = [m for m in msgs if m.src == a_addr]
    assert Counter(wire(m) for m in ours) == Counter(codec.encode_message(m).hex() for m in java)
    assert all(m.flags == Flag.OOB | Flag.DONT_BUNDLE for m in ours)


def test_joiner_learns_from_javas_answer_and_stops_at_the_coordinator() -> None:
    who, msgs = capture()
    b = node("B")
    b.down(FindInitialMembers(7, 2000))
    b.take_down()
    rsp = next(m for m in msgs if m.dest == who["B"][0])
    b.receive(from_wire(rsp))
    (evt,) = b.take_up_events()
    assert evt.request_id == 7  # type: ignore[attr-defined]
    (pd,) = evt.responses  # type: ignore[attr-defined]
    assert (pd.sender, pd.is_coord, pd.logical_name) == (who["A"][0], True, "A")
    assert b.stack.logical_names[who["A"][0]] == "A"
    assert b.bottom.physical_addrs[who["A"][0]] == who["A"][1]


def test_port_range_and_no_request_to_self() -> None:
    h = node("A", initial_hosts="127.0.0.1[7800],127.0.0.2[7900]", port_range=1)
    h.down(FindInitialMembers(1, 100))
    # JGRP-2910: our bind address (127.0.0.1) is probed at every initial host's port too
    assert [str(m.dest) for m in h.take_down()] == ["127.0.0.1:7801", "127.0.0.2:7900", "127.0.0.2:7901",
                                                     "127.0.0.1:7900", "127.0.0.1:7901"]


def test_host_without_port_uses_the_transports_bind_port() -> None:
    layer = TCPPING()
    layer.initial_hosts = (HostPort("127.0.0.5", None),)
    layer.port_range = 0
    h = LayerHarness(layer, cluster=None)
    h.bottom.bind_port = 7600  # type: ignore[attr-defined]  # read like TP.getBindPort()
    h.stack.layers[1].init()
    h.connect("c")
    h.down(FindInitialMembers(1, 100))
    assert [str(m.dest) for m in h.take_down()] == ["127.0.0.5:7600"]


def test_unresolved_names_are_retried_and_localhost_resolves() -> None:
    h = node("A", initial_hosts="no-such-host[7800] localhost[7810]", port_range=0)
    tcpping = h.layer
    assert isinstance(tcpping, TCPPING)
    assert tcpping.unresolved_hosts == {"no-such-host"}
    h.down(FindInitialMembers(1, 100))
    assert sorted(str(m.dest) for m in h.take_down()) == ["127.0.0.1:7810", "[::1]:7810"]

    class Dns:
        def addresses_of(self, host: str) -> list[object]:
            import ipaddress
            return [ipaddress.ip_address("10.1.2.3")]

    tcpping.resolver = Dns()  # type: ignore[assignment]
    h.down(FindInitialMembers(2, 100))  # this round resolves it; the next one uses it (Java's order)
    h.take_down()
    h.down(FindInitialMembers(3, 100))
    assert "10.1.2.3:7800" in {str(m.dest) for m in h.take_down()}
    assert not tcpping.unresolved_hosts


def test_dynamic_hosts_from_requests_views_and_added_addresses_are_probed_and_bounded() -> None:
    h = node("A", initial_hosts="127.0.0.1[7800]", port_range=0)
    tcpping = h.layer
    assert isinstance(tcpping, TCPPING)
    tcpping.max_dynamic_hosts = 2
    x, y, z = (UUID(0, i) for i in (1, 2, 3))
    req = Message(dest=h.local_addr, src=x, flags=Flag.OOB | Flag.DONT_BUNDLE,
                  payload=encode_ping_data_list([PingData(x, False, False, "X", IpAddress("127.0.0.9", 1))]))
    req.put_header(TCPPING_ID, PingHeader(PingHeader.Type.GET_MBRS_REQ, "demo", True))
    h.receive(req)
    h.down(AddPhysicalAddress(y, IpAddress("127.0.0.9", 2)))
    h.bottom.physical_addrs[z] = IpAddress("127.0.0.9", 3)
    h.down(ViewChange(View(ViewId(h.local_addr, 1), (h.local_addr, z))))
    assert [str(a) for a in tcpping.dynamic_hosts] == ["127.0.0.9:2", "127.0.0.9:3"]  # oldest dropped
    h.take_down()
    h.down(FindInitialMembers(1, 100))
    dests = [str(m.dest) for m in h.take_down() if isinstance(m.get_header(TCPPING_ID), PingHeader)
             and m.get_header(TCPPING_ID).type == PingHeader.Type.GET_MBRS_REQ]  # type: ignore[union-attr]
    assert dests == ["127.0.0.9:2", "127.0.0.9:3"]  # 127.0.0.1:7800 is our own address


def test_find_members_async_asks_for_the_wanted_members() -> None:
    h = node("A", initial_hosts="127.0.0.2[7800]", port_range=0)
    x = UUID(0, 42)
    h.up(FindMembersAsync((x,)))
    (req,) = h.take_down()
    (pd,) = decode_ping_data_list(req.payload)
    hdr = req.get_header(TCPPING_ID)
    assert isinstance(hdr, PingHeader) and not hdr.initial_discovery and hdr.cluster_name == "demo"
    assert pd.mbrs == (x,) and not pd.is_server and pd.logical_name == "A"
    assert h.take_up_events() == []


def test_initial_hosts_file(tmp_path: Path) -> None:
    f = tmp_path / "hosts"
    f.write_text("# members\n127.0.0.3[7000] # first\n127.0.0.4[7000]\n")
    layer = TCPPING()
    layer.initial_hosts_file = str(f)
    layer.port_range = 0
    layer.validate()
    h = LayerHarness(layer)
    h.down(FindInitialMembers(1, 100))
    assert [str(m.dest) for m in h.take_down()] == ["127.0.0.3:7000", "127.0.0.4:7000"]


def test_members_of_the_capture_are_known() -> None:
    who, msgs = capture()
    assert len(msgs) >= 8 and set(who) == {"A", "B", "C"}
    addrs: set[Address] = {a for a, _ in who.values()}
    assert {m.src for m in msgs} <= addrs


@pytest.mark.parametrize("value", ["1.2.3.4[99999]", "a[b]"])
def test_bad_host_lists_are_config_errors(value: str) -> None:
    from pygroups.errors import ConfigError
    with pytest.raises(ConfigError):
        TCPPING().initial_hosts = value  # type: ignore[assignment]
