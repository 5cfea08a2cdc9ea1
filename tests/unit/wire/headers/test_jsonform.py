"""JSON renderings of addresses, views and digests."""

from __future__ import annotations

from pygroups.address import UUID, ExtendedUUID, FlagsUUID, IpAddress, MillisAddress, SiteMaster
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId
from pygroups.wire.headers.jsonform import address_json, digest_json, view_id_json, view_json

A = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")


def test_addresses() -> None:
    assert address_json(None) is None
    assert address_json(A) == {"uuid": "91cebc7e-0d62-4778-9dc0-5a9805a43cab"}
    assert address_json(FlagsUUID(A.msb, A.lsb, 3)) == {"uuid": str(A), "class": "FlagsUUID", "flags": 3}
    ext = ExtendedUUID(A.msb, A.lsb, 0, ((b"site", b"NYC"), (b"k", None)))
    assert address_json(ext) == {
        "uuid": str(A), "class": "ExtendedUUID", "flags": 0, "keys": {"site": "4e5943", "k": None},
    }  # fmt: skip
    sm = address_json(SiteMaster(A.msb, A.lsb, 0, (), "lon", None))
    assert sm is not None and sm["class"] == "SiteMaster" and sm["site"] == "lon" and sm["name"] is None
    assert address_json(IpAddress("127.0.0.1", 7800)) == {"ip": "127.0.0.1", "port": 7800}
    assert address_json(IpAddress("2001:db8:0:0:0:0:0:1", 1, 0)) == {"ip": "2001:db8::1", "port": 1}
    assert address_json(IpAddress("fe80::1", 1, 4)) == {"ip": "fe80::1", "port": 1, "scope": 4}
    assert address_json(IpAddress(None, 5)) == {"ip": None, "port": 5}
    assert address_json(MillisAddress(-1)) == {"class": "MillisAddress", "millis": -1}


def test_views_and_digests() -> None:
    vid = ViewId(A, 2)
    assert view_id_json(vid) == {"creator": {"uuid": str(A)}, "id": 2}
    assert view_json(View(vid, (A,))) == {"view_id": view_id_json(vid), "members": [{"uuid": str(A)}]}
    mv = view_json(MergeView(vid, (A,), (View(ViewId(A, 1), (A,)),)))
    assert mv is not None
    assert mv["subgroups"] == [{"view_id": view_id_json(ViewId(A, 1)), "members": [{"uuid": str(A)}]}]
    assert view_json(DeltaView(vid, ViewId(A, 1), None, (A,))) == {
        "view_id": view_id_json(vid), "ref_view_id": view_id_json(ViewId(A, 1)), "left": None,
        "joined": [{"uuid": str(A)}],
    }  # fmt: skip
    assert digest_json(Digest((A,), ((1, 2),))) == {"members": [{"uuid": str(A)}], "seqnos": [[1, 2]]}
