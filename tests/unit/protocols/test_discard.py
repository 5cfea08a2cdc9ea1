"""DISCARD: seeded, reproducible drop rates; discard_all; drop_down_*; ignored members."""

from __future__ import annotations

from pygroups.address import UUID, Address
from pygroups.message import Message, MsgType
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.discard import DISCARD
from pygroups.testing.harness import LayerHarness

A = UUID(0, 1)
B = UUID(0, 2)


def make(seed: int = 0, **props: object) -> LayerHarness:
    layer = DISCARD()
    for k, v in props.items():
        setattr(layer, k, v)
    return LayerHarness(layer, local_addr=A, seed=seed)


def msg(dest: Address | None = None, src: Address | None = None) -> Message:
    return Message(MsgType.BYTES, dest=dest, src=src, payload=b"x")


def layer_of(h: LayerHarness) -> DISCARD:
    assert isinstance(h.layer, DISCARD)
    return h.layer


def test_jgroups_attribute_names() -> None:
    cls = BUILTIN_PROTOCOLS.get("DISCARD")
    assert cls is DISCARD and DISCARD.protocol_id == 26
    from pygroups.stack.properties import properties_of

    assert set(properties_of(DISCARD)) == {
        "up", "down", "excludeItself", "discard_all", "drop_down_unicasts", "drop_down_multicasts",
    }


def test_nothing_dropped_by_default() -> None:
    h = make()
    for _ in range(50):
        h.send(msg(dest=B))
        h.receive(msg(dest=A, src=B))
    assert len(h.take_down()) == 50 and len(h.take_up()) == 50


def run_rates(seed: int) -> tuple[list[int], list[int]]:
    h = make(seed=seed, down_rate=0.3, up_rate=0.6)
    down_kept, up_kept = [], []
    for i in range(1000):
        h.send(Message(MsgType.BYTES, dest=B, payload=i.to_bytes(2, "big")))
        h.receive(Message(MsgType.BYTES, dest=A, src=B, payload=i.to_bytes(2, "big")))
    down_kept = [int.from_bytes(m.payload, "big") for m in h.take_down()]
    up_kept = [int.from_bytes(m.payload, "big") for m in h.take_up()]
    layer = layer_of(h)
    assert layer.dropped_down_messages == 1000 - len(down_kept)
    assert layer.dropped_up_messages == 1000 - len(up_kept)
    return down_kept, up_kept


def test_rates_are_deterministic_by_seed_and_roughly_right() -> None:
    down1, up1 = run_rates(seed=5)
    down2, up2 = run_rates(seed=5)
    assert (down1, up1) == (down2, up2)
    assert 600 < len(down1) < 800  # 30 % dropped
    assert 300 < len(up1) < 500  # 60 % dropped
    down3, _ = run_rates(seed=6)
    assert down3 != down1


def test_exclude_itself_keeps_messages_to_and_from_self() -> None:
    h = make(down_rate=1.0, up_rate=1.0)
    h.send(msg(dest=A))
    h.send(msg(dest=B))
    h.receive(msg(dest=A, src=A))
    h.receive(msg(dest=A, src=B))
    assert [m.dest for m in h.take_down()] == [A]
    assert [m.src for m in h.take_up()] == [A]
    h2 = make(down_rate=1.0, up_rate=1.0, exclude_itself=False)
    h2.send(msg(dest=A))
    h2.receive(msg(dest=A, src=A))
    assert h2.take_down() == [] and h2.take_up() == []


def test_discard_all_loops_multicasts_back_only() -> None:
    h = make(discard_all=True)
    h.send(msg())  # multicast: delivered to ourselves only
    h.send(msg(dest=B))
    h.send(msg(dest=A))
    assert [m.dest for m in h.take_down()] == [A]
    (looped,) = h.take_up()
    assert looped.dest is None and looped.src == A
    h.receive(msg(dest=A, src=B))
    h.receive(msg(dest=A, src=A))
    assert [m.src for m in h.take_up()] == [A]


def test_drop_next_unicasts_and_multicasts() -> None:
    h = make(drop_down_unicasts=2, drop_down_multicasts=1)
    for _ in range(3):
        h.send(msg(dest=B))
        h.send(msg())
    out = h.take_down()
    assert [m.dest for m in out] == [None, B, None]
    assert layer_of(h).drop_down_unicasts == 0


def test_ignored_member() -> None:
    h = make()
    layer_of(h).add_ignore_member(B)
    h.receive(msg(dest=A, src=B))
    h.stack.run_input(h.bottom.up_batch, [msg(dest=A, src=B), msg(dest=A, src=A)])
    assert [m.src for m in h.take_up()] == [A]
    assert layer_of(h).dropped_up_messages == 2
    layer_of(h).remove_ignored_member(B)
    h.receive(msg(dest=A, src=B))
    assert len(h.take_up()) == 1


def test_sets_src_on_the_way_down() -> None:
    h = make()
    m = msg(dest=B)
    h.send(m)
    assert m.src == A


def test_xml_attributes_apply() -> None:
    from pygroups.stack.properties import apply_attributes

    layer = DISCARD()
    rest = apply_attributes(layer, {"up": "0.1", "down": "0.2", "excludeItself": "false",
                                    "drop_down_unicasts": "3"}, element="DISCARD")
    assert rest == {}
    assert (layer.up_rate, layer.down_rate, layer.exclude_itself, layer.drop_down_unicasts) == (0.1, 0.2, False, 3)
