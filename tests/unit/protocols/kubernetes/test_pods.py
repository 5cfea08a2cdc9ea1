"""KUBE_PING pod-list core: expectations taken from running jgroups-kubernetes 3.0.0.Final itself.

The fixtures below are trimmed copies (fields KUBE_PING reads) of the project's own test resources; the
expected target lists were captured from KUBE_PING.findMembers running on JGroups 5.5.7 with TCP bound
to 127.0.0.1:7800.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pygroups.address import IpAddress
from pygroups.errors import RemoteProtocolError
from pygroups.protocols.kubernetes import (
    Pod,
    PodListError,
    SkipReason,
    java_host_address,
    parse_pod_list,
    parse_pods,
    plan_targets,
    pod_group,
    select_pods,
    split_rolling_update,
    targets,
)

READY_CONDITIONS = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]


def item(
    name: str | None,
    ip: str | None,
    labels: dict[str, Any] | None = None,
    *,
    phase: Any = "Running",
    conditions: Any = None,
    containers: Any = None,
    deleting: bool = False,
    extra_status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    if deleting:
        meta["deletionTimestamp"] = "2020-01-01T00:00:00Z"
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": READY_CONDITIONS if conditions is None else conditions,
        "containerStatuses": [{"ready": True}] if containers is None else containers,
    }
    if ip is not None:
        status["podIP"] = ip
    status.update(extra_status or {})
    return {"metadata": meta, "status": status}


def body(*items: Any) -> str:
    return json.dumps({"kind": "PodList", "items": list(items)})


STATEFULSET = body(
    item("keycloak-0", "127.0.0.1", {"controller-revision-hash": "keycloak-5f6594785b"}),
    item("keycloak-1", "10.128.0.234", {"controller-revision-hash": "keycloak-5f6594785b"}, deleting=True),
    item("keycloak-2", "10.128.0.237", {"controller-revision-hash": "keycloak-86d5dbd654"}),
    item("keycloak-postgresql-666b764458-tv6pk", "10.128.0.220", {"pod-template-hash": "666b764458"}),
)
NOT_READY = [{"type": "Ready", "status": "False"}]
OPENSHIFT = body(
    item("infinispan-app-2-h5xkc", "172.17.0.8", {"deployment": "infinispan-app-2"}, deleting=True),
    item(
        "infinispan-app-2-m1wxf",
        None,
        {"deployment": "infinispan-app-2"},
        deleting=True,
        conditions=NOT_READY,
        containers=[{"ready": False}],
    ),
    item("infinispan-app-3-2tmw3", "127.0.0.1", {"deployment": "infinispan-app-3"}),
    item("infinispan-app-3-8h0fx", "172.17.0.6", {"deployment": "infinispan-app-3"}),
    item("infinispan-app-3-kt6xq", "172.17.0.9", {"deployment": "infinispan-app-3"}),
    item("infinispan-app-3-xzxl7", "172.17.0.7", {"deployment": "infinispan-app-3"}),
)
NO_GROUPS = body(
    item("eap-app-1-43wra", "127.0.0.1", {"application": "eap-app"}, containers=[]),
    item("eap-app-1-dctpw", "192.168.0.1", {"application": "eap-app"}, containers=[]),
)
REPLICASET = body(
    item("idp-6569c544b-f72mb", "127.0.0.1", {"pod-template-hash": "6569c544b"}),
    item("idp-aae51544b-a80bc", "127.0.0.1", {"pod-template-hash": "6569c556b"}),
)
UNKNOWN = body(
    item("demo-test-pip-service-3932235708-9bq42", "10.232.82.162", {"pod-template-hash": "3932235708"}),
    item("demo-test-pip-service-3932235708-mb497", "10.232.81.89", {"pod-template-hash": "3932235708"}),
    item(
        "demo-test-pip-service-3932235708-sn6k7",
        "10.232.82.196",
        {"pod-template-hash": "3932235708"},
        deleting=True,
        conditions=[{"type": "Ready", "status": "False"}],
        extra_status={"message": "Node compute-node2 which was running pod ... is unresponsive", "reason": "NodeLost"},
    ),
)
OWN = IpAddress("127.0.0.1", 7800)


def addrs(text: str) -> list[IpAddress]:
    out = []
    for t in text.split():
        ip, _, port = t.partition("@")
        out.append(IpAddress(ip, int(port)))
    return out


# (fixture, port_range, use_not_ready_addresses, split, targets as captured from Java's findMembers)
JAVA_TARGETS = [
    (STATEFULSET, 1, True, True, "127.0.0.1@7801 10.128.0.234@7800 10.128.0.234@7801"),
    (NO_GROUPS, 1, True, True, ""),  # Java: NullPointerException in findFirst(), nothing sent
    (
        OPENSHIFT,
        1,
        True,
        False,
        "172.17.0.8@7800 172.17.0.8@7801 127.0.0.1@7801 172.17.0.6@7800 172.17.0.6@7801"
        " 172.17.0.9@7800 172.17.0.9@7801 172.17.0.7@7800 172.17.0.7@7801",
    ),
    (
        OPENSHIFT,
        1,
        True,
        True,
        "127.0.0.1@7801 172.17.0.6@7800 172.17.0.6@7801 172.17.0.9@7800 172.17.0.9@7801"
        " 172.17.0.7@7800 172.17.0.7@7801",
    ),
    (OPENSHIFT, 0, True, False, "172.17.0.8@7800 172.17.0.6@7800 172.17.0.9@7800 172.17.0.7@7800"),
    (OPENSHIFT, -1, True, False, ""),
    (
        UNKNOWN,
        2,
        False,
        False,
        "10.232.82.162@7800 10.232.82.162@7801 10.232.82.162@7802 10.232.81.89@7800 10.232.81.89@7801"
        " 10.232.81.89@7802",
    ),
    (
        UNKNOWN,
        1,
        True,
        True,
        "10.232.82.162@7800 10.232.82.162@7801 10.232.81.89@7800 10.232.81.89@7801"
        " 10.232.82.196@7800 10.232.82.196@7801",
    ),
    (REPLICASET, 1, True, True, "127.0.0.1@7801"),
]


@pytest.mark.parametrize(("fixture", "port_range", "not_ready", "split", "expected"), JAVA_TARGETS)
def test_targets_match_java(fixture: str, port_range: int, not_ready: bool, split: bool, expected: str) -> None:
    pods = parse_pod_list(fixture)
    got = targets(
        pods,
        7800,
        port_range,
        OWN,
        use_not_ready_addresses=not_ready,
        split_clusters_during_rolling_update=split,
    )
    assert got == addrs(expected)


def test_parse_fixture_fields() -> None:
    parsed = parse_pods(OPENSHIFT)
    assert [p.name for p in parsed.pods] == [
        "infinispan-app-2-h5xkc",
        "infinispan-app-3-2tmw3",
        "infinispan-app-3-8h0fx",
        "infinispan-app-3-kt6xq",
        "infinispan-app-3-xzxl7",
    ]
    assert [(s.pod.name if s.pod else None, s.reason) for s in parsed.dropped] == [
        ("infinispan-app-2-m1wxf", SkipReason.NO_IP)
    ]
    first = parsed.pods[0]
    assert first.terminating and first.ready and pod_group(first) == "infinispan-app-2"
    assert first.label("deployment") == "infinispan-app-2"
    unknown = parse_pod_list(UNKNOWN)
    assert [p.ready for p in unknown] == [True, True, False]
    assert unknown[2].not_ready_reason is not None and "NodeLost" in unknown[2].not_ready_reason


def status_pod(**status: Any) -> str:
    return body({"metadata": {"name": "p"}, "status": {"podIP": "10.0.0.1", **status}})


OK_COND = [{"type": "Ready", "status": "True"}]

# (status fields, ready?) -- every row checked against Client.podRunning in the 3.0.0 jar.
READINESS = [
    ({"phase": "Running", "conditions": OK_COND}, True),
    ({"phase": "running", "conditions": [{"type": "ready", "status": "TRUE"}]}, True),
    ({"phase": "RUNN\u0131NG", "conditions": OK_COND}, True),  # Java equalsIgnoreCase: dotless i ~ I
    ({"phase": "Pending", "conditions": OK_COND}, False),
    ({"phase": "Succeeded", "conditions": OK_COND}, False),
    ({"conditions": OK_COND}, False),  # no phase
    ({"phase": 1, "conditions": OK_COND}, False),
    ({"phase": "Running"}, False),  # no Ready condition
    ({"phase": "Running", "conditions": []}, False),
    ({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}, False),
    ({"phase": "Running", "conditions": [{"type": "Ready", "status": True}]}, False),  # not a string
    ({"phase": "Running", "conditions": [{"type": "Ready", "status": "yes"}]}, False),
    ({"phase": "Running", "conditions": [*OK_COND, {"type": "Ready", "status": "False"}]}, False),  # last wins
    ({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}, *OK_COND]}, True),
    ({"phase": "Running", "conditions": OK_COND, "message": "m"}, False),
    ({"phase": "Running", "conditions": OK_COND, "reason": "NodeLost"}, False),
    ({"phase": "Running", "conditions": OK_COND, "reason": None, "message": 5}, True),  # non-strings are null
    ({"phase": "Running", "conditions": OK_COND, "containerStatuses": []}, True),
    ({"phase": "Running", "conditions": OK_COND, "containerStatuses": [{"ready": True}, {}]}, False),
    ({"phase": "Running", "conditions": OK_COND, "containerStatuses": [{"ready": "true"}]}, False),
    # the loop breaks at the first unready container, so later junk is never looked at
    ({"phase": "Running", "conditions": OK_COND, "containerStatuses": [{"ready": False}, "junk"]}, False),
    # not Running: the arrays are never touched, so junk there is harmless
    ({"phase": "Pending", "conditions": "junk", "containerStatuses": 5}, False),
]


@pytest.mark.parametrize(("status", "ready"), READINESS)
def test_readiness_like_pod_running(status: dict[str, Any], ready: bool) -> None:
    (pod,) = parse_pod_list(status_pod(**status))
    assert pod.ready is ready
    assert (pod.not_ready_reason is None) is ready


def test_terminating_pod_is_probed_like_any_other() -> None:
    pods = parse_pod_list(body(item("t", "10.0.0.9", deleting=True)))
    assert pods[0].terminating and pods[0].ready
    assert targets(pods, 7800, 0) == [IpAddress("10.0.0.9", 7800)]


@pytest.mark.parametrize(
    "ip_value",
    [None, 7, ["10.0.0.1"], {"ip": "10.0.0.1"}],
)
def test_missing_or_non_string_ip_drops_the_pod(ip_value: Any) -> None:
    parsed = parse_pods(body({"metadata": {"name": "x"}, "status": {"podIP": ip_value, "podIPs": [{"ip": "fd00::1"}]}}))
    assert parsed.pods == ()
    assert parsed.dropped[0].reason is SkipReason.NO_IP
    assert parsed.dropped[0].pod is not None and parsed.dropped[0].pod.pod_ips == ("fd00::1",)


@pytest.mark.parametrize(
    ("labels", "group"),
    [
        ({"pod-template-hash": "h", "deployment": "d", "controller-revision-hash": "c"}, "h"),
        ({"deployment": "d", "controller-revision-hash": "c"}, "d"),
        ({"controller-revision-hash": "c"}, "c"),
        ({"pod-template-hash": 5, "deployment": None, "controller-revision-hash": "c"}, "c"),
        ({"app": "x"}, None),
        (None, None),
    ],
)
def test_group_label_precedence(labels: dict[str, Any] | None, group: str | None) -> None:
    (pod,) = parse_pod_list(body(item("p", "10.0.0.1", labels)))
    assert pod_group(pod) == group


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "syntax"),
        ("{", "syntax"),
        ("{'items': []}", "syntax"),
        ('{"items": [], }', "syntax"),
        ('{"items": [], "n": NaN}', "syntax"),
        ("\ufeff" + '{"items": []}', "syntax"),
        ('{"items": [], "n": %s}' % ("1" * 1101), "syntax"),  # Parsson's number-length limit
        ("[]", "not-a-map"),
        ("null", "not-a-map"),
        ('{"kind": "PodList"}', "no-items"),
        ('{"items": null}', "malformed-item"),
        ('{"items": {}}', "malformed-item"),
        ('{"items": [null]}', "malformed-item"),
        ('{"items": [{"metadata": null}]}', "malformed-item"),
        ('{"items": [{"metadata": {"labels": []}}]}', "malformed-item"),
        ('{"items": [{"status": "Running"}]}', "malformed-item"),
        ('{"items": [{"status": {"phase": "Running", "containerStatuses": {}}}]}', "malformed-item"),
        ('{"items": [{"status": {"phase": "Running", "conditions": [1]}}]}', "malformed-item"),
    ],
)
def test_unusable_pod_lists(text: str, kind: str) -> None:
    with pytest.raises(PodListError) as info:
        parse_pod_list(text)
    assert info.value.kind == kind
    assert isinstance(info.value, RemoteProtocolError)


@pytest.mark.parametrize(
    "text",
    [
        '{"items": []} trailing junk',  # Parsson's read() stops after the first value
        '{"items": [], "n": %s}' % ("1" * 1100),
        ' \n{"items": [], "items": []}',
        '{"items": [], "n": 1e99999}',
    ],
)
def test_java_accepts(text: str) -> None:
    assert parse_pod_list(text) == []


def test_bytes_are_utf8() -> None:
    pods = parse_pod_list(body(item("pöd", "10.0.0.1")).encode())
    assert pods[0].name == "pöd"


def test_select_pods_reports_not_ready() -> None:
    pods = parse_pod_list(UNKNOWN)
    kept, skipped = select_pods(pods, use_not_ready_addresses=False)
    assert len(kept) == 2
    assert [(s.pod.name if s.pod else None, s.reason) for s in skipped] == [
        ("demo-test-pip-service-3932235708-sn6k7", SkipReason.NOT_READY)
    ]
    assert select_pods(pods) == (pods, [])


def test_port_expansion_and_self_exclusion_spec_example() -> None:
    pods = [
        Pod("a", "172.17.0.2", None, True),
        Pod("b", "172.17.0.3", None, False),
        Pod("c", "172.17.0.5", None, True),
    ]
    own = IpAddress("172.17.0.5", 7800)
    plan = plan_targets(pods, 7800, 1, own)
    assert list(plan.targets) == addrs(
        "172.17.0.2@7800 172.17.0.2@7801 172.17.0.3@7800 172.17.0.3@7801 172.17.0.5@7801"
    )
    assert [(s.reason, s.address) for s in plan.skipped] == [(SkipReason.SELF, own)]
    assert targets(pods, 7800, 1, own, use_not_ready_addresses=False) == addrs(
        "172.17.0.2@7800 172.17.0.2@7801 172.17.0.5@7801"
    )


def test_duplicates_extras_and_bad_addresses() -> None:
    pods = [
        Pod("a", "10.0.0.1", None, True),
        Pod("dup", "10.0.0.1", None, True),
        Pod("host", "my-host.example", None, True),
        Pod("v6", "[fd00::5]", None, True),
        Pod("mapped", "::ffff:10.0.0.2", None, True),
        Pod("top", "10.0.0.3", None, True),
    ]
    plan = plan_targets(pods, 65535, 1, None, extra_addresses=[IpAddress("10.0.0.1", 65535), IpAddress("10.9.9.9", 1)])
    assert list(plan.targets) == [
        IpAddress("10.0.0.1", 65535),
        IpAddress("fd00::5", 65535),
        IpAddress("10.0.0.2", 65535),
        IpAddress("10.0.0.3", 65535),
        IpAddress("10.9.9.9", 1),
    ]
    reasons = [s.reason for s in plan.skipped]
    assert reasons.count(SkipReason.NEEDS_DNS) == 2
    assert reasons.count(SkipReason.BAD_ADDRESS) == 5  # port 65536 for every IP-literal pod


def test_empty_ip_needs_a_local_host_lookup() -> None:
    # JGroups' IpAddress.getByName("") is InetAddress.getLocalHost(): a name lookup, not done here.
    plan = plan_targets([Pod("e", "", None, True)], 7800, 0)
    assert plan.targets == () and plan.skipped[0].reason is SkipReason.NEEDS_DNS


def test_split_substring_lookup_and_warnings() -> None:
    pods = [
        Pod("early", "10.0.0.1", "old", True),  # "10.0.0.15" contains "10.0.0.1": taken as self
        Pod("me", "10.0.0.15", "new", True),
        Pod("nolabel", "10.0.0.2", None, True),
    ]
    split = split_rolling_update(pods, IpAddress("10.0.0.15", 7800))
    assert split.own_group == "old" and split.allowed_ips == frozenset({"10.0.0.1"})
    assert any("nolabel" in w for w in split.warnings)
    assert split_rolling_update(pods, None).allowed_ips is None
    assert not split_rolling_update([], IpAddress("10.0.0.15", 7800)).aborted


def test_split_ipv6_degrades_because_java_prints_uncompressed() -> None:
    own = IpAddress("fd00::5", 7800)
    assert java_host_address(own) == "fd00:0:0:0:0:0:0:5"
    pods = [Pod("me", "fd00::5", "g1", True), Pod("other", "fd00::6", "g2", True)]
    plan = plan_targets(pods, 7800, 0, own, split_clusters_during_rolling_update=True)
    assert plan.split is not None and plan.split.allowed_ips is None
    assert list(plan.targets) == [IpAddress("fd00::6", 7800)]


JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["Running", "Ready", "True", "10.0.0.1", "", "podIP", "status"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "items",
                    "metadata",
                    "status",
                    "labels",
                    "name",
                    "podIP",
                    "phase",
                    "conditions",
                    "containerStatuses",
                    "type",
                    "ready",
                    "reason",
                    "pod-template-hash",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(JSONISH.map(json.dumps), st.text(max_size=60), st.binary(max_size=60)))
def test_parse_only_raises_pod_list_error(data: str | bytes) -> None:
    try:
        pods = parse_pod_list(data)
    except PodListError:
        return
    for pod in pods:
        assert isinstance(pod.ip, str)
        targets(pods, 7800, 1, OWN, split_clusters_during_rolling_update=True)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.just("items"), st.lists(JSONISH, max_size=4), min_size=1).map(json.dumps))
def test_parse_item_lists_only_raise_pod_list_error(data: str) -> None:
    try:
        parse_pod_list(data)
    except PodListError as e:
        assert e.kind == "malformed-item"


# podIP text -> the address Java's IpAddress(String, int) makes of it (InetAddress.getByName, JDK 17.0.15),
# or the reason we skip it (Java would try a DNS / local-host lookup).
LITERALS = [
    ("0.0.1", "0.0.0.1"),
    ("16909060", "1.2.3.4"),
    ("1.2", "1.0.0.2"),
    ("1.2.65535", "1.2.255.255"),
    ("010.0.0.1", "10.0.0.1"),  # decimal, not octal
    ("4294967295", "255.255.255.255"),
    ("[::1]", "0:0:0:0:0:0:0:1"),
    ("::ffff:1.2.3.4", "1.2.3.4"),
    ("FD00::0005", "fd00:0:0:0:0:0:0:5"),
    ("fe80::1%1", "fe80:0:0:0:0:0:0:1%1"),
    ("1.2.65536", SkipReason.NEEDS_DNS),
    ("1.2.3.256", SkipReason.NEEDS_DNS),
    ("4294967296", SkipReason.NEEDS_DNS),
    ("00000000001.2.3.4", SkipReason.NEEDS_DNS),
    (" 1.2.3.4", SkipReason.NEEDS_DNS),
    ("1.2.3.4.", SkipReason.NEEDS_DNS),
    ("\uff11.2.3.4", SkipReason.NEEDS_DNS),
    ("fe80::1%eth0", SkipReason.NEEDS_DNS),
    ("[1.2.3.4]", SkipReason.BAD_ADDRESS),
]


@pytest.mark.parametrize(("text", "expected"), LITERALS)
def test_address_literals_like_java(text: str, expected: str | SkipReason) -> None:
    plan = plan_targets([Pod("p", text, None, True)], 7800, 0)
    if isinstance(expected, SkipReason):
        assert plan.targets == () and [s.reason for s in plan.skipped] == [expected]
    else:
        (addr,) = plan.targets
        assert java_host_address(addr) == expected and addr.port == 7800
