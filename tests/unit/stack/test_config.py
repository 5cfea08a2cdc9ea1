"""XML -> StackSpec: JGroups' XML dialect, includes, ${} substitution, validation, assembly.

Expected values marked "Java:" were obtained by feeding the same text to JGroups 5.5.6's
XmlConfigurator + ProtocolConfiguration.substituteVariables (see tests/data/config/README.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pygroups.errors import ConfigError
from pygroups.stack.config import (
    ProtocolSpec,
    StackSpec,
    load_stack_file,
    make_lookup,
    parse_stack_xml,
    resolve_stack,
    stack_to_xml,
    stock_stack_names,
    substitute_variables,
)
from pygroups.stack.jgroups_catalogue import canonical_protocol_name, catalogue
from pygroups.stack.properties import Duration, Str, prop
from pygroups.stack.registry import ProtocolRegistry, build_layers, check_spec, protocol

DATA = Path(__file__).resolve().parents[2] / "data" / "config"
REPO = Path(__file__).resolve().parents[3]
JGROUPS_FILES = sorted((DATA / "jgroups-5.5.6").glob("*.xml"))
ISPN_FILES = sorted((DATA / "infinispan-16.2.2").glob("*.xml"))
STOCK_FILES = sorted((REPO / "protocols").glob("*.xml"))
NOT_A_STACK = {"fork-stacks.xml"}


def parse(text: str, **variables: str) -> StackSpec:
    return parse_stack_xml(text, variables=variables, environ={})


def attrs(text: str, **variables: str) -> dict[str, str]:
    return dict(parse(f'<config><A {text}/></config>', **variables).protocols[0].attributes)


# ------------------------------------------------------------------------------------ real files

@pytest.mark.parametrize("path", [p for p in JGROUPS_FILES if p.name not in NOT_A_STACK] + ISPN_FILES,
                         ids=lambda p: p.name)
def test_every_shipped_stack_parses_and_validates(path: Path) -> None:
    spec = load_stack_file(path, environ={})  # check=True: names and values against the catalogue
    assert spec.protocols
    assert all(catalogue().get(p.name) is not None for p in spec.protocols)


def test_fork_stacks_is_not_a_stack_file() -> None:
    with pytest.raises(ConfigError, match=r"fork-stacks.xml:4: the configuration does not start with a <config>"):
        load_stack_file(DATA / "jgroups-5.5.6" / "fork-stacks.xml", environ={})


@pytest.mark.parametrize("path", STOCK_FILES, ids=lambda p: p.name)
def test_stock_stacks_parse_and_validate(path: Path) -> None:
    spec = load_stack_file(path.name, environ={})
    assert spec.protocols[0].name in ("TCP", "SHARED_LOOPBACK")


def test_stock_stacks_present() -> None:
    assert {"tcp.xml", "tcp-core.xml", "tcp-fc.xml", "tcp-fc-frag4.xml", "kubernetes.xml", "dns-ping.xml",
            "sim.xml", "kubernetes-core.xml", "dns-ping-core.xml"} <= set(stock_stack_names())
    assert (REPO / "protocols" / "README.md").is_file()
    assert not (REPO / "protocols" / "__init__.py").exists()


def test_stock_tcp_xml_has_the_jgroups_tcp_xml_layers_and_attributes() -> None:
    ours = load_stack_file("tcp.xml", environ={})
    theirs = load_stack_file(DATA / "jgroups-5.5.6" / "tcp.xml", environ={})
    assert ours.names() == theirs.names()
    for mine, java in zip(ours.protocols, theirs.protocols, strict=True):
        assert set(mine.raw_attributes) == set(java.raw_attributes), mine.name
    assert ours.get("TCP").attributes["bind_addr"] == "127.0.0.1"  # type: ignore[union-attr]
    tcpping = ours.get("TCPPING")
    assert tcpping is not None and tcpping.attributes["initial_hosts"] == "127.0.0.1[7800]"


def test_stock_core_and_fc_stacks() -> None:
    core = ["TCP", "TCPPING", "pbcast.NAKACK2", "UNICAST3", "pbcast.STABLE", "pbcast.GMS"]
    assert load_stack_file("tcp-core.xml", environ={}).names() == core
    assert load_stack_file("tcp-fc.xml", environ={}).names() == [*core, "UFC", "MFC", "FRAG2"]
    assert load_stack_file("tcp-fc-frag4.xml", environ={}).names() == [*core, "UFC", "MFC", "FRAG4"]
    kube = load_stack_file("kubernetes.xml", environ={})
    assert kube.protocols[2].element == "org.jgroups.protocols.kubernetes.KUBE_PING"
    assert kube.protocols[2].name == "kubernetes.KUBE_PING"
    kube_core = load_stack_file("kubernetes-core.xml", environ={})
    assert kube_core.names() == ["TCP", "kubernetes.KUBE_PING", *core[2:], "UFC", "MFC", "FRAG4"]
    assert load_stack_file("dns-ping.xml", environ={}).protocols[2].name == "dns.DNS_PING"
    assert load_stack_file("sim.xml", environ={}).names()[:2] == ["SHARED_LOOPBACK", "SHARED_LOOPBACK_PING"]


def test_variables_and_environment_feed_stock_stacks() -> None:
    spec = load_stack_file("tcp.xml", {"jgroups.bind_port": "7900"}, environ={"jgroups.bind_addr": "10.0.0.7"})
    tcp = spec.protocols[0].attributes
    assert (tcp["bind_addr"], tcp["bind_port"]) == ("10.0.0.7", "7900")


def test_comment_test_xml_oddities() -> None:
    """Nested comments, comments between attributes (JGRP-2692)."""
    spec = load_stack_file(DATA / "jgroups-5.5.6" / "comment-test.xml", environ={})
    assert spec.protocols[0].attributes == {"thread_pool.keep_alive_time": "30s"}
    assert spec.get("UFC").attributes == {"max_credits": "10M", "min_threshold": "0.4"}  # type: ignore[union-attr]
    assert "FD_SOCK2" not in spec.names() and "pbcast.STATE_TRANSFER" not in spec.names()
    assert spec.names()[-1] == "FRAG2"


# ------------------------------------------------------------------------------------ XML dialect

def test_names_are_canonicalised_and_originals_kept() -> None:
    spec = parse("<config><org.jgroups.protocols.TCP/><pbcast.GMS/>"
                 "<org.jgroups.protocols.kubernetes.KUBE_PING/><com.acme.MINE/></config>")
    assert spec.names() == ["TCP", "pbcast.GMS", "kubernetes.KUBE_PING", "com.acme.MINE"]
    assert spec.protocols[2].element == "org.jgroups.protocols.kubernetes.KUBE_PING"
    assert canonical_protocol_name("org.jgroups.protocols.dns.DNS_PING") == "dns.DNS_PING"


def test_java_lexical_details() -> None:
    """Java: prolog skipped, any case for <config>, '/ >', spaces around '=', \\ escapes, entities kept."""
    spec = parse('<?xml version="1.0"?>\n<CONFIG xmlns="urn:org:jgroups"><B   x = "1"   y="2" / >'
                 r'<C l="\"q\" \\ back" m="a&amp;b" n="}" e=""/></CONFIG>')
    assert spec.protocols[0].attributes == {"x": "1", "y": "2"}
    assert spec.protocols[1].attributes == {"l": '"q"  back', "m": "a&amp;b", "n": "}", "e": ""}


def test_nested_elements_are_kept_for_the_protocol() -> None:
    spec = parse('<config><FORK a="1"><fork-stacks><fork-stack id="x"><config/></fork-stack></fork-stacks>'
                 "</FORK><B/></config>")
    fork = spec.protocols[0]
    assert fork.children[0].name == "fork-stacks"
    assert fork.children[0].children[0].attributes == {"id": "x"}
    assert spec.names() == ["FORK", "B"]


@pytest.mark.parametrize(("text", "message"), [
    ('<config><A x="a>b"/></config>', r"line 1: '<' or '>' inside an attribute value"),
    ("<config><A x='1'/></config>", "double quotes"),
    ('<config><A x="1"/>text<B/></config>', "unexpected text 'text"),
    ('<config><A x="1" x="2"/></config>', "duplicate attribute 'x'"),
    ("<config>\n<A>\n</config>", r"line 3: end tag </config> does not match: expected </A>"),
    ("<config><A/>", "element <config> .* is never closed"),
    ("<config><A x/></config>", "attribute 'x' of <A> has no value"),
    ('<config><A x="1/></config>', "unterminated attribute value"),
    ("<config><!-- <A/> </config>", "unterminated comment"),
    ("<config><A/> --> </config>", "'-->' without a matching '<!--'"),
    ("<config><!DOCTYPE x></config>", "DOCTYPE"),
    ("", "no XML element found"),
    ("<config/><config/>", "content after the root element"),
    ("<stack><A/></stack>", "does not start with a <config> element"),
])
def test_malformed_xml(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_stack_xml(text, environ={}, source="bad.xml" if "line" not in message else None)


def test_malformed_xml_names_file_and_line() -> None:
    with pytest.raises(ConfigError, match=r"^bad.xml:3: unexpected text"):
        parse_stack_xml("<config>\n  <A/>\n  oops\n</config>", environ={}, source="bad.xml")


# ------------------------------------------------------------------------------------ ${...}

def test_substitution_like_java() -> None:
    """Java: every case below was checked against Util.substituteVariable (JGroups 5.5.6)."""
    got = attrs('a="${nope}" b="x${nope}y" c="${a:${b:x}}" d="${nope:}" f="${a$b}" g="$" h="${unterminated" '
                'j="${ nope , HOME :  spaced default }" k="pre${nope:d1}mid${nope2:d2}post" o="${:dd}" p="${x:a:b}"')
    assert got == {"b": "xy", "c": "${a:x}", "f": "$", "g": "$", "h": "${unterminated", "j": "spaced default",
                   "k": "pred1midd2post", "o": "dd", "p": "a:b"}


def test_substitution_comma_list_order_and_sources() -> None:
    lookup = make_lookup({"b": "from-vars"}, {"a": "from-env", "b": "env-b"})
    assert substitute_variables("${a,b:d}", lookup) == "from-env"
    assert substitute_variables("${b,a:d}", lookup) == "from-vars"  # variables beat the environment
    assert substitute_variables("${x,,y:d}", lookup) == "d"
    empty = make_lookup({}, {"A1": ""})
    assert substitute_variables("${A1:dflt}", empty) is None  # Java: an empty env var counts as set


def test_unresolved_variable_drops_the_attribute() -> None:
    spec = parse('<config><TCP bind_port="${jgroups.bind_port}" bind_addr="127.0.0.1"/></config>')
    assert spec.protocols[0].attributes == {"bind_addr": "127.0.0.1"}
    assert spec.protocols[0].raw_attributes["bind_port"] == "${jgroups.bind_port}"


def test_environment_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYGROUPS_TEST_PORT", "7811")
    spec = parse_stack_xml('<config><TCP bind_port="${PYGROUPS_TEST_PORT:1}"/></config>')
    assert spec.protocols[0].attributes["bind_port"] == "7811"


# ------------------------------------------------------------------------------------ includes

def test_include_like_java() -> None:
    """Java: PING/NAKACK2/UNICAST3 get stats=false (earlier siblings too), MERGE3 not, GMS from a
    root-less file."""
    spec = load_stack_file(DATA / "include" / "main.xml", environ={}, check=False)
    assert spec.names() == ["PING", "pbcast.NAKACK2", "UNICAST3", "MERGE3", "pbcast.GMS"]
    assert [p.attributes.get("stats") for p in spec.protocols] == ["false", "false", "false", None, None]
    assert spec.get("pbcast.NAKACK2").attributes["xmit_interval"] == "500ms"  # type: ignore[union-attr]
    assert spec.protocols[1].source is not None and spec.protocols[1].source.endswith("part.xml")


def test_include_file_name_is_substituted() -> None:
    spec = load_stack_file(DATA / "include" / "main.xml", {"single.file": "part.xml"}, environ={}, check=False)
    assert spec.names()[-2:] == ["pbcast.NAKACK2", "UNICAST3"]


def test_include_errors() -> None:
    with pytest.raises(ConfigError, match=r"missing.xml:3: <include file='does-not-exist.xml'>: not found"):
        load_stack_file(DATA / "include" / "missing.xml", environ={})
    with pytest.raises(ConfigError, match="nested <include> is not supported"):
        load_stack_file(DATA / "include" / "nested.xml", environ={})
    with pytest.raises(ConfigError, match="needs a file attribute"):
        parse('<config><include file="${nope}"/></config>')


def test_include_by_absolute_path_and_unreadable_files(tmp_path: Path) -> None:
    part = tmp_path / "part.xml"
    part.write_text('<config><UNICAST3 xmit_interval="1s"/></config>')
    assert parse(f'<config><include file="{part}"/></config>').names() == ["UNICAST3"]
    with pytest.raises(ConfigError, match="not found"):
        parse(f'<config><include file="{tmp_path / "nope.xml"}"/></config>')
    bad = tmp_path / "latin1.xml"
    bad.write_bytes(b'<config><TCP x="\xe9"/></config>')
    with pytest.raises(ConfigError, match=r"latin1\.xml: cannot read"):
        load_stack_file(bad)


def test_include_of_a_stock_stack() -> None:
    spec = parse('<config><include file="tcp-core.xml" stats="true"/></config>')
    assert spec.names()[0] == "TCP" and all(p.attributes["stats"] == "true" for p in spec.protocols)


# ------------------------------------------------------------------------------------ resolve / print

def test_resolve_stack_order(tmp_path: Path) -> None:
    own = tmp_path / "tcp.xml"
    own.write_text("<config><TCP/></config>")
    assert resolve_stack(own) == own
    assert resolve_stack("tcp.xml").name == "tcp.xml"
    with pytest.raises(ConfigError, match=r"stack 'nope.xml' not found.*stock stacks: .*tcp.xml"):
        resolve_stack("nope.xml")
    with pytest.raises(ConfigError, match="not found"):
        resolve_stack("../pyproject.toml")


def test_stack_to_xml_round_trips() -> None:
    for path in STOCK_FILES + JGROUPS_FILES[:5]:
        if path.name in NOT_A_STACK:
            continue
        spec = load_stack_file(path, environ={}, check=False)
        again = parse_stack_xml(stack_to_xml(spec), environ={})
        assert [(p.element, dict(p.attributes), p.children) for p in again.protocols] == \
               [(p.element, dict(p.attributes), p.children) for p in spec.protocols]
    nested = parse('<config><FORK><fork-stacks a="1"><fork-stack id="x"/></fork-stacks></FORK></config>')
    assert parse_stack_xml(stack_to_xml(nested), environ={}).protocols[0].children == nested.protocols[0].children
    for bad in ("<", ">", "a\\b"):
        with pytest.raises(ConfigError, match="cannot be written"):
            stack_to_xml(StackSpec((ProtocolSpec("A", "A", {"x": bad}, {"x": bad}),)))


# ------------------------------------------------------------------------------------ validation

def test_wrong_attribute_suggests_the_right_one() -> None:
    spec = parse_stack_xml('<config>\n<TCP/>\n<pbcast.GMS join_timout="2s"/></config>', environ={}, source="s.xml")
    with pytest.raises(ConfigError) as err:
        check_spec(spec, ProtocolRegistry())
    msg = str(err.value)
    assert msg.startswith("s.xml:3: <pbcast.GMS> has no attribute 'join_timout' (did you mean 'join_timeout'?)")
    assert "valid: " in msg and "max_join_attempts" in msg


def test_unknown_protocol_lists_close_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown protocol <GMS> \(did you mean 'pbcast.GMS'\?\)"):
        check_spec(parse("<config><GMS/></config>"), ProtocolRegistry())
    with pytest.raises(ConfigError, match=r"unknown protocol <UNICAST5> \(did you mean 'UNICAST4' or 'UNICAST3'"):
        check_spec(parse("<config><UNICAST5/></config>"), ProtocolRegistry())


def test_all_problems_reported_at_once() -> None:
    spec = parse('<config><TCP bind_port="x"/><NOPE/><UNICAST3 xmit_interval="soon" foo="1"/></config>')
    with pytest.raises(ConfigError) as err:
        check_spec(spec, ProtocolRegistry())
    lines = str(err.value).splitlines()
    assert len(lines) == 4
    assert "bind_port='x'" in lines[0] and "not a size" in lines[0]
    assert "unknown protocol <NOPE>" in lines[1]
    assert "xmit_interval='soon'" in lines[2] and "not a duration" in lines[2]
    assert "no attribute 'foo'" in lines[3]


@pytest.mark.parametrize(("element", "good", "bad"), [
    ("pbcast.GMS", 'join_timeout="1.5s"', 'join_timeout="1.5 s"'),
    ("MFC", 'min_threshold="0.4"', 'min_threshold="lots"'),
    ("pbcast.GMS", 'print_local_addr="TRUE"', 'print_local_addr="yes"'),
    ("TCP", 'bind_addr="match-interface:eth.*,loopback"', 'bind_addr="matchbox"'),
    ("TCPPING", 'initial_hosts="a[7800], b[7801] c"', 'initial_hosts="a[99999]"'),
    ("UNICAST3", 'id="77"', 'id="70000"'),
    ("TCP", 'bundler.max_size="64K"', 'bundler.max_size="3000000000"'),
    ("TCP", 'thread_pool.keep_alive_time="1m"', 'thread_pool.keep_alive_time="1 minute"'),
])
def test_values_checked_as_java_converts_them(element: str, good: str, bad: str) -> None:
    check_spec(parse(f"<config><{element} {good}/></config>"), ProtocolRegistry())
    with pytest.raises(ConfigError, match=f"<{element}> {bad.split('=')[0]}="):
        check_spec(parse(f"<config><{element} {bad}/></config>"), ProtocolRegistry())


def test_aliases_deprecated_and_component_attributes_are_valid() -> None:
    check_spec(parse('<config><TCP use_virtual_threads="false" diag.enabled="true" bundler.use_ringbuffer="true"/>'
                     '<TCPPING initial_hosts_str="a[1]"/><pbcast.GMS max_leave_attempts="2"/></config>'),
               ProtocolRegistry())
    with pytest.raises(ConfigError, match="no attribute 'level'"):  # NAKACK2 overrides setLevel unannotated
        check_spec(parse('<config><pbcast.NAKACK2 level="debug"/></config>'), ProtocolRegistry())
    with pytest.raises(ConfigError, match=r"no attribute 'diag\.nope'"):
        check_spec(parse('<config><TCP diag.nope="1"/></config>'), ProtocolRegistry())


# ------------------------------------------------------------------------------------ registry

def make_registry() -> ProtocolRegistry:
    reg = ProtocolRegistry()

    @protocol("TCP", registry=reg)
    class TCP:
        bind_port: int = prop(int, 7800, "port")
        sock_conn_timeout: int = prop(Duration, 2000, "ms")

    @protocol("pbcast.GMS", id=12, registry=reg)
    class GMS:
        join_timeout: int = prop(Duration, 2000, "ms")
        validated = False

        def validate(self) -> None:
            if self.join_timeout <= 0:
                raise ConfigError("GMS: join_timeout must be > 0")
            self.validated = True

    @protocol("org.jgroups.protocols.kubernetes.KUBE_PING", registry=reg)
    class KUBE_PING:
        namespace: str = prop(Str, "default", "namespace")

    return reg


def test_protocol_decorator_sets_name_and_id_from_the_catalogue() -> None:
    reg = make_registry()
    gms, kube = reg.get("pbcast.GMS"), reg.get("kubernetes.KUBE_PING")
    assert gms is not None and (gms.name, gms.protocol_id) == ("pbcast.GMS", 12)  # type: ignore[attr-defined]
    assert kube is not None and kube.protocol_id == 2017  # type: ignore[attr-defined]
    assert "org.jgroups.protocols.pbcast.GMS" in reg and reg.names() == ["TCP", "kubernetes.KUBE_PING", "pbcast.GMS"]


def test_protocol_decorator_rejects_inconsistencies() -> None:
    with pytest.raises(ValueError, match="id=13 disagrees"):
        protocol("pbcast.GMS", id=13, registry=ProtocolRegistry())
    with pytest.raises(ValueError, match=r"\['join_timout'\] are not JGroups attributes.*'join_timeout'"):
        @protocol("pbcast.GMS", registry=ProtocolRegistry())
        class GMS:
            join_timout: int = prop(Duration, 2000)
    with pytest.raises(ValueError, match="already registered"):
        reg = make_registry()
        protocol("TCP", registry=reg)(type("Other", (), {}))


def test_build_layers_applies_attributes_env_and_validate() -> None:
    spec = parse('<config><TCP bind_port="${port:7801}" thread_pool.max_threads="10"/>'
                 '<org.jgroups.protocols.kubernetes.KUBE_PING/><pbcast.GMS join_timeout="3s"/></config>')
    tcp, kube, gms = build_layers(spec, make_registry(), environ={"KUBERNETES_NAMESPACE": "prod"})
    assert tcp.bind_port == 7801 and tcp.sock_conn_timeout == 2000  # type: ignore[attr-defined]
    assert kube.namespace == "prod"  # type: ignore[attr-defined]  # systemProperty from the catalogue
    assert gms.join_timeout == 3000 and gms.validated  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="join_timeout must be > 0"):
        build_layers(parse('<config><pbcast.GMS join_timeout="0"/></config>'), make_registry())


def test_deprecated_jgroups_attribute_is_accepted_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    (gms,) = build_layers(parse('<config><pbcast.GMS max_leave_attempts="3"/></config>'), make_registry())
    assert gms.join_timeout == 2000  # type: ignore[attr-defined]
    assert "max_leave_attempts is deprecated in JGroups: ignored" in caplog.text


def test_xml_beats_system_property() -> None:
    spec = parse('<config><kubernetes.KUBE_PING namespace="xml"/></config>')
    (kube,) = build_layers(spec, make_registry(), variables={"KUBERNETES_NAMESPACE": "var"})
    assert kube.namespace == "xml"  # type: ignore[attr-defined]


def test_not_implemented_lists_all_at_once() -> None:
    spec = load_stack_file("tcp.xml", environ={}, check=False)
    with pytest.raises(ConfigError) as err:
        build_layers(spec, make_registry())
    assert str(err.value) == ("tcp.xml: not implemented yet: TCPPING, MERGE3, FD_SOCK2, FD_ALL3, VERIFY_SUSPECT2, "
                              "BARRIER, pbcast.NAKACK2, UNICAST3, pbcast.STABLE, MFC, UFC, FRAG2, "
                              "pbcast.STATE_TRANSFER")


def test_python_only_protocol_is_validated_against_its_properties() -> None:
    reg = ProtocolRegistry()

    @protocol("com.acme.CUSTOM", registry=reg)
    class Custom:
        level: int = prop(int, 1, "level")

    assert Custom.protocol_id == 0  # type: ignore[attr-defined]
    (layer,) = build_layers(parse('<config><com.acme.CUSTOM level="5"/></config>'), reg)
    assert layer.level == 5  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"no attribute 'levle' \(did you mean 'level'\?\); valid: level"):
        build_layers(parse('<config><com.acme.CUSTOM levle="5"/></config>'), reg)


def test_protocol_decorator_names_a_layer_subclass_with_its_jgroups_name() -> None:
    """Layer.__init_subclass__ defaults ``name`` to the class name; @protocol must still win."""
    from pygroups.stack.layer import Layer
    from pygroups.stack.registry import ProtocolRegistry, protocol

    reg = ProtocolRegistry()

    @protocol("pbcast.STABLE", registry=reg)
    class MyStable(Layer):
        pass

    assert MyStable.name == "pbcast.STABLE"
    assert MyStable.protocol_id == 13
    assert reg.get("pbcast.STABLE") is MyStable


# --- Java's precedence of system properties over the XML (Configurator 5.5.6; checked against the jar in
# conformance/test_config_conformance.py) ---------------------------------------------------------------------

_TCP_LITERAL = '<config><TCP bind_addr="match-interface:eth9,127.0.0.2" bind_port="7805"/></config>'


def _tcp(variables: dict[str, str] | None = None, environ: dict[str, str] | None = None) -> object:
    from pygroups.protocols import BUILTIN_PROTOCOLS

    (tcp,) = build_layers(parse(_TCP_LITERAL), BUILTIN_PROTOCOLS, variables=variables, environ=environ or {})
    return tcp


def test_the_transports_bind_addr_system_property_beats_the_xml() -> None:
    tcp = _tcp({"jgroups.bind_addr": "127.0.0.1"})
    assert tcp.bind_addr is not None and tcp.bind_addr.text == "127.0.0.1"  # type: ignore[attr-defined]
    from_env = _tcp(environ={"jgroups.bind_addr": "127.0.0.3"})
    assert from_env.bind_addr.text == "127.0.0.3"  # type: ignore[attr-defined]


def test_every_other_attribute_keeps_the_xml_over_its_system_property() -> None:
    tcp = _tcp({"jgroups.bind_port": "7801"})
    assert tcp.bind_port == 7805  # type: ignore[attr-defined]
    assert tcp.bind_addr.text == "match-interface:eth9,127.0.0.2"  # type: ignore[attr-defined]
