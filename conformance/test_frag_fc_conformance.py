"""FRAG2/FRAG4 fragments and UFC/MFC credit messages, as pygroups' layers emit them, read by the real
JGroups 5.5.6 jar: every fragment decodes with JGroups' classes and is written back to the same bytes,
and the bytes the fragments carry are read back by JGroups as the original message (Java's
``Util.messageFromBuffer`` for FRAG2, ``MessageFactory.create(original_type).readFrom`` for FRAG4).
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pygroups.address import UUID
from pygroups.events import ViewChange
from pygroups.message import Flag, Message, MsgType, NioPayload
from pygroups.objects import JavaPrimitive, PrimitiveTag
from pygroups.protocols.flow_control import MFC, UFC, FlowControl
from pygroups.protocols.frag import FRAG2, FRAG4
from pygroups.testing.harness import LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.nakack import NakAckHeader2
from pygroups.wire.jsonform import message_json
from tests.java_json import first_difference, java_view

A = UUID(0x1111, 0xA)
B = UUID(0x2222, 0xB)


def java_reads(decoder: Any, msg: Message) -> dict[str, Any]:
    """JGroups reads ``msg`` completely, reports our content and writes back our bytes."""
    data = codec.encode_message(msg)
    answer = decoder.decode("message", data)
    assert answer["ok"], f"JGroups could not read {data.hex()}: {answer.get('error')}"
    assert answer["consumed"] == len(data)
    assert answer["reencoded"] == data.hex()
    ours = java_view(message_json(msg))
    assert answer["json"] == ours, first_difference(answer["json"], ours)
    return answer


def original(kind: str, size: int) -> Message:
    data = bytes((i * 13) & 0xFF for i in range(size))
    if kind == "bytes":
        msg = Message(MsgType.BYTES, dest=B, payload=data)
    elif kind == "nio":
        msg = Message(MsgType.NIO, dest=B, payload=NioPayload(False, data))
    else:
        msg = Message(MsgType.OBJECT, dest=B, flags=Flag.SERIALIZED,
                      payload=JavaPrimitive(PrimitiveTag.STRING, data.hex()))
    msg.put_header(41, NakAckHeader2(NakAckHeader2.Type.MSG, 7))  # a header from a layer above
    return msg


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([FRAG2, FRAG4]), st.sampled_from(["bytes", "nio", "object"]),
       st.integers(1, 3000), st.integers(50, 700))
def test_java_reads_our_fragments_and_their_content(java_decoder: Any, cls: type[FRAG2], kind: str,
                                                    size: int, frag_size: int) -> None:
    layer = cls()
    layer.frag_size = frag_size
    h = LayerHarness(layer, local_addr=A)
    msg = original(kind, size)
    h.send(msg)
    expected = java_view(message_json(msg))  # after send: FRAG4 sets src before serializing
    frags = h.take_down()
    for f in frags:
        java_reads(java_decoder, f)
    if len(frags) == 1 and cls.protocol_id not in frags[0].headers:
        return  # small enough: not fragmented
    joined = b"".join(f.payload.data if isinstance(f.payload, NioPayload) else f.payload for f in frags)
    hdr = frags[0].headers[cls.protocol_id]
    if frags[0].type is MsgType.FRAGMENTED:  # FRAG4: writeTo() slices, read as original_type
        data = struct.pack(">h", hdr.original_type) + joined  # type: ignore[attr-defined]
    elif hdr.needs_deserialization:  # type: ignore[attr-defined]
        data = joined  # FRAG2: Util.messageFromBuffer (type + writeTo)
    else:  # array slices: the receiver concatenates them
        assert joined == (msg.payload.data if isinstance(msg.payload, NioPayload) else msg.payload)
        return
    answer = java_decoder.decode("message", data)
    assert answer["ok"], answer.get("error")
    assert answer["consumed"] == len(data)
    assert answer["json"] == expected, first_difference(answer["json"], expected)


def view_change() -> ViewChange:
    return ViewChange(View(ViewId(A, 1), (A, B)))


@pytest.mark.parametrize("cls", [UFC, MFC])
def test_java_reads_our_replenish_and_credit_request(java_decoder: Any, cls: type[FlowControl]) -> None:
    layer = cls()
    layer.max_credits, layer.min_threshold, layer.max_block_time = 10_000, 0.4, 100
    h = LayerHarness(layer, local_addr=A)
    h.down(view_change())
    # receiver side: 6000 bytes from B -> REPLENISH(6000)
    h.receive(Message(MsgType.BYTES, dest=None if cls is MFC else A, src=B, payload=bytes(6000)))
    # sender side: out of credits -> CREDIT_REQUEST after max_block_time
    dest = None if cls is MFC else B
    h.send(Message(MsgType.BYTES, dest=dest, payload=bytes(9000)))
    h.send(Message(MsgType.BYTES, dest=dest, payload=bytes(9000)))
    h.advance(100 * 1_000_000)
    out = [m for m in h.take_down() if m.type is MsgType.LONG]
    assert out, "no credit messages"
    name = cls.name
    for m in out:
        m.src = A
        answer = java_reads(java_decoder, m)
        assert answer["json"]["type"] == "LongMessage"
        assert answer["json"]["flags"] == ["OOB", "DONT_BUNDLE"]
        assert answer["json"]["headers"] == {name: {"protocol_id": cls.protocol_id, "magic": 59, "class": "FcHeader"}}
    assert out[0].payload == 6000 and out[0].dest == B
    kinds = {m.headers[cls.protocol_id].type for m in out}  # type: ignore[attr-defined]
    assert kinds == {1, 2}  # REPLENISH and CREDIT_REQUEST both checked
