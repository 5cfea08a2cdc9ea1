"""pbcast.STATE_TRANSFER in the harness: the messages Java sends, the event order, and bad input."""

from __future__ import annotations

from pygroups.address import UUID
from pygroups.events import (
    ApplState,
    CloseBarrier,
    CloseHole,
    Event,
    GetApplState,
    GetDigest,
    GetState,
    GetStateOk,
    GetViewFromCoord,
    OpenBarrier,
    OverwriteDigest,
    PunchHole,
    ResumeStable,
    SuspendStable,
    ViewChange,
)
from pygroups.message import Flag, Message, MsgType
from pygroups.protocols.pbcast.state_transfer import STATE_TRANSFER
from pygroups.stack.layer import Layer, answers
from pygroups.testing.harness import LayerHarness
from pygroups.view import Digest, View, ViewId
from pygroups.wire.codec import decode_message, encode_message
from pygroups.wire.headers.state import StateHeader
from pygroups.wire.throwable import JavaThrowable, decode_throwable, encode_throwable

C, X = UUID(0, 1), UUID(0, 9)
T = StateHeader.Type
ID = 14


class DigestStub(Layer):
    """Answers GetDigest as NAKACK2 would."""

    name = "DIGEST_STUB"

    def __init__(self, digest: Digest | None) -> None:
        super().__init__()
        self.digest = digest

    @answers(GetDigest)
    def answer(self, q: GetDigest) -> Digest | None:
        return self.digest


class App(Layer):
    name = "APP"

    def __init__(self, answer: ApplState) -> None:
        super().__init__()
        self.answer = answer
        self.asked = 0

    @answers(GetApplState, up=True)
    def answer_state(self, q: GetApplState) -> ApplState:
        self.asked += 1
        return self.answer


def harness(digest: Digest | None = None, app: ApplState | None = None) -> LayerHarness:
    above = [App(app)] if app is not None else []
    h = LayerHarness(STATE_TRANSFER(), below=[DigestStub(digest)], above=above)
    me = h.local_addr
    h.down(ViewChange(View(ViewId(C, 2), (C, me))))
    h.take_down_events()
    return h


def state_msg(kind: int, src: UUID, dest: UUID, payload: bytes | None = None, digest: Digest | None = None) -> Message:
    m = Message(MsgType.BYTES if payload is not None or kind != T.STATE_REQ else MsgType.EMPTY,
                src=src, dest=dest, payload=payload)
    m.put_header(ID, StateHeader(kind, digest))
    return m


def kinds(events: list[Event]) -> list[type[Event]]:
    return [type(e) for e in events]


def test_get_state_sends_state_req_to_the_coordinator_as_java_does() -> None:
    h = harness()
    h.down(GetState())
    [req] = h.take_down()
    assert req.dest == C and req.type == MsgType.EMPTY
    assert req.flags == Flag.DONT_BUNDLE | Flag.OOB | Flag.SKIP_BARRIER
    assert req.get_header(ID) == StateHeader(T.STATE_REQ)
    assert h.layer.waiting_for_state_response
    assert decode_message(encode_message(req)).get_header(ID) == StateHeader(T.STATE_REQ)


def test_asking_myself_or_nobody_answers_at_once_without_state() -> None:
    h = harness()
    h.down(GetState(h.local_addr))
    assert h.take_down() == [] and h.take_up_events() == [GetStateOk()]


def test_state_rsp_overwrites_the_digest_then_hands_the_state_up_inside_a_closed_barrier() -> None:
    h = harness()
    h.down(GetState())
    h.take_down()
    d = Digest((C, h.local_addr), ((5, 7), (0, 0)))
    h.receive(state_msg(T.STATE_RSP, C, h.local_addr, b"state", d))
    assert h.take_up_events() == [GetStateOk(state=b"state")]
    assert kinds(h.take_down_events()) == [PunchHole, CloseBarrier, SuspendStable, OverwriteDigest,
                                           GetViewFromCoord, CloseHole, OpenBarrier, ResumeStable]
    assert not h.layer.waiting_for_state_response


def test_the_provider_sends_the_applications_bytes_and_its_digest() -> None:
    d = Digest((C, X), ((3, 3), (1, 2)))
    h = harness(d, ApplState(b"\x00\x01state"))
    h.receive(state_msg(T.STATE_REQ, X, h.local_addr))
    [rsp] = h.take_down()
    assert rsp.dest == X and rsp.type == MsgType.BYTES and rsp.flags == 0 and rsp.payload == b"\x00\x01state"
    assert rsp.get_header(ID) == StateHeader(T.STATE_RSP, d)
    again = decode_message(encode_message(rsp))
    assert again.payload == b"\x00\x01state" and again.get_header(ID) == StateHeader(T.STATE_RSP, d)
    assert kinds(h.take_down_events()) == [PunchHole, CloseBarrier, SuspendStable, OpenBarrier, CloseHole,
                                           ResumeStable]
    st = h.layer.statistics()
    assert (st["num_state_reqs"], st["num_bytes_sent"], st["avg_state_size"]) == (1, 7, 7.0)


def test_a_provider_without_application_state_sends_a_bytes_message_without_array() -> None:
    h = harness(None)
    h.receive(state_msg(T.STATE_REQ, X, h.local_addr))
    [rsp] = h.take_down()
    assert rsp.type == MsgType.BYTES and rsp.payload is None and rsp.get_header(ID) == StateHeader(T.STATE_RSP)


def test_a_failing_application_sends_state_ex_with_a_java_exception() -> None:
    h = harness(None, ApplState(error="KeyError: boom"))
    h.receive(state_msg(T.STATE_REQ, X, h.local_addr))
    [ex] = h.take_down()
    assert ex.get_header(ID) == StateHeader(T.STATE_EX)
    exc = decode_throwable(ex.payload)
    assert exc is not None and exc.class_name == "java.lang.RuntimeException" and "KeyError: boom" in str(exc)


def test_state_ex_from_the_provider_fails_the_transfer() -> None:
    h = harness()
    h.down(GetState())
    h.take_down()
    cause = JavaThrowable("java.io.IOException")
    payload = encode_throwable(JavaThrowable("java.lang.RuntimeException", "no state", cause))
    h.receive(state_msg(T.STATE_EX, C, h.local_addr, payload))
    [ok] = h.take_up_events()
    assert isinstance(ok, GetStateOk) and ok.state is None
    assert ok.error == "java.lang.RuntimeException: no state (caused by java.io.IOException)"


def test_a_state_rsp_nobody_asked_for_is_counted_and_dropped() -> None:
    h = harness()
    h.receive(state_msg(T.STATE_RSP, C, h.local_addr, b"evil", Digest((C,), ((100, 100),))))
    assert h.take_up_events() == [] and h.take_down_events() == []
    h.down(GetState())
    h.receive(state_msg(T.STATE_RSP, X, h.local_addr, b"evil"))  # not from the member we asked
    assert h.take_up_events() == [] and h.layer.waiting_for_state_response
    assert h.layer.counters["unsolicited STATE_RSP dropped"] == 2


def test_malformed_state_input_is_counted_never_raised() -> None:
    h = harness()
    h.down(GetState())
    m = Message(MsgType.BYTES, src=C, dest=h.local_addr, payload=b"x")
    m.put_header(ID, StateHeader(77))  # unknown type
    h.receive(m)
    h.receive(state_msg(T.STATE_EX, C, h.local_addr, b"\x00\x00\x01"))  # truncated exception
    assert h.layer.counters["unknown StateHeader type"] == 1
    assert h.layer.counters["malformed STATE_EX"] == 1
    [ok] = h.take_up_events()
    assert isinstance(ok, GetStateOk) and ok.error is not None and "could not be read" in ok.error


def test_the_provider_leaving_fails_the_transfer() -> None:
    h = harness()
    h.down(GetState())
    h.down(ViewChange(View(ViewId(h.local_addr, 3), (h.local_addr,))))
    ups = [e for e in h.take_up_events() if isinstance(e, GetStateOk)]
    assert len(ups) == 1 and ups[0].error is not None and "left" in ups[0].error
    assert not h.layer.waiting_for_state_response


def test_messages_without_a_state_header_pass() -> None:
    h = harness()
    h.receive(Message(MsgType.BYTES, src=C, payload=b"app"))
    assert [m.payload for m in h.take_up()] == [b"app"]
