"""Dumping the real capture of a 3-node JGroups 5.5.6 cluster (tests/data/java/5.5.6/tcp-3node.pcap).

UUIDs, ephemeral ports and bundling differ between recordings, so the assertions are on what every
recording of the scenario holds (README.md next to the capture describes it).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pygroups.capture.dump import Dump
from pygroups.capture.records import Record
from pygroups.capture.text import TextFormatter

DATA = Path(__file__).resolve().parents[2] / "data" / "java" / "5.5.6"
PCAP = DATA / "tcp-3node.pcap"
NODES = DATA / "tcp-3node.nodes.json"



@pytest.fixture(scope="module")
def dumped() -> tuple[list[Record], Dump]:
    d = Dump(lambda: PCAP.open("rb"))
    return list(d), d


def test_no_errors_and_plenty_of_messages(dumped: tuple[list[Record], Dump]) -> None:
    recs, d = dumped
    assert [r.to_json() for r in recs if r.kind == "error"] == []
    assert d.summary.errors == 0
    assert d.summary.messages > 2000  # 1300 bulk multicasts alone
    assert d.summary.connections >= 6


def test_header_types_of_a_tcp_xml_cluster(dumped: tuple[list[Record], Dump]) -> None:
    h = dumped[1].summary.headers
    # the scenario: B and C join A, C and B leave, A stops
    assert h["GMS"]["JOIN_REQ"] == 2 and h["GMS"]["JOIN_RSP"] == 2
    assert h["GMS"]["LEAVE_REQ"] == 2 and h["GMS"]["LEAVE_RSP"] == 2
    assert h["GMS"]["VIEW"] == 4  # [A|1] to B, [A|2] to B and C, [A|3] to B
    assert h["GMS"]["VIEW_ACK"] >= 3
    assert h["TCPPING"]["GET_MBRS_REQ"] >= 3 and h["TCPPING"]["GET_MBRS_RSP"] >= 3
    assert h["NAKACK2"]["MSG"] > 1300 and "HIGHEST_SEQNO" in h["NAKACK2"]
    assert h["UNICAST3"]["DATA"] > 1300 and h["UNICAST3"]["ACK"] > 0
    assert h["FD_ALL3"]["HeartbeatHeader"] > 0
    assert h["FD_SOCK2"]["CONNECT"] >= 3 and h["FD_SOCK2"]["CONNECT_RSP"] >= 3
    assert (
        h["FRAG2"]["FragHeader"] == 6
    )  # 100,000 B multicast to 2 members + 70,000 B unicast, 2 fragments each
    assert h["MFC"]["REPLENISH"] >= 1 and h["UFC"]["REPLENISH"] >= 1
    assert h["TP"]["TpHeader"] == sum(
        1 for r in dumped[0] if r.kind == "message" and r.fields["socket"] == "tp"
    )


def test_agrees_with_the_recorders_pattern_counts(dumped: tuple[list[Record], Dump]) -> None:
    info: dict[str, Any] = json.loads(NODES.read_text())
    patterns: dict[str, int] = info["pcap"]["patterns"]
    recs, d = dumped
    kinds = Counter(r.kind for r in recs)
    h = d.summary.headers
    ours = {
        "preamble 'bela'+5.5.6": kinds["preamble"],
        "graceful close marker fffffffb": kinds["close"],
        "GMS JOIN_REQ (prot 12, magic 55, type 1)": h["GMS"]["JOIN_REQ"],
        "GMS VIEW (prot 12, magic 55, type 5)": h["GMS"]["VIEW"],
        "GMS LEAVE_REQ (prot 12, magic 55, type 3)": h["GMS"]["LEAVE_REQ"],
        "TCPPING GET_MBRS_REQ (prot 9, magic 53, type 1)": h["TCPPING"]["GET_MBRS_REQ"],
        "FD_SOCK2 CONNECT (prot 71, magic 93, type 3)": h["FD_SOCK2"]["CONNECT"],
        "FRAG2 header (prot 4, magic 52)": h["FRAG2"]["FragHeader"],
        "MFC REPLENISH (prot 30, magic 59, type 1)": h["MFC"]["REPLENISH"],
        "UFC REPLENISH (prot 31, magic 59, type 1)": h["UFC"]["REPLENISH"],
    }
    assert {k: ours[k] for k in patterns if k in ours} == {k: v for k, v in patterns.items() if k in ours}


def test_preambles_and_names(dumped: tuple[list[Record], Dump]) -> None:
    recs, d = dumped
    nodes: dict[str, dict[str, str]] = json.loads(NODES.read_text())["nodes"]
    physical = {n["physical"] for n in nodes.values()}
    fd_ports = {f"127.0.0.1:{int(p.rsplit(':', 1)[1]) + 100}" for p in physical}
    addrs = {r.fields["addr"] for r in recs if r.kind == "preamble"}
    assert addrs & physical and addrs <= physical | fd_ports
    assert {
        r.fields["version"] for r in recs if r.kind in ("preamble", "message") and r.fields["version"]
    } == {"5.5.6"}
    fmt = TextFormatter(summary=d.summary)
    for r in recs:
        fmt.format(r)
    learnt = {str(a): n for a, n in fmt.names.names.items()}
    assert learnt == {n["uuid"]: name for name, n in nodes.items()}


def test_fd_sock2_streams_are_bare(dumped: tuple[list[Record], Dump]) -> None:
    fd = [r for r in dumped[0] if r.kind == "message" and "FD_SOCK2" in r.fields["headers"]]
    bare = [r for r in fd if r.fields["headers"]["FD_SOCK2"]["type"] in ("CONNECT", "CONNECT_RSP")]
    assert bare and all(r.fields["socket"] == "fd_sock2" and int(r.stream.split(":")[-1]) > 0 for r in bare)
    assert all(r.fields["version"] is None and "TP" not in r.fields["headers"] for r in bare)
