"""Every header of jg-magic-map.xml is registered, round-trips, and survives arbitrary bytes."""

from __future__ import annotations

import contextlib
import json

import construct
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.message import Header
from pygroups.wire.headers import HEADERS_BY_MAGIC
from tests.strategies.headers import HEADER_STRATEGIES

# The <class> ids 51..101 of jg-magic-map.xml (5.5.6): every header class JGroups ships.
MAGIC_MAP_HEADERS = {
    51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 65, 66, 67, 68, 69, 71, 74, 75, 76, 77, 78, 80, 82, 83,
    84, 86, 88, 91, 92, 93, 94, 96, 97, 98, 99, 100, 101,
}  # fmt: skip

CLASSES = sorted(HEADERS_BY_MAGIC.values(), key=lambda c: c.MAGIC)
OURS = [c for c in CLASSES if c in HEADER_STRATEGIES]


def test_every_magic_map_header_is_registered() -> None:
    assert set(HEADERS_BY_MAGIC) == MAGIC_MAP_HEADERS


def test_every_header_class_has_a_strategy() -> None:
    missing = [c.__name__ for c in CLASSES if c not in HEADER_STRATEGIES and c.__name__ != "TpHeader"]
    assert not missing


def test_java_class_is_the_simple_name() -> None:
    assert HEADERS_BY_MAGIC[55].JAVA_CLASS == "GmsHeader"
    assert HEADERS_BY_MAGIC[67].JAVA_CLASS == "Header"  # RequestCorrelator$Header
    assert all("$" not in c.JAVA_CLASS and "." not in c.JAVA_CLASS for c in CLASSES)


@pytest.mark.parametrize("cls", OURS, ids=lambda c: f"{c.MAGIC}-{c.__name__}")
def test_round_trip(cls: type[Header]) -> None:
    fmt = cls.FORMAT  # type: ignore[attr-defined]

    @given(HEADER_STRATEGIES[cls])
    def check(hdr: Header) -> None:
        data = fmt.build(hdr)
        back = fmt.parse(data)
        assert type(back) is cls
        assert back == hdr
        assert fmt.build(back) == data  # catches address subclasses that compare equal but lose fields
        doc = hdr.to_json()  # type: ignore[attr-defined]
        json.dumps(doc)
        if "type" in doc:
            t = hdr.type  # type: ignore[attr-defined]
            known = hasattr(cls, "Type") and t in cls.Type._value2member_map_  # type: ignore[attr-defined]
            assert doc["type"] == (cls.Type(t).name if known else t)  # type: ignore[attr-defined]

    check()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: f"{c.MAGIC}-{c.__name__}")
def test_arbitrary_bytes_raise_only_construct_errors(cls: type[Header]) -> None:
    fmt = cls.FORMAT  # type: ignore[attr-defined]

    @given(st.binary(max_size=80))  # example count from the profile (HYPOTHESIS_PROFILE=deep: 100,000)
    def check(data: bytes) -> None:
        with contextlib.suppress(construct.ConstructError):
            fmt.parse(data)

    check()


@pytest.mark.parametrize("cls", OURS, ids=lambda c: f"{c.MAGIC}-{c.__name__}")
def test_truncations_of_valid_headers_raise_only_construct_errors(cls: type[Header]) -> None:
    fmt = cls.FORMAT  # type: ignore[attr-defined]

    @given(HEADER_STRATEGIES[cls], st.data())
    def check(hdr: Header, data: st.DataObject) -> None:
        raw = fmt.build(hdr)
        cut = data.draw(st.integers(0, len(raw)))
        flip = data.draw(st.integers(0, 255))
        mutated = bytearray(raw[:cut])
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] ^= flip
        with contextlib.suppress(construct.ConstructError):
            fmt.parse(bytes(mutated))

    check()
