"""JGroups stack XML -> `StackSpec`, exactly as JGroups 5.5.6 reads it (``XmlConfigurator``,
``ProtocolConfiguration.substituteVariables``, ``Util.substituteVariable``).

Rules of this file:
1. Pure: no I/O except reading the stack file the caller names and the files it ``<include>``s.
2. The XML dialect is JGroups' own (see `pygroups.stack.jgroups_xml`): what Java reads, we read
   the same way; what Java would misread is a `ConfigError` naming file and line.
3. ``<include>`` and its attribute overrides behave as in ``XmlConfigurator.parse``.
4. ``${a,b:default}`` follows Java to the letter, quirks included (see `substitute_variables`).
   Java's system properties are the explicit `variables` mapping, consulted before the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from pygroups.errors import ConfigError
from pygroups.stack.jgroups_catalogue import canonical_protocol_name
from pygroups.stack.jgroups_xml import RawNode, parse_document, where_prefix
from pygroups.stack.spec import Lookup as Lookup
from pygroups.stack.spec import ProtocolSpec as ProtocolSpec
from pygroups.stack.spec import StackSpec as StackSpec
from pygroups.stack.spec import XmlElement as XmlElement
from pygroups.stack.spec import make_lookup as make_lookup
from pygroups.stack.validate import Implementations, check_spec

# ------------------------------------------------------------------------------------ ${...}

def substitute_variables(value: str, lookup: Lookup) -> str | None:
    """``Util.substituteVariable``: replace every ``${names:default}``; None if nothing is left.

    Java quirks kept: an unresolved variable without default becomes "" (so a value that was only
    ``${x}`` yields None and the attribute is dropped); ``${a:${b}}`` is not nested - the inner
    ``${b}`` is replaced and ``${a:`` and ``}`` stay literal; a ``$`` inside ``${...}`` is emitted
    in front of it; an unterminated ``${`` stays literal.
    """
    out: list[str] = []
    cache: list[str] | None = None
    i, n = 0, len(value)
    while i < n:
        ch = value[i]
        if ch == "$":
            if i + 1 < n and value[i + 1] == "{":
                i += 1
                if cache is not None:
                    out.extend(cache)
                cache = ["${"]
            else:
                out.append(ch)
        elif ch == "}" and cache is not None:
            found = _variable("".join(cache)[2:], lookup)
            if found is not None:
                out.append(found)
            cache = None
        else:
            (out if cache is None else cache).append(ch)
        i += 1
    if cache is not None:
        out.extend(cache)
    result = "".join(out)
    return result or None


def _variable(expr: str, lookup: Lookup) -> str | None:
    """``Util.getProperty``: ``a,b:default`` - names tried in order, default after the first ':'."""
    names, sep, default = expr.partition(":")
    fallback: str | None = (default.strip() if default else default) if sep else None
    candidates = [t.strip() for t in names.split(",") if t] or [names]
    for name in candidates:
        found = lookup(name)
        if found is not None:
            return found
    return fallback


# ------------------------------------------------------------------------------------ parsing

def parse_stack_xml(text: str, *, variables: Mapping[str, str] | None = None, base_dir: str | Path | None = None,
                    environ: Mapping[str, str] | None = None, source: str | None = None) -> StackSpec:
    """Parse a JGroups stack file: expand ``<include>``s, then substitute ``${...}``.

    `base_dir` is where relative ``<include file=...>`` names are looked up first (then the stock
    stacks); `environ` defaults to ``os.environ``; `source` names the text in error messages.
    """
    root = parse_document(text, source)
    if root.name.strip().lower() != "config":
        raise ConfigError(f"{where_prefix(source, root.line)}the configuration does not start with a <config> "
                          f"element: <{root.name}>")
    lookup = make_lookup(variables, environ)
    nodes = _expand_includes(root, lookup, Path(base_dir) if base_dir is not None else None, source)
    protocols = []
    for node, where in nodes:
        if node.name == "include":
            raise ConfigError(f"{where_prefix(where, node.line)}nested <include> is not supported (JGroups expands "
                              "includes of the top-level file only)")
        attrs = {}
        for key, raw in node.attrs.items():
            value = substitute_variables(raw, lookup) if "${" in raw else raw
            if value is not None:
                attrs[key] = value
        protocols.append(ProtocolSpec(canonical_protocol_name(node.name), node.name, attrs, dict(node.attrs),
                                      tuple(_element(c) for c in node.children), where, node.line))
    return StackSpec(tuple(protocols), source)


def _element(node: RawNode) -> XmlElement:
    return XmlElement(node.name, dict(node.attrs), tuple(_element(c) for c in node.children), node.line)


def _expand_includes(root: RawNode, lookup: Lookup, base_dir: Path | None,
                     source: str | None) -> list[tuple[RawNode, str | None]]:
    """XmlConfigurator.parse: each ``<include file>`` is replaced by the included protocols (or
    the included root, if it is no ``<config>``); its other attributes are then set on every
    protocol collected so far - earlier siblings included, a JGroups quirk kept on purpose."""
    out: list[tuple[RawNode, str | None]] = []
    for child in root.children:
        if child.name != "include":
            out.append((child, source))
            continue
        raw = child.attrs.get("file")
        filename = substitute_variables(raw, lookup) if raw is not None else None
        if not filename:
            raise ConfigError(f"{where_prefix(source, child.line)}<include> needs a file attribute (got {raw!r})")
        target = _find_include(filename, base_dir)
        if target is None:
            raise ConfigError(f"{where_prefix(source, child.line)}<include file={filename!r}>: not found next to the "
                              "including file nor among the stock stacks")
        name = str(target) if isinstance(target, Path) else filename
        included = parse_document(target.read_text(encoding="utf-8"), name)
        if included.name != "config":
            out.append((included, name))
        else:
            out.extend((c, name) for c in included.children)
        overrides = {k: v for k, v in child.attrs.items() if k != "file"}
        for node, _ in out:
            node.attrs.update(overrides)
    return out


def _find_include(filename: str, base_dir: Path | None) -> Path | Traversable | None:
    path = Path(filename)
    if path.is_absolute():
        return path if path.is_file() else None
    if base_dir is not None and (base_dir / path).is_file():
        return base_dir / path
    return _stock(filename)


# ------------------------------------------------------------------------------------ files

REPO_PROTOCOLS = Path(__file__).resolve().parents[2] / "protocols"


def _stock(name: str) -> Traversable | None:
    if not name or "/" in name or "\\" in name or name in (".", ".."):
        return None
    packaged = resources.files("pygroups").joinpath("stacks").joinpath(name)
    if packaged.is_file():
        return packaged
    repo = REPO_PROTOCOLS / name
    return repo if repo.is_file() else None


def stock_stack_names() -> list[str]:
    """Names of the stock stacks (``tcp.xml``, ``kubernetes.xml``, ...)."""
    found: set[str] = set()
    packaged = resources.files("pygroups").joinpath("stacks")
    if packaged.is_dir():
        found.update(t.name for t in packaged.iterdir() if t.name.endswith(".xml"))
    if REPO_PROTOCOLS.is_dir():
        found.update(p.name for p in REPO_PROTOCOLS.glob("*.xml"))
    return sorted(found)


def resolve_stack(name_or_path: str | os.PathLike[str]) -> Path | Traversable:
    """An existing file path; else the packaged stock stack (``pygroups/stacks/``); else the
    repository's ``protocols/`` (source checkouts, editable installs)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stock = _stock(str(name_or_path))
    if stock is not None:
        return stock
    raise ConfigError(f"stack {str(name_or_path)!r} not found: no such file and no stock stack of that "
                      f"name (stock stacks: {', '.join(stock_stack_names()) or 'none'})")


def load_stack_file(path_or_stock_name: str | os.PathLike[str], variables: Mapping[str, str] | None = None, *,
                    environ: Mapping[str, str] | None = None, check: bool = True,
                    registry: Implementations | None = None) -> StackSpec:
    """Read, parse and (unless ``check=False``) validate protocol and attribute names/values
    against the JGroups catalogue (and ``registry``'s implementations of protocols JGroups lacks)."""
    target = resolve_stack(path_or_stock_name)
    base_dir = target.parent if isinstance(target, Path) else None
    source = str(path_or_stock_name)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{source}: cannot read: {e}") from e
    spec = parse_stack_xml(text, variables=variables, base_dir=base_dir, environ=environ, source=source)
    if check:
        check_spec(spec, registry)
    return spec


# ------------------------------------------------------------------------------------ printing

def stack_to_xml(spec: StackSpec) -> str:
    """JGroups XML for `spec` (raw, unsubstituted values), readable by Java and by us."""
    lines = ['<config xmlns="urn:org:jgroups" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
             '        xsi:schemaLocation="urn:org:jgroups http://www.jgroups.org/schema/jgroups.xsd">']
    for p in spec.protocols:
        lines.extend(_element_xml(p.element, p.raw_attributes or p.attributes, p.children, "    "))
    lines.append("</config>")
    return "\n".join(lines) + "\n"


def _element_xml(name: str, attrs: Mapping[str, str], children: tuple[XmlElement, ...], indent: str) -> list[str]:
    parts = [f"<{name}"]
    for key, value in attrs.items():
        if any(c in value for c in "<>\\"):
            raise ConfigError(f"<{name}> {key}={value!r}: '<', '>' and '\\' cannot be written in JGroups XML")
        parts.append(f'{key}="{value.replace(chr(34), chr(92) + chr(34))}"')
    head = indent + " ".join(parts)
    if not children:
        return [head + "/>"]
    out = [head + ">"]
    for c in children:
        out.extend(_element_xml(c.name, c.attributes, c.children, indent + "    "))
    return [*out, f"{indent}</{name}>"]
