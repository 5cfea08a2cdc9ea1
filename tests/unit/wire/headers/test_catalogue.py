"""Headers and payloads JGroups 5.5.6 itself serialized (the Java peer's catalogue and 3-node capture).

Every header of this package found in a catalogue frame must round-trip to the same bytes, and
the payload of every discovery, GMS and MERGE3 message must decode with this package's payload
decoders and re-encode to the bytes Java wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pygroups.message import Message, MsgType
from pygroups.wire import codec
from pygroups.wire.headers import gms, merge3, ping
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.headers.gms import GmsHeader
from pygroups.wire.headers.merge3 import MergeHeader
from pygroups.wire.headers.ping import PingHeader

DATA = Path(__file__).resolve().parents[4] / "tests" / "data" / "java" / "5.5.6"
CATALOGUE = Path(os.environ.get("PYGROUPS_JAVA_CATALOGUE") or DATA / "catalogue.jsonl")
CAPTURE = DATA / "tcp-3node.pcap"

_BLOCK_TYPES = {
    GmsHeader.Type.VIEW,
    GmsHeader.Type.MERGE_RSP,
    GmsHeader.Type.INSTALL_MERGE_VIEW,
    GmsHeader.Type.GET_DIGEST_RSP,
    GmsHeader.Type.INSTALL_DIGEST,
}


def _entries() -> list[dict[str, Any]]:
    lines = CATALOGUE.read_text().splitlines()
    return [e for e in map(json.loads, filter(None, lines)) if e["kind"] in ("frame", "bare")]


ENTRIES = _entries()


def _messages(entry: dict[str, Any]) -> list[Message]:
    data = bytes.fromhex(entry["hex"])
    if entry["kind"] == "bare":
        return [codec.decode_bare(data)]
    return codec.decode_frame(data).messages


def _check_payload(msg: Message) -> int:
    """Decode + re-encode the payload of a message whose meaning one of our headers gives; 1 if checked."""
    if msg.type is not MsgType.BYTES or msg.payload is None:
        return 0
    payload: bytes = msg.payload
    for hdr in msg.headers.values():
        if isinstance(hdr, PingHeader):
            assert ping.encode_ping_data_list(ping.decode_ping_data_list(payload)) == payload
            return 1
        if isinstance(hdr, GmsHeader):
            if hdr.type == GmsHeader.Type.JOIN_RSP:
                assert gms.encode_join_rsp(gms.decode_join_rsp(payload)) == payload
            elif hdr.type in _BLOCK_TYPES:
                vd = gms.decode_view_digest(payload)
                assert gms.encode_view_digest(vd.view, vd.digest) == payload
            elif hdr.type == GmsHeader.Type.MERGE_REQ:
                assert gms.encode_merge_members(gms.decode_merge_members(payload)) == payload
            elif hdr.type == GmsHeader.Type.GET_CURRENT_VIEW:
                assert gms.encode_current_view_id(gms.decode_current_view_id(payload)) == payload
            else:
                return 0
            return 1
        if isinstance(hdr, MergeHeader) and hdr.type == MergeHeader.Type.VIEW_RSP:
            assert merge3.encode_view_rsp(merge3.decode_view_rsp(payload)) == payload
            return 1
    return 0


def _check_message(msg: Message) -> tuple[int, int]:
    """(headers of ours round-tripped, payloads checked)."""
    headers = 0
    for hdr in msg.headers.values():
        if isinstance(hdr, JGroupsHeader):
            fmt = type(hdr).FORMAT
            assert fmt.parse(fmt.build(hdr)) == hdr
            json.dumps(hdr.to_json())
            headers += 1
    return headers, _check_payload(msg)


def test_catalogue_headers_and_payloads() -> None:
    headers = payloads = 0
    failures = []
    for entry in ENTRIES:
        try:
            for msg in _messages(entry):
                h, p = _check_message(msg)
                headers, payloads = headers + h, payloads + p
        except Exception as e:  # collect every failing entry, not just the first
            failures.append(f"{entry['name']}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)
    assert headers > 100 and payloads > 20


def test_captured_traffic_headers_and_payloads() -> None:
    from pygroups.capture.dump import dump_bytes

    headers = payloads = 0
    for rec in dump_bytes(CAPTURE.read_bytes()):
        assert rec.kind != "error", rec.fields
        if rec.message is not None:
            h, p = _check_message(rec.message)
            headers, payloads = headers + h, payloads + p
    assert headers > 3000 and payloads > 10


def test_catalogue_worked_examples() -> None:
    by_name = {e["name"]: e for e in ENTRIES}
    rsp = _messages(by_name["hdr-gms-join-rsp"])[0]
    join = gms.decode_join_rsp(rsp.payload)
    assert join is not None and join.view is not None and len(join.view.members) == 2
    assert join.digest is not None and join.digest.seqnos == ((0, 0), (0, 0))
    delta = gms.decode_view_digest(_messages(by_name["hdr-gms-view-delta"])[0].payload)
    assert delta.view is not None and delta.view.__class__.__name__ == "DeltaView"
    merge = gms.decode_view_digest(_messages(by_name["hdr-gms-view-merge"])[0].payload)
    assert merge.view.__class__.__name__ == "MergeView" and merge.digest is not None
