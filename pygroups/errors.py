"""The pygroups exception hierarchy.

Shallow on purpose (as h2's): callers catch `PyGroupsError`, the stack distinguishes
local misuse from remote misbehaviour, and decoders raise only the two `Malformed*` errors.
"""

from __future__ import annotations


class PyGroupsError(Exception):
    """Base class of every error pygroups raises on purpose."""


class ConfigError(PyGroupsError):
    """A stack configuration (XML, attribute, property value) is invalid."""


class ProtocolError(PyGroupsError):
    """Something broke the rules of the JGroups protocol."""


class LocalProtocolError(ProtocolError):
    """The API was misused locally (for example send() before connect())."""


class RemoteProtocolError(ProtocolError):
    """A peer sent something we cannot accept."""


class MalformedFrame(RemoteProtocolError):
    """Stream-level problem: bad preamble cookie, incompatible version, bad frame length.

    The connection it came from cannot be trusted any more and must be closed.
    """


class MalformedMessage(RemoteProtocolError):
    """The bytes of one frame do not decode.

    Headers carry no length, so nothing inside the frame can be skipped: the whole frame is
    dropped. `offset` is the byte offset where decoding failed (when known) and `path` the
    construct path of the failing field.
    """

    def __init__(
        self,
        detail: str,
        *,
        offset: int | None = None,
        path: str | None = None,
        excerpt: bytes = b"",
        peer: object = None,
    ) -> None:
        self.detail = detail
        self.offset = offset
        self.path = path
        self.excerpt = excerpt
        self.peer = peer
        parts = [detail]
        if path:
            parts.append(f"at {path}")
        if offset is not None:
            parts.append(f"offset {offset}")
        if excerpt:
            parts.append(f"bytes {excerpt[:32].hex()}")
        super().__init__(", ".join(parts))


class ChannelClosed(LocalProtocolError):
    """The channel (or its stack driver) is closed, or stopped after an error."""


class ConnectError(PyGroupsError):
    """``Channel.connect()`` failed: the join was refused, or no view was installed in time."""


class ConnectTimeout(ConnectError, TimeoutError):
    """``Channel.connect()`` saw no view within its timeout."""


class StateTransferError(PyGroupsError):
    """``Channel.get_state`` failed: timed out, the provider left or failed, or installing the state
    raised (Java's StateTransferException)."""
