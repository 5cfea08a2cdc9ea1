"""Stack validation: a stack is valid when Java would accept it.

Every protocol must be known (the JGroups catalogue, or an implementation the caller registers), every
attribute a name JGroups accepts, every value one JGroups parses. This works for every JGroups protocol,
implemented in pygroups or not, and reports all problems at once; only `build_layers` needs the
implementations themselves.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Protocol

from pygroups.errors import ConfigError
from pygroups.stack.bind_addr import parse_bind_addr
from pygroups.stack.jgroups_catalogue import AttributeInfo, ProtocolInfo, catalogue
from pygroups.stack.properties import (
    INT32,
    INT64,
    parse_bool,
    parse_duration,
    parse_host_list,
    parse_size,
    properties_of,
)
from pygroups.stack.spec import ProtocolSpec, StackSpec


class Implementations(Protocol):
    """What validation needs of a protocol registry (`pygroups.stack.registry.ProtocolRegistry`)."""

    def get(self, name: str) -> type | None: ...

    def names(self) -> list[str]: ...


def suggest(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean ...?)`` with the closest candidates, or nothing."""
    pool = list(candidates)
    close = difflib.get_close_matches(word, pool, n=3, cutoff=0.6)
    tail = word.rsplit(".", 1)[-1].lower()
    close += [c for c in pool if c.rsplit(".", 1)[-1].lower() == tail and c not in close]
    return f" (did you mean {' or '.join(repr(c) for c in close[:3])}?)" if close else ""


def _valid_names(info: ProtocolInfo) -> str:
    plain = sorted(n for n, a in info.accepted.items() if a.component is None)
    prefixes = sorted({f"{a.component}.*" for a in info.attributes.values() if a.component})
    return ", ".join(plain + prefixes)


_UNIT_FROM_MS = {"NANOSECONDS": (1_000_000, 1), "MICROSECONDS": (1000, 1), "MILLISECONDS": (1, 1),
                 "SECONDS": (1, 1000), "MINUTES": (1, 60_000), "HOURS": (1, 3_600_000), "DAYS": (1, 86_400_000)}


def check_value(attr: AttributeInfo, value: str) -> None:
    """Raise ConfigError if JGroups' PropertyConverters.Default would reject `value` for `attr`
    (plus the checks Java defers to init(): TCPPING host lists). Unknown types pass."""
    jt = attr.java_type
    if attr.converter is not None:
        return
    if jt == "boolean":
        parse_bool(value)
    elif jt in ("int", "long"):
        bounds = INT32 if jt == "int" else INT64
        if attr.kind == "TIME":
            mul, div = _UNIT_FROM_MS.get(attr.unit, (1, 1))
            ms = parse_duration(value)
            converted = int(ms * mul / div) if div != 1 else ms * mul
            if not bounds[0] <= converted <= bounds[1]:
                raise ConfigError(f"{value!r} is out of range for a Java {jt}")
        else:
            parse_size(value, bounds=bounds)
    elif jt == "double":
        parse_size(value, bounds=(-(2**1023), 2**1023))
    elif jt in ("short", "byte"):
        lo, hi = (-(2**15), 2**15 - 1) if jt == "short" else (-128, 127)
        try:
            n = int(value.strip(), 10)
        except ValueError:
            raise ConfigError(f"{value!r} is not a Java {jt}") from None
        if not lo <= n <= hi:
            raise ConfigError(f"{value!r} is out of range for a Java {jt}")
    elif jt == "InetAddress":
        parse_bind_addr(value)
    elif attr.name == "initial_hosts" and attr.declared_in.endswith(".TCPPING"):
        parse_host_list(value)


def _check_protocol(p: ProtocolSpec, registry: Implementations | None) -> list[str]:
    info = catalogue().get(p.name)
    cls = registry.get(p.name) if registry is not None else None
    if info is None and cls is None:
        known = [x.name for x in catalogue()] + (registry.names() if registry is not None else [])
        return [f"{p.where}unknown protocol <{p.element}>{suggest(p.name, known)}"]
    errors = []
    for attr in p.raw_attributes or p.attributes:
        if info is not None:
            ai = info.attribute(attr)
            if ai is None:
                errors.append(f"{p.where}<{p.element}> has no attribute {attr!r}{suggest(attr, info.accepted)}; "
                              f"valid: {_valid_names(info)}")
                continue
            value = p.attributes.get(attr)
            if value is not None:
                try:
                    check_value(ai, value)
                except ConfigError as e:
                    errors.append(f"{p.where}<{p.element}> {attr}={value!r}: {e}")
        elif cls is not None:
            names = {n for prop in properties_of(cls).values() for n in prop.names}
            if attr not in names:
                errors.append(f"{p.where}<{p.element}> has no attribute {attr!r}{suggest(attr, names)}; "
                              f"valid: {', '.join(sorted(names))}")
    return errors


def check_spec(spec: StackSpec, registry: Implementations | None = None) -> None:
    """Raise one ConfigError listing every unknown protocol, unknown attribute and bad value.

    Protocols are checked against the JGroups catalogue; ``registry`` adds implementations that are
    not JGroups protocols (an application's own), whose properties are then the valid attributes."""
    errors = [e for p in spec.protocols for e in _check_protocol(p, registry)]
    if not spec.protocols:
        errors.append(f"{spec.source or 'stack'}: the stack has no protocols")
    if errors:
        raise ConfigError("\n".join(errors))
