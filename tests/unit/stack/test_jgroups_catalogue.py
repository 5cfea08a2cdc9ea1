"""The catalogue and the wire floor's protocol id table are two views of one set of ids.

The ids live only in `pygroups.wire.protocol_ids`; the catalogue looks them up by Java class. These
tests fail if the two could ever disagree: an id named differently, a protocol without its id, an id
nobody accounts for, or ids creeping back into the catalogue's own data.
"""

from __future__ import annotations

import json
from importlib import resources

from pygroups.stack.jgroups_catalogue import catalogue
from pygroups.wire.protocol_ids import PROTOCOL_IDS, PROTOCOL_NAMES


def test_every_catalogue_id_names_its_protocol_in_the_wire_table() -> None:
    with_ids = [p for p in catalogue() if p.protocol_id is not None]
    assert len(with_ids) >= 60
    for p in with_ids:
        assert PROTOCOL_IDS[p.protocol_id].java_class == p.java_class
        assert PROTOCOL_NAMES[p.protocol_id] == p.java_class.rsplit(".", 1)[-1]


def test_every_wire_id_is_a_catalogue_protocol_or_an_other_id() -> None:
    cat = catalogue()
    by_class = {p.java_class: p for p in cat}
    for pid, entry in PROTOCOL_IDS.items():
        if entry.java_class in by_class:
            assert by_class[entry.java_class].protocol_id == pid
            assert entry.java_class not in cat.other_ids
        else:
            assert cat.other_ids[entry.java_class] == pid
    assert sorted(cat.other_ids.values()) == sorted(set(PROTOCOL_IDS) - {p.protocol_id for p in cat})


def test_protocols_without_an_id_have_none_in_the_wire_table() -> None:
    classes = {p.java_class for p in PROTOCOL_IDS.values()}
    assert all(p.java_class not in classes for p in catalogue() if p.protocol_id is None)


def test_the_catalogue_data_holds_no_ids_of_its_own() -> None:
    raw = json.loads(resources.files("pygroups.stack").joinpath("jgroups_catalogue.json").read_text("utf-8"))
    assert "other_protocol_ids" not in raw
    assert all(set(p) == {"class"} for p in raw["protocols"].values())
