"""The protocol id table (jg-protocol-ids.xml plus ids external jars register), read from protocol_ids.json."""

from __future__ import annotations

import json
from importlib import resources

from pygroups.wire.protocol_ids import (
    EXTERNAL_PROTOCOL_IDS,
    PROTOCOL_IDS,
    PROTOCOL_NAMES,
    protocol_id_of,
    protocol_name,
)


def test_protocol_names() -> None:
    assert PROTOCOL_NAMES[57] == "TP"
    assert PROTOCOL_NAMES[12] == "GMS"
    assert PROTOCOL_NAMES[41] == "NAKACK2"
    assert PROTOCOL_NAMES[2017] == "KUBE_PING"
    assert protocol_name(200) == "RequestCorrelator"
    assert protocol_name(203) == "FORK"
    assert protocol_name(9) == "TCPPING"
    assert protocol_name(1234) == "1234"
    assert protocol_name(-3) == "-3"


def test_names_java_prints() -> None:
    assert [protocol_name(i) for i in (12, 41, 48, 57, 200, 203, 2017)] == [
        "GMS", "NAKACK2", "UNICAST3", "TP", "RequestCorrelator", "FORK", "KUBE_PING"]
    assert protocol_name(9999) == "9999"  # an id nobody registered prints as its number
    assert PROTOCOL_NAMES[61] == "DNS_PING"


def test_lookup_by_java_class() -> None:
    assert protocol_id_of("org.jgroups.protocols.pbcast.GMS") == 12
    assert protocol_id_of("org.jgroups.protocols.kubernetes.KUBE_PING") == 2017
    assert protocol_id_of("org.jgroups.protocols.BARRIER") is None  # adds no header of its own
    assert all(protocol_id_of(p.java_class) == i for i, p in PROTOCOL_IDS.items())


def test_external_ids_and_jar_registered_ids() -> None:
    assert sorted(EXTERNAL_PROTOCOL_IDS) == [520, 521, 522, 523, 530, 531, 550]
    kube = PROTOCOL_IDS[2017]
    assert (kube.name, kube.external, kube.registered_by) == ("KUBE_PING", False, "jgroups-kubernetes")
    assert [p.registered_by for p in PROTOCOL_IDS.values()].count(None) == len(PROTOCOL_IDS) - 1


def test_the_data_file_has_no_duplicates_and_is_in_id_order() -> None:
    raw = json.loads(resources.files("pygroups.wire").joinpath("protocol_ids.json").read_text("utf-8"))
    entries = raw["protocol_ids"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(set(ids)) == list(PROTOCOL_IDS)
    assert len({e["class"] for e in entries}) == len(entries)
    assert raw["jgroups_version"] == "5.5.6.Final"
