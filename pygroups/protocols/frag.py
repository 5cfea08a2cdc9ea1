"""Fragmentation: FRAG2 and FRAG4 (org.jgroups.protocols.FRAG2 / FRAG4, both with FragHeader magic 52).

A message whose ``getLength()`` exceeds ``frag_size`` is cut into pieces of at most ``frag_size``
bytes that share a per-sender fragmentation id (counting from 1); each piece carries a
``FragHeader(id, frag_id, num_frags)`` and goes down separately (each gets its own NAKACK2/UNICAST3
seqno). What is cut:

* a message with a byte array (BytesMessage, heap NioMessage): slices of the array; fragment 0
  carries copies of the message's headers, later fragments none (Java's ``copy(false, i == 0)``);
* anything else, FRAG2: ``type + writeTo()`` of the whole message, as BytesMessages with
  ``needs_deserialization``; FRAG4: ``writeTo()`` without the type, as FragmentedMessages
  (type 6) whose header's ``original_type`` says how to read the result back.

The receiver reassembles per (sender, id), in any order, ignoring duplicates. Fragments that do
not add up (bad frag_id, num_frags disagreeing with earlier pieces, undecodable result) are
counted and dropped; reassemblies of members that left the view are discarded, as in Java.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pygroups.errors import ConfigError, PyGroupsError
from pygroups.message import Message, MsgType, NioPayload
from pygroups.stack.layer import Layer, MembershipChange
from pygroups.stack.properties import Size, prop
from pygroups.stack.registry import protocol
from pygroups.wire.codec import decode_message, encode_message, payload_length
from pygroups.wire.headers.frag import FragHeader

if TYPE_CHECKING:
    from pygroups.address import Address

# Sanity bound on num_frags of an incoming fragment (Java has none; 1M fragments of 60 KB = 60 GB).
MAX_NUM_FRAGS = 1 << 20


def compute_frag_offsets(length: int, frag_size: int) -> list[tuple[int, int]]:
    """Util.computeFragOffsets(0, length, frag_size): (offset, length) of each piece."""
    return [(off, min(frag_size, length - off)) for off in range(0, length, frag_size)]


def array_of(msg: Message) -> bytes | None:
    """The message's byte array if it ``hasArray()`` in Java (BytesMessage, heap NioMessage), else None."""
    if msg.type is MsgType.BYTES:
        return bytes(msg.payload) if isinstance(msg.payload, bytes | bytearray) else None
    if msg.type is MsgType.NIO and isinstance(msg.payload, NioPayload) and not msg.payload.direct:
        return msg.payload.data
    return None


def _with_array(msg: Message, data: bytes) -> Message:
    """``msg`` (already a copy) with its array replaced, keeping the message type."""
    if msg.type is MsgType.NIO and isinstance(msg.payload, NioPayload):
        msg.payload = NioPayload(msg.payload.direct, data)
    else:
        msg.payload = data
    return msg


def _fragment_bytes(msg: Message) -> bytes | None:
    """The bytes a received fragment contributes (Java's getArray/getOffset/getLength)."""
    p = msg.payload
    if isinstance(p, bytes | bytearray):
        return bytes(p)
    if isinstance(p, NioPayload) and p.data is not None:
        return p.data
    return None


class _FragEntry:
    """The pieces of one fragmented message received so far (FRAG2.FragEntry, sparse)."""

    __slots__ = ("fragments", "needs_deserialization", "num_frags")

    def __init__(self, num_frags: int, needs_deserialization: bool) -> None:
        self.num_frags = num_frags
        self.needs_deserialization = needs_deserialization
        self.fragments: dict[int, Message] = {}

    def complete(self) -> bool:
        return len(self.fragments) == self.num_frags


class _Malformed(Exception):
    """A fragment or reassembly that cannot be accepted; the reason is logged and counted."""


@protocol("FRAG2")
class FRAG2(Layer):
    """Fragments big messages on the way down, reassembles them on the way up."""

    frag_size: int = prop(Size, 60000, "The max number of bytes in a message. Larger messages are fragmented")

    def __init__(self) -> None:
        super().__init__()
        self.fragment_list: dict[Address | None, dict[int, _FragEntry]] = {}
        self.curr_id = 1

    def validate(self) -> None:
        if self.frag_size <= 0:
            raise ConfigError(f"{self.name}: frag_size={self.frag_size} must be > 0")

    def next_id(self) -> int:
        fid = self.curr_id
        self.curr_id += 1
        return fid

    def pending(self, sender: Address | None) -> int:
        """Incomplete reassemblies from ``sender`` (for tests and statistics)."""
        return len(self.fragment_list.get(sender, {}))

    # --- events ---------------------------------------------------------------------------------------

    def members_changed(self, change: MembershipChange) -> None:
        """Reassemblies from members who left are dropped (going down or up, whichever comes first)."""
        for mbr in change.left:
            if self.fragment_list.pop(mbr, None) is not None:
                self.log.debug("removed %s from the fragmentation table", mbr)

    # --- down -----------------------------------------------------------------------------------------

    def down_msg(self, msg: Message) -> None:
        try:
            length = payload_length(msg)
        except Exception:
            length = 0
        if length > self.frag_size:
            self.fragment(msg)
            return
        self.down_layer.down_msg(msg)

    def fragment(self, msg: Message) -> None:
        array = array_of(msg)
        serialize = array is None
        try:
            buf = encode_message(msg) if array is None else bytes(array)
        except Exception as e:
            self.counters["fragmentation_failures"] += 1
            self.log.error("fragmentation failure: %s", e)
            return
        ranges = compute_frag_offsets(len(buf), self.frag_size)
        num_frags = len(ranges)
        self.counters["num_frags_sent"] += num_frags
        frag_id = self.next_id()
        for i, (off, n) in enumerate(ranges):
            piece = buf[off:off + n]
            if serialize:
                frag = Message(MsgType.BYTES, dest=msg.dest, flags=msg.flags,
                               transient_flags=msg.transient_flags, payload=piece)
            else:
                frag = _with_array(self._copy(msg, headers=i == 0), piece)
            frag.put_header(self.protocol_id, FragHeader(frag_id, i, num_frags, serialize))
            self.down_layer.down_msg(frag)

    @staticmethod
    def _copy(msg: Message, *, headers: bool) -> Message:
        """Java's ``msg.copy(false, headers)``: addresses and flags, headers only if asked."""
        return Message(msg.type, dest=msg.dest, src=msg.src, flags=msg.flags,
                       transient_flags=msg.transient_flags,
                       headers=dict(msg.headers) if headers else {}, payload=msg.payload)

    # --- up -------------------------------------------------------------------------------------------

    def up_msg(self, msg: Message) -> None:
        hdr = msg.headers.get(self.protocol_id)
        if hdr is None:
            self.up_layer.up_msg(msg)
            return
        assembled = self._unfragment(msg, hdr)
        if assembled is not None:
            assembled.src = msg.src
            self.up_layer.up_msg(assembled)

    def up_batch(self, batch: Sequence[Message]) -> None:
        out: list[Message] = []
        for msg in batch:
            hdr = msg.headers.get(self.protocol_id)
            if hdr is None:
                out.append(msg)
                continue
            assembled = self._unfragment(msg, hdr)
            if assembled is not None:  # takes the place of its last fragment (JGRP-1648)
                assembled.src = msg.src
                out.append(assembled)
        if out:
            self.up_layer.up_batch(out)

    def _unfragment(self, msg: Message, hdr: object) -> Message | None:
        try:
            return self._unfragment_checked(msg, hdr)
        except (_Malformed, PyGroupsError) as e:
            self.counters["malformed_fragments"] += 1
            self.log.warning("dropped fragment from %s: %s", msg.src, e)
            return None

    def _unfragment_checked(self, msg: Message, hdr: object) -> Message | None:
        if not isinstance(hdr, FragHeader):
            raise _Malformed(f"header {type(hdr).__name__} is not a FragHeader")
        if not 0 < hdr.num_frags <= MAX_NUM_FRAGS:
            raise _Malformed(f"num_frags={hdr.num_frags}")
        if not 0 <= hdr.frag_id < hdr.num_frags:
            raise _Malformed(f"frag_id={hdr.frag_id} not below num_frags={hdr.num_frags}")
        self.counters["num_frags_received"] += 1
        table = self.fragment_list.setdefault(msg.src, {})
        entry = table.get(hdr.id)
        if entry is None:
            entry = table[hdr.id] = _FragEntry(hdr.num_frags, hdr.needs_deserialization)
        elif entry.num_frags != hdr.num_frags:
            raise _Malformed(f"id={hdr.id}: num_frags={hdr.num_frags}, earlier fragments said {entry.num_frags}")
        if hdr.frag_id in entry.fragments:
            self.counters["duplicate_fragments"] += 1
            return None
        entry.fragments[hdr.frag_id] = msg
        if not entry.complete():
            return None
        del table[hdr.id]
        if not table:
            del self.fragment_list[msg.src]
        frags = [entry.fragments[i] for i in range(entry.num_frags)]
        return self.assemble(frags, entry.needs_deserialization, hdr)

    @staticmethod
    def _concat(frags: Sequence[Message]) -> bytes:
        parts = []
        for f in frags:
            data = _fragment_bytes(f)
            if data is None:
                raise _Malformed(f"fragment without a byte array: {f!r}")
            parts.append(data)
        return b"".join(parts)

    def assemble(self, frags: Sequence[Message], needs_deserialization: bool, hdr: FragHeader) -> Message:
        combined = self._concat(frags)
        if needs_deserialization:
            return decode_message(combined)
        return _with_array(self._copy(frags[0], headers=True), combined)


@protocol("FRAG4")
class FRAG4(FRAG2):
    """FRAG2 whose non-array messages travel as FragmentedMessages (writeTo() slices, no type)."""

    def fragment(self, msg: Message) -> None:
        if msg.src is None and self.local_addr is not None:
            msg.src = self.local_addr
        array = array_of(msg)
        if array is not None:
            buf = bytes(array)
        else:
            try:
                buf = encode_message(msg)[2:]  # Message.writeTo(): the i16 type is not part of it
            except Exception as e:
                self.counters["fragmentation_failures"] += 1
                self.log.error("fragmentation failure: %s", e)
                return
        ranges = compute_frag_offsets(len(buf), self.frag_size)
        num_frags = len(ranges)
        frag_id = self.next_id()
        self.counters["num_frags_sent"] += num_frags
        for i, (off, n) in enumerate(ranges):
            piece = buf[off:off + n]
            if array is not None:
                frag = _with_array(self._copy(msg, headers=i == 0), piece)
                frag.put_header(self.protocol_id, FragHeader(frag_id, i, num_frags))
            else:
                frag = Message(MsgType.FRAGMENTED, dest=msg.dest, src=msg.src, flags=msg.flags,
                               transient_flags=msg.transient_flags, payload=piece)
                frag.put_header(self.protocol_id,
                                FragHeader(frag_id, i, num_frags, original_type=int(msg.type)))
            self.down_layer.down_msg(frag)

    def assemble(self, frags: Sequence[Message], needs_deserialization: bool, hdr: FragHeader) -> Message:
        # FRAG4 ignores needs_deserialization: FragmentedMessage fragments are read back as the
        # original type, anything else is an array to concatenate.
        combined = self._concat(frags)
        if frags[0].type is MsgType.FRAGMENTED:
            try:
                MsgType(hdr.original_type)
            except ValueError:
                raise _Malformed(f"unknown original_type {hdr.original_type}") from None
            return decode_message(struct.pack(">h", hdr.original_type) + combined)
        return _with_array(self._copy(frags[0], headers=True), combined)


__all__ = ["FRAG2", "FRAG4", "MAX_NUM_FRAGS", "array_of", "compute_frag_offsets"]
