"""The canonical JSON form of frames and messages.

One form serves `pygroups dump --json` and the conformance suite: the Java peer prints the same
form for bytes it decodes with JGroups' own classes (conformance/java/CANONICAL_JSON.md), so the
two decoders are compared field by field.
"""

from __future__ import annotations

from typing import Any

from pygroups.message import BatchPayload, Header, Message, MsgType, NioPayload, flag_names
from pygroups.objects import JavaPrimitive, JavaSerializable, OpaqueObject, PrimitiveTag, SeqnoList
from pygroups.view import Digest, MutableDigest
from pygroups.wire import codec
from pygroups.wire.codec import payload_length as payload_length  # re-exported: it used to live here
from pygroups.wire.headers.jsonform import address_json, digest_json
from pygroups.wire.message import MAGIC_DIGEST, MAGIC_MUTABLE_DIGEST
from pygroups.wire.protocol_ids import protocol_name


def header_json(protocol_id: int, hdr: Header) -> dict[str, Any]:
    """The header's own fields (type first), then protocol_id, magic and Java class."""
    to_json = getattr(hdr, "to_json", None)
    out: dict[str, Any] = dict(to_json()) if to_json is not None else {}
    out.update({"protocol_id": protocol_id, "magic": hdr.MAGIC, "class": hdr.JAVA_CLASS})
    return out


def _primitive_value(p: JavaPrimitive) -> Any:
    tag = p.tag
    if tag in (PrimitiveTag.FLOAT, PrimitiveTag.FLOAT_OBJ):
        return f"0x{p.value & 0xFFFFFFFF:08x}"
    if tag in (PrimitiveTag.DOUBLE, PrimitiveTag.DOUBLE_OBJ):
        return f"0x{p.value & 0xFFFFFFFFFFFFFFFF:016x}"
    if isinstance(p.value, bytes):
        return p.value.hex()
    return p.value


def object_json(obj: Any) -> Any:
    if obj is None:
        return None
    if isinstance(obj, JavaPrimitive):
        # Java boxes what it reads, so it reports the object tag (even) for a primitive (odd) one.
        tag = obj.tag + 1 if 1 <= obj.tag <= 15 and obj.tag % 2 else obj.tag
        return {"magic": JavaPrimitive.MAGIC, "tag": tag, "value": _primitive_value(obj)}
    if isinstance(obj, JavaSerializable):
        return {"magic": JavaSerializable.MAGIC, "data": None if obj.data is None else obj.data.hex()}
    if isinstance(obj, SeqnoList):
        return {"magic": SeqnoList.MAGIC, "seqnos": list(obj.seqnos)}
    if isinstance(obj, Digest):
        magic = MAGIC_MUTABLE_DIGEST if isinstance(obj, MutableDigest) else MAGIC_DIGEST
        return {"magic": magic, "digest": digest_json(obj)}
    if isinstance(obj, OpaqueObject):
        return {"magic": obj.magic, "opaque": obj.data.hex()}
    raise TypeError(f"no JSON form for {type(obj).__name__}")


def payload_json(msg: Message) -> Any:
    p = msg.payload
    t = msg.type
    if t in (MsgType.BYTES, MsgType.FRAGMENTED):
        return None if p is None else p.hex()
    if t is MsgType.NIO:
        assert isinstance(p, NioPayload)
        return {"direct": p.direct, "data": None if p.data is None else p.data.hex()}
    if t is MsgType.EMPTY:
        return None
    if t is MsgType.OBJECT:
        return object_json(p)
    if t is MsgType.LONG:
        return p
    if t is MsgType.COMPOSITE:
        return [message_json(m) for m in p]
    if t is MsgType.EARLYBATCH:
        assert isinstance(p, BatchPayload)
        return {"orig_src": address_json(p.orig_src), "messages": [message_json(m) for m in p.messages]}
    raise TypeError(f"unknown message type {t}")


def message_json(msg: Message, *, with_payload: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": msg.type.java_class,
        "dest": address_json(msg.dest),
        "src": address_json(msg.src),
        "flags": flag_names(msg.flags),
        "headers": {protocol_name(pid): header_json(pid, h) for pid, h in msg.headers.items()},
        "length": payload_length(msg),
    }
    if with_payload:
        out["payload"] = payload_json(msg)
    return out


def frame_json(frame: codec.Frame, *, with_payload: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "version": frame.version & 0xFFFF,
        "list": frame.is_list,
        "multicast": frame.multicast,
        "messages": [message_json(m, with_payload=with_payload) for m in frame.messages],
    }
    if frame.is_list:
        out["dest"] = address_json(frame.dest)
        out["src"] = address_json(frame.src)
        out["cluster"] = frame.cluster
    return out
