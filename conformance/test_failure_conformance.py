"""A crashed member leaves the view: mixed Java/Python clusters (and a Java-only control) on tcp-fd.xml (FD_SOCK2,
FD_ALL3, VERIFY_SUSPECT2), each node a "pod" on its own loopback IP at port 7800, so FD_SOCK2's server socket
(bind_port + offset) is free. A member is killed with SIGKILL (kill -9): no goodbye, its sockets are closed by the
kernel. The survivors must install one view without it, with the expected coordinator; the time from the kill
to that view is printed beside the Java-only figure.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from cluster import FAST_FD, Cluster, PeerNode, multicasts_arrive_exactly_once, show_view
from probing import answers, diag_properties, free_block, keyed, py_probe

VIEW_TIMEOUT = 60.0

# (roles in start order, the one killed, the coordinator after): the first role is the coordinator
# (4 members, so the survivors are always of both languages in the mixed variant)
SCENARIOS = {
    "python-member": (["J1", "P1", "J2", "P2"], "P1", "J1"),
    "java-member": (["P1", "J1", "P2", "J2"], "J1", "P1"),
    "python-coordinator": (["P1", "J1", "P2", "J2"], "P1", "J1"),
    "java-coordinator": (["J1", "P1", "J2", "P2"], "J1", "P1"),
}
MIXES = ["mixed", "java"]
STACKS = ["tcp-fd.xml", "tcp-suspect-events.xml"]


def lang(role: str, mix: str) -> str:
    return "python" if mix == "mixed" and role.startswith("P") else "java"


def pod_cluster(make_cluster, stack: str, roles: list[str]) -> Cluster:
    c: Cluster = make_cluster(stack, pods=True, properties=dict(FAST_FD))
    hosts = ",".join(f"{c.pod_ip(r)}[7800]" for r in roles)
    c.extra_properties["jgroups.tcpping.initial_hosts"] = hosts
    return c


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("stack", STACKS)
def test_a_killed_member_leaves_the_view(make_cluster, stack: str, scenario: str, mix: str, record_property) -> None:
    roles, victim, coord = SCENARIOS[scenario]
    c = pod_cluster(make_cluster, stack, roles)
    nodes: dict[str, PeerNode] = {r: c.start(r, lang(r, mix)) for r in roles}
    v = c.wait_same_view(roles, VIEW_TIMEOUT)
    assert v["members"][0] == roles[0], show_view(v)
    survivors = [r for r in roles if r != victim]
    t0 = time.monotonic()
    nodes[victim].kill()
    v = c.wait_same_view(survivors, VIEW_TIMEOUT, survivors)
    elapsed = time.monotonic() - t0
    assert v["members"][0] == coord, f"{coord} should coordinate after {victim} died: {show_view(v)}"
    assert v["members"] == survivors, show_view(v)
    record_property("exclusion_seconds", round(elapsed, 2))
    print(f"\n{stack} {scenario} ({mix}): {victim} excluded after {elapsed:.2f} s: {show_view(v)}")


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("paused", ["P1", "J2"])
def test_a_paused_member_is_excluded_then_merged_back(make_cluster, paused: str, mix: str) -> None:
    """SIGSTOP longer than FD_ALL3's timeout: the member is excluded (its sockets stay open, so only the heartbeats
    tell); SIGCONT: it comes back, finds itself alone, and MERGE3 brings everyone into one MergeView."""
    roles = ["J1", "P1", "J2", "P2"]
    c = pod_cluster(make_cluster, "tcp-fd.xml", roles)
    nodes: dict[str, PeerNode] = {r: c.start(r, lang(r, mix)) for r in roles}
    c.wait_same_view(roles, VIEW_TIMEOUT)
    pid = nodes[paused]._process.proc.pid  # type: ignore[union-attr]
    others = [r for r in roles if r != paused]
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        c.wait_same_view(others, VIEW_TIMEOUT, others)
        excluded = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    t1 = time.monotonic()
    v = c.wait_same_view(roles, 90.0)
    merged = time.monotonic() - t1
    assert v.get("merge"), f"the last view should be a MergeView: {show_view(v)}"
    print(f"\n{paused} paused ({mix}): excluded after {excluded:.2f} s, merged back after {merged:.2f} s: "
          f"{show_view(v)}")


# the merge leader is the lowest of the subgroups' coordinators: with both coordinators of one language, that
# language leads the merge whatever the UUIDs
LEADERS = {"java": (["J1", "P1"], ["J2", "P2"]), "python": (["P1", "J1"], ["P2", "J2"])}


@pytest.mark.parametrize("mix", MIXES)
@pytest.mark.parametrize("leader", sorted(LEADERS))
def test_a_partition_of_mixed_halves_heals_into_one_merge_view(make_cluster, leader: str, mix: str) -> None:
    """A true 2+2 partition (every node's DISCARD, above the transport, drops everything from the other half; the
    TCP connections stay up, so FD_ALL3's heartbeats decide): each half installs its own view and keeps working
    alone (exactly-once FIFO multicasts within it); after the heal MERGE3 and the GMS merge make one MergeView of
    all four, and traffic is exactly-once again."""
    halves = LEADERS[leader]
    roles = [halves[0][0], halves[0][1], halves[1][0], halves[1][1]]
    c = pod_cluster(make_cluster, "tcp-fd.xml", roles)
    nodes = {r: c.start(r, lang(r, mix), discard=1e-9) for r in roles}  # DISCARD in place, dropping nothing
    c.wait_same_view(roles, VIEW_TIMEOUT)
    t0 = time.monotonic()
    for mine, other in (halves, halves[::-1]):
        for r in mine:
            nodes[r].request({"cmd": "partition", "ignore": other}, "partitioned")
    for half in halves:
        hv = c.wait_same_view(half, VIEW_TIMEOUT, half)
        assert hv["members"][0] == half[0], show_view(hv)
    split = time.monotonic() - t0
    for half in halves:
        multicasts_arrive_exactly_once(c, half)
    t1 = time.monotonic()
    for r in roles:
        nodes[r].request({"cmd": "heal"}, "healed")
    v = c.wait_same_view(roles, 90.0)
    merged = time.monotonic() - t1
    assert v.get("merge"), f"the view after the heal should be a MergeView: {show_view(v)}"
    assert v["members"][0] in (halves[0][0], halves[1][0]), f"a subgroup coordinator leads: {show_view(v)}"
    multicasts_arrive_exactly_once(c, roles)
    print(f"\n2+2 partition, {leader} coordinators ({mix}): halves after {split:.2f} s, one MergeView "
          f"{merged:.2f} s after the heal: {show_view(v)}")


# Java Protocol's own configuration attributes, shown by Java's jmx= for every protocol; they configure Java's
# machinery (policies, ergonomics, logging, the stats switch) and have no counterpart in pygroups
JAVA_ONLY_KEYS = {"after_creation_hook", "ergonomics", "level", "policies", "preview_warning", "stats"}
FD_PROTOCOLS = ["FD_SOCK2", "FD_ALL3", "VERIFY_SUSPECT2", "MERGE3"]


def jmx(c: Cluster, at: str, query: str) -> dict[str, dict[str, str]]:
    """``pygroups probe jmx=...`` over TCP through member ``at``: member name -> protocol -> its attributes."""
    out = py_probe("-addr", c.pod_ip(at), "-port", c.extra_properties["jgroups.diag.port"], "-tcp",
                   "-timeout", "3000", query)
    got: dict[str, dict[str, str]] = {}
    for name, kv in keyed(answers(out)).items():
        got[name] = {proto: java_map_items(text) for proto, text in kv.items()}
    return got


def java_map_items(text: str) -> dict[str, str]:
    """``{a=1, b=x, y}`` (a TreeMap's toString; values may hold ", ") -> {a: 1, b: "x, y"}."""
    body, items, key = text.strip()[1:-1], {}, None
    for part in body.split(", "):
        k, eq, v = part.partition("=")
        if eq and k.replace("_", "").replace(" ", "").isalnum() and (key is None or k[:1].islower()):
            key, items[k] = k, v
        elif key is not None:
            items[key] += ", " + part
    return items


def wait_ring(c: Cluster, watches: dict[str, str], timeout: float = 30.0) -> None:
    """Until every member's FD_SOCK2 is connected to the member it should watch (probe: jmx=FD_SOCK2.ping_dest)."""
    deadline = time.monotonic() + timeout
    while True:
        got = jmx(c, next(iter(watches)), "jmx=FD_SOCK2")
        states = {r: got.get(r, {}).get("FD_SOCK2", {}).get("ping_dest", "") for r in watches}
        if all(s.startswith(f"{watches[r]} [") and s.endswith(" CONNECTED]") for r, s in states.items()):
            return
        assert time.monotonic() < deadline, f"FD_SOCK2 ring not connected as {watches}: {states}"
        time.sleep(0.5)


@pytest.mark.parametrize("crashed", ["J1", "P1"])
def test_fd_sock2_both_ways_a_leave_is_no_suspicion_a_kill_is(make_cluster, crashed: str) -> None:
    """FD_SOCK2's ring on J1, P1, J2, P2 (each member watches the next): Java watches Python (J1->P1, J2->P2) and
    Python watches Java (P1->J2, P2->J1), each connected (probe's jmx=FD_SOCK2 at every member, under Java's
    attribute names, which pygroups shows too). P2, then J2 leave gracefully: their watchers (Java J2, then Python
    P1) see the connection close and suspect nobody. Then kill -9 of ``crashed``: the other one's FD_SOCK2 raises
    the suspicion (num_suspect_events), in the other language, and the survivor is alone."""
    roles = ["J1", "P1", "J2", "P2"]
    c = pod_cluster(make_cluster, "tcp-fd.xml", roles)
    c.extra_properties.update(diag_properties(free_block(12)))
    c.extra_properties["jgroups.diag.bind_addr"] = "{pod_ip}"  # probe asks every member at its own IP
    nodes = {r: c.start(r, lang(r, "mixed")) for r in roles}
    c.wait_same_view(roles, VIEW_TIMEOUT)

    wait_ring(c, {"J1": "P1", "P1": "J2", "J2": "P2", "P2": "J1"})

    java_keys: dict[str, set[str]] = {}
    for proto in FD_PROTOCOLS:  # pygroups shows every attribute Java shows (Java's names), and the same counters
        got = jmx(c, "J1", f"jmx={proto}")
        assert sorted(got) == sorted(roles), got
        java_keys[proto] = set(got["J1"][proto]) - JAVA_ONLY_KEYS
        for r in ("P1", "P2"):
            missing = java_keys[proto] - set(got[r][proto])
            assert not missing, f"{r}'s {proto} lacks Java's attributes {sorted(missing)}: {got[r][proto]}"
        for r in roles:
            attrs = got[r][proto]
            if proto in ("FD_SOCK2", "FD_ALL3"):
                assert attrs["num_suspect_events"] == "0", (r, proto, attrs)
            if proto == "MERGE3":
                assert attrs["is_coord"] == ("true" if r == "J1" else "false"), (r, attrs)

    for leaver, rest in (("P2", ["J1", "P1", "J2"]), ("J2", ["J1", "P1"])):
        nodes[leaver].request({"cmd": "disconnect"}, "left", timeout=30)
        c.wait_same_view(rest, VIEW_TIMEOUT, rest)
        # the ring closed over the leaver: its watcher closed the link to it and watches the next member
        wait_ring(c, {r: rest[(i + 1) % len(rest)] for i, r in enumerate(rest)})
    got = jmx(c, "J1", "jmx=FD_SOCK2")
    for r in ("J1", "P1"):
        assert got[r]["FD_SOCK2"]["num_suspect_events"] == "0", f"a graceful leave made {r} suspect: {got[r]}"
        assert got[r]["FD_SOCK2"]["suspected_mbrs"] == "(0)", got[r]

    survivor = "P1" if crashed == "J1" else "J1"
    nodes[crashed].kill()
    c.wait_same_view([survivor], VIEW_TIMEOUT, [survivor])
    attrs = jmx(c, survivor, "jmx=FD_SOCK2")[survivor]["FD_SOCK2"]
    assert int(attrs["num_suspect_events"]) >= 1, f"{survivor}'s FD_SOCK2 did not suspect {crashed}: {attrs}"
