"""Mixed Java/Python clusters on loopback: the real JGroups 5.5.6 jar (conformance peer, ``node`` mode) and
pygroups (conformance/pypeer.py) load the same stock XML unmodified and must form one cluster.

Every scenario runs in two variants:

* ``mixed``: roles named ``J*`` are Java nodes, roles named ``P*`` are Python nodes (the real test);
* ``java``:  every role is played by a Java node. This checks the scenario and the harness against JGroups
  itself: what the ``mixed`` variant asserts is what Java does with Java.

Sizes can be scaled with PYGROUPS_CONFORMANCE_MSGS (messages per stream, default 10000) and
PYGROUPS_CONFORMANCE_BULK_MB (the bulk multicast, default 100).
"""

from __future__ import annotations

import os
import time

import pytest
from cluster import Cluster, PeerNode, multicasts_arrive_exactly_once, show_view, view_key, wait_received

MSGS = int(os.environ.get("PYGROUPS_CONFORMANCE_MSGS", "10000"))
OOB_MSGS = max(1, MSGS // 10)
BULK_MB = int(os.environ.get("PYGROUPS_CONFORMANCE_BULK_MB", "100"))
BIG = 5_000_000

STALL = 30.0  # a delivery check gives up when nothing new arrived for this long

# (stack, mix): the mixed variant on every stock stack; the java-only self-check on tcp-fc.xml only, to keep the
# CI run short (run it on tcp-core.xml too with PYGROUPS_CONFORMANCE_ALL=1)
_ALL = os.environ.get("PYGROUPS_CONFORMANCE_ALL") == "1"
CASES = [("tcp-core.xml", "mixed"), ("tcp-fc.xml", "mixed"), ("tcp-fc.xml", "java")]
FRAG_CASES = [("tcp-fc.xml", "mixed"), ("tcp-fc-frag4.xml", "mixed"), ("tcp-fc-frag4.xml", "java")]
if _ALL:
    CASES.append(("tcp-core.xml", "java"))
    FRAG_CASES.append(("tcp-fc.xml", "java"))

VIEW_TIMEOUT = 30.0


def lang(role: str, mix: str) -> str:
    return "python" if mix == "mixed" and role.startswith("P") else "java"


def start(c: Cluster, mix: str, *roles: str, discard: float = 0.0) -> list[PeerNode]:
    """Starts the roles one after the other: each has joined (connect() returned) before the next starts, so
    the member order is the start order."""
    return [c.start(r, lang(r, mix), discard=discard) for r in roles]


def start_together(c: Cluster, mix: str, *roles: str) -> list[PeerNode]:
    """Starts the roles at once: they join concurrently, in any order."""
    return c.start_many([(r, lang(r, mix)) for r in roles])


def assert_same_view(c: Cluster, members: list[str], coord: str | None = None, last: str | None = None,
                     nodes: list[str] | None = None, names: bool = True) -> dict:
    """Same ViewId and member order everywhere (and, with ``names``, every node knows every member's logical
    name); ``members`` in the result are the logical names the harness knows."""
    v = c.wait_same_view(members, VIEW_TIMEOUT, nodes, names=names)
    if coord is not None:
        assert v["members"][0] == coord, f"coordinator should be {coord}: {show_view(v)}"
        assert v["creator"] == coord, f"view should be created by {coord}: {show_view(v)}"
    if last is not None:
        assert v["members"][-1] == last, f"the joiner {last} should be last: {show_view(v)}"
    # the members' own record of the current view agrees with the last view event
    for name in nodes or members:
        assert view_key(c[name].current_view()) == view_key(v), name
    return v


# ------------------------------------------------------------------------------------------ membership


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_three_java_nodes_then_a_python_node_joins(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "J1")
    start(c, mix, "J2", "J3")
    v3 = assert_same_view(c, ["J1", "J2", "J3"], coord="J1")
    assert v3["members"] == ["J1", "J2", "J3"]
    start(c, mix, "P1")
    v4 = assert_same_view(c, ["J1", "J2", "J3", "P1"], coord="J1", last="P1")
    assert v4["number"] > v3["number"]
    assert v4["members"][:3] == v3["members"], "a join appends; it does not reorder existing members"


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_python_coordinator_then_java_and_python_nodes_join(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "P1")
    assert_same_view(c, ["P1"], coord="P1")
    start(c, mix, "J1", "J2", "P2")
    v = assert_same_view(c, ["P1", "J1", "J2", "P2"], coord="P1")
    assert v["members"] == ["P1", "J1", "J2", "P2"], "members are ordered by join"


# The java-only self-check of concurrent joins is opt-in (PYGROUPS_CONFORMANCE_ALL=1): in CI on 2026-11-27 four
# JVMs of JGroups 5.5.6 alone (no Python) failed it: one Java joiner heard nobody within the 10 s join_timeout while
# the others joined, and without MERGE3 it stayed a singleton. Java does not guarantee this scenario either until
# MERGE3 heals such splits (conformance/java/NOTES.md).
CONCURRENT_CASES = [("tcp-core.xml", "mixed")] + ([("tcp-core.xml", "java")] if _ALL else [])


@pytest.mark.parametrize(("stack", "mix"), CONCURRENT_CASES)
def test_concurrent_joins_of_java_and_python_nodes_form_one_cluster(make_cluster, stack, mix):
    """Three nodes of both languages start at once while a Java coordinator runs: one cluster, not two.

    Without MERGE3 a joiner that hears no coordinator within join_timeout (also the discovery timeout)
    becomes a singleton for good, in Java as in pygroups. Three processes starting at once on a loaded
    2-core machine (JVM start-up) once kept the coordinator's answer past the stock 2 s (a Java joiner
    became a singleton), so this test gives discovery 10 s through the stacks' ``${jgroups.join_timeout}``."""
    c = make_cluster(stack, properties={"jgroups.join_timeout": "10s"})
    start(c, mix, "J1")
    start_together(c, mix, "P1", "J2", "P2")
    assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1")


# ------------------------------------------------------------------------------------------ traffic


def traffic(c: Cluster, roles: list[str], partner: dict[str, str], timeout: float) -> None:
    """Every member multicasts MSGS regular and OOB_MSGS OOB messages and sends as many unicasts to its
    partner; every receiver must get each exactly once, the regular ones in per-sender FIFO order."""
    pending = []
    for r in roles:
        node = c[r]
        pending.append((node, node.submit({"cmd": "send_seq", "dest": None, "count": MSGS, "size": 100})))
        pending.append((node, node.submit({"cmd": "send_seq", "dest": partner[r], "count": MSGS, "size": 100})))
        pending.append((node, node.submit({"cmd": "send_seq", "dest": None, "count": OOB_MSGS, "size": 100,
                                           "oob": True})))
        pending.append((node, node.submit({"cmd": "send_seq", "dest": partner[r], "count": OOB_MSGS, "size": 100,
                                           "oob": True})))
    expected = {}
    for rcv in roles:
        for src in roles:
            expected[(rcv, src, "mcast")] = MSGS
            expected[(rcv, src, "mcast_oob")] = OOB_MSGS
    for src, rcv in partner.items():
        expected[(rcv, src, "ucast")] = MSGS
        expected[(rcv, src, "ucast_oob")] = OOB_MSGS
    problems, _ = wait_received([c[r] for r in roles], expected, timeout, stall=STALL)
    assert not problems, "\n".join(problems[:40]) + "\n" + c.describe()
    for node, cmd_id in pending:  # everything arrived, so every send has completed
        node.wait_done(cmd_id, 30)


# each member's unicast partner is a member of the other language (in the mixed variant)
PARTNERS = {"J1": "P1", "P1": "J2", "J2": "P2", "P2": "J1"}


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_every_member_multicasts_and_unicasts_exactly_once_in_fifo_order(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "J1")
    start(c, mix, "P1", "J2", "P2")
    v = assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1", names=False)
    assert v["members"] == ["J1", "P1", "J2", "P2"]
    traffic(c, list(PARTNERS), PARTNERS, timeout=240)
    assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1", names=False)  # nobody was suspected or left meanwhile


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_retransmission_recovers_five_percent_loss(make_cluster, stack, mix):
    """DISCARD (up, 5%) right above the transport of every node, switched on once the cluster has formed (the
    stock stacks have no MERGE3, so a lost discovery message would split the cluster for good): NAKACK2/UNICAST3
    retransmission must still deliver everything exactly once and in order."""
    # NAKACK2 resends a sender's last seqno once by default (JGRP-1904); with 5% loss that resend is lost too for one
    # of the 12 sender/receiver pairs in ~3% of runs, and then only STABLE's gossip (50-100 s) reveals the gap, in
    # Java as in pygroups (a java-only run failed so in CI). Three resends make that ~1e-5.
    c = make_cluster(stack, properties={"jgroups.nakack.resend_last_seqno_max_times": "3"})
    start(c, mix, "J1", discard=0.05)
    start(c, mix, "P1", "J2", "P2", discard=0.05)
    assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1", names=False)
    for r in PARTNERS:
        c[r].request({"cmd": "discard"}, "discarding")
    traffic(c, list(PARTNERS), PARTNERS, timeout=300)
    dropped = {r: c[r].discarded() for r in PARTNERS}
    assert all(n > 0 for n in dropped.values()), f"every node's DISCARD must have dropped messages: {dropped}"


# ------------------------------------------------------------------------------------------ leaving


def leave(c: Cluster, role: str) -> None:
    c[role].request({"cmd": "disconnect"}, "left", timeout=30)


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_graceful_leave_of_a_python_member(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "J1")
    start(c, mix, "P1", "J2", "P2")
    before = assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1")
    leave(c, "P1")
    after = assert_same_view(c, ["J1", "J2", "P2"], coord="J1")
    assert after["number"] > before["number"]
    assert after["members"] == [m for m in before["members"] if m != "P1"]
    multicasts_arrive_exactly_once(c, ["J1", "J2", "P2"])


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_java_coordinator_leaves_and_the_python_member_next_in_line_takes_over(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "J1", "P1", "J2", "P2")  # P1 is second: next in line
    before = assert_same_view(c, ["J1", "P1", "J2", "P2"], coord="J1")
    assert before["members"][1] == "P1"
    leave(c, "J1")
    after = assert_same_view(c, ["P1", "J2", "P2"], coord="P1")
    assert after["number"] > before["number"]
    assert after["members"] == before["members"][1:]
    multicasts_arrive_exactly_once(c, ["P1", "J2", "P2"])
    # the new coordinator runs joins: a Java node joins through it
    start(c, mix, "J3")
    assert_same_view(c, ["P1", "J2", "P2", "J3"], coord="P1", last="J3")


@pytest.mark.parametrize(("stack", "mix"), CASES)
def test_python_coordinator_leaves_and_the_java_member_next_in_line_takes_over(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "P1", "J1", "P2", "J2")  # J1 is second: next in line
    before = assert_same_view(c, ["P1", "J1", "P2", "J2"], coord="P1")
    assert before["members"][1] == "J1"
    leave(c, "P1")
    after = assert_same_view(c, ["J1", "P2", "J2"], coord="J1")
    assert after["number"] > before["number"]
    assert after["members"] == before["members"][1:]
    multicasts_arrive_exactly_once(c, ["J1", "P2", "J2"])
    start(c, mix, "P3")
    assert_same_view(c, ["J1", "P2", "J2", "P3"], coord="J1", last="P3")


# ------------------------------------------------------------------------------------------ big messages


@pytest.mark.parametrize(("stack", "mix"), FRAG_CASES)
def test_five_megabyte_messages_are_fragmented_and_delivered_intact(make_cluster, stack, mix):
    c = make_cluster(stack)
    start(c, mix, "J1")
    start(c, mix, "P1")
    assert_same_view(c, ["J1", "P1"], coord="J1", names=False)
    sent = []
    for src, dest in (("J1", "P1"), ("P1", "J1"), ("J1", None), ("P1", None)):
        node = c[src]
        cmd_id = node.submit({"cmd": "send_big", "dest": dest, "size": BIG})
        done = node.wait_done(cmd_id, 120)
        sent.append((src, dest, done["sha256"]))
    receivers = {"J1": c["J1"], "P1": c["P1"]}
    for src, dest, sha in sent:
        targets = [dest] if dest else list(receivers)
        for t in targets:
            ev = receivers[t].wait_for(
                lambda e, s=src, h=sha: e["event"] == "big" and e["src"] == s and e["sha256"] == h, 120,
                what=f"big message from {src}",
            )
            assert ev["length"] == BIG
    for name, node in receivers.items():
        bigs = node.select(lambda e: e["event"] == "big")
        want = sum(1 for src, dest, _ in sent if dest in (None, name))
        assert len(bigs) == want, f"{name} got {len(bigs)} big messages, expected {want} (duplicates?)"


@pytest.mark.parametrize("mix", ["java", "mixed"])
def test_bulk_multicast_from_java_completes_without_stalling_on_credits(make_cluster, mix):
    """BULK_MB of 1 KB multicasts from a Java sender (tcp-fc.xml: UFC/MFC with 2M credits): every member
    gets every message in order, so credits are replenished by every receiver (a receiver that never sent
    MFC credits would block the sender for good: the test's timeout)."""
    c = make_cluster("tcp-fc.xml")
    start(c, mix, "J1")
    start(c, mix, "P1", "J2")
    assert_same_view(c, ["J1", "P1", "J2"], coord="J1", names=False)
    count = BULK_MB * 1024
    t0 = time.monotonic()
    cmd_id = c["J1"].submit({"cmd": "send_seq", "dest": None, "count": count, "size": 1024})
    expected = {(r, "J1", "mcast"): count for r in ("J1", "P1", "J2")}
    problems, _stats = wait_received([c["J1"], c["P1"], c["J2"]], expected, 900, stall=STALL)
    assert not problems, "\n".join(problems) + "\n" + c.describe()
    done = c["J1"].wait_done(cmd_id, 30)
    elapsed = time.monotonic() - t0
    print(f"\n{BULK_MB} MB of 1 KB multicasts: sender done in {done['seconds']:.1f}s, all received in {elapsed:.1f}s")
