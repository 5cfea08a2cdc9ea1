"""Hypothesis strategies for the domain objects the codec carries."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from pygroups.address import (
    UUID,
    Address,
    ExtendedUUID,
    FlagsUUID,
    IpAddress,
    MillisAddress,
    SiteMaster,
    SiteUUID,
    java_equals,
)
from pygroups.message import BatchPayload, Message, MsgType, NioPayload
from pygroups.objects import JavaPrimitive, JavaSerializable, PrimitiveTag, SeqnoList
from pygroups.view import Digest, MutableDigest, View, ViewId
from pygroups.wire.headers.tp import TpHeader

i64 = st.integers(-(2**63), 2**63 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
seqno = st.integers(0, 2**63 - 1)

uuids = st.builds(UUID, i64, i64)
_keys = st.lists(
    st.tuples(st.binary(min_size=0, max_size=8), st.one_of(st.none(), st.binary(min_size=1, max_size=8))),
    max_size=4,
).map(tuple)
_name = st.one_of(st.none(), st.text(max_size=12))
logical_addresses = st.one_of(
    uuids,
    uuids,
    st.builds(FlagsUUID, i64, i64, i32),
    st.builds(ExtendedUUID, i64, i64, i32, _keys),
    st.builds(SiteUUID, i64, i64, i32, _keys, _name, _name),
    st.builds(SiteMaster, i64, i64, i32, _keys, _name, _name),
)
ipv4 = st.builds(ipaddress.IPv4Address, st.integers(0, 2**32 - 1))
ipv6 = st.builds(ipaddress.IPv6Address, st.integers(0, 2**128 - 1))
ip_addresses = st.one_of(
    st.builds(IpAddress, ipv4, st.integers(0, 65535)),
    st.builds(IpAddress, ipv6, st.integers(0, 65535), i32),
    st.builds(IpAddress, st.none(), st.integers(0, 65535)),
)
addresses = st.one_of(logical_addresses, ip_addresses, st.builds(MillisAddress, i64))
opt_addresses = st.one_of(st.none(), addresses)

view_ids = st.builds(ViewId, opt_addresses, seqno)
views = st.builds(View, view_ids, st.lists(addresses, max_size=5).map(tuple))


@st.composite
def digests(draw: st.DrawFn, mutable: bool | None = None) -> Digest:
    members = tuple(draw(st.lists(addresses, max_size=5)))
    pairs = []
    for _ in members:
        hd = draw(st.integers(0, 2**62))
        pairs.append((hd, hd + draw(st.integers(0, 2**62 - 1))))  # hr stays a Java long
    cls = MutableDigest if (draw(st.booleans()) if mutable is None else mutable) else Digest
    return cls(members, tuple(pairs))


java_strings = st.text(max_size=40).filter(lambda s: len(s.encode("utf-16-le", "surrogatepass")) < 40000)
primitives = st.one_of(
    st.builds(JavaPrimitive, st.just(PrimitiveTag.NULL), st.none()),
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.BOOLEAN, PrimitiveTag.BOOLEAN_OBJ]), st.booleans()),
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.BYTE, PrimitiveTag.BYTE_OBJ]), st.integers(-128, 127)),
    st.builds(JavaPrimitive, st.just(PrimitiveTag.CLASS), st.integers(0, 19)),  # a registered type byte
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.CHAR, PrimitiveTag.CHAR_OBJ]), st.integers(0, 65535)),
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.SHORT, PrimitiveTag.SHORT_OBJ]),
              st.integers(-(2**15), 2**15 - 1)),
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.INT, PrimitiveTag.INT_OBJ, PrimitiveTag.FLOAT,
                                              PrimitiveTag.FLOAT_OBJ]), i32),
    st.builds(JavaPrimitive, st.sampled_from([PrimitiveTag.LONG, PrimitiveTag.LONG_OBJ, PrimitiveTag.DOUBLE,
                                              PrimitiveTag.DOUBLE_OBJ]), i64),
    st.builds(JavaPrimitive, st.just(PrimitiveTag.STRING), java_strings),
    st.builds(JavaPrimitive, st.just(PrimitiveTag.BYTEARRAY), st.binary(max_size=40)),
)
seqno_lists = st.lists(st.integers(0, 500), min_size=1, max_size=20).flatmap(
    lambda s: st.integers(0, 2**40).map(lambda off: SeqnoList.of([off + x for x in s]))
)
objects = st.one_of(
    st.none(), primitives, st.builds(JavaSerializable, st.one_of(st.none(), st.binary(max_size=30))),
    seqno_lists, digests(),
)

tp_headers = st.builds(TpHeader, st.text(alphabet=st.characters(max_codepoint=255), max_size=12))


def _headers_strategy() -> st.SearchStrategy[dict[int, object]]:
    """TpHeader plus, when the header modules exist, their strategies."""
    try:
        from tests.strategies.headers import any_header  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - header strategies not written yet
        any_header = tp_headers
    entries = st.lists(st.tuples(st.integers(0, 2**15 - 1), any_header), max_size=4, unique_by=lambda t: t[0])
    return st.tuples(entries, st.booleans(), tp_headers).map(
        lambda t: dict([*t[0], (57, t[2])] if t[1] and all(pid != 57 for pid, _ in t[0]) else t[0])
    )


headers = _headers_strategy()


def _simple_payload(mtype: MsgType) -> st.SearchStrategy[object]:
    if mtype is MsgType.BYTES:
        return st.one_of(st.none(), st.binary(max_size=64))
    if mtype is MsgType.NIO:
        return st.builds(NioPayload, st.booleans(), st.one_of(st.none(), st.binary(max_size=32)))
    if mtype is MsgType.EMPTY:
        return st.none()
    if mtype is MsgType.OBJECT:
        return objects
    if mtype is MsgType.LONG:
        return i64
    if mtype is MsgType.FRAGMENTED:
        return st.binary(max_size=40)
    raise AssertionError(mtype)


_SIMPLE = [MsgType.BYTES, MsgType.NIO, MsgType.EMPTY, MsgType.OBJECT, MsgType.LONG, MsgType.FRAGMENTED]


def adopt_src(msg: Message, src: Address | None) -> None:
    """Give ``msg`` the src a reader gives it when the writer omitted its own (Java-equal to ``src``):
    the composite's parts that were read back as the composite's src follow it too."""
    msg.src = src
    if msg.type is MsgType.COMPOSITE and isinstance(msg.payload, tuple):
        for p in msg.payload:
            if java_equals(p.src, src):
                p.src = src


@st.composite
def messages(draw: st.DrawFn, dest=opt_addresses, src=opt_addresses, depth: int = 1) -> Message:  # type: ignore[no-untyped-def]
    kinds = _SIMPLE + ([MsgType.COMPOSITE, MsgType.EARLYBATCH] if depth > 0 else [])
    mtype = draw(st.sampled_from(kinds))
    d, s = draw(dest), draw(src)
    if mtype is MsgType.COMPOSITE:
        # nested parts inherit dest/src as the reader fills them in
        parts = draw(st.lists(messages(dest=st.just(d), src=st.one_of(st.just(s), addresses), depth=0), max_size=3))
        for p in parts:  # written without src, read back as the composite's own src
            if java_equals(p.src, s):
                p.src = s
        payload: object = tuple(parts)
    elif mtype is MsgType.EARLYBATCH:
        orig = draw(opt_addresses)
        parts = draw(st.lists(messages(dest=st.just(d), src=st.one_of(st.just(orig), addresses), depth=0),
                              max_size=3))
        # writeToNoAddrs is relative to the batch's src, reading defaults to orig_src: keep them apart
        parts = [p for p in parts if p.src is not None and (not java_equals(p.src, s) or p.src == orig)]
        for p in parts:
            if java_equals(p.src, s):
                p.src = orig
        payload = BatchPayload(orig, tuple(parts))
    else:
        payload = draw(_simple_payload(mtype))
    flags = draw(st.integers(0, 0xFFFF))
    return Message(mtype, dest=d, src=s, flags=flags, headers=draw(headers), payload=payload)
