"""The protocol registry (``@protocol``), stack validation and layer assembly.

Rules of this file:
1. Protocol ids come from the JGroups catalogue, never from call sites: ``@protocol("pbcast.GMS")``
   gets 12 from ``jg-protocol-ids.xml``; an explicit ``id=`` must agree with it.
2. A stack is valid when Java would accept it: every protocol is known (catalogue or registry),
   every attribute name is one JGroups accepts, every value parses as JGroups parses it.
3. Validation works for every JGroups protocol, implemented or not; only `build_layers` needs
   implementations, and it names *all* missing ones at once (stacks must match Java's exactly:
   headers carry no length, so a peer's unknown header poisons the whole frame).
4. Attributes JGroups accepts but a pygroups class has no property for (``thread_pool.*``,
   ``diag.*``, socket buffer sizes) are validated, then ignored with a debug log.
"""

from __future__ import annotations

import difflib
import importlib
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pygroups.errors import ConfigError
from pygroups.stack.bind_addr import parse_bind_addr
from pygroups.stack.config import ProtocolSpec, StackSpec, make_lookup
from pygroups.stack.jgroups_catalogue import AttributeInfo, ProtocolInfo, canonical_protocol_name, catalogue
from pygroups.stack.properties import (
    INT32,
    INT64,
    apply_attributes,
    parse_bool,
    parse_duration,
    parse_host_list,
    parse_size,
    properties_of,
)

log = logging.getLogger(__name__)
C = TypeVar("C", bound=type)
_FROM_CATALOGUE: Any = object()


class ProtocolRegistry:
    """Maps canonical protocol names (``pbcast.GMS``) to implementation classes."""

    def __init__(self) -> None:
        self._classes: dict[str, type] = {}

    def register(self, cls: type, name: str) -> None:
        key = canonical_protocol_name(name)
        existing = self._classes.get(key)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"protocol {key!r} is already registered to {existing.__qualname__}")
        self._classes[key] = cls

    def unregister(self, name: str) -> None:
        self._classes.pop(canonical_protocol_name(name), None)

    def get(self, name: str) -> type | None:
        return self._classes.get(canonical_protocol_name(name))

    def names(self) -> list[str]:
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical_protocol_name(name) in self._classes


REGISTRY = ProtocolRegistry()
_loaded_builtin = False


def default_registry() -> ProtocolRegistry:
    """The global registry, after importing ``pygroups.protocols`` (which registers everything)."""
    global _loaded_builtin
    if not _loaded_builtin:
        _loaded_builtin = True
        try:
            importlib.import_module("pygroups.protocols")
        except ModuleNotFoundError as e:  # pragma: no cover - only while the package is being written
            if e.name != "pygroups.protocols":
                raise
    return REGISTRY


def protocol(name: str, *, id: int | None = _FROM_CATALOGUE,
             registry: ProtocolRegistry | None = None) -> Callable[[C], C]:
    """Class decorator: ``@protocol("pbcast.GMS")`` registers an implementation (any class with a
    no-argument constructor) and sets its ``name`` and ``protocol_id`` class attributes."""
    key = canonical_protocol_name(name)
    info = catalogue().get(key)
    if info is not None and id is not _FROM_CATALOGUE and id != info.protocol_id:
        raise ValueError(f"{key}: id={id} disagrees with jg-protocol-ids.xml ({info.protocol_id})")
    pid = info.protocol_id if info is not None else (None if id is _FROM_CATALOGUE else id)

    def decorate(cls: C) -> C:
        for attr, want in (("name", key), ("protocol_id", pid or 0)):
            have = vars(cls).get(attr)
            if attr == "name" and have == cls.__name__:
                have = None  # the default Layer.__init_subclass__ gives every class; not a choice
            if have is not None and have != want:
                raise ValueError(f"{cls.__qualname__}.{attr} is {have!r}, but {key!r} needs {want!r}")
            setattr(cls, attr, want)
        if info is not None:
            unknown = [p for p in properties_of(cls) if info.attribute(p) is None]
            if unknown:
                raise ValueError(f"{cls.__qualname__}: properties {unknown} are not JGroups attributes of "
                                 f"{key}{_suggest(unknown[0], info.accepted)}")
        (registry or REGISTRY).register(cls, key)
        return cls

    return decorate


# ------------------------------------------------------------------------------------ validation

def _suggest(word: str, candidates: Iterable[str]) -> str:
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


def _check_protocol(p: ProtocolSpec, registry: ProtocolRegistry) -> list[str]:
    info = catalogue().get(p.name)
    cls = registry.get(p.name)
    if info is None and cls is None:
        known = [x.name for x in catalogue()] + registry.names()
        return [f"{p.where}unknown protocol <{p.element}>{_suggest(p.name, known)}"]
    errors = []
    for attr in p.raw_attributes or p.attributes:
        if info is not None:
            ai = info.attribute(attr)
            if ai is None:
                errors.append(f"{p.where}<{p.element}> has no attribute {attr!r}{_suggest(attr, info.accepted)}; "
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
                errors.append(f"{p.where}<{p.element}> has no attribute {attr!r}{_suggest(attr, names)}; "
                              f"valid: {', '.join(sorted(names))}")
    return errors


def check_spec(spec: StackSpec, registry: ProtocolRegistry | None = None) -> None:
    """Raise one ConfigError listing every unknown protocol, unknown attribute and bad value."""
    reg = registry or default_registry()
    errors = [e for p in spec.protocols for e in _check_protocol(p, reg)]
    if not spec.protocols:
        errors.append(f"{spec.source or 'stack'}: the stack has no protocols")
    if errors:
        raise ConfigError("\n".join(errors))


# ------------------------------------------------------------------------------------ assembly

def build_layers(spec: StackSpec, registry: ProtocolRegistry | None = None, *,
                 variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
                 check: bool = True) -> list[object]:
    """Instantiate every protocol bottom-up, apply its attributes, then call ``validate()``.

    A property the XML leaves out falls back to its JGroups ``systemProperty`` names (``variables``,
    then ``environ``), as Java fields do: e.g. ``KUBERNETES_NAMESPACE`` for KUBE_PING.namespace.
    """
    reg = registry or default_registry()
    if check:
        check_spec(spec, reg)
    missing = list(dict.fromkeys(p.name for p in spec.protocols if reg.get(p.name) is None))
    if missing:
        raise ConfigError(f"{spec.source + ': ' if spec.source else ''}not implemented yet: {', '.join(missing)}")
    lookup = make_lookup(variables, environ)
    layers: list[object] = []
    for p in spec.protocols:
        cls = reg.get(p.name)
        assert cls is not None
        info = catalogue().get(p.name)
        extra_env = {a.name: a.system_properties for a in info.attributes.values()} if info else {}
        layer = cls()
        leftover = apply_attributes(layer, p.attributes, element=p.element, where=p.where, lookup=lookup,
                                    extra_env=extra_env, warn=log.warning)
        for name in leftover:
            ai = info.attribute(name) if info is not None else None
            if ai is None:
                raise ConfigError(f"{p.where}<{p.element}> has no attribute {name!r}")
            if ai.deprecated:
                log.warning("%s<%s> %s is deprecated in JGroups: %s", p.where, p.element, name, ai.deprecated)
            log.debug("%s<%s> %s=%r: accepted by JGroups, unused by pygroups", p.where, p.element, name,
                      leftover[name])
        if hasattr(layer, "env_lookup"):
            layer.env_lookup = lookup  # the layer reads more names itself (KUBE_PING's deprecation check)
        validate = getattr(layer, "validate", None)
        if callable(validate):
            validate()
        layers.append(layer)
    return layers
