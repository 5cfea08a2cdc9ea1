"""FRAG2 / FRAG4: fragment layout as Java sends it, reassembly (any order, duplicates), the jar's
own fragments (recorded catalogue), view cleanup and malformed fragments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygroups.address import UUID, Address
from pygroups.events import ViewChange
from pygroups.message import Flag, Message, MsgType, NioPayload, TransientFlag
from pygroups.objects import JavaPrimitive
from pygroups.protocols.frag import FRAG2, FRAG4, MAX_NUM_FRAGS, compute_frag_offsets
from pygroups.testing.harness import HarnessPair, LayerHarness
from pygroups.view import View, ViewId
from pygroups.wire import codec
from pygroups.wire.headers.frag import FragHeader
from pygroups.wire.headers.nakack import NakAckHeader2

A = UUID(0, 1)
B = UUID(0, 2)
C = UUID(0, 3)
CATALOGUE = Path(__file__).parents[2] / "data" / "java" / "5.5.6" / "catalogue.jsonl"
VECTORS = {e["name"]: e for e in map(json.loads, CATALOGUE.read_text().splitlines())}
STRING_TAG = JavaPrimitive(17, "x").tag


def vector(name: str) -> Message:
    """The single message of a catalogue frame or message vector."""
    entry = VECTORS[name]
    raw = bytes.fromhex(entry["hex"])
    if entry["kind"] == "frame":
        (msg,) = codec.decode_frame(raw).messages
        return msg
    return codec.decode_message(raw)


def make(cls: type[FRAG2], frag_size: int = 60, local: Address = A) -> LayerHarness:
    layer = cls()
    layer.frag_size = frag_size
    return LayerHarness(layer, local_addr=local)


def view(*members: Address, vid: int = 1) -> ViewChange:
    return ViewChange(View(ViewId(members[0], vid), tuple(members)))


def obj_msg(text: str, dest: Address | None = None) -> Message:
    return Message(MsgType.OBJECT, dest=dest, flags=Flag.SERIALIZED, payload=JavaPrimitive(STRING_TAG, text))


def test_frag_offsets_as_java_computes_them() -> None:
    assert compute_frag_offsets(100_000, 60_000) == [(0, 60_000), (60_000, 40_000)]
    assert compute_frag_offsets(120, 60) == [(0, 60), (60, 60)]
    assert compute_frag_offsets(1, 60) == [(0, 1)]


# --------------------------------------------------------------------------------------- FRAG2 down


def test_small_message_passes_untouched() -> None:
    h = make(FRAG2)
    msg = Message(MsgType.BYTES, payload=bytes(60))
    h.send(msg)
    (out,) = h.take_down()
    assert out is msg and out.headers == {}


def test_frag2_slices_array_and_copies_headers_to_first_fragment_only() -> None:
    h = make(FRAG2)
    payload = bytes(range(150))
    msg = Message(MsgType.BYTES, dest=B, flags=Flag.OOB, transient_flags=TransientFlag.DONT_LOOPBACK,
                  payload=payload)
    msg.put_header(1000, NakAckHeader2(NakAckHeader2.Type.MSG, 9))  # a header from a layer above
    h.send(msg)
    frags = h.take_down()
    assert [f.payload for f in frags] == [payload[:60], payload[60:120], payload[120:]]
    assert all(f.dest == B and f.flags == Flag.OOB and f.type is MsgType.BYTES for f in frags)
    assert all(f.transient_flags == TransientFlag.DONT_LOOPBACK for f in frags)
    hdrs = [f.headers[FRAG2.protocol_id] for f in frags]
    assert hdrs == [FragHeader(1, i, 3, False, 0) for i in range(3)]
    assert list(frags[0].headers) == [1000, FRAG2.protocol_id]
    assert all(list(f.headers) == [FRAG2.protocol_id] for f in frags[1:])
    h.send(Message(MsgType.BYTES, payload=bytes(61)))
    assert {f.headers[4].id for f in h.take_down()} == {2}  # type: ignore[attr-defined]


def test_frag2_fragment_bytes_match_java_vector() -> None:
    # hdr-frag2-first: fragment 0 of 2 of the 100-byte multicast, id 1; headers FRAG2, NAKACK2, TP
    java0, java1 = vector("hdr-frag2-first"), vector("hdr-frag2-last")
    h = make(FRAG2, frag_size=60)
    h.send(Message(MsgType.BYTES, payload=java0.payload + java1.payload))
    ours = h.take_down()
    for mine, theirs in zip(ours, (java0, java1), strict=True):
        assert mine.payload == theirs.payload
        assert mine.headers[4] == theirs.headers[4]
        # the fragment as it leaves FRAG2 encodes to the jar's bytes up to the headers added below
        mine.src = theirs.src
        for pid, hdr in list(theirs.headers.items())[1:]:
            mine.put_header(pid, hdr)
        assert codec.encode_message(mine) == codec.encode_message(theirs)


def test_frag2_serializes_messages_without_array() -> None:
    java = [vector("hdr-frag2-needs-deserialization"), vector("hdr-frag2-needs-deserialization-last")]
    jar_a, jar_b = java[0].src, java[0].dest
    h = make(FRAG2, frag_size=25, local=jar_a)
    h.layer.curr_id = 2  # type: ignore[attr-defined]
    original = obj_msg("an object message split by FRAG2", dest=jar_b)
    original.src = jar_a  # the jar's vector was serialized with src A
    h.send(original)
    ours = h.take_down()
    # the jar's vector cut the same bytes (Util.messageToBuffer) at 25 only once
    assert b"".join(m.payload for m in ours) == b"".join(m.payload for m in java)  # byte for byte
    assert ours[0].payload == java[0].payload
    n = len(ours)
    assert n == -(-sum(len(m.payload) for m in java) // 25)
    assert [m.headers[4] for m in ours] == [FragHeader(2, i, n, True, 0) for i in range(n)]
    assert java[0].headers[4] == FragHeader(2, 0, 2, True, 0)
    assert all(m.type is MsgType.BYTES and list(m.headers) == [4] and m.dest == jar_b for m in ours)


def test_frag2_reassembles_the_jars_serialized_fragments() -> None:
    h = make(FRAG2)
    for m in (vector("hdr-frag2-needs-deserialization-last"), vector("hdr-frag2-needs-deserialization")):
        h.receive(m)
    (msg,) = h.take_up()
    assert msg.type is MsgType.OBJECT and msg.payload == JavaPrimitive(STRING_TAG, "an object message split by FRAG2")
    assert msg.dest == vector("hdr-frag2-needs-deserialization").dest
    assert msg.src == vector("hdr-frag2-needs-deserialization").src


def test_frag2_reassembles_array_fragments_from_the_jar() -> None:
    h = make(FRAG2)
    f0, f1 = vector("hdr-frag2-first"), vector("hdr-frag2-last")
    h.receive(f0)
    assert h.take_up() == []
    h.receive(f1)
    (msg,) = h.take_up()
    assert msg.type is MsgType.BYTES and msg.payload == f0.payload + f1.payload and len(msg.payload) == 100
    assert msg.src == f0.src and msg.dest is None
    assert msg.headers == f0.headers  # a copy of fragment 0's headers, as Java's copy(false, true)


# --------------------------------------------------------------------------------------- FRAG4 down


def test_frag4_sends_fragmented_messages_matching_the_jar() -> None:
    java = [vector("hdr-frag4-fragmented-0"), vector("hdr-frag4-fragmented-1")]
    jar_a = java[0].src
    assert jar_a is not None
    h = make(FRAG4, frag_size=30, local=jar_a)
    h.layer.curr_id = java[0].headers[69].id  # type: ignore[attr-defined]
    original = obj_msg("FRAG4 cuts the serialized form of this ObjectMessage")
    original.put_header(41, NakAckHeader2(NakAckHeader2.Type.MSG, 50))
    h.send(original)
    ours = h.take_down()
    assert original.src == jar_a  # FRAG4 sets the sender before serializing
    n = len(ours)
    # the jar's vector cut the same writeTo() bytes at 30 only once
    assert b"".join(m.payload for m in ours) == b"".join(m.payload for m in java)  # byte for byte
    assert n == -(-sum(len(m.payload) for m in java) // 30)
    assert all(m.type is MsgType.FRAGMENTED for m in ours)
    fid = java[0].headers[69].id  # type: ignore[attr-defined]
    assert [m.headers[69] for m in ours] == [FragHeader(fid, i, n, False, int(MsgType.OBJECT)) for i in range(n)]
    assert all(list(m.headers) == [69] and m.src == jar_a and m.flags == Flag.SERIALIZED for m in ours)
    # fragment 0, with the headers the layers below add, encodes to the jar's bytes
    mine, theirs = ours[0], java[0]
    mine.put_header(69, FragHeader(fid, 0, 2, False, int(MsgType.OBJECT)))
    for pid, hdr in list(theirs.headers.items())[1:]:
        mine.put_header(pid, hdr)
    assert codec.encode_message(mine) == codec.encode_message(theirs)


def test_frag4_reassembles_the_jars_fragmented_messages() -> None:
    h = make(FRAG4)
    f0, f1 = vector("hdr-frag4-fragmented-0"), vector("hdr-frag4-fragmented-1")
    h.receive(f1)
    h.receive(f0)
    (msg,) = h.take_up()
    assert msg.type is MsgType.OBJECT
    assert msg.payload == JavaPrimitive(STRING_TAG, "FRAG4 cuts the serialized form of this ObjectMessage")
    assert msg.src == f0.src and msg.flags == Flag.SERIALIZED
    assert msg.headers[41] == NakAckHeader2(NakAckHeader2.Type.MSG, 50)


def test_frag4_message_vectors_reassemble() -> None:
    h = make(FRAG4)
    h.receive(vector("msg-fragmented-0"))
    h.receive(vector("msg-fragmented-1"))
    (msg,) = h.take_up()
    assert msg.payload == JavaPrimitive(STRING_TAG, "a message that FRAG4 cut into pieces")


def test_frag4_with_array_uses_plain_slices() -> None:
    java = vector("hdr-frag4-bytes")
    h = make(FRAG4, frag_size=60)
    h.layer.curr_id = 4  # type: ignore[attr-defined]
    h.send(Message(MsgType.BYTES, payload=java.payload + bytes(40)))
    first, _ = h.take_down()
    assert first.type is MsgType.BYTES and first.payload == java.payload
    assert first.headers[69] == java.headers[69] == FragHeader(4, 0, 2)
    assert first.src == A


# --------------------------------------------------------------------------------------- round trips

payload_kinds = st.sampled_from(["bytes", "nio", "object"])


def build(kind: str, size: int, dest: Address | None) -> Message:
    data = bytes((i * 7) & 0xFF for i in range(size))
    if kind == "bytes":
        return Message(MsgType.BYTES, dest=dest, payload=data)
    if kind == "nio":
        return Message(MsgType.NIO, dest=dest, payload=NioPayload(False, data))
    return obj_msg(data.hex(), dest=dest)


def codec_len(msg: Message) -> int:
    from pygroups.wire.jsonform import payload_length

    return payload_length(msg)


@settings(max_examples=50)
@given(
    st.sampled_from([FRAG2, FRAG4]),
    payload_kinds,
    st.integers(0, 1500),
    st.integers(8, 300),
    st.randoms(use_true_random=False),
    st.booleans(),
)
def test_round_trip_any_order_with_duplicates(cls: type[FRAG2], kind: str, size: int, frag_size: int,
                                              rnd: object, dup: bool) -> None:
    sender, receiver = make(cls, frag_size=frag_size, local=A), make(cls, frag_size=frag_size, local=B)
    original = build(kind, size, dest=B)
    expected_payload = original.payload
    sender.send(original)
    frags = sender.take_down()
    for f in frags:
        f.src = A
    fragmented = FRAG2.protocol_id in frags[0].headers or FRAG4.protocol_id in frags[0].headers
    assert fragmented == (len(frags) > 1 or codec_len(original) > frag_size)
    # Any order; duplicates of fragments arrive while the message is incomplete (like Java, FRAG2
    # forgets a message once assembled: late duplicates are the reliable layers' job).
    order = list(frags)
    rnd.shuffle(order)  # type: ignore[attr-defined]
    head = order[:-1] + (order[: (len(order) - 1) // 2 + 1] if dup and len(order) > 1 else [])
    rnd.shuffle(head)  # type: ignore[attr-defined]
    order = head + order[-1:]
    for f in order:
        receiver.receive(f.copy())
    got = receiver.take_up()
    assert len(got) == 1
    (msg,) = got
    assert msg.type is original.type and msg.payload == expected_payload
    assert msg.dest == B and msg.src == A
    assert receiver.layer.pending(A) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("cls", [FRAG2, FRAG4])
def test_pair_round_trip_of_many_messages(cls: type[FRAG2]) -> None:
    a, b = cls(), cls()
    a.frag_size = b.frag_size = 100
    p = HarnessPair(a, b, seed=3)
    sizes = [0, 99, 100, 101, 1000, 5000, 250]
    for n in sizes:
        p.a.send(build("bytes", n, None))
        p.a.send(build("object", n, None))
    p.exchange()
    got = p.b.take_up()
    assert [m.payload for m in got[::2]] == [build("bytes", n, None).payload for n in sizes]
    assert [m.payload for m in got[1::2]] == [build("object", n, None).payload for n in sizes]


def test_interleaved_messages_from_several_senders() -> None:
    h = make(FRAG2, local=C)
    senders = {A: make(FRAG2, local=A), B: make(FRAG2, local=B)}
    frags: list[Message] = []
    for addr, s in senders.items():
        s.send(build("bytes", 250, None))
        s.send(build("bytes", 130, None))
        for f in s.take_down():
            f.src = addr
            frags.append(f)
    frags.sort(key=lambda f: f.headers[4].frag_id)  # type: ignore[attr-defined]
    for f in frags:
        h.receive(f)
    got = h.take_up()
    assert sorted((m.src, len(m.payload)) for m in got) == sorted([(A, 250), (A, 130), (B, 250), (B, 130)])


# --------------------------------------------------------------------------------------- view / errors


def test_fragments_of_departed_member_are_cleared() -> None:
    h = make(FRAG2, local=A)
    h.down(view(A, B, C))
    sender = make(FRAG2, local=B)
    sender.send(build("bytes", 200, None))
    frags = sender.take_down()
    for f in frags[:2]:
        f.src = B
        h.receive(f)
    assert h.layer.pending(B) == 1  # type: ignore[attr-defined]
    h.down(view(A, C, vid=2))
    assert h.layer.pending(B) == 0  # type: ignore[attr-defined]
    frags[2].src = B
    h.receive(frags[2])  # the rest alone cannot complete the message
    assert h.take_up() == []


def frag(hdr: object, payload: object = b"xx", src: Address = B, mtype: MsgType = MsgType.BYTES) -> Message:
    return Message(mtype, dest=A, src=src, headers={FRAG2.protocol_id: hdr}, payload=payload)  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "bad",
    [
        [frag(FragHeader(1, 2, 2))],  # frag_id out of range
        [frag(FragHeader(1, 0, 0))],  # no fragments at all
        [frag(FragHeader(1, 0, -5))],
        [frag(FragHeader(1, 0, MAX_NUM_FRAGS + 1))],  # absurd count: refused, nothing allocated
        [frag(FragHeader(1, 0, 2)), frag(FragHeader(1, 1, 3))],  # num_frags disagrees
        [frag(FragHeader(1, 0, 1, True), payload=b"\x00\x63garbage")],  # undecodable serialized message
        [frag(FragHeader(1, 0, 1), payload=None, mtype=MsgType.EMPTY)],  # no array to reassemble
        [frag(NakAckHeader2(NakAckHeader2.Type.MSG, 1))],  # wrong header class
    ],
)
def test_malformed_fragments_are_counted_and_dropped(bad: list[Message]) -> None:
    h = make(FRAG2)
    for m in bad:
        h.receive(m)
    assert h.take_up() == []
    assert h.layer.counters["malformed_fragments"] == 1
    h.receive(Message(MsgType.BYTES, dest=A, src=B, payload=b"ok"))  # still running
    assert len(h.take_up()) == 1


def test_frag4_unknown_original_type_is_malformed() -> None:
    h = make(FRAG4)
    h.receive(Message(MsgType.FRAGMENTED, dest=A, src=B, payload=b"\x00",
                      headers={FRAG4.protocol_id: FragHeader(1, 0, 1, original_type=42)}))
    assert h.take_up() == [] and h.layer.counters["malformed_fragments"] == 1


def test_duplicate_fragment_is_ignored() -> None:
    h = make(FRAG2)
    h.receive(frag(FragHeader(7, 0, 2), payload=b"ab"))
    h.receive(frag(FragHeader(7, 0, 2), payload=b"XX"))
    h.receive(frag(FragHeader(7, 1, 2), payload=b"cd"))
    (msg,) = h.take_up()
    assert msg.payload == b"abcd"
    assert h.layer.counters["duplicate_fragments"] == 1


def test_batch_keeps_position_of_reassembled_message() -> None:
    h = make(FRAG2)
    batch = [
        frag(FragHeader(3, 0, 2), payload=b"ab"),
        Message(MsgType.BYTES, dest=A, src=B, payload=b"plain1"),
        frag(FragHeader(3, 1, 2), payload=b"cd"),
        Message(MsgType.BYTES, dest=A, src=B, payload=b"plain2"),
    ]
    h.stack.run_input(h.bottom.up_batch, batch)
    assert [m.payload for m in h.take_up()] == [b"plain1", b"abcd", b"plain2"]


def test_frag_size_must_be_positive() -> None:
    layer = FRAG2()
    layer.frag_size = 0
    with pytest.raises(Exception, match="frag_size"):
        layer.validate()
