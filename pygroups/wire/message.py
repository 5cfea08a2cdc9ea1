"""construct declarations of messages, message lists and TP frames (tier 1: the normative spec).

Mirrors BaseMessage.writeTo/readFrom, writeToNoAddrs, the per-type writePayload/readPayload,
Util.writeMessage / writeMessageListHeader and Util.readMessageBatch (JGroups 5.5).

Raw containers are turned into `Message` objects by plain functions here, because address
inheritance (a message inside a list or composite takes the list's dest and, unless it carries
its own, the list's src) depends on the enclosing structure.
"""

from __future__ import annotations

from typing import Any

from construct import (
    Adapter,
    Array,
    Bytes,
    Computed,
    Construct,
    ExplicitError,
    ExprValidator,
    GreedyBytes,
    If,
    IfThenElse,
    Int8sb,
    Int8ub,
    Int16sb,
    Int16ub,
    Int32sb,
    Int64sb,
    LazyBound,
    Pass,
    Prefixed,
    Struct,
    Switch,
    this,
)

from pygroups.address import Address, java_equals
from pygroups.message import BatchPayload, Message, MsgType, NioPayload
from pygroups.objects import JavaPrimitive, JavaSerializable, OpaqueObject, PrimitiveTag, SeqnoList
from pygroups.view import Digest, MutableDigest
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import HEADER_FORMATS
from pygroups.wire.javatypes import AsciiString, Fail, JavaBool, JavaString, JavaUTF, VLong
from pygroups.wire.views import DigestFormat

DEST_SET, SRC_SET = 0x01, 0x02  # BaseMessage leading byte
TP_LIST, TP_MULTICAST = 0x01, 0x02  # TP flags byte

# ---------------------------------------------------------------- headers (Headers.writeHeaders)

HeaderEntryFormat = Struct(
    "id" / Int16sb,
    "magic" / Int16sb,
    "body" / Switch(this.magic, HEADER_FORMATS, default=Fail("unknown header magic")),
)


HeadersFormat = Struct("count" / Int16sb, "entries" / Array(this.count, HeaderEntryFormat))

# ---------------------------------------------------------------- ObjectMessage payloads


class _PrimitiveAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> JavaPrimitive:
        return JavaPrimitive(obj.tag, obj.value)

    def _encode(self, obj: JavaPrimitive, context: Any, path: str) -> dict[str, Any]:
        return {"tag": obj.tag, "value": obj.value}


# Util.primitiveToStream: tag byte, then the value in DataOutput widths. Floats keep raw bits.
PrimitiveFormat = _PrimitiveAdapter(
    Struct(
        "tag" / Int8sb,
        "value"
        / Switch(
            this.tag,
            {
                PrimitiveTag.NULL: Computed(None),
                PrimitiveTag.BOOLEAN: JavaBool,
                PrimitiveTag.BOOLEAN_OBJ: JavaBool,
                PrimitiveTag.BYTE: Int8sb,
                PrimitiveTag.BYTE_OBJ: Int8sb,
                PrimitiveTag.CHAR: Int16ub,
                PrimitiveTag.CHAR_OBJ: Int16ub,
                PrimitiveTag.DOUBLE: Int64sb,
                PrimitiveTag.DOUBLE_OBJ: Int64sb,
                PrimitiveTag.FLOAT: Int32sb,
                PrimitiveTag.FLOAT_OBJ: Int32sb,
                PrimitiveTag.INT: Int32sb,
                PrimitiveTag.INT_OBJ: Int32sb,
                PrimitiveTag.LONG: Int64sb,
                PrimitiveTag.LONG_OBJ: Int64sb,
                PrimitiveTag.SHORT: Int16sb,
                PrimitiveTag.SHORT_OBJ: Int16sb,
                PrimitiveTag.STRING: JavaString,
                PrimitiveTag.BYTEARRAY: Prefixed(Int32sb, GreedyBytes),
                # Util.primitiveFromStream: CLASS_TYPES.get(byte) fails on a negative type byte.
                PrimitiveTag.CLASS: ExprValidator(Int8sb, lambda v, ctx: v >= 0),
            },
            default=Fail("invalid ObjectWrapperPrimitive type"),
        ),
    )
)


class _SerializableAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> JavaSerializable:
        return JavaSerializable(obj.data)

    def _encode(self, obj: JavaSerializable, context: Any, path: str) -> dict[str, Any]:
        return {"length": -1 if obj.data is None else len(obj.data), "data": obj.data}


def _nonneg(n: int) -> int:
    if n < 0:
        raise ExplicitError(f"negative length {n}")
    return n


# ObjectWrapperSerializable.writeTo: i32 length (-1 = null), Java-serialized bytes.
SerializableFormat = _SerializableAdapter(
    Struct(
        "length" / Int32sb,
        "data" / If(this.length != -1, Bytes(lambda ctx: _nonneg(ctx.length))),
    )
)


class _SeqnoListAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> SeqnoList:
        return SeqnoList(obj.size, obj.offset, tuple(obj.words))

    def _encode(self, obj: SeqnoList, context: Any, path: str) -> dict[str, Any]:
        return {"size": obj.size, "offset": obj.offset, "words": list(obj.words)}


def _seqno_words(ctx: Any) -> int:
    n: int = ((ctx.size - 1) >> 6) + 1  # SeqnoList.readFrom: wordIndex(size - 1) + 1
    if n < 0:
        raise ExplicitError(f"SeqnoList size {ctx.size} is invalid")
    return n


# SeqnoList.writeTo: i32 size (bits), i64 offset, then the bitset words.
SeqnoListFormat = _SeqnoListAdapter(
    Struct("size" / Int32sb, "offset" / Int64sb, "words" / Array(_seqno_words, Int64sb))
)


class _MutableDigestAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Digest, context: Any, path: str) -> MutableDigest:
        return MutableDigest(obj.members, obj.seqnos)

    def _encode(self, obj: Digest, context: Any, path: str) -> Digest:
        return obj


MAGIC_DIGEST, MAGIC_MUTABLE_DIGEST = 9, 10
OBJECT_FORMATS = {
    JavaPrimitive.MAGIC: PrimitiveFormat,
    JavaSerializable.MAGIC: SerializableFormat,
    SeqnoList.MAGIC: SeqnoListFormat,
    MAGIC_DIGEST: DigestFormat,
    MAGIC_MUTABLE_DIGEST: _MutableDigestAdapter(DigestFormat),
}


class _ObjectAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> Any:
        if not obj.present:
            return None
        if obj.magic == -1 or obj.magic not in OBJECT_FORMATS:
            return OpaqueObject(obj.magic, obj.class_name, bytes(obj.value))
        return obj.value

    def _encode(self, obj: Any, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"present": 0, "magic": None, "class_name": None, "value": None}
        if isinstance(obj, OpaqueObject):
            return {"present": 1, "magic": obj.magic, "class_name": obj.class_name, "value": obj.data}
        magic: int | None
        if isinstance(obj, Digest):
            magic = MAGIC_MUTABLE_DIGEST if isinstance(obj, MutableDigest) else MAGIC_DIGEST
        else:
            magic = getattr(obj, "MAGIC", None)
        if magic is None:
            raise ExplicitError(f"no wire form for ObjectMessage payload {type(obj).__name__}")
        return {"present": 1, "magic": magic, "class_name": None, "value": obj}


def _object_kind(ctx: Any) -> str:
    return "known" if ctx.magic != -1 and ctx.magic in OBJECT_FORMATS else "opaque"


# Util.writeGenericStreamable / readSizeStreamable: presence byte, i16 magic (-1: UTF class name
# follows), then the object's own writeTo. Unknown objects are kept as the rest of the bytes.
GenericStreamableFormat = _ObjectAdapter(
    Struct(
        "present" / Int8sb,
        "magic" / If(this.present != 0, Int16sb),
        "class_name" / If(lambda ctx: ctx.present != 0 and ctx.magic == -1, JavaUTF),
        "value"
        / If(
            this.present != 0,
            IfThenElse(
                lambda ctx: _object_kind(ctx) == "known",
                Switch(this.magic, OBJECT_FORMATS, default=Fail("unreachable")),
                GreedyBytes,
            ),
        ),
    )
)

# ---------------------------------------------------------------- payloads (writePayload per type)


class _BytesAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> bytes | None:
        return None if obj.length < 0 else bytes(obj.data)

    def _encode(self, obj: bytes | None, context: Any, path: str) -> dict[str, Any]:
        return {"length": -1 if obj is None else len(obj), "data": obj}


# BytesMessage: i32 length (negative: no array), then the bytes.
BytesPayloadFormat = _BytesAdapter(
    Struct("length" / Int32sb, "data" / If(this.length >= 0, Bytes(this.length)))
)


class _NioAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> NioPayload:
        return NioPayload(obj.direct, None if obj.length < 0 else bytes(obj.data))

    def _encode(self, obj: NioPayload, context: Any, path: str) -> dict[str, Any]:
        return {"direct": obj.direct, "length": -1 if obj.data is None else len(obj.data), "data": obj.data}


# NioMessage: bool direct-memory hint, i32 length (negative: no buffer), bytes.
NioPayloadFormat = _NioAdapter(
    Struct("direct" / JavaBool, "length" / Int32sb, "data" / If(this.length >= 0, Bytes(this.length)))
)


class _FragAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> bytes:
        return bytes(obj.data) if obj.length > 0 else b""

    def _encode(self, obj: bytes, context: Any, path: str) -> dict[str, Any]:
        return {"length": len(obj), "data": obj}


# FragmentedMessage: i32 length, then that many bytes of the original message's serialization.
FragmentedPayloadFormat = _FragAdapter(
    Struct("length" / Int32sb, "data" / If(this.length > 0, Bytes(this.length)))
)


def _raw_message() -> Construct:
    return RawMessageFormat


_NestedMessages = Array(lambda ctx: max(ctx.count, 0), LazyBound(_raw_message))

# CompositeMessage: i32 count, then each part as i16 type + body written without addresses.
CompositePayloadFormat = Struct("count" / Int32sb, "messages" / _NestedMessages)
# BatchMessage: i32 count, the original sender, then the parts as for CompositeMessage.
BatchPayloadFormat = Struct("count" / Int32sb, "orig_src" / AddressFormat, "messages" / _NestedMessages)

PAYLOAD_FORMATS = {
    MsgType.BYTES: BytesPayloadFormat,
    MsgType.NIO: NioPayloadFormat,
    MsgType.EMPTY: Pass,
    MsgType.OBJECT: GenericStreamableFormat,
    MsgType.LONG: VLong,
    MsgType.COMPOSITE: CompositePayloadFormat,
    MsgType.FRAGMENTED: FragmentedPayloadFormat,
    MsgType.EARLYBATCH: BatchPayloadFormat,
}

# i16 type + BaseMessage.writeTo (or writeToNoAddrs: the same layout, the leading byte tells).
RawMessageFormat = Struct(
    "type" / Int16sb,
    "leading" / Int8ub,
    "flags" / Int16ub,
    "dest" / If(this.leading & DEST_SET, AddressFormat),
    "src" / If(this.leading & SRC_SET, AddressFormat),
    "headers" / HeadersFormat,
    "payload" / Switch(this.type, PAYLOAD_FORMATS, default=Fail("unknown message type")),
)

# Message.writeTo alone, as FD_SOCK2 sends it: no version, no type, always an EmptyMessage.
BareMessageFormat = Struct(
    "type" / Computed(int(MsgType.EMPTY)),
    "leading" / Int8ub,
    "flags" / Int16ub,
    "dest" / If(this.leading & DEST_SET, AddressFormat),
    "src" / If(this.leading & SRC_SET, AddressFormat),
    "headers" / HeadersFormat,
    "payload" / Pass,
)

# ---------------------------------------------------------------- raw <-> Message


def raw_to_message(raw: Any, dest: Address | None = None, src: Address | None = None) -> Message:
    """Build a Message from a parsed raw container; dest/src are inherited defaults."""
    mtype = MsgType(raw.type)
    headers: dict[int, Any] = {}
    for entry in raw.headers.entries:
        if entry.id in headers:
            raise ExplicitError(f"header id {entry.id} appears twice")
        headers[entry.id] = entry.body
    msg_dest = raw.dest if raw.leading & DEST_SET else dest
    msg_src = raw.src if raw.leading & SRC_SET else src
    payload = raw.payload
    if mtype is MsgType.COMPOSITE:
        payload = tuple(raw_to_message(m, msg_dest, msg_src) for m in payload.messages)
    elif mtype is MsgType.EARLYBATCH:
        payload = BatchPayload(
            payload.orig_src, tuple(raw_to_message(m, msg_dest, payload.orig_src) for m in payload.messages)
        )
    return Message(mtype, dest=msg_dest, src=msg_src, flags=raw.flags, headers=headers, payload=payload)


def message_to_raw(msg: Message, *, no_addrs_src: Address | None = None, no_addrs: bool = False) -> dict[str, Any]:
    """The raw container for msg: writeTo, or writeToNoAddrs(no_addrs_src) when no_addrs."""
    if no_addrs:
        write_dest, write_src = False, msg.src is not None and not java_equals(msg.src, no_addrs_src)
    else:
        write_dest, write_src = msg.dest is not None, msg.src is not None
    payload: Any = msg.payload
    if msg.type is MsgType.COMPOSITE:
        parts = [message_to_raw(m, no_addrs_src=msg.src, no_addrs=True) for m in payload]
        payload = {"count": len(parts), "messages": parts}
    elif msg.type is MsgType.EARLYBATCH:
        parts = [message_to_raw(m, no_addrs_src=msg.src, no_addrs=True) for m in payload.messages]
        payload = {"count": len(parts), "orig_src": payload.orig_src, "messages": parts}
    return {
        "type": int(msg.type),
        "leading": (DEST_SET if write_dest else 0) | (SRC_SET if write_src else 0),
        "flags": int(msg.flags) & 0xFFFF,
        "dest": msg.dest if write_dest else None,
        "src": msg.src if write_src else None,
        "headers": {
            "count": len(msg.headers),
            "entries": [{"id": pid, "magic": h.MAGIC, "body": h} for pid, h in msg.headers.items()],
        },
        "payload": payload,
    }


# ---------------------------------------------------------------- TP frames


def _count(ctx: Any) -> int:
    if ctx.count < 0:
        raise ExplicitError(f"negative message count {ctx.count}")
    return int(ctx.count)


# Util.writeMessageListHeader + the messages (each i16 type + writeToNoAddrs(list src)).
ListBodyFormat = Struct(
    "dest" / AddressFormat,
    "src" / AddressFormat,
    "cluster" / AsciiString,
    "count" / Int32sb,
    "messages" / Array(_count, RawMessageFormat),
)

# What TP writes into one TCP frame: version, flags (LIST, MULTICAST), then one message or a list.
FrameFormat = Struct(
    "version" / Int16sb,
    "flags" / Int8ub,
    "body" / IfThenElse(this.flags & TP_LIST, ListBodyFormat, RawMessageFormat),
)
