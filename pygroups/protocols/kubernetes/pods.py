"""Sans-IO core of KUBE_PING: the pods API answer -> discovery targets, as jgroups-kubernetes 3.0.0.

Every rule here was read from the 3.0.0.Final sources (``Client.parseJsonResult``, ``Client.podRunning``,
``Client.getPodGroup``, ``KUBE_PING.findMembers``) and mirrors Java's observable behaviour, including its
oddities (substring own-pod lookup, the last ``Ready`` condition winning, lazily-checked arrays), because
a mixed Java/Python cluster only forms when both sides probe the same addresses. Where Java merely logs,
we return reasons and warnings so a ``doctor`` command can explain the outcome.

No I/O: host names (which Java would resolve through DNS) are reported, never resolved.
"""

from __future__ import annotations

import enum
import ipaddress
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pygroups.address import IpAddress
from pygroups.errors import PyGroupsError, RemoteProtocolError

__all__ = [
    "GROUP_LABELS",
    "ParsedPods",
    "Pod",
    "PodListError",
    "RollingUpdateSplit",
    "SkipReason",
    "Skipped",
    "TargetPlan",
    "java_host_address",
    "parse_pod_list",
    "parse_pods",
    "plan_targets",
    "pod_group",
    "select_pods",
    "split_rolling_update",
    "targets",
]

#: ``getPodGroup`` precedence: Deployment/ReplicaSet hash, OpenShift DeploymentConfig, StatefulSet revision.
GROUP_LABELS: tuple[str, ...] = ("pod-template-hash", "deployment", "controller-revision-hash")


class PodListError(RemoteProtocolError):
    """The API server's pod list is unusable.

    Java logs this (ERROR for syntax / not a map / no ``items``; WARN for a malformed item, which escapes
    the parser as a ClassCastException) and discovers *nobody* in that round. ``kind`` tells which case:
    ``"syntax"``, ``"not-a-map"``, ``"no-items"`` or ``"malformed-item"``.
    """

    def __init__(self, kind: str, detail: str) -> None:
        self.kind = kind
        self.detail = detail
        super().__init__(f"unusable Kubernetes pod list ({kind}): {detail}")


class SkipReason(enum.StrEnum):
    """Why a pod (or one of its addresses) is not probed; values are stable for ``doctor`` output."""

    NO_IP = "no-ip"  # status.podIP absent / not a string: dropped at parse time
    NOT_READY = "not-ready"  # podRunning() false and useNotReadyAddresses=false
    OTHER_GROUP = "other-group"  # split_clusters_during_rolling_update and another generation
    SELF = "self"  # the node's own physical address
    BAD_ADDRESS = "bad-address"  # not a usable IP literal / port > 65535 (Java: WARN, or a failed send)
    NEEDS_DNS = "needs-dns"  # not an IP literal: Java would resolve it via DNS, a sans-IO core cannot


@dataclass(frozen=True, slots=True)
class Pod:
    """One element of ``items``, reduced to what KUBE_PING reads (plus a few fields for diagnostics).

    ``ip``, ``group``, ``ready`` and ``name`` are exactly Java's ``Pod`` fields; the rest is informational
    and never changes the outcome (Java ignores ``podIPs``, ``deletionTimestamp`` and the other labels).
    """

    name: str | None
    ip: str | None
    group: str | None
    ready: bool
    not_ready_reason: str | None = None
    phase: str | None = None
    terminating: bool = False
    pod_ips: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        """The string value of label ``key``, or None."""
        for k, v in self.labels:
            if k == key:
                return v
        return None


@dataclass(frozen=True, slots=True)
class Skipped:
    """A pod (and, for per-address skips, the address) that was not probed, and why."""

    pod: Pod | None
    reason: SkipReason
    detail: str = ""
    address: IpAddress | None = None


@dataclass(frozen=True, slots=True)
class ParsedPods:
    """``parse_pods`` result: the pods Java keeps (API order) and the ones it drops for lack of an IP."""

    pods: tuple[Pod, ...]
    dropped: tuple[Skipped, ...] = ()


class _Malformed(Exception):
    """Internal: the JSON-P accessor Java uses would throw (ClassCastException)."""


# --- JSON-P (Parsson) accessor semantics ------------------------------------------------------------


def _get_object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    """``JsonObject.getJsonObject``: absent -> null; present but not an object (JSON null too) -> CCE."""
    if key not in obj:
        return None
    value = obj[key]
    if not isinstance(value, dict):
        raise _Malformed(f"{where}.{key} is not an object")
    return value


def _get_array(obj: dict[str, Any], key: str, where: str) -> list[Any] | None:
    """``JsonObject.getJsonArray``: absent -> null; present but not an array -> CCE."""
    if key not in obj:
        return None
    value = obj[key]
    if not isinstance(value, list):
        raise _Malformed(f"{where}.{key} is not an array")
    return value


def _get_string(obj: dict[str, Any], key: str) -> str | None:
    """``JsonObject.getString(key, null)``: anything but a JSON string gives the default."""
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _as_object(value: Any, where: str) -> dict[str, Any]:
    """``JsonValue.asJsonObject()``: a CCE for anything but an object."""
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is not an object")
    return value


def _java_upper(c: str) -> str:
    """Character.toUpperCase: a simple (one-char) mapping; multi-char full mappings leave c alone."""
    u = c.upper()
    return u if len(u) == 1 else c


def _java_lower(c: str) -> str:
    low = c.lower()
    return low if len(low) == 1 else c


def _equals_ignore_case(s: str | None, target: str) -> bool:
    """String.equalsIgnoreCase, char by char like Java (so a U+0131 dotless i matches 'I')."""
    if s is None or len(s) != len(target):
        return False
    for a, b in zip(s, target, strict=True):
        if a == b:
            continue
        ua, ub = _java_upper(a), _java_upper(b)
        if ua == ub or _java_lower(ua) == _java_lower(ub):
            continue
        return False
    return True


def _parse_boolean(s: str | None) -> bool:
    """Boolean.parseBoolean: only 'true' ignoring case is true."""
    return _equals_ignore_case(s, "true")


# --- Readiness and group ----------------------------------------------------------------------------


def _pod_running(status: dict[str, Any] | None) -> tuple[bool, str | None]:
    """``Client.podRunning``; returns (ready, why-not). Arrays are only touched when Java reaches them."""
    if status is None:
        return False, "no status"
    phase = _get_string(status, "phase")
    if not _equals_ignore_case("not running" if phase is None else phase, "Running"):
        return False, f"phase {phase!r} is not Running"
    message, reason = _get_string(status, "message"), _get_string(status, "reason")
    if message is not None or reason is not None:
        return False, f"status has message={message!r} reason={reason!r}"
    container_statuses = _get_array(status, "containerStatuses", "status")
    if container_statuses is not None:
        for i, cs in enumerate(container_statuses):
            # getBoolean("ready", false): only a JSON true counts; the loop breaks at the first false.
            if _as_object(cs, f"status.containerStatuses[{i}]").get("ready") is not True:
                return False, f"containerStatuses[{i}] is not ready"
    ready_condition = False
    conditions = _get_array(status, "conditions", "status")
    if conditions is not None:
        for i, cv in enumerate(conditions):
            cond = _as_object(cv, f"status.conditions[{i}]")
            if _equals_ignore_case(_get_string(cond, "type"), "Ready"):
                ready_condition = _parse_boolean(_get_string(cond, "status"))  # the last one wins
    if not ready_condition:
        return False, "no Ready condition with status True"
    return True, None


def _group_of(item: dict[str, Any]) -> str | None:
    """``Client.getPodGroup`` on the raw item (raises _Malformed where Java's accessors would throw)."""
    meta = _get_object(item, "metadata", "item")
    if meta is None:
        return None
    labels = _get_object(meta, "labels", "metadata")
    if labels is None:
        return None
    for key in GROUP_LABELS:
        value = _get_string(labels, key)
        if value is not None:
            return value
    return None


def pod_group(pod: Pod) -> str | None:
    """The rolling-update generation of ``pod``: first string label of GROUP_LABELS, else None."""
    return pod.group


# --- Parsing ----------------------------------------------------------------------------------------


#: Parsson refuses a number token longer than this many characters (checked against the jar: 1100 ok, 1101 not).
_MAX_NUMBER_CHARS = 1100
_JSON_WHITESPACE = " \t\n\r"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _number(token: str) -> float:
    # Numbers are never read, but Parsson rejects over-long ones (and float() never hits CPython's
    # int-digits limit).
    if len(token) > _MAX_NUMBER_CHARS:
        raise ValueError(f"number of {len(token)} characters exceeds {_MAX_NUMBER_CHARS}")
    return float(token)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_number, parse_float=_number)


def _decode(body: bytes | str) -> Any:
    """Parsson's ``JsonReader.read()``: one JSON value after optional whitespace; trailing text is ignored."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
    try:
        return _DECODER.raw_decode(text, start)[0]
    except (ValueError, RecursionError) as e:
        raise PodListError("syntax", f"Failed to parse JSON: {e}") from None


def _informational(item: dict[str, Any]) -> tuple[str | None, bool, tuple[str, ...], tuple[tuple[str, str], ...]]:
    """Fields Java ignores (phase, deletionTimestamp, podIPs, labels), read without ever raising."""
    meta = item.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    status = item.get("status")
    status = status if isinstance(status, dict) else {}
    labels = meta.get("labels")
    label_pairs = tuple((k, v) for k, v in labels.items() if isinstance(v, str)) if isinstance(labels, dict) else ()
    raw_ips = status.get("podIPs")
    pod_ips = (
        tuple(e["ip"] for e in raw_ips if isinstance(e, dict) and isinstance(e.get("ip"), str))
        if isinstance(raw_ips, list)
        else ()
    )
    return _get_string(status, "phase"), meta.get("deletionTimestamp") is not None, pod_ips, label_pairs


def parse_pods(body: bytes | str) -> ParsedPods:
    """``Client.parseJsonResult``, keeping the pods Java drops (no IP) as ``dropped`` for diagnostics.

    Raises PodListError wherever Java ends up with an empty pod list (its logged error cases, and the
    ClassCastExceptions a malformed item causes, which abort the whole round in ``readAll``).
    """
    value = _decode(body)
    if not isinstance(value, dict):
        raise PodListError("not-a-map", f"JSON is not a map: {type(value).__name__}")
    if "items" not in value:
        raise PodListError("no-items", 'JSON object is missing property "items"')
    kept: list[Pod] = []
    dropped: list[Skipped] = []
    try:
        items = _get_array(value, "items", "list")
        assert items is not None
        for index, raw in enumerate(items):
            item = _as_object(raw, f"items[{index}]")
            group = _group_of(item)
            metadata = _get_object(item, "metadata", "item")
            name = _get_string(metadata, "name") if metadata is not None else None
            status = _get_object(item, "status", "item")
            ip = _get_string(status, "podIP") if status is not None else None
            ready, why = _pod_running(status)
            phase, terminating, pod_ips, labels = _informational(item)
            pod = Pod(name, ip, group, ready, why, phase, terminating, pod_ips, labels)
            if ip is None:
                dropped.append(Skipped(pod, SkipReason.NO_IP, "status.podIP is absent"))
            else:
                kept.append(pod)
    except _Malformed as e:
        raise PodListError("malformed-item", str(e)) from None
    return ParsedPods(tuple(kept), tuple(dropped))


def parse_pod_list(body: bytes | str) -> list[Pod]:
    """The pods Java's ``getPods`` returns, in API order (only pods with a ``status.podIP``)."""
    return list(parse_pods(body).pods)


def select_pods(pods: Iterable[Pod], *, use_not_ready_addresses: bool = True) -> tuple[list[Pod], list[Skipped]]:
    """The ``!host.isReady() && !useNotReadyAddresses`` filter of ``findMembers``, with reasons."""
    kept: list[Pod] = []
    skipped: list[Skipped] = []
    for pod in pods:
        if not pod.ready and not use_not_ready_addresses:
            skipped.append(Skipped(pod, SkipReason.NOT_READY, pod.not_ready_reason or ""))
        else:
            kept.append(pod)
    return kept, skipped


# --- Addresses ---------------------------------------------------------------------------------------

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _java_v4(text: str) -> ipaddress.IPv4Address | None:
    """``IPAddressUtil.textToNumericFormatV4`` (JDK 17): 1-4 decimal parts, the last fills the rest.

    So '10.1' is 10.0.0.1 and '010.0.0.1' is 10.0.0.1 (decimal, not octal); over 15 characters is refused.
    Checked against ``InetAddress.getByName`` on JDK 17.0.15.
    """
    if not 0 < len(text) <= 15:
        return None
    parts = text.split(".")
    if len(parts) > 4 or not all(p and all("0" <= c <= "9" for c in p) for p in parts):
        return None
    *head, last = (int(p) for p in parts)
    if any(v > 255 for v in head) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = last
    for i, v in enumerate(head):
        value |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _java_inet(text: str) -> tuple[_IP, int] | SkipReason:
    """JGroups ``IpAddress.getByName`` for literals: [v6] is unbracketed, v4-mapped becomes v4.

    Anything that is not a literal (including '', which JGroups maps to ``InetAddress.getLocalHost()``)
    needs a name lookup in Java and is reported as NEEDS_DNS rather than guessed.
    """
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    if ":" not in text:
        v4 = None if bracketed else _java_v4(text)
        if v4 is None:
            return SkipReason.BAD_ADDRESS if bracketed else SkipReason.NEEDS_DNS
        return v4, 0
    scope = 0
    if "%" in text:
        text, _, scope_text = text.partition("%")
        if not (scope_text.isascii() and scope_text.isdigit()):
            return SkipReason.NEEDS_DNS  # an interface name: Java looks the interface up
        scope = int(scope_text)
    try:
        ip = ipaddress.IPv6Address(text)
    except ValueError:
        return SkipReason.BAD_ADDRESS if bracketed else SkipReason.NEEDS_DNS
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, 0
    return ip, scope


def java_host_address(address: IpAddress) -> str:
    """``InetAddress.getHostAddress()``: IPv6 is printed uncompressed ('fd00:0:0:0:0:0:0:5')."""
    ip = address.ip
    if ip is None:
        return ""
    if isinstance(ip, ipaddress.IPv4Address):
        return str(ip)
    groups = ":".join(f"{int.from_bytes(ip.packed[i : i + 2], 'big'):x}" for i in range(0, 16, 2))
    return f"{groups}%{address.scope_id}" if address.scope_id else groups


# --- Rolling update -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollingUpdateSplit:
    """Outcome of the split step: which IP texts are allowed (None = no filtering) and what Java logs.

    ``aborted`` is True when Java's ``findFirst()`` meets a null group and throws a NullPointerException:
    findMembers then sends no discovery request at all in that round.
    """

    own_group: str | None
    allowed_ips: frozenset[str] | None
    warnings: tuple[str, ...] = ()
    aborted: bool = False


def split_rolling_update(pods: Sequence[Pod], own: IpAddress | None) -> RollingUpdateSplit:
    """The ``split_clusters_during_rolling_update`` decision of ``findMembers`` over ALL parsed pods."""
    if own is None or own.ip is None:
        return RollingUpdateSplit(None, None, ("can't obtain local node IP address",))
    sender_ip = java_host_address(own)
    warnings = [f"Pod {p.name} doesn't have group assigned" for p in pods if p.group is None]
    # Java: hosts.filter(senderIp.contains(pod.ip)).map(getPodGroup).findFirst() -- substring match,
    # first pod wins, and a null group there makes findFirst() throw.
    first = next((p for p in pods if p.ip is not None and p.ip in sender_ip), None)
    if first is not None and first.group is None:
        warnings.append(f"own pod {first.name} has no group: Java's findFirst() throws, no requests sent")
        return RollingUpdateSplit(None, None, tuple(warnings), aborted=True)
    if first is None:
        warnings.append("can't obtain local node parent deployment")
        return RollingUpdateSplit(None, None, tuple(warnings))
    own_group = first.group
    allowed = frozenset(p.ip for p in pods if p.ip is not None and p.group == own_group)
    return RollingUpdateSplit(own_group, allowed, tuple(warnings))


# --- Targets ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TargetPlan:
    """Everything ``findMembers`` decides before sending: targets in Java's order, and what was left out."""

    targets: tuple[IpAddress, ...]
    skipped: tuple[Skipped, ...] = ()
    split: RollingUpdateSplit | None = None


def plan_targets(
    pods: Sequence[Pod],
    bind_port: int,
    port_range: int = 1,
    own_address: IpAddress | None = None,
    *,
    use_not_ready_addresses: bool = True,
    split_clusters_during_rolling_update: bool = False,
    extra_addresses: Iterable[IpAddress] = (),
) -> TargetPlan:
    """``KUBE_PING.findMembers`` up to the send loop, which skips only the exact own address.

    ``extra_addresses`` stands for the PDC addresses appended when ``use_disk_cache`` is on; they go
    through the split filter too, as in Java.
    """
    selected, skipped = select_pods(pods, use_not_ready_addresses=use_not_ready_addresses)
    members: list[IpAddress] = []
    seen: set[IpAddress] = set()
    for pod in selected:
        assert pod.ip is not None
        inet = _java_inet(pod.ip)  # once per pod; Java parses it again for every port
        for i in range(port_range + 1):  # Java: for(i=0; i <= port_range; i++)
            if isinstance(inet, SkipReason):
                skipped.append(Skipped(pod, inet, f"cannot make an address of {pod.ip!r}"))
                continue
            try:
                addr = IpAddress(inet[0], bind_port + i, inet[1])
            except PyGroupsError as e:
                skipped.append(Skipped(pod, SkipReason.BAD_ADDRESS, str(e)))
                continue
            if addr not in seen:
                seen.add(addr)
                members.append(addr)
    for addr in extra_addresses:
        if addr not in seen:
            seen.add(addr)
            members.append(addr)
    split: RollingUpdateSplit | None = None
    if split_clusters_during_rolling_update:
        split = split_rolling_update(pods, own_address)
        if split.aborted:
            return TargetPlan((), tuple(skipped), split)
        if split.allowed_ips is not None:
            allowed = split.allowed_ips
            kept = []
            for addr in members:
                if java_host_address(addr) in allowed:
                    kept.append(addr)
                else:
                    skipped.append(Skipped(None, SkipReason.OTHER_GROUP, f"not in group {split.own_group}", addr))
            members = kept
    final: list[IpAddress] = []
    for addr in members:
        if own_address is not None and addr == own_address:
            skipped.append(Skipped(None, SkipReason.SELF, "own physical address", addr))
        else:
            final.append(addr)
    return TargetPlan(tuple(final), tuple(skipped), split)


def targets(
    pods: Sequence[Pod],
    bind_port: int,
    port_range: int = 1,
    own_address: IpAddress | None = None,
    *,
    use_not_ready_addresses: bool = True,
    split_clusters_during_rolling_update: bool = False,
    extra_addresses: Iterable[IpAddress] = (),
) -> list[IpAddress]:
    """The physical addresses Java 3.0.0 sends a GET_MBRS_REQ to, in its order (see plan_targets)."""
    return list(
        plan_targets(
            pods,
            bind_port,
            port_range,
            own_address,
            use_not_ready_addresses=use_not_ready_addresses,
            split_clusters_during_rolling_update=split_clusters_during_rolling_update,
            extra_addresses=extra_addresses,
        ).targets
    )
