"""Encryption: EncryptHeader (SYM_ENCRYPT/ASYM_ENCRYPT, magic 88) and DH_KEY_EXCHANGE's DhHeader (92)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from construct import Adapter, Bytes, If, Int8sb, Int32sb, Rebuild, Struct, len_, this

from pygroups.address import Address
from pygroups.wire.addresses import AddressFormat
from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.javatypes import JavaBool


class _ByteBuffer(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> bytes | None:
        return bytes(obj.data) if obj.present == 1 else None

    def _encode(self, obj: bytes | None, context: Any, path: str) -> dict[str, Any]:
        return {"present": 0 if obj is None else 1, "data": obj}


# Util.writeByteBuffer: byte 1 + int length + bytes, or byte 0 for null (Java reads anything but 1 as
# null, and fails on a negative length).
ByteBufferFormat = _ByteBuffer(
    Struct(
        "present" / Int8sb,
        "length" / If(this.present == 1, Rebuild(Int32sb, len_(this.data))),
        "data" / If(this.present == 1, Bytes(this.length)),
    )
)


# EncryptHeader.writeTo: byte type, boolean needs_deserialization, Util.writeByteBuffer version,
# Address server, Util.writeByteBuffer iv.
EncryptHeaderFormat = Struct(
    "type" / Int8sb,
    "needs_deserialization" / JavaBool,
    "version" / ByteBufferFormat,
    "server" / AddressFormat,
    "iv" / ByteBufferFormat,
)


@header(88, "EncryptHeader", EncryptHeaderFormat)
@dataclass(frozen=True, slots=True)
class EncryptHeader(JGroupsHeader):
    """type 0 is an ordinary encrypted message (Java has no name for it); version is the key version."""

    class Type(enum.IntEnum):
        INSTALL_KEYS = 1
        FETCH_SHARED_KEY = 2

    type: int
    needs_deserialization: bool = False
    version: bytes | None = None
    server: Address | None = None
    iv: bytes | None = None


class _SizedBytes(Adapter):  # type: ignore[misc]
    """int size + bytes; a size <= 0 reads as null, and null is written as size 0."""

    def _decode(self, obj: Any, context: Any, path: str) -> bytes | None:
        return bytes(obj.data) if obj.size > 0 else None

    def _encode(self, obj: bytes | None, context: Any, path: str) -> dict[str, Any]:
        return {"data": obj or b""}


# DhHeader byte arrays: int size, then size bytes if size > 0.
SizedBytesFormat = _SizedBytes(
    Struct("size" / Rebuild(Int32sb, len_(this.data)), "data" / If(this.size > 0, Bytes(this.size)))
)

SECRET_KEY_REQ, SECRET_KEY_RSP = 0, 1

# DH_KEY_EXCHANGE.DhHeader.readFrom: byte type ordinal (Type.values(): unknown fails), sized dh_key,
# and for SECRET_KEY_RSP sized encrypted_secret_key and secret_key_version.
DhHeaderFormat = Struct(
    "type" / Int8sb,
    "dh_key" / SizedBytesFormat,
    "encrypted_secret_key" / If(this.type == SECRET_KEY_RSP, SizedBytesFormat),
    "secret_key_version" / If(this.type == SECRET_KEY_RSP, SizedBytesFormat),
)


@header(92, "DhHeader", DhHeaderFormat)
@dataclass(frozen=True, slots=True)
class DhHeader(JGroupsHeader):
    class Type(enum.IntEnum):
        SECRET_KEY_REQ = 0
        SECRET_KEY_RSP = 1

    ENUM_FIELDS = {"type": Type}

    type: Type
    dh_key: bytes | None = None
    encrypted_secret_key: bytes | None = None
    secret_key_version: bytes | None = None
