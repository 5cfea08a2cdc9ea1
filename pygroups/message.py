"""Messages: the in-memory form of org.jgroups.Message and its subclasses.

One `Message` class serves every JGroups message type; `type` says which Java class it is and
`payload` holds that class's content:

=============  ==========  ===================================================
MsgType        Java class  payload
=============  ==========  ===================================================
BYTES          BytesMessage       ``bytes`` or None (no array)
NIO            NioMessage         `NioPayload`
EMPTY          EmptyMessage       None
OBJECT         ObjectMessage      None or an object (`pygroups.objects`)
LONG           LongMessage        int
COMPOSITE      CompositeMessage   tuple of `Message`
FRAGMENTED     FragmentedMessage  ``bytes``
EARLYBATCH     BatchMessage       `BatchPayload`
=============  ==========  ===================================================

Headers are kept in a dict keyed by protocol id; insertion order is wire order, so a decoded
message re-encodes to the same bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

if TYPE_CHECKING:
    from pygroups.address import Address


class MsgType(enum.IntEnum):
    BYTES = 0
    NIO = 1
    EMPTY = 2
    OBJECT = 3
    LONG = 4
    COMPOSITE = 5
    FRAGMENTED = 6
    EARLYBATCH = 7

    @property
    def java_class(self) -> str:
        return _JAVA_CLASS[self]


_JAVA_CLASS = {
    MsgType.BYTES: "BytesMessage",
    MsgType.NIO: "NioMessage",
    MsgType.EMPTY: "EmptyMessage",
    MsgType.OBJECT: "ObjectMessage",
    MsgType.LONG: "LongMessage",
    MsgType.COMPOSITE: "CompositeMessage",
    MsgType.FRAGMENTED: "FragmentedMessage",
    MsgType.EARLYBATCH: "BatchMessage",
}


class Flag:
    """Message.Flag bits, written as an i16 (unknown bits are kept so bytes round-trip).

    Plain ``int`` constants rather than an ``enum.IntFlag``: flags are tested on every message in
    every layer, and ``int & IntFlag`` goes through enum machinery (a tenth of the per-message cost)."""

    OOB: Final = 1
    DONT_BUNDLE: Final = 1 << 1
    NO_FC: Final = 1 << 2
    NO_RELIABILITY: Final = 1 << 4
    NO_TOTAL_ORDER: Final = 1 << 5
    NO_RELAY: Final = 1 << 6
    RSVP: Final = 1 << 7
    RSVP_NB: Final = 1 << 8
    SKIP_BARRIER: Final = 1 << 10
    SERIALIZED: Final = 1 << 11


class TransientFlag:
    """Message.TransientFlag bits: in memory only, never on the wire (plain ints, as `Flag`)."""

    OOB_DELIVERED: Final = 1
    DONT_LOOPBACK: Final = 1 << 1
    DONT_BLOCK: Final = 1 << 2


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if k.isupper() and isinstance(v, int)}


def flag_names(flags: int) -> list[str]:
    """Flag names in bit order; bits Java does not name are written as 0x%04x."""
    return [_FLAG_NAMES.get(1 << bit, f"0x{1 << bit:04x}") for bit in range(16) if flags & (1 << bit)]


_FLAG_NAMES = _names(Flag)
TRANSIENT_FLAG_NAMES = _names(TransientFlag)


class Header:
    """Base of protocol headers. Subclasses are frozen dataclasses declared in pygroups.wire.headers.

    MAGIC is the id of jg-magic-map.xml, JAVA_CLASS the Java simple class name; FORMAT (set by the
    declaring module) is the construct declaration of the header body.
    """

    __slots__ = ()
    MAGIC: ClassVar[int]
    JAVA_CLASS: ClassVar[str]


@dataclass(frozen=True, slots=True)
class NioPayload:
    direct: bool
    data: bytes | None


@dataclass(frozen=True, slots=True)
class BatchPayload:
    orig_src: Address | None
    messages: tuple[Message, ...]


class Message:
    """A JGroups message. Mutable: protocols add headers on the way down, as in Java."""

    __slots__ = ("dest", "flags", "headers", "payload", "src", "transient_flags", "type")

    def __init__(
        self,
        type: MsgType = MsgType.BYTES,
        *,
        dest: Address | None = None,
        src: Address | None = None,
        flags: int = 0,
        headers: dict[int, Header] | None = None,
        payload: Any = None,
        transient_flags: int = 0,
    ) -> None:
        self.type = type
        self.dest = dest
        self.src = src
        # Plain ints (Flag members are ints): enum construction per message costs too much.
        self.flags: int = flags & 0xFFFF
        self.transient_flags: int = transient_flags
        self.headers: dict[int, Header] = {} if headers is None else headers
        self.payload = payload

    def put_header(self, protocol_id: int, header: Header) -> Message:
        self.headers[protocol_id] = header
        return self

    def get_header(self, protocol_id: int) -> Header | None:
        return self.headers.get(protocol_id)

    def copy(self) -> Message:
        """A shallow copy with its own header dict (headers are immutable)."""
        return Message(
            self.type,
            dest=self.dest,
            src=self.src,
            flags=self.flags,
            headers=dict(self.headers),
            payload=self.payload,
            transient_flags=self.transient_flags,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (
            self.type == other.type
            and self.dest == other.dest
            and self.src == other.src
            and self.flags == other.flags
            and list(self.headers.items()) == list(other.headers.items())
            and self.payload == other.payload
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        hdrs = ", ".join(f"{pid}:{h!r}" for pid, h in self.headers.items())
        return (
            f"Message({self.type.name}, dest={self.dest}, src={self.src}, flags={flag_names(self.flags)}, "
            f"headers=[{hdrs}], payload={self.payload!r:.80})"
        )
