"""Channel: connect/views/send/receive/callbacks/backpressure/errors on a one-member toy stack, payload
conversion (Java boxing) and View formatting."""

from __future__ import annotations

import asyncio  # noqa: TID251 - the channel under test is asyncio
import math
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.address import UUID
from pygroups.aio.channel import (
    Channel,
    format_view,
    generate_local_name,
    java_string,
    make_message,
    open_channel,
    payload_object,
)
from pygroups.errors import ChannelClosed, ConfigError, ConnectError, ConnectTimeout, LocalProtocolError
from pygroups.events import Connect, Event, JoinFailed, Leave, LeaveComplete
from pygroups.message import Flag, Message, MsgType
from pygroups.objects import JavaPrimitive, PrimitiveTag
from pygroups.stack.io import Received, ViewInstalled
from pygroups.stack.layer import Layer
from pygroups.view import MergeView, View, ViewId
from pygroups.wire.codec import decode_message, encode_message
from tests.support.aio_toys import LoopbackTransport, SingletonGms, Valve


def run(test: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(20):
            await test()

    asyncio.run(bounded())


def toy(silent: bool = False) -> Callable[[], list[Layer]]:
    return lambda: [LoopbackTransport(), Valve(), SingletonGms(silent)]


def test_connect_installs_the_first_view_and_names_the_member() -> None:
    async def body() -> None:
        async with Channel(toy(), name="A", seed=1) as ch:
            assert ch.address is None and ch.view is None and ch.cluster is None
            await ch.connect("demo")
            assert ch.cluster == "demo" and ch.address is not None and ch.name == "A"
            assert ch.view is not None and ch.view.members == (ch.address,)
            assert ch.format_view() == "[A|1] (1) [A]"
            assert ch.name_of(ch.address) == "A"
            ev = await ch.receive(timeout=1)
            assert ev == ViewInstalled(ch.view)
            await ch.connect("demo")  # already connected to it: nothing happens
            with pytest.raises(LocalProtocolError, match="already connected"):
                await ch.connect("other")
        assert ch.closed and ch.view is None

    run(body)


def test_send_and_receive_every_payload_kind_in_order() -> None:
    async def body() -> None:
        async with open_channel(toy(), cluster="c", name="A") as ch:
            await ch.receive(timeout=1)  # the view
            values = [b"raw", "text", 42, 1 << 40, 2.5, True, None]
            for v in values:
                await ch.send(None, v)
            await ch.send(ch.address, "to me", flags=Flag.OOB)
            msg = Message(MsgType.BYTES, payload=b"ready")
            await ch.send(msg)
            got = []
            for _ in range(len(values) + 2):
                ev = await ch.receive(timeout=1)
                assert isinstance(ev, Received) and ev.msg.src == ch.address
                got.append(payload_object(ev.msg))
            assert got == [*values, "to me", b"ready"]

    run(body)


def test_events_iterator_and_callbacks() -> None:
    async def body() -> None:
        ch = Channel(toy(), name="B")
        seen_views: list[View] = []
        seen: list[object] = []
        async with ch:
            ch.on_view = seen_views.append
            await ch.connect("c")
            assert len(seen_views) == 1
            delivered = asyncio.Event()
            ch.on_message = lambda m: (seen.append(payload_object(m)), delivered.set())
            await ch.send(None, "cb")  # queued: it goes down with the sends of this loop iteration
            await asyncio.wait_for(delivered.wait(), 1)
            assert seen == ["cb"]
            ch.on_message = None
            await ch.send(None, "q1")
            await ch.send(None, "q2")
            out = []
            async for ev in ch.events():
                assert isinstance(ev, Received)
                out.append(payload_object(ev.msg))
                if len(out) == 2:
                    break
            assert out == ["q1", "q2"]

    run(body)


def test_events_iterator_ends_when_the_channel_closes() -> None:
    async def body() -> None:
        ch = Channel(toy(), name="C")
        await ch.connect("c")

        async def drain() -> list[object]:
            return [ev async for ev in ch.events()]

        task = asyncio.ensure_future(drain())
        await ch.wait_view(size=1, timeout=1)
        await ch.close()
        assert len(await asyncio.wait_for(task, 5)) == 1
        with pytest.raises(ChannelClosed):
            await ch.send(None, "x")

    run(body)


def test_wait_view_for_a_size_and_the_timeout_names_it() -> None:
    async def body() -> None:
        async with open_channel(toy(), cluster="c", name="A") as ch:
            assert ch.address is not None
            other = UUID(1, 2)
            ch.stack.logical_names[other] = "B"
            gms = ch.stack.find(SingletonGms)
            waiter = asyncio.ensure_future(ch.wait_view(size=2, timeout=5))
            view = View(ViewId(ch.address, 2), (ch.address, other))
            assert ch._driver is not None
            ch._driver.call(ch.stack.run_input, gms.install, view)
            assert await waiter == view
            assert ch.format_view() == "[A|2] (2) [A, B]"
            with pytest.raises(TimeoutError, match="3 members"):
                await ch.wait_view(size=3, timeout=0.01)

    run(body)


def test_connect_timeout_is_a_clear_error_and_leaves_the_channel_usable() -> None:
    async def body() -> None:
        async with Channel(toy(silent=True), name="A") as ch:
            with pytest.raises(ConnectTimeout, match="'lonely'"):
                await ch.connect("lonely", timeout=0.01)
            assert not ch.connected
            assert ch.stack.find(SingletonGms).disconnects == 1

    run(body)


def test_send_waits_while_the_stack_holds_messages_back() -> None:
    async def body() -> None:
        async with open_channel(toy(), cluster="c", name="A") as ch:
            valve = ch.stack.find(Valve)
            valve.open = False
            await ch.send(None, "first")  # queued for the stack's next send input
            assert ch._driver is not None
            ch._driver.flush_sends()  # what the loop does at the end of this iteration
            assert ch.stack.backlog() == 1  # accepted, held back by the valve
            second = asyncio.ensure_future(ch.send(None, "second"))
            await asyncio.sleep(0)
            assert not second.done()  # blocked like Java's sender thread
            assert ch._driver is not None
            ch._driver.call(ch.stack.run_input, valve.release)
            await asyncio.wait_for(second, 5)
            got = [payload_object(e.msg) for e in ch.stack.take_events() if isinstance(e, Received)]
            got += [payload_object(e.msg) for e in list(ch._queue) if isinstance(e, Received)]
            assert sorted(map(str, got)) == ["first", "second"]

    run(body)


def test_a_failing_callback_stops_the_channel_and_propagates() -> None:
    async def body() -> None:
        def bad(msg: Message) -> None:
            raise ValueError("receiver bug")

        ch = Channel(toy(), name="A")
        with pytest.raises(ValueError, match="receiver bug"):
            async with ch:
                await ch.connect("c")
                ch.on_message = bad
                await ch.send(None, "x")  # queued; the callback runs when the loop sends it
                with pytest.raises(ValueError, match="receiver bug"):
                    await ch.wait_view(size=5, timeout=5)  # woken by the failure, which it raises
                await ch.send(None, "y")  # the channel stopped: every later operation raises the error
        assert ch.closed

    run(body)


def test_disconnect_then_connect_again() -> None:
    async def body() -> None:
        async with Channel(toy(), name="A") as ch:
            await ch.connect("one")
            first = ch.address
            await ch.disconnect()
            assert ch.cluster is None and ch.view is None and ch.address is None
            with pytest.raises(LocalProtocolError):
                await ch.send(None, "x")
            await ch.connect("two")
            assert ch.cluster == "two" and ch.address != first

    run(body)


def test_config_errors_come_from_the_constructor() -> None:
    with pytest.raises(ConfigError, match="no-such-stack"):
        Channel("no-such-stack.xml")


# --- payloads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("hi", PrimitiveTag.STRING),
        (7, PrimitiveTag.INT_OBJ),
        (-(1 << 31), PrimitiveTag.INT_OBJ),
        (1 << 31, PrimitiveTag.LONG_OBJ),
        (True, PrimitiveTag.BOOLEAN_OBJ),
        (0.1, PrimitiveTag.DOUBLE_OBJ),
    ],
)
def test_python_values_are_boxed_as_java_would(value: object, tag: PrimitiveTag) -> None:
    msg = make_message(None, value)
    assert msg.type == MsgType.OBJECT and msg.flags == Flag.SERIALIZED
    assert isinstance(msg.payload, JavaPrimitive) and msg.payload.tag == tag
    assert payload_object(decode_message(encode_message(msg))) == value


def test_null_and_bytes_and_bad_values() -> None:
    null = make_message(None, None)
    assert null.type == MsgType.OBJECT and null.payload is None and null.flags == 0
    raw = make_message(None, bytearray(b"ab"))
    assert raw.type == MsgType.BYTES and raw.payload == b"ab"
    with pytest.raises(ValueError, match="long"):
        make_message(None, 1 << 64)
    with pytest.raises(TypeError, match="dict"):
        make_message(None, {})


def test_java_string_bytes_match_the_java_capture() -> None:
    # ObjectMessage(String "hello world") as Java 5.5.6 writes it (catalogue: msg-object-string-ascii)
    body = "000001001511010000000b68656c6c6f20776f726c64"
    assert encode_message(make_message(None, "hello world")).hex().endswith(body)


@given(st.one_of(st.text(), st.integers(-(1 << 63), (1 << 63) - 1), st.floats(allow_nan=False), st.booleans()))
def test_payload_round_trip(value: object) -> None:
    back = payload_object(decode_message(encode_message(make_message(None, value))))
    assert back == value and type(back) is type(value)


def test_floats_chars_and_nan_decode() -> None:
    assert math.isnan(payload_object(make_message(None, math.nan)))
    f = Message(MsgType.OBJECT, payload=JavaPrimitive(PrimitiveTag.FLOAT_OBJ, 0x3FC00000))
    assert payload_object(f) == 1.5
    c = Message(MsgType.OBJECT, payload=JavaPrimitive(PrimitiveTag.CHAR_OBJ, 0x5A))
    assert payload_object(c) == "Z"
    assert [java_string(v) for v in (None, True, "s", 3, b"b")] == ["null", "true", "s", "3", "b"]


# --- names and views ------------------------------------------------------------------------------


def test_format_view_like_java() -> None:
    a, b = UUID(0, 1), UUID(0, 2)
    names = {a: "A", b: "B"}

    def name_of(x: object) -> str:
        return names.get(x, str(x))  # type: ignore[call-overload]

    assert format_view(View(ViewId(a, 3), (a, b)), name_of) == "[A|3] (2) [A, B]"
    many = tuple(UUID(0, i) for i in range(1, 23))
    text = format_view(View(ViewId(many[0], 9), many))
    assert text.endswith(" ...]") and text.count(", ") == 19
    merge = MergeView(ViewId(a, 4), (a, b), (View(ViewId(a, 3), (a,)), View(ViewId(b, 2), (b,))))
    assert format_view(merge, name_of) == (
        "MergeView::[A|4] (2) [A, B], 2 subgroups: [A|3] (1) [A], [B|2] (1) [B]"
    )


def test_generated_names_look_like_javas() -> None:
    import random

    name = generate_local_name(random.Random(3))
    host, _, number = name.rpartition("-")
    assert host and "." not in host and 1 <= int(number) <= 65534


# --- the blocking facade --------------------------------------------------------------------------


def test_blocking_channel_round_trip() -> None:
    from pygroups import BlockingChannel

    with BlockingChannel(toy(), name="S") as ch:
        ch.connect("c")
        assert ch.view is not None and ch.format_view() == "[S|1] (1) [S]"
        assert ch.wait_view(1, timeout=1) == ch.view
        assert isinstance(ch.receive(timeout=1), ViewInstalled)
        ch.send(None, "hi")
        ev = ch.receive(timeout=1)
        assert isinstance(ev, Received) and payload_object(ev.msg) == "hi"
        with pytest.raises(TimeoutError):
            ch.receive(timeout=0.01)
        assert "LOOP" in ch.stats()
        ch.disconnect()
        assert ch.cluster is None
    with pytest.raises(ChannelClosed):
        ch.send(None, "late")


# --- GMS events the channel handles (the real GMS classes, toy layers around them) -----------------


class RefusingGms(Layer):
    """Answers Connect with GMS's JoinFailed (JoinRsp.fail_reason), as when AUTH rejects us."""

    name = "REFUSING_GMS"

    def down(self, evt: Event) -> None:
        self.down_layer.down(evt)
        if isinstance(evt, Connect):
            self.up_layer.up(JoinFailed("authentication failed"))


class LeavingGms(SingletonGms):
    """Named like GMS so the channel asks for a graceful leave; completes it at the end of the input."""

    name = "pbcast.GMS"
    leave_timeout = 50

    def __init__(self) -> None:
        super().__init__()
        self.leaves = 0

    def down(self, evt: Event) -> None:
        if isinstance(evt, Leave):
            self.leaves += 1
            self.stack.call_soon(self.up_layer.up, LeaveComplete(True))
            return
        super().down(evt)


def test_a_refused_join_raises_connect_error_with_the_reason() -> None:
    async def body() -> None:
        async with Channel(lambda: [LoopbackTransport(), RefusingGms()], name="A") as ch:
            with pytest.raises(ConnectError, match="'c' was refused: authentication failed"):
                await ch.connect("c", timeout=5)
            assert not ch.connected

    run(body)


def test_disconnect_and_close_leave_gracefully_first() -> None:
    async def body() -> None:
        ch = Channel(lambda: [LoopbackTransport(), LeavingGms()], name="A")
        gms = ch.stack.find(LeavingGms)
        await ch.connect("c")
        await ch.disconnect()
        assert (gms.leaves, gms.disconnects) == (1, 1)
        await ch.connect("c")
        await ch.close()
        assert (gms.leaves, gms.disconnects) == (2, 2)

    run(body)


def test_a_transport_that_cannot_listen_fails_connect() -> None:
    class Deaf(LoopbackTransport):
        listen_error = "TCP cannot listen on 127.0.0.1[7800..7810]: address in use"

    async def body() -> None:
        async with Channel(lambda: [Deaf(), SingletonGms()], name="A") as ch:
            with pytest.raises(ConnectError, match="address in use"):
                await ch.connect("c")
            assert not ch.connected

    run(body)
