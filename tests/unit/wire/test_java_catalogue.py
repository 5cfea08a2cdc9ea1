"""Byte compatibility with the real jar, without a JVM: every vector of the recorded catalogue
(tests/data/java/5.5.6/catalogue.jsonl, written by JGroups 5.5.6's own serializers) decodes, encodes
back to exactly the jar's bytes, and decodes to the canonical JSON the jar itself printed for it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from pygroups.wire import codec
from pygroups.wire.addresses import AddressFormat, IpAddressFormat
from pygroups.wire.framing import PreambleFormat
from pygroups.wire.headers.gms import JoinRspBodyFormat, ViewDigestFormat
from pygroups.wire.headers.jsonform import address_json, digest_json
from pygroups.wire.headers.ping import PingDataFormat, PingDataListFormat
from pygroups.wire.javatypes import SeqPair, VInt, VLong
from pygroups.wire.jsonform import frame_json, message_json
from pygroups.wire.message import SeqnoListFormat
from pygroups.wire.views import DigestFormat, MergeViewFormat, ViewFormat, ViewIdFormat
from tests.java_json import java_view

CATALOGUE = Path(__file__).parents[2] / "data" / "java" / "5.5.6" / "catalogue.jsonl"
ENTRIES = [json.loads(line) for line in CATALOGUE.read_text().splitlines()]

OBJECT_FORMATS: dict[str, Any] = {
    "vlong": VLong,
    "vint": VInt,
    "seqpair": SeqPair,
    "SeqnoList": SeqnoListFormat,
    "Address": AddressFormat,
    "IpAddress": IpAddressFormat,
    "Preamble": PreambleFormat,
    "ViewId": ViewIdFormat,
    "View": ViewFormat,
    "MergeView": MergeViewFormat,
    "Digest": DigestFormat,
    "JoinRsp": JoinRspBodyFormat,
    "PingData": PingDataFormat,
    "PingDataList": PingDataListFormat,
    "ViewDigestBlock": ViewDigestFormat,
}

# How pygroups renders an object of each kind in the canonical JSON (where the jar prints one).
OBJECT_JSON: dict[str, Any] = {
    "vlong": lambda v: v,
    "vint": lambda v: v,
    "seqpair": list,
    "SeqnoList": lambda s: list(s.seqnos),
    "Address": address_json,
    "IpAddress": address_json,
    "Digest": digest_json,
}


def test_catalogue_covers_every_kind() -> None:
    kinds = {e["kind"] for e in ENTRIES}
    assert {"frame", "message", "bare"} | set(OBJECT_FORMATS) == kinds


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e["name"])
def test_vector(entry: dict[str, Any]) -> None:
    data = bytes.fromhex(entry["hex"])
    kind = entry["kind"]
    java_json = entry["java"].get("json")
    if kind == "frame":
        frame = codec.decode_frame(data)
        assert codec.encode_frame(frame) == data
        assert codec.encode_frame_spec(codec.decode_frame_spec(data)) == data
        assert java_view(frame_json(frame)) == java_json
    elif kind == "message":
        msg = codec.decode_message(data)
        assert codec.encode_message(msg) == data
        assert java_view(message_json(msg)) == java_json
    elif kind == "bare":
        msg = codec.decode_bare(data)
        assert codec.encode_bare(msg) == data
        assert java_view(message_json(msg)) == java_json
    else:
        fmt = OBJECT_FORMATS[kind]
        stream = io.BytesIO(data)
        value = fmt.parse_stream(stream)
        assert stream.tell() == len(data), "trailing bytes"
        assert fmt.build(value) == data
        if kind in OBJECT_JSON:
            assert OBJECT_JSON[kind](value) == java_json
