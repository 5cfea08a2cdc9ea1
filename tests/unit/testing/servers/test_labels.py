"""Label selectors: the Kubernetes grammar, its whitespace rules, errors, and matching semantics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pygroups.testing.servers.labels import (
    LabelSelectorError,
    Operator,
    Requirement,
    Selector,
    matches,
    parse_selector,
)

POD = {"app": "cache", "env": "prod", "tier": "db", "k8s.io/name": "kc", "rev": "7"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", True),
        ("   ", True),
        ("app=cache", True),
        ("app==cache", True),
        ("app=web", False),
        ("app!=web", True),
        ("app!=cache", False),
        ("missing!=x", True),  # != matches objects without the key
        ("missing=x", False),
        ("app", True),
        ("missing", False),
        ("!missing", True),
        ("!app", False),
        ("env in (prod,qa)", True),
        ("env in (qa)", False),
        ("env notin (qa)", True),
        ("env notin (prod, qa)", False),
        ("missing notin (x)", True),  # notin matches objects without the key
        ("missing in (x)", False),
        ("app=cache,env=prod", True),
        ("app=cache,env=qa", False),
        ("app = cache , env in ( prod , qa ) , !canary", True),
        ("\tapp=cache\n", True),
        ("k8s.io/name=kc", True),
        ("k8s.io/name=other", False),
        ("app=", False),  # the empty value: only a label whose value is ""
        ("rev>5", True),
        ("rev<5", False),
        ("app>5", False),  # a non-integer label value never matches gt/lt
        ("env in ()", False),  # "()" is the set {""}
    ],
)
def test_matching(selector: str, expected: bool) -> None:
    assert matches(selector, POD) is expected


def test_empty_value_matches_an_empty_label() -> None:
    assert matches("app=", {"app": ""})
    assert matches("app in ()", {"app": ""})
    assert matches("app in (,x)", {"app": ""})
    assert not matches("app in (x)", {"app": ""})


def test_keywords_are_identifiers_in_key_and_value_positions() -> None:
    assert matches("in=notin", {"in": "notin"})
    assert matches("notin in (in,notin)", {"notin": "in"})
    sel = parse_selector("in")
    assert sel.requirements == (Requirement("in", Operator.EXISTS),)


def test_parse_result_is_sorted_by_key_and_printable() -> None:
    sel = parse_selector("z=1, a in (y,x), !m")
    assert [r.key for r in sel.requirements] == ["a", "m", "z"]
    assert str(sel) == "a in (x,y),!m,z=1"
    assert parse_selector(str(sel)) == sel
    assert parse_selector("").empty()
    assert Selector().matches(None)


@pytest.mark.parametrize(
    "bad",
    [
        "a b",
        "a=b c",
        "a=b,",
        ",a=b",
        "=b",
        "!a=b",
        "!",
        "a in b",
        "a in (b",
        "a in (b c)",
        "a notin",
        "a in (b))",
        "a=b=c",
        "a=(b)",
        "a=!b",
        "a>x",
        "a<",
        "a===b",
        "a=b,,c=d",
        "A/b=c",  # prefix must be a lowercase DNS subdomain
        "/b=c",
        "a/b/c=d",
        "-a=b",
        "a=-b",
        "a=b-",
        "a=" + "v" * 64,
        "k" * 64,
        "a$=b",
        "a=b$",
    ],
)
def test_invalid_selectors_raise_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_selector(bad)
    assert isinstance(info.value, LabelSelectorError)
    assert str(info.value)


def test_error_messages_follow_kubernetes() -> None:
    with pytest.raises(LabelSelectorError, match=r"found 'c', expected: ',' or 'end of string'"):
        parse_selector("a=b c")
    with pytest.raises(LabelSelectorError, match=r"unable to parse requirement: found 'b' expected: '\('"):
        parse_selector("a in b")
    with pytest.raises(LabelSelectorError, match=r"expected: identifier after ','"):
        parse_selector("a=b,")
    with pytest.raises(LabelSelectorError, match="name part must be no more than 63 characters"):
        parse_selector("k" * 64)


def test_long_valid_names() -> None:
    key = "a" * 63
    prefix = ".".join(["b" * 63] * 3) + ".c"  # 193 characters
    assert matches(f"{prefix}/{key}={'v' * 63}", {f"{prefix}/{key}": "v" * 63})


# --- properties -------------------------------------------------------------------------------------

_name = st.from_regex(r"[a-z0-9]([a-z0-9._-]{0,8}[a-z0-9])?", fullmatch=True).filter(lambda s: s not in ("in", "notin"))
_value = st.one_of(st.just(""), _name)
_ws = st.sampled_from(["", " ", "  ", "\t"])
_labels = st.dictionaries(st.sampled_from(["a", "b", "c", "app", "x.io/d"]), st.sampled_from(["", "1", "v", "w"]))


@st.composite
def _requirement(draw: st.DrawFn) -> tuple[str, str, frozenset[str]]:
    key = draw(st.sampled_from(["a", "b", "c", "app", "x.io/d"]))
    op = draw(st.sampled_from(["exists", "!", "=", "==", "!=", "in", "notin"]))
    if op in ("in", "notin"):
        values = draw(st.lists(st.sampled_from(["1", "v", "w", "zz"]), min_size=1, max_size=3))
        return key, op, frozenset(values)
    if op in ("=", "==", "!="):
        return key, op, frozenset([draw(st.sampled_from(["", "1", "v", "zz"]))])
    return key, op, frozenset()


def _render(req: tuple[str, str, frozenset[str]], ws: str) -> str:
    key, op, values = req
    if op == "exists":
        return key
    if op == "!":
        return f"!{ws}{key}"
    if op in ("in", "notin"):
        return f"{key} {ws}{op}{ws} ({ws}{(ws + ',' + ws).join(sorted(values))}{ws})"
    return f"{key}{ws}{op}{ws}{next(iter(values))}"


def _reference(req: tuple[str, str, frozenset[str]], labels: dict[str, str]) -> bool:
    key, op, values = req
    if op == "exists":
        return key in labels
    if op == "!":
        return key not in labels
    if op in ("=", "==", "in"):
        return labels.get(key) in values if key in labels else False
    return key not in labels or labels[key] not in values


@given(st.lists(_requirement(), max_size=4), _labels, _ws)
def test_matches_the_reference_semantics(
    reqs: list[tuple[str, str, frozenset[str]]], labels: dict[str, str], ws: str
) -> None:
    text = (ws + "," + ws).join(_render(r, ws) for r in reqs)
    sel = parse_selector(ws + text + ws)
    assert len(sel.requirements) == len(reqs)
    assert sel.matches(labels) is all(_reference(r, labels) for r in reqs)
    # printing and parsing again gives the same selector
    assert parse_selector(str(sel)) == sel


@given(st.text(alphabet="ab=!(),<> in", max_size=12), _labels)
def test_arbitrary_text_parses_or_raises_value_error(text: str, labels: dict[str, str]) -> None:
    try:
        sel = parse_selector(text)
    except ValueError:
        return
    assert isinstance(sel.matches(labels), bool)
    assert parse_selector(str(sel)) == sel


@given(_name, _value)
def test_equality_of_a_present_label(key: str, value: str) -> None:
    assert matches(f"{key}={value}", {key: value})
    assert not matches(f"{key}!={value}", {key: value})
    assert matches(f"{key} in ({value})", {key: value})
    assert not matches(f"{key} notin ({value})", {key: value})
