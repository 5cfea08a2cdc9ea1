"""Converters (JGroups units), bind_addr keywords, the prop() descriptor and the catalogue."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from pygroups.errors import ConfigError
from pygroups.stack.bind_addr import (
    AddressScope,
    Host,
    Match,
    NetIf,
    NoDns,
    Scope,
    StackType,
    UseLocalhost,
    default_address,
    java_host_address,
    parse_bind_addr,
    resolve_bind_addr,
)
from pygroups.stack.jgroups_catalogue import catalogue
from pygroups.stack.properties import (
    INT32,
    BindAddr,
    Bool,
    Duration,
    Float,
    HostList,
    HostPort,
    Int,
    Size,
    StrList,
    apply_attributes,
    expand_host_list,
    format_duration,
    format_size,
    parse_bool,
    parse_duration,
    parse_host_list,
    parse_size,
    prop,
    properties_of,
)

GOLDEN = Path(__file__).resolve().parents[2] / "data" / "config" / "units-java-5.5.6.tsv"
ip = ipaddress.ip_address


# ------------------------------------------------------------------------------------ units

def _ours(fn: Any, text: str) -> str:
    try:
        return str(fn(text))
    except ConfigError:
        return "ERR"


def _golden() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in GOLDEN.read_text().splitlines():
        if not line.startswith("#"):
            text, dur, size, integer = line.split("\t")
            rows.append((text, dur, size, integer))
    return rows


@pytest.mark.parametrize("row", _golden(), ids=lambda r: repr(r[0]))
def test_units_agree_with_java(row: tuple[str, str, str, str]) -> None:
    """Wherever we accept a value, Java reads the same number; wherever Java fails, we fail.
    (We reject some things Java accepts: '500ms' as a size is 500 MB there, '2sec' is 2s.)"""
    text, *java = row
    ours = [_ours(parse_duration, text), _ours(parse_size, text), _ours(lambda t: parse_size(t, bounds=INT32), text)]
    for mine, theirs in zip(ours, java, strict=True):
        assert mine == "ERR" or mine == theirs, (text, ours, java)
        assert theirs != "ERR" or mine == "ERR", (text, ours, java)


@pytest.mark.parametrize(("text", "ms"), [
    ("500", 500), ("200ms", 200), ("2s", 2000), ("1.5s", 1500), ("1m", 60_000), ("1h", 3_600_000),
    ("1d", 86_400_000), ("2S", 2000), (" 30s ", 30_000), ("0.5", 0), ("-1", -1), ("1e3", 1000),
])
def test_parse_duration(text: str, ms: int) -> None:
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "s", "2 s", "2sec", "1.5.5", "two", "1ms5", "9223372036854775808"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match=r"duration|out of range"):
        parse_duration(text)


@pytest.mark.parametrize(("text", "n"), [
    ("1500", 1500), ("60K", 60_000), ("16k", 16_000), ("64KB", 64_000), ("64KiB", 64_000), ("4M", 4_000_000),
    ("4mib", 4_000_000), ("1G", 1_000_000_000), ("1.5k", 1500), ("2.01k", 2009), ("64 k", 64_000), ("-1", -1),
])
def test_parse_size(text: str, n: int) -> None:
    """K is 1000 (JGroups: 'MB nowadays ... 1 million bytes'); KiB too, because readBytes finds
    the 'k' before it looks for "kib"; 2.01k is 2009 because Java multiplies doubles (checked)."""
    assert parse_size(text) == n


@pytest.mark.parametrize("text", ["", "K", "4 MB B", "4T", "1d", "500ms", "0x10", "NaN"])
def test_parse_size_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="size"):
        parse_size(text)


def test_int_bounds() -> None:
    assert parse_size("2147483647", bounds=INT32) == 2**31 - 1
    with pytest.raises(ConfigError, match="out of range"):
        parse_size("3g", bounds=INT32)


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (500, "500ms"), (2000, "2s"), (90_000, "90s"),
                                             (120_000, "2m"), (-1, "-1ms"), (86_400_000, "1d")])
def test_format_duration(value: int, text: str) -> None:
    assert format_duration(value) == text and parse_duration(text) == value


@pytest.mark.parametrize(("value", "text"), [(0, "0"), (1500, "1500"), (60_000, "60K"), (4_000_000, "4M"),
                                             (2_000_000_000, "2G"), (-3000, "-3K")])
def test_format_size(value: int, text: str) -> None:
    assert format_size(value) == text and parse_size(text) == value


def test_booleans_are_strict() -> None:
    assert parse_bool("TRUE") is True and parse_bool(" false ") is False
    with pytest.raises(ConfigError, match="not a boolean"):
        parse_bool("yes")  # Java's Boolean.parseBoolean would silently say false


def test_other_converters() -> None:
    assert Float.parse("0.4") == 0.4 and Float.parse("1k") == 1000.0
    assert StrList.parse(" a, b ,,c ") == ("a", "b", "c") and StrList.format(("a", "b")) == "a,b"
    assert Int.parse("60K") == 60_000
    assert Size.format(64_000) == "64K" and Duration.format(1500) == "1500ms"
    assert Bool.format(True) == "true"


def test_host_lists() -> None:
    hosts = parse_host_list("10.0.0.1[7800], node-b[7801]\n::1[7802] lonely")
    assert hosts == (HostPort("10.0.0.1", 7800), HostPort("node-b", 7801), HostPort("::1", 7802),
                     HostPort("lonely", None))
    assert HostList.format(hosts[:2]) == "10.0.0.1[7800],node-b[7801]"
    assert expand_host_list(hosts[3:], port_range=2, default_port=7800) == [
        HostPort("lonely", 7800), HostPort("lonely", 7801), HostPort("lonely", 7802)]
    for bad in ("a[x]", "a[70000]", "a[1", "a]"):
        with pytest.raises(ConfigError):
            parse_host_list(bad)


# ------------------------------------------------------------------------------------ bind_addr

IFS = [
    NetIf("lo", (ip("127.0.0.1"), ip("::1"))),
    NetIf("docker0", (ip("172.17.0.1"),), up=False),
    NetIf("eth0", (ip("fe80::1"), ip("192.168.1.5"), ip("fd00::2"))),
    NetIf("eth1", (ip("169.254.3.4"),)),
    NetIf("wan0", (ip("203.0.113.9"), ip("2001:db8::9"))),
    NetIf("v6only", (ip("2001:db8::77"),)),
]


def test_parse_bind_addr_keywords() -> None:
    spec = parse_bind_addr("match-interface:eth2,match-interface:eth0,site_local,loopback")
    assert [type(a) for a in spec.alternatives] == [Match, Match, Scope, Scope]
    assert spec.alternatives[2] == Scope(AddressScope.SITE_LOCAL)
    assert parse_bind_addr("NON_LOOPBACK").alternatives == (Scope(AddressScope.NON_LOOPBACK),)
    assert parse_bind_addr("use_localhost").alternatives == (UseLocalhost(),)
    assert parse_bind_addr("10.0.0.1").alternatives == (Host("10.0.0.1"),)
    assert BindAddr.format(spec) == spec.text
    for bad, msg in (("match-interface:(", "bad regular expression"), ("matchbox", "expected match-address"),
                     ("custom:com.acme.Supplier", "not supported"), ("", "not a bind address"),
                     ("a b", "not an address")):
        with pytest.raises(ConfigError, match=msg):
            parse_bind_addr(bad)


@pytest.mark.parametrize(("value", "expected"), [
    ("loopback", "127.0.0.1"),
    ("LOOPBACK", "127.0.0.1"),
    ("site_local", "192.168.1.5"),          # docker0 is down
    ("link_local", "169.254.3.4"),          # IPv4 only unless the stack is IPv6
    ("global", "203.0.113.9"),
    ("non_loopback", "192.168.1.5"),
    ("match-interface:eth.*", "192.168.1.5"),
    ("match-interface:eth2,match-interface:eth0,site_local,loopback", "192.168.1.5"),
    ("match-interface:eth2,link_local", "169.254.3.4"),
    ("match-address:192\\.168\\..*", "192.168.1.5"),
    ("match-address:fd00:0:0.*", "fd00::2"),   # Java text form: fd00:0:0:0:0:0:0:2%eth0; wrong version ok
    ("match-host:203.*", "203.0.113.9"),       # no reverse DNS: the host name is the address
    ("10.9.9.9", "10.9.9.9"),
    ("::1", "::1"),
    ("localhost", "127.0.0.1"),
    ("match-interface:v6only", "2001:db8::77"),  # Dual: no IPv4 there, so the first address
    ("match-interface:nomatch", "192.168.1.5"),  # a single alternative finding nothing -> default
])
def test_resolve_bind_addr(value: str, expected: str) -> None:
    assert resolve_bind_addr(value, IFS) == ip(expected)


def test_resolve_bind_addr_ip_versions() -> None:
    assert resolve_bind_addr("link_local", IFS, ip_version=StackType.IPV6) == ip("fe80::1")
    # Java's site-local is fec0::/10 only, so a ULA (fd00::/8) counts as GLOBAL
    assert resolve_bind_addr("global", IFS, ip_version=StackType.IPV6) == ip("fd00::2")
    assert resolve_bind_addr("match-interface:v6only,loopback", IFS, ip_version=StackType.IPV4) == \
        ip("127.0.0.1")
    assert resolve_bind_addr(None, IFS, ip_version=StackType.IPV6) == ip("fe80::1")


def test_resolve_bind_addr_failures_and_defaults() -> None:
    with pytest.raises(ConfigError, match="no alternative matches"):
        resolve_bind_addr("match-interface:nope,match-address:nope", IFS)
    with pytest.raises(ConfigError, match="without a resolver"):
        resolve_bind_addr("db.example.com", IFS)
    assert resolve_bind_addr("db.example.com,loopback", IFS) == ip("127.0.0.1")
    assert default_address([NetIf("lo", (ip("127.0.0.1"),))]) == ip("127.0.0.1")
    assert default_address([], StackType.IPV6) == ip("::1")
    assert resolve_bind_addr("use-localhost,loopback", IFS) == ip("127.0.0.1")


def test_resolve_with_an_injected_resolver() -> None:
    class Dns(NoDns):
        def addresses_of(self, host: str) -> list[Any]:
            return [ip("2001:db8::5"), ip("10.1.1.1")] if host == "db" else []

        def name_of(self, addr: Any) -> str:
            return "gw.example.com" if addr == ip("203.0.113.9") else str(addr)

        def local_host(self) -> Any:
            return ip("10.2.2.2")

    assert resolve_bind_addr("db", IFS, resolver=Dns()) == ip("2001:db8::5")
    assert resolve_bind_addr("db", IFS, resolver=Dns(), ip_version=StackType.IPV4) == ip("10.1.1.1")
    assert resolve_bind_addr("match-host:gw\\..*", IFS, resolver=Dns()) == ip("203.0.113.9")
    assert resolve_bind_addr("use-localhost", IFS, resolver=Dns()) == ip("10.2.2.2")


def test_java_host_address() -> None:
    assert java_host_address(ip("fd00::2"), "eth0") == "fd00:0:0:0:0:0:0:2%eth0"
    assert java_host_address(ip("::1")) == "0:0:0:0:0:0:0:1"
    assert java_host_address(ip("10.0.0.1"), "eth0") == "10.0.0.1"


# ------------------------------------------------------------------------------------ prop()

class MERGE3:
    name = "MERGE3"
    min_interval: int = prop(Duration, 1_000, "Minimum time (ms) before sending an INFO message")
    max_interval: int = prop(Duration, 10_000, "Max time (ms) between INFO messages")
    max_participants_in_merge: int = prop(int, 100, "0 = unlimited")


class KUBE_PING:
    name = "kubernetes.KUBE_PING"
    namespace: str = prop(str, "default", "namespace", env=("KUBERNETES_NAMESPACE", "OPENSHIFT_KUBE_PING_NAMESPACE"))
    initial: tuple[HostPort, ...] = prop(HostList, (), "hosts", name="initial_hosts", aliases=("initial_hosts_str",))
    old: bool = prop(bool, False, "flag", deprecated_names=("old_flag",))
    bundler_max_size: int = prop(Size, 64_000, "bytes", name="bundler.max_size")


def test_prop_defaults_and_conversion_on_set() -> None:
    m = MERGE3()
    assert (m.min_interval, m.max_interval, m.max_participants_in_merge) == (1000, 10_000, 100)
    m.min_interval = "2s"  # type: ignore[assignment]  # XML strings are parsed...
    m.max_interval = 30_000  # ...Python values type-checked
    assert (m.min_interval, m.max_interval) == (2000, 30_000)
    assert MERGE3().min_interval == 1000  # per instance


def test_prop_rejects_bad_values_with_context() -> None:
    m = MERGE3()
    with pytest.raises(ConfigError, match=r"<MERGE3> min_interval='2x': .*not a duration.*; expected a duration"):
        m.min_interval = "2x"  # type: ignore[assignment]
    with pytest.raises(ConfigError, match=r"<MERGE3> max_interval=1.5: .*expected a duration"):
        m.max_interval = 1.5  # type: ignore[assignment]
    with pytest.raises(ConfigError, match="max_participants_in_merge=True"):
        m.max_participants_in_merge = True
    with pytest.raises(TypeError, match="no converter"):
        prop(bytes, b"", "x")


def test_properties_of_lists_names_and_metadata() -> None:
    props = properties_of(KUBE_PING)
    assert list(props) == ["namespace", "initial_hosts", "old", "bundler.max_size"]
    p = props["namespace"]
    assert (p.attr, p.default, p.doc, p.env) == ("namespace", "default", "namespace",
                                                  ("KUBERNETES_NAMESPACE", "OPENSHIFT_KUBE_PING_NAMESPACE"))
    assert props["initial_hosts"].names == ("initial_hosts", "initial_hosts_str")
    assert isinstance(KUBE_PING.namespace, object) and properties_of(MERGE3)["max_interval"].default == 10_000


def test_apply_attributes() -> None:
    k = KUBE_PING()
    warnings: list[str] = []
    env = {"OPENSHIFT_KUBE_PING_NAMESPACE": "legacy"}
    left = apply_attributes(k, {"initial_hosts_str": "a[1]", "old_flag": "true", "bundler.max_size": "1M",
                                "thread_pool.max_threads": "9"},
                            element="KUBE_PING", lookup=env.get, warn=warnings.append)
    assert left == {"thread_pool.max_threads": "9"}
    assert k.initial == (HostPort("a", 1),) and k.old is True and k.bundler_max_size == 1_000_000
    assert k.namespace == "legacy"  # second env name, since the XML and the first are absent
    assert warnings == ["<KUBE_PING> old_flag is deprecated"]
    with pytest.raises(ConfigError, match=r"^k.xml:3: <KUBE_PING> old='maybe'"):
        apply_attributes(KUBE_PING(), {"old": "maybe"}, element="KUBE_PING", where="k.xml:3: ")


# ------------------------------------------------------------------------------------ catalogue

def test_catalogue_protocol_ids() -> None:
    cat = catalogue()
    assert cat.jgroups_version == "5.5.6.Final" and cat.extras["jgroups-kubernetes"] == "3.0.0.Final"
    ids = {name: cat.get(name).protocol_id for name in (  # type: ignore[union-attr]
        "TCP", "TCPPING", "pbcast.GMS", "pbcast.NAKACK2", "UNICAST3", "pbcast.STABLE", "MERGE3", "FD_ALL3",
        "FD_SOCK2", "VERIFY_SUSPECT2", "MFC", "UFC", "FRAG2", "FRAG4", "dns.DNS_PING", "kubernetes.KUBE_PING",
        "BARRIER", "RED", "SHARED_LOOPBACK", "SHARED_LOOPBACK_PING", "pbcast.STATE_TRANSFER")}
    assert ids == {"TCP": 17, "TCPPING": 9, "pbcast.GMS": 12, "pbcast.NAKACK2": 41, "UNICAST3": 48,
                   "pbcast.STABLE": 13, "MERGE3": 38, "FD_ALL3": 70, "FD_SOCK2": 71, "VERIFY_SUSPECT2": 72,
                   "MFC": 30, "UFC": 31, "FRAG2": 4, "FRAG4": 69, "dns.DNS_PING": 61, "kubernetes.KUBE_PING": 2017,
                   "BARRIER": None, "RED": None, "SHARED_LOOPBACK": 27, "SHARED_LOOPBACK_PING": 50,
                   "pbcast.STATE_TRANSFER": 14}
    assert cat.other_ids["org.jgroups.protocols.TP"] == 57
    assert len(cat) >= 90


def test_catalogue_attributes() -> None:
    gms = catalogue().get("org.jgroups.protocols.pbcast.GMS")
    assert gms is not None
    jt = gms.attributes["join_timeout"]
    assert (jt.java_type, jt.kind, jt.default, jt.declared_in) == ("long", "TIME", 2000,
                                                                    "org.jgroups.protocols.pbcast.GMS")
    assert gms.attributes["max_leave_attempts"].deprecated == "ignored"
    tcp = catalogue().get("TCP")
    assert tcp is not None
    bind = tcp.attributes["bind_addr"]
    assert bind.system_properties == ("jgroups.bind_addr",) and bind.java_type == "InetAddress"
    assert tcp.attributes["bundler.max_size"].component == "bundler"
    assert {"thread_pool.max_threads", "diag.enabled", "use_virtual_threads", "stats", "id"} <= set(tcp.accepted)
    tcpping = catalogue().get("TCPPING")
    assert tcpping is not None and tcpping.attribute("initial_hosts_str") is tcpping.attributes["initial_hosts"]
    kube = catalogue().get("kubernetes.KUBE_PING")
    assert kube is not None
    assert kube.attributes["namespace"].system_properties == ("KUBERNETES_NAMESPACE", "OPENSHIFT_KUBE_PING_NAMESPACE")
    assert kube.attributes["masterProtocol"].default == "https" and kube.attributes["port_range"].default == 1
    assert "break_on_coord_rsp" in kube.accepted  # inherited from Discovery
    assert catalogue().get("pbcast.NAKACK2").attribute("level") is None  # type: ignore[union-attr]
    assert catalogue().get("TPConfig").attribute("use_virtual_threads") is None  # type: ignore[union-attr]
    assert catalogue().get("NOPE") is None
