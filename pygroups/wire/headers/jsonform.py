"""JSON renderings of addresses, views, digests and headers.

One format for every tool that prints wire content (the CLI decoder, the Java catalogue tests):
addresses are small objects rather than strings so that UUID subclasses and IPv6 scopes survive.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from pygroups.address import UUID, Address, ExtendedUUID, FlagsUUID, IpAddress, MillisAddress, SiteUUID
from pygroups.view import DeltaView, Digest, MergeView, View, ViewId


def address_json(addr: Address | None) -> dict[str, Any] | None:
    """null, {"uuid"} (UUID subclasses: "class" first, then flags/keys/site/name), {"ip", "port"[, "scope"]}
    or {"class": "MillisAddress", "millis"}: the form conformance/java Canon.addr() prints."""
    if addr is None:
        return None
    if isinstance(addr, IpAddress):
        out: dict[str, Any] = {"ip": None if addr.ip is None else str(addr.ip), "port": addr.port}
        if addr.ip is not None and addr.ip.version == 6 and addr.scope_id:
            out["scope"] = addr.scope_id
        return out
    if isinstance(addr, UUID):
        out = {} if type(addr) is UUID else {"class": addr.JAVA_CLASS}
        out["uuid"] = addr.uuid_string()
        if isinstance(addr, FlagsUUID):
            out["flags"] = addr.flags
        if isinstance(addr, ExtendedUUID):
            out["keys"] = {k.decode("latin-1"): None if v is None else v.hex() for k, v in addr.keys}
        if isinstance(addr, SiteUUID):
            out["site"] = addr.site
            out["name"] = addr.name
        return out
    if isinstance(addr, MillisAddress):
        return {"class": "MillisAddress", "millis": addr.millis}
    raise TypeError(f"no JSON form for address {addr!r}")


def view_id_json(vid: ViewId | None) -> dict[str, Any] | None:
    if vid is None:
        return None
    return {"creator": address_json(vid.creator), "id": vid.id}


def addresses_json(addrs: tuple[Address | None, ...] | None) -> list[Any] | None:
    return None if addrs is None else [address_json(a) for a in addrs]


def view_json(view: View | DeltaView | None) -> dict[str, Any] | None:
    """View: view_id + members; MergeView adds subgroups; DeltaView has ref_view_id/left/joined instead."""
    if view is None:
        return None
    if isinstance(view, DeltaView):
        return {
            "view_id": view_id_json(view.view_id),
            "ref_view_id": view_id_json(view.ref_view_id),
            "left": addresses_json(view.left),
            "joined": addresses_json(view.joined),
        }
    out: dict[str, Any] = {"view_id": view_id_json(view.view_id), "members": addresses_json(view.members)}
    if isinstance(view, MergeView):
        out["subgroups"] = [view_json(v) for v in view.subgroups]
    return out


def digest_json(digest: Digest | None) -> dict[str, Any] | None:
    if digest is None:
        return None
    return {"members": addresses_json(digest.members), "seqnos": [[hd, hr] for hd, hr in digest.seqnos]}


def json_value(v: Any) -> Any:
    """Any field value of a header or payload object, recursively."""
    if v is None or isinstance(v, bool | str):
        return v
    if isinstance(v, enum.Enum):
        return v.name
    if isinstance(v, int):
        return v
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex()
    if isinstance(v, Address):
        return address_json(v)
    if isinstance(v, ViewId):
        return view_id_json(v)
    if isinstance(v, View | DeltaView):
        return view_json(v)
    if isinstance(v, Digest):
        return digest_json(v)
    if isinstance(v, tuple | list):
        return [json_value(x) for x in v]
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return dataclass_json(v)
    raise TypeError(f"no JSON form for {type(v).__name__}")


def dataclass_json(obj: Any) -> dict[str, Any]:
    """Every dataclass field in declaration order; a trailing '_' (``from_``) is dropped from the key."""
    return {f.name.rstrip("_"): json_value(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def header_json(hdr: Any) -> dict[str, Any]:
    """A header's own to_json() if it has one, else its dataclass fields."""
    to_json = getattr(hdr, "to_json", None)
    return to_json() if to_json is not None else dataclass_json(hdr)  # type: ignore[no-any-return]
