"""The stock stacks in protocols/ are JGroups XML that the real jar accepts, and pygroups reads them as
JGroups does: the same protocols in the same order. A wrong attribute is refused by both."""

from __future__ import annotations

from pathlib import Path

import pytest

from pygroups.errors import ConfigError
from pygroups.stack.config import load_stack_file
from pygroups.stack.registry import check_spec

ROOT = Path(__file__).resolve().parents[1]
STACKS = sorted((ROOT / "protocols").glob("*.xml"))
# Addresses and ports only through ${...}; loopback here. KUBE_PING's namespace comes from its env alias.
PROPERTIES = {"jgroups.bind_addr": "127.0.0.1", "KUBERNETES_NAMESPACE": "default", "jgroups.dns.query": "localhost"}


def _java_name(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def test_there_are_stock_stacks() -> None:
    assert {p.name for p in STACKS} >= {"tcp.xml", "tcp-core.xml", "tcp-fc.xml", "tcp-fc-frag4.xml", "kubernetes.xml",
                                          "kubernetes-core.xml"}


def test_java_builds_every_stock_stack_and_pygroups_reads_the_same_protocols(java_peer) -> None:
    results = {Path(r["file"]).name: r for r in java_peer.check_configs(STACKS, PROPERTIES)}
    problems = []
    for path in STACKS:
        java = results[path.name]
        if not java["ok"]:
            problems.append(f"{path.name}: JGroups refuses it: {java['error']}")
            continue
        spec = load_stack_file(path, PROPERTIES)
        check_spec(spec)
        ours = [_java_name(p.name) for p in spec.protocols]
        if ours != java["protocols"]:
            problems.append(f"{path.name}: pygroups reads {ours}, JGroups builds {java['protocols']}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("join_timeoutt", "2000"), ("view_ack_collection_timeout", "soon")],
    ids=["unknown-name", "bad-value"],
)
def test_a_wrong_attribute_is_refused_by_both(java_peer, tmp_path: Path, attribute: str, value: str) -> None:
    text = (ROOT / "protocols" / "tcp-core.xml").read_text()
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace("<pbcast.GMS", f'<pbcast.GMS {attribute}="{value}"', 1))
    (java,) = java_peer.check_configs([bad], PROPERTIES)
    assert not java["ok"], "JGroups accepted the wrong attribute"
    with pytest.raises(ConfigError, match=attribute):
        check_spec(load_stack_file(bad, PROPERTIES))


def test_system_properties_take_precedence_as_in_java(java_peer, tmp_path: Path) -> None:
    """Java's rule, from the jar: the transport's bind_addr takes -Djgroups.bind_addr over the XML's value (the
    jar's tcp-default.xml says match-interface:eth2,...: a -D puts Java on the address asked for), while every
    other attribute keeps the XML's value over its system property (bind_port here)."""
    from pygroups.protocols import BUILTIN_PROTOCOLS
    from pygroups.stack.registry import build_layers

    text = (ROOT / "protocols" / "tcp-core.xml").read_text()
    literal = tmp_path / "literal.xml"
    literal.write_text(text.replace('bind_addr="${jgroups.bind_addr:127.0.0.1}"', 'bind_addr="127.0.0.2"', 1)
                       .replace('bind_port="${jgroups.bind_port:7800}"', 'bind_port="7805"', 1))
    assert 'bind_addr="127.0.0.2"' in literal.read_text() and 'bind_port="7805"' in literal.read_text()
    props = {**PROPERTIES, "jgroups.bind_addr": "127.0.0.3", "jgroups.bind_port": "7801"}
    (java,) = java_peer.check_configs([literal], props)
    assert java["ok"], java.get("error")
    assert java["transport"] == {"bind_addr": "127.0.0.3", "bind_port": 7805}
    tcp = build_layers(load_stack_file(literal, props), BUILTIN_PROTOCOLS, variables=props, environ={})[0]
    assert (tcp.bind_addr.text, tcp.bind_port) == (java["transport"]["bind_addr"], java["transport"]["bind_port"])
