"""Python -> Java for the structures that travel inside payloads (views, digests, JoinRsp, discovery data,
the GMS view/digest block, addresses, SeqnoList, the TCP preamble): JGroups' own readFrom consumes every
byte pygroups wrote, and JGroups' writeTo gives back the very same bytes. (Java -> Python for the same
kinds is tests/unit/wire/test_java_catalogue.py.)"""

from __future__ import annotations

from typing import Any

import pytest
from construct import Construct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.wire.addresses import AddressFormat
from pygroups.wire.framing import PreambleFormat
from pygroups.wire.headers.gms import JoinRspBodyFormat, ViewDigestFormat
from pygroups.wire.headers.ping import PingDataFormat, PingDataListFormat
from pygroups.wire.message import SeqnoListFormat
from pygroups.wire.views import DigestFormat, MergeViewFormat, ViewFormat, ViewIdFormat
from tests.strategies.core import addresses, ip_addresses, seqno_lists
from tests.strategies.headers import digests, join_rsps, merge_views, ping_datas, view_digests, view_ids, views

KINDS: dict[str, tuple[Construct, st.SearchStrategy[Any]]] = {
    "Address": (AddressFormat, st.one_of(st.none(), addresses)),
    "ViewId": (ViewIdFormat, view_ids),
    "View": (ViewFormat, views),
    "MergeView": (MergeViewFormat, merge_views()),
    "Digest": (DigestFormat, digests),
    "JoinRsp": (JoinRspBodyFormat, join_rsps()),
    "PingData": (PingDataFormat, ping_datas),
    "PingDataList": (PingDataListFormat, st.lists(ping_datas, max_size=4).map(tuple)),
    "ViewDigestBlock": (ViewDigestFormat, view_digests()),
    "SeqnoList": (SeqnoListFormat, seqno_lists),
    "Preamble": (
        PreambleFormat,
        st.builds(lambda a: {"version": 0x2946, "addr": a}, ip_addresses.filter(lambda a: a.ip is not None)),
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_java_reads_and_rewrites_what_pygroups_writes(java_decoder: Any, kind: str) -> None:
    fmt, strategy = KINDS[kind]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def check(value: Any) -> None:
        data = fmt.build(value)
        answer = java_decoder.decode(kind, data)
        assert answer["ok"], f"JGroups could not read {kind} {data.hex()}: {answer.get('error')}"
        assert answer["consumed"] == len(data), f"JGroups read {answer['consumed']} of {len(data)} bytes"
        assert answer["reencoded"] == data.hex(), f"JGroups writes this {kind} back differently"

    check()

