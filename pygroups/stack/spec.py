"""The parsed form of a JGroups stack file (`StackSpec`, `ProtocolSpec`, `XmlElement`) and the variable
lookup Java's ``${...}`` uses: plain values shared by the XML reader, validation and layer assembly."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pygroups.stack.jgroups_catalogue import canonical_protocol_name
from pygroups.stack.jgroups_xml import where_prefix

Lookup = Callable[[str], "str | None"]


@dataclass(frozen=True, slots=True)
class XmlElement:
    """A protocol's nested XML (RELAY2 sites, FORK stacks): kept verbatim for the protocol."""

    name: str
    attributes: Mapping[str, str]
    children: tuple[XmlElement, ...] = ()
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ProtocolSpec:
    """One protocol element. `attributes` are after ``${}`` substitution; an attribute whose
    value substitutes to nothing is dropped, as in Java (the protocol keeps its default)."""

    name: str                              # canonical: "pbcast.GMS", "kubernetes.KUBE_PING"
    element: str                           # as written: "org.jgroups.protocols.pbcast.GMS"
    attributes: Mapping[str, str]
    raw_attributes: Mapping[str, str] = field(default_factory=dict)
    children: tuple[XmlElement, ...] = ()
    source: str | None = field(default=None, compare=False)   # where it was read (for errors only)
    line: int = field(default=0, compare=False)

    @property
    def where(self) -> str:
        """``"tcp.xml:12: "`` for error messages (empty when unknown)."""
        return where_prefix(self.source, self.line)


@dataclass(frozen=True, slots=True)
class StackSpec:
    """A parsed stack: protocols bottom (transport) first, as in the file."""

    protocols: tuple[ProtocolSpec, ...]
    source: str | None = field(default=None, compare=False)

    def names(self) -> list[str]:
        return [p.name for p in self.protocols]

    def get(self, name: str) -> ProtocolSpec | None:
        wanted = canonical_protocol_name(name)
        return next((p for p in self.protocols if p.name == wanted), None)


def make_lookup(variables: Mapping[str, str] | None, environ: Mapping[str, str] | None = None) -> Lookup:
    """Java looks at system properties, then the environment; we look at `variables`, then
    `environ` (``os.environ`` when None). An empty value counts as set, as in Java."""
    env = os.environ if environ is None else environ
    vars_ = variables or {}

    def lookup(name: str) -> str | None:
        if not name:
            return None  # System.getProperty("") throws; Java skips the name
        found = vars_.get(name)
        return found if found is not None else env.get(name)

    return lookup
