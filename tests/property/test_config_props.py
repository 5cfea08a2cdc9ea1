"""Properties of the config layer: unit round trips, no exception but ConfigError on any input,
XML printing round trips, and ${} substitution against a reference reading of the Java rules."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from pygroups.errors import ConfigError
from pygroups.stack.bind_addr import NetIf, parse_bind_addr, resolve_bind_addr
from pygroups.stack.config import (
    ProtocolSpec,
    StackSpec,
    make_lookup,
    parse_stack_xml,
    stack_to_xml,
    substitute_variables,
)
from pygroups.stack.jgroups_catalogue import AttributeInfo, catalogue
from pygroups.stack.properties import (
    INT32,
    INT64,
    format_duration,
    format_size,
    parse_bool,
    parse_duration,
    parse_host_list,
    parse_size,
)
from pygroups.stack.registry import ProtocolRegistry, check_spec, check_value

number = st.one_of(
    st.integers(0, 10**9).map(str),
    st.tuples(st.integers(0, 10**6), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"),
)
duration_text = st.tuples(number, st.sampled_from(["", "ms", "s", "m", "h", "d", "MS", "S", "H"])).map("".join)
size_text = st.tuples(number, st.sampled_from(["", "k", "K", "kb", "KB", "kib", "m", "M", "mb", "g", "G", "gib"])
                      ).map("".join)
junk = st.text(st.characters(codec="utf-8"), max_size=40)
ATTRIBUTES = [a for p in catalogue() for a in p.attributes.values()]


@given(st.integers(*INT64))
def test_duration_format_parse_round_trip(ms: int) -> None:
    assert parse_duration(format_duration(ms)) == ms


@given(duration_text)
def test_duration_strings_round_trip(text: str) -> None:
    ms = parse_duration(text)
    canonical = format_duration(ms)
    assert parse_duration(canonical) == ms
    assert format_duration(parse_duration(canonical)) == canonical


@given(st.integers(-(2**53), 2**53))
def test_size_format_parse_round_trip(n: int) -> None:
    """Exact up to 2**53: JGroups reads sizes as doubles, so larger values round in Java too."""
    assert parse_size(format_size(n)) == n


@given(size_text)
def test_size_strings_round_trip(text: str) -> None:
    n = parse_size(text)
    assert parse_size(format_size(n)) == n


def _only_config_error(fn: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(ConfigError):
        fn(*args)


@given(junk)
def test_converters_raise_only_config_error(text: str) -> None:
    for fn in (parse_duration, parse_size, parse_bool, parse_host_list, parse_bind_addr):
        _only_config_error(fn, text)
    _only_config_error(lambda t: parse_size(t, bounds=INT32), text)
    _only_config_error(resolve_bind_addr, text, [NetIf("lo", ())])


@given(st.sampled_from(ATTRIBUTES), junk)
def test_catalogue_value_checks_raise_only_config_error(attr: AttributeInfo, text: str) -> None:
    _only_config_error(check_value, attr, text)


@given(junk)
def test_substitution_never_raises(text: str) -> None:
    out = substitute_variables(text, make_lookup({"a": "1", "b": ""}, {}))
    assert out is None or isinstance(out, str)
    if "${" not in text and "$" not in text:
        assert out == (text or None)


names = st.from_regex(r"[a-z][a-z0-9_.]{0,8}", fullmatch=True)
plain = st.text(st.characters(exclude_characters="${}:,", codec="ascii"), max_size=8)


@given(st.dictionaries(names, plain, max_size=4), names, st.one_of(st.none(), plain))
def test_substitution_reference(variables: dict[str, str], name: str, default: str | None) -> None:
    """A lone ${name[:default]}: the variable if set, else the (trimmed) default, else nothing."""
    expr = "${" + name + ("" if default is None else ":" + default) + "}"
    expected = variables.get(name, None if default is None else (default.strip() if default else default))
    got = substitute_variables(f"<{expr}>", make_lookup(variables, {}))
    assert got == f"<{expected or ''}>"


xml_fragments = st.sampled_from([
    "<", ">", "/>", "</", "<!--", "-->", "- ->", '"', "'", "=", "/", " ", "\n", "config", "CONFIG", "TCP",
    "pbcast.GMS", "include", 'file="x.xml"', "a", '"1"', "${", "}", ":", ",", "\\", "<?xml?>", "<!DOCTYPE",
    "&amp;", "bind_addr", "\u00e9",
])
xmlish = st.lists(xml_fragments, max_size=40).map("".join)


@given(st.one_of(junk, xmlish))
def test_parse_raises_only_config_error(text: str) -> None:
    try:
        spec = parse_stack_xml(text, environ={})
    except ConfigError:
        return
    _only_config_error(check_spec, spec, ProtocolRegistry())


protocol_names = st.sampled_from(sorted(p.name for p in catalogue()))
values = st.text(st.characters(exclude_characters='<>\\', codec="utf-8", exclude_categories=["Cs"]), max_size=12)
attr_names = st.from_regex(r"[a-z_][a-z0-9_.]{0,10}", fullmatch=True)


@given(st.lists(st.tuples(protocol_names, st.dictionaries(attr_names, values, max_size=4)), min_size=1, max_size=5))
def test_xml_print_parse_round_trip(protocols: list[tuple[str, dict[str, str]]]) -> None:
    """stack_to_xml writes raw values; reading them back (same variables) gives the same spec."""
    lookup = make_lookup({}, {})
    specs = []
    for name, attrs in protocols:
        subst = {k: substitute_variables(v, lookup) if "${" in v else v for k, v in attrs.items()}
        specs.append(ProtocolSpec(name, name, {k: v for k, v in subst.items() if v is not None}, attrs))
    spec = StackSpec(tuple(specs))
    try:
        xml = stack_to_xml(spec)
    except ConfigError:
        return
    if re.search(r"<\s*!\s*-\s*-|-\s*-\s*>", xml.split("\n", 2)[2]):
        return  # comment markers inside values are comments to JGroups too
    again = parse_stack_xml(xml, environ={})
    assert [(p.name, dict(p.attributes), dict(p.raw_attributes)) for p in again.protocols] == \
           [(p.name, dict(p.attributes), dict(p.raw_attributes)) for p in spec.protocols]
