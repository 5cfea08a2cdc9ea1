"""Bad input against live mixed clusters (issue 9, "Bad input"), Java's nodes as the control: a stranger (this test,
on its own loopback address, never a member) works on every member of a 4-member tcp-fd.xml cluster at once:

* FD_SOCK2's server socket: garbage, nothing (held open), a preamble cut short, and a flood of connections held open;
* the transport: a forged FD_SOCK2 SUSPECT naming the coordinator, multicast to every member from a non-member;
* the coordinator: a MERGE_REQ from outside the cluster, which (in Java) starts a merge that nobody finishes, so a
  member that joins right after joins while a merge is in progress.

Afterwards the view has never lost a live member, the joiner is in, everyone still multicasts exactly once, and the
Python members counted what they dropped (probe). Run with a Java and with a Python coordinator.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Iterator

import pytest
from cluster import FAST_FD, Cluster, allocate_pod_ip, multicasts_arrive_exactly_once, show_view
from probing import answers, diag_properties, free_block, keyed, py_probe

from pygroups.address import UUID, IpAddress
from pygroups.message import Flag, Message, MsgType
from pygroups.wire import codec
from pygroups.wire.framing import encode_preamble, frame
from pygroups.wire.headers.fd import FdHeader
from pygroups.wire.headers.gms import GmsHeader, MergeId, encode_merge_members
from pygroups.wire.headers.tp import TpHeader
from pygroups.wire.protocol_ids import protocol_id_of

VIEW_TIMEOUT = 60.0
TCP_ID = protocol_id_of("org.jgroups.protocols.TCP")
GMS_ID = protocol_id_of("org.jgroups.protocols.pbcast.GMS")
FD_SOCK2_ID = protocol_id_of("org.jgroups.protocols.FD_SOCK2")
FD_SOCK2_OFFSET = 100  # tcp-fd.xml's jgroups.fd_sock2.offset


def lang(role: str) -> str:
    return "python" if role.startswith("P") else "java"


class Stranger:
    """Sockets to the members, from a loopback address of our own; all closed at the end."""

    def __init__(self, ip: str) -> None:
        self.ip = ip
        self.rng = random.Random(2026)
        self.addr = UUID.random(self.rng)
        self.socks: list[socket.socket] = []

    def connect(self, ip: str, port: int) -> socket.socket:
        s = socket.socket()
        s.bind((self.ip, 0))
        s.settimeout(5)
        s.connect((ip, port))
        self.socks.append(s)
        return s

    def send_quietly(self, s: socket.socket, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the node may close on us at once: that is its right
            s.sendall(data)

    def transport(self, ip: str) -> socket.socket:
        """A TCP transport connection: the preamble names our own (stranger's) physical address."""
        s = self.connect(ip, 7800)
        local_ip, local_port = s.getsockname()
        self.send_quietly(s, encode_preamble(IpAddress(local_ip, local_port)))
        return s

    def send(self, s: socket.socket, msg: Message, cluster: str) -> None:
        msg.put_header(TCP_ID, TpHeader(cluster))
        self.send_quietly(s, frame(codec.encode_single(msg)))

    def close(self) -> None:
        for s in self.socks:
            with contextlib.suppress(OSError):
                s.close()


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    s = Stranger(allocate_pod_ip())
    yield s
    s.close()


def member_views_never_lost(c: Cluster, holders: list[str], members: list[str], since: dict[str, int]) -> None:
    uuids = {c[m].started["uuid"] for m in members}
    for r in holders:
        for v in c[r].views()[since[r]:]:
            lost = uuids - set(v["member_uuids"])
            assert not lost, f"{r} installed a view without live members: {show_view(v)}"


@pytest.mark.parametrize("coordinator", ["java", "python"])
def test_a_stranger_disturbs_no_member_of_a_mixed_cluster(make_cluster, stranger: Stranger, coordinator: str) -> None:
    roles = ["J1", "P1", "J2", "P2"] if coordinator == "java" else ["P1", "J1", "P2", "J2"]
    joiner = "J3" if coordinator == "java" else "P3"  # the other language joins during the forged merge
    c: Cluster = make_cluster("tcp-fd.xml", pods=True, properties={**FAST_FD, **diag_properties(free_block(12))})
    c.extra_properties["jgroups.diag.bind_addr"] = "{pod_ip}"
    c.extra_properties["jgroups.tcpping.initial_hosts"] = ",".join(f"{c.pod_ip(r)}[7800]" for r in [*roles, joiner])
    for r in roles:
        c.start(r, lang(r))
    v0 = c.wait_same_view(roles, VIEW_TIMEOUT)
    since = {r: len(c[r].views()) for r in roles}
    coord = roles[0]
    coord_addr = UUID.parse(c[coord].started["uuid"])

    for r in roles:  # FD_SOCK2's server socket
        ip, port = c.pod_ip(r), 7800 + FD_SOCK2_OFFSET
        stranger.send_quietly(stranger.connect(ip, port), bytes(stranger.rng.randrange(256) for _ in range(300)))
        stranger.connect(ip, port)  # says nothing and holds the connection open
        stranger.send_quietly(stranger.connect(ip, port), b"bela\x00")  # a preamble cut short
        for _ in range(100):  # a flood, held open
            stranger.connect(ip, port)

    for r in roles:  # a forged SUSPECT of the coordinator, from a non-member, to everyone
        suspect = Message(MsgType.EMPTY, src=stranger.addr, flags=Flag.OOB)
        suspect.put_header(FD_SOCK2_ID, FdHeader(FdHeader.Type.SUSPECT, mbrs=(coord_addr,)))
        stranger.send(stranger.transport(c.pod_ip(r)), suspect, c.cluster)

    # a MERGE_REQ from outside to the coordinator: it may start a merge that nobody will finish
    merge_req = Message(MsgType.BYTES, dest=coord_addr, src=stranger.addr, flags=Flag.OOB,
                        payload=encode_merge_members((coord_addr,)))
    merge_req.put_header(GMS_ID, GmsHeader(GmsHeader.Type.MERGE_REQ, stranger.addr, MergeId(stranger.addr, 1)))
    stranger.send(stranger.transport(c.pod_ip(coord)), merge_req, c.cluster)

    t0 = time.monotonic()
    c.start(joiner, lang(joiner))  # joins while the forged merge holds the coordinator's view handler
    v = c.wait_same_view([*roles, joiner], VIEW_TIMEOUT)
    joined = time.monotonic() - t0
    assert v["members"] == [*roles, joiner], show_view(v)
    member_views_never_lost(c, roles, roles, since)
    multicasts_arrive_exactly_once(c, [*roles, joiner], n=100)

    out = py_probe("-addr", c.pod_ip(coord), "-port", c.extra_properties["jgroups.diag.port"], "-tcp",
                   "-timeout", "3000", "jmx=FD_SOCK2", "jmx=GMS")
    got = keyed(answers(out))
    assert sorted(got) == sorted([*roles, joiner]), out
    for r in (p for p in roles if lang(p) == "python"):
        fd = got[r]["FD_SOCK2"]
        assert "SUSPECT dropped (sender not a member)=1" in fd, f"{r}: the forged SUSPECT was not counted: {fd}"
    if coordinator == "python":  # the forged merge held the view handler: the joiner's first JOIN_REQs were dropped
        gms = got[coord]["GMS"]
        assert "JOIN_REQ discarded (merge in progress)=" in gms, f"the join did not meet the forged merge: {gms}"
    print(f"\n{coordinator} coordinator: view {show_view(v0)} kept; {joiner} joined after {joined:.1f} s despite "
          f"the forged merge: {show_view(v)}")
