"""AUTH: AuthHeader (protocol id 23, magic 66) carrying an AuthToken on JOIN_REQ / JOIN_RSP.

Java writes a token by magic id when its class has one (FixedMembershipToken 16, X509Token 17)
and otherwise by class name. Krb5Token is not supported: its writeTo writes nothing unless the
token is authenticated while its readFrom always reads, so its bytes cannot be framed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from construct import Adapter, ExplicitError, If, Int8sb, Int16sb, Pass, Struct, Switch, this

from pygroups.wire.headers.base import header
from pygroups.wire.headers.common import JGroupsHeader
from pygroups.wire.headers.encrypt import ByteBufferFormat
from pygroups.wire.headers.jsonform import dataclass_json
from pygroups.wire.javatypes import BitsString, Fail, JavaUTF


@dataclass(frozen=True, slots=True)
class FixedMembershipToken:
    """auth.FixedMembershipToken (magic 16): the token string."""

    token: str | None


@dataclass(frozen=True, slots=True)
class X509Token:
    """auth.X509Token (magic 17): the encrypted token."""

    encrypted_token: bytes | None


@dataclass(frozen=True, slots=True)
class RegexMembership:
    """auth.RegexMembership (no magic: sent by class name, empty body)."""


AuthToken = FixedMembershipToken | X509Token | RegexMembership

MAGIC_FIXED, MAGIC_X509 = 16, 17
REGEX_CLASS = "org.jgroups.auth.RegexMembership"


def _kind(ctx: Any) -> str:
    if ctx.magic >= 0:
        return {MAGIC_FIXED: "fixed", MAGIC_X509: "x509"}.get(ctx.magic, "unknown")
    return "regex" if ctx.class_name == REGEX_CLASS else "unknown"


class _TokenAdapter(Adapter):  # type: ignore[misc]
    def _decode(self, obj: Any, context: Any, path: str) -> AuthToken | None:
        if obj.present == 0:
            return None
        kind = _kind(obj.token)
        if kind == "fixed":
            return FixedMembershipToken(obj.token.body)
        if kind == "x509":
            return X509Token(obj.token.body)
        return RegexMembership()

    def _encode(self, obj: AuthToken | None, context: Any, path: str) -> dict[str, Any]:
        if obj is None:
            return {"present": 0, "token": None}
        token: dict[str, Any]
        if isinstance(obj, FixedMembershipToken):
            token = {"magic": MAGIC_FIXED, "class_name": None, "body": obj.token}
        elif isinstance(obj, X509Token):
            if obj.encrypted_token is None:  # X509Token.writeTo dereferences the array
                raise ExplicitError("X509Token without encrypted token cannot be written", path=path)
            token = {"magic": MAGIC_X509, "class_name": None, "body": obj.encrypted_token}
        else:
            token = {"magic": -1, "class_name": REGEX_CLASS, "body": None}
        return {"present": 1, "token": token}


# AuthToken.writeTo preceded by: short magic, and the class name (writeUTF) if the magic is < 0.
_TokenBody = Struct(
    "magic" / Int16sb,
    "class_name" / If(this.magic < 0, JavaUTF),
    "body"
    / Switch(
        _kind,
        {"fixed": BitsString, "x509": ByteBufferFormat, "regex": Pass},
        default=Fail("AuthToken class not supported"),
    ),
)

# AuthHeader.writeAuthToken: byte present (readAuthToken: 0 = null token), then the token.
AuthTokenFormat = _TokenAdapter(Struct("present" / Int8sb, "token" / If(this.present != 0, _TokenBody)))


@header(66, "AuthHeader", Struct("token" / AuthTokenFormat))
@dataclass(frozen=True, slots=True)
class AuthHeader(JGroupsHeader):
    token: AuthToken | None

    def to_json(self) -> dict[str, Any]:
        if self.token is None:
            return {"token": None}
        return {"token": {"class": type(self.token).__name__, **dataclass_json(self.token)}}
