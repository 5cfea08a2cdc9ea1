"""Protocol registries (``@protocol``) and layer assembly (`build_layers`).

Rules of this file:
1. Protocol ids come from the JGroups catalogue, never from call sites: ``@protocol("pbcast.GMS")``
   gets 12 from ``jg-protocol-ids.xml``; an explicit ``id=`` must agree with it.
2. The stack core never imports protocol implementations. A registry is assembled above them and
   handed in: `pygroups.protocols.BUILTIN_PROTOCOLS` lists pygroups' own, an application adds its
   own with `ProtocolRegistry.with_protocols`.
3. `build_layers` needs an implementation for every protocol of the stack and names *all* missing
   ones at once (stacks must match Java's exactly: headers carry no length, so a peer's unknown header
   poisons the whole frame). Validation itself is `pygroups.stack.validate` and needs none.
4. Attributes JGroups accepts but a pygroups class has no property for (``thread_pool.*``,
   ``diag.*``, socket buffer sizes) are validated, then ignored with a debug log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pygroups.errors import ConfigError
from pygroups.stack.jgroups_catalogue import ProtocolInfo, canonical_protocol_name, catalogue
from pygroups.stack.properties import apply_attributes, properties_of
from pygroups.stack.spec import ProtocolSpec, StackSpec, make_lookup
from pygroups.stack.validate import check_spec, check_value, suggest

log = logging.getLogger(__name__)
C = TypeVar("C", bound=type)
_FROM_CATALOGUE: Any = object()


class ProtocolRegistry:
    """Maps canonical protocol names (``pbcast.GMS``) to implementation classes."""

    def __init__(self, classes: Iterable[type] = ()) -> None:
        self._classes: dict[str, type] = {}
        for cls in classes:
            self.register(cls)

    def register(self, cls: type, name: str | None = None) -> None:
        """Add ``cls`` under ``name`` (default: the ``name`` its ``@protocol`` decorator set)."""
        key = canonical_protocol_name(name if name is not None else _declared_name(cls))
        existing = self._classes.get(key)
        if existing is not None and existing.__qualname__ != cls.__qualname__:
            raise ValueError(f"protocol {key!r} is already registered to {existing.__qualname__}")
        self._classes[key] = cls

    def with_protocols(self, *classes: type) -> ProtocolRegistry:
        """A new registry: these implementations plus this one's (an application's own protocols)."""
        return ProtocolRegistry([*self._classes.values(), *classes])

    def unregister(self, name: str) -> None:
        self._classes.pop(canonical_protocol_name(name), None)

    def get(self, name: str) -> type | None:
        return self._classes.get(canonical_protocol_name(name))

    def names(self) -> list[str]:
        return sorted(self._classes)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical_protocol_name(name) in self._classes


def _declared_name(cls: type) -> str:
    name = vars(cls).get("name")
    if not isinstance(name, str) or getattr(cls, "__pygroups_protocol__", None) != name:
        raise ValueError(f"{cls.__qualname__} is not a @protocol class: register it with an explicit name")
    return name


def protocol(name: str, *, id: int | None = _FROM_CATALOGUE,
             registry: ProtocolRegistry | None = None) -> Callable[[C], C]:
    """Class decorator: ``@protocol("pbcast.GMS")`` declares an implementation (any class with a
    no-argument constructor) of that JGroups protocol: it sets the ``name`` and ``protocol_id`` class
    attributes and checks the properties against the catalogue. With ``registry`` it also registers
    the class there; otherwise a registry lists it explicitly (`ProtocolRegistry([cls, ...])`)."""
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
                                 f"{key}{suggest(unknown[0], info.accepted)}")
        cls.__pygroups_protocol__ = key  # type: ignore[attr-defined]
        if registry is not None:
            registry.register(cls, key)
        return cls

    return decorate


# ------------------------------------------------------------------------------------ assembly

_TP_CONFIG = "org.jgroups.protocols.TPConfig"


def _transport_bind_addr_override(p: ProtocolSpec, info: ProtocolInfo | None,
                                  lookup: Callable[[str], str | None]) -> Mapping[str, str]:
    """The transport's attributes, with ``bind_addr`` taken from its system property when one is set.

    Java's rule (Configurator.createProtocolsAndInitializeAttrs, 5.5.6): every other attribute keeps
    the XML's value over its ``systemProperty`` (resolveAndAssignField consults the property only when
    the XML is silent), but the transport's ``bind_addr`` is assigned twice, the first time from the
    configuration's own map, which removes it; so the second, ordinary pass finds no XML value and takes
    ``jgroups.bind_addr`` (a -D property, then the environment variable). Hence ``-Djgroups.bind_addr=...``
    beats ``bind_addr="match-interface:..."`` in the jar's tcp-default.xml.
    """
    attr = info.attribute("bind_addr") if info is not None else None
    if attr is None or attr.declared_in != _TP_CONFIG:
        return p.attributes
    for name in attr.system_properties:
        value = lookup(name)
        if value is not None:
            if p.attributes.get("bind_addr", value) != value:
                log.debug("%s<%s> bind_addr=%r: the system property %s=%r wins, as in Java", p.where, p.element,
                          p.attributes["bind_addr"], name, value)
            return {**p.attributes, "bind_addr": value}
    return p.attributes


def build_layers(spec: StackSpec, registry: ProtocolRegistry, *,
                 variables: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None,
                 check: bool = True) -> list[object]:
    """Instantiate every protocol bottom-up from ``registry`` (usually `pygroups.protocols.BUILTIN_PROTOCOLS`),
    apply its attributes, then call ``validate()``.

    A property the XML leaves out falls back to its JGroups ``systemProperty`` names (``variables``,
    then ``environ``), as Java fields do: e.g. ``KUBERNETES_NAMESPACE`` for KUBE_PING.namespace.
    """
    reg = registry
    if check:
        check_spec(spec, reg)
    missing = list(dict.fromkeys(p.name for p in spec.protocols if reg.get(p.name) is None))
    if missing:
        raise ConfigError(f"{spec.source + ': ' if spec.source else ''}not implemented yet: {', '.join(missing)}")
    lookup = make_lookup(variables, environ)
    layers: list[object] = []
    for index, p in enumerate(spec.protocols):
        cls = reg.get(p.name)
        assert cls is not None
        info = catalogue().get(p.name)
        extra_env = {a.name: a.system_properties for a in info.attributes.values()} if info else {}
        layer = cls()
        attributes = _transport_bind_addr_override(p, info, lookup) if index == 0 else p.attributes
        leftover = apply_attributes(layer, attributes, element=p.element, where=p.where, lookup=lookup,
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


__all__ = ["ProtocolRegistry", "build_layers", "check_spec", "check_value", "protocol"]
