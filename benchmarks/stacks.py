"""Stacks the benchmarks derive at run time from a stock XML in protocols/ (never a second copy in the repo).

:func:`derive_stack` parses the stock file with an XML parser, removes protocol elements and/or sets attributes,
and writes the result (comments kept, the JGroups namespace as the default one) into a directory the caller owns,
usually a temporary one. :func:`check_stacks` asks the real JGroups 5.5.6 jar (the conformance peer's ``config``
mode: it builds, does not connect, a JChannel) and pygroups to build a file, and says which protocols each built,
so a benchmark can show that both languages load the derived stack and that it differs from the stock one only
by what was removed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path

#: The failure-detection and merge protocols of JGroups' tcp.xml (what ``--fd-cost`` removes).
FD_PROTOCOLS = ("MERGE3", "FD_SOCK2", "FD_ALL3", "VERIFY_SUSPECT2")

JGROUPS_NS = "urn:org:jgroups"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def derive_stack(
    src: str | Path,
    dest_dir: str | Path,
    *,
    remove: Iterable[str] = (),
    attributes: Mapping[tuple[str, str], str] | None = None,
    name: str | None = None,
) -> Path:
    """Writes ``src`` without the protocol elements named in ``remove`` (their XML element names, e.g. ``MERGE3``,
    ``pbcast.STATE_TRANSFER``) and with ``attributes`` ((element name, attribute) -> value) set, into ``dest_dir``;
    returns the new file's path. Raises ValueError when a protocol to remove or to change is not in the stack."""
    src = Path(src)
    remove = set(remove)
    attributes = dict(attributes or {})
    ET.register_namespace("", JGROUPS_NS)
    ET.register_namespace("xsi", XSI_NS)
    tree = ET.parse(src, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
    root = tree.getroot()
    protocols = [el for el in root if isinstance(el.tag, str)]  # comments' tag is a function
    names = {_local(el.tag) for el in protocols}
    missing = sorted((remove | {p for p, _ in attributes}) - names)
    if missing:
        raise ValueError(f"{src.name} has no {', '.join(missing)}")
    for el in protocols:
        local = _local(el.tag)
        if local in remove:
            root.remove(el)
            continue
        for (proto, attr), value in attributes.items():
            if proto == local:
                el.set(attr, value)
    what = []
    if remove:
        what.append("without " + ", ".join(p for p in (_local(e.tag) for e in protocols) if p in remove))
    if attributes:
        what.append("with " + ", ".join(f"{p}.{a}={v}" for (p, a), v in attributes.items()))
    note = ET.Comment(f" derived at run time from {src.name}: {'; '.join(what) or 'unchanged'} ")
    note.tail = root.text
    root.insert(0, note)
    out = Path(dest_dir) / (name or f"{src.stem}-derived.xml")
    tree.write(out, encoding="utf-8", xml_declaration=True)
    return out


def protocol_names(path: str | Path) -> list[str]:
    """The protocol element names of a stack file, in order (as written: ``pbcast.GMS``)."""
    root = ET.parse(path).getroot()
    return [_local(el.tag) for el in root if isinstance(el.tag, str)]


def check_stacks(paths: Iterable[str | Path], properties: Mapping[str, str]) -> list[dict[str, list[str] | str]]:
    """Builds each file in Java (the real jar, one JVM for all) and in pygroups; per file and language the
    protocol names it built, bottom first, short names as JGroups prints them (``GMS``), or the error as a
    string."""
    import javapeer  # conformance/ is on sys.path in the benchmarks

    from pygroups.stack.config import load_stack_file
    from pygroups.stack.registry import check_spec

    files = [Path(p) for p in paths]
    java: dict[str, list[str] | str] = {}
    try:
        for r in javapeer.check_configs(files, dict(properties)):
            java[Path(r["file"]).name] = list(r["protocols"]) if r["ok"] else f"JGroups refuses it: {r['error']}"
    except javapeer.JavaPeerError as e:
        java = {p.name: str(e).strip().splitlines()[0] for p in files}
    out: list[dict[str, list[str] | str]] = []
    for p in files:
        py: list[str] | str
        try:
            spec = load_stack_file(p, dict(properties))
            check_spec(spec)
            py = [x.name.rsplit(".", 1)[-1] for x in spec.protocols]
        except Exception as e:  # a report, not a crash: the benchmark prints it
            py = f"{type(e).__name__}: {e}"
        out.append({"java": java.get(p.name, "no answer from the Java peer"), "python": py})
    return out
