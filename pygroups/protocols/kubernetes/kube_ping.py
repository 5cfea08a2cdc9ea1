"""KUBE_PING: discovery through the Kubernetes pods API (org.jgroups.protocols.kubernetes.KUBE_PING, 3.0.0).

Each discovery round lists the pods of ``namespace`` matching ``labels`` (one API call, no cache), turns
them into physical addresses (pod IP x ``bind_port .. bind_port+port_range``, `pods.plan_targets`) and
sends a GET_MBRS_REQ to each, like TCPPING. The API call is blocking, so the layer never makes it: it
emits a `ListPods` request (plain data: the `KubeConfig`) and continues with the `PodsListed` answer in
`on_io_result` (sans-IO); the asyncio driver answers with `pygroups.aio.kubernetes`, a test with a fake.

Java behaviour kept: attribute names, defaults and environment aliases in Java's order (the XML wins,
then each alias - ``variables`` then the environment - then the default; an empty variable counts as
set); deprecation WARNs for the OpenShift/``SA_TOKEN_FILE`` aliases; ``bind_port > 0`` required;
``namespace`` None disables clustering; one WARN per failure streak starting with ``failed getting JSON
response from Kubernetes`` (re-armed by a success); JSON errors at ERROR every round; an empty pod list
sends nothing, so a joiner becomes a singleton after ``join_timeout``; static discovery (the coordinator
disseminates the address cache). Requests: OOB|DONT_BUNDLE, PingHeader under id 2017, one PingData.

Differences from Java, on purpose: the API call runs off the event loop (Java blocks the joining thread);
as in Java the wait for answers (``join_timeout``) starts once the API has answered. The client settings are
fixed at init() without touching files (client certificate problems show at the first call, not at init()),
and init() emits `WarmUpKubeClient` so the driver builds the client off the loop before the first discovery.
The deprecation check reads the names as the attributes were (``build_layers`` sets `env_lookup`). See
`pygroups.aio.kubernetes` for the HTTP-level differences (IPv6 hosts, size cap, proxies).

Added for the "every pod forms its own cluster" complaint: on 403/401, on a selector matching nobody,
on our own pod missing from the list, the log says what is wrong and what to apply (`explain_failure`,
`explain_pods`; ``pygroups doctor`` prints the same text).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from pygroups.address import Address, IpAddress
from pygroups.errors import ConfigError
from pygroups.events import GetPhysicalAddress
from pygroups.protocols.discovery import Discovery, Responses, ping_data
from pygroups.protocols.kubernetes.api import MAX_BODY_BYTES, ErrorKind, KubeConfig, KubeError, KubeResult
from pygroups.protocols.kubernetes.pods import Pod, SkipReason, TargetPlan, plan_targets
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed, WarmUpKubeClient
from pygroups.stack.config import make_lookup
from pygroups.stack.io import IoFailed, IoResult
from pygroups.stack.properties import Bool, Converter, Int, Long, Str, prop
from pygroups.stack.registry import protocol
from pygroups.wire.headers.ping import PingHeader

__all__ = ["KUBE_PING", "Finding", "explain_failure", "explain_pods", "format_pods", "rbac_yaml"]

_OptStr = cast("Converter[str | None]", Str)

#: (current name, deprecated name) pairs KUBE_PING.init() checks (checkDeprecatedProperties).
DEPRECATED_ALIASES: tuple[tuple[str, str], ...] = (
    ("KUBERNETES_NAMESPACE", "OPENSHIFT_KUBE_PING_NAMESPACE"),
    ("KUBERNETES_LABELS", "OPENSHIFT_KUBE_PING_LABELS"),
    ("KUBERNETES_SA_TOKEN_FILE", "SA_TOKEN_FILE"),
)


@dataclass(slots=True)
class _Round:
    members: tuple[Address, ...] | None
    initial: bool
    responses: Responses
    wait_ns: int | None = None  # how long the round would still wait for answers when the API call started


@protocol("kubernetes.KUBE_PING")
class KUBE_PING(Discovery):
    """Kubernetes discovery; see the module docstring."""

    port_range: int = prop(Int, 1, "Additional ports probed on every pod IP: bind_port .. bind_port+port_range")
    connectTimeout: int = prop(Int, 5000, "ms to wait for a connection to the API server (0 = no limit)",
                               env=("KUBERNETES_CONNECT_TIMEOUT",))
    readTimeout: int = prop(Int, 30000, "ms to wait for the API server's answer (0 = no limit)",
                            env=("KUBERNETES_READ_TIMEOUT",))
    operationAttempts: int = prop(Int, 3, "Tries of the API request per discovery round",
                                  env=("KUBERNETES_OPERATION_ATTEMPTS",))
    operationSleep: int = prop(Long, 1000, "ms to sleep after each failed try", env=("KUBERNETES_OPERATION_SLEEP",))
    masterProtocol: str | None = prop(_OptStr, "https", "http or https", env=("KUBERNETES_MASTER_PROTOCOL",))
    masterHost: str | None = prop(_OptStr, None, "API server host", env=("KUBERNETES_SERVICE_HOST",))
    masterPort: int = prop(Int, 0, "API server port", env=("KUBERNETES_SERVICE_PORT",))
    apiVersion: str = prop(Str, "v1", "API version in /api/<apiVersion>", env=("KUBERNETES_API_VERSION",))
    namespace: str | None = prop(_OptStr, "default", "Namespace whose pods are listed ('' = all namespaces)",
                                 env=("KUBERNETES_NAMESPACE", "OPENSHIFT_KUBE_PING_NAMESPACE"))
    labels: str | None = prop(_OptStr, None, "Label selector of the pods to list",
                              env=("KUBERNETES_LABELS", "OPENSHIFT_KUBE_PING_LABELS"))
    clientCertFile: str | None = prop(_OptStr, None, "Client certificate (PEM): mutual TLS instead of the token",
                                      env=("KUBERNETES_CLIENT_CERTIFICATE_FILE",))
    clientKeyFile: str | None = prop(_OptStr, None, "Client key (PEM)", env=("KUBERNETES_CLIENT_KEY_FILE",))
    clientKeyPassword: str | None = prop(_OptStr, None, "Client key password",
                                         env=("KUBERNETES_CLIENT_KEY_PASSWORD",))
    clientKeyAlgo: str = prop(Str, "RSA", "Client key algorithm", env=("KUBERNETES_CLIENT_KEY_ALGO",))
    caCertFile: str | None = prop(_OptStr, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
                                  "CA bundle the API server's certificate is verified with",
                                  env=("KUBERNETES_CA_CERTIFICATE_FILE",))
    saTokenFile: str | None = prop(_OptStr, "/var/run/secrets/kubernetes.io/serviceaccount/token",
                                   "Service account token file", env=("KUBERNETES_SA_TOKEN_FILE", "SA_TOKEN_FILE"))
    split_clusters_during_rolling_update: bool = prop(
        Bool, False, "Only probe pods of our own generation (pod-template-hash, deployment, controller-revision-hash)",
        env=("KUBERNETES_SPLIT_CLUSTERS_DURING_ROLLING_UPDATE",))
    useNotReadyAddresses: bool = prop(Bool, True, "Probe pods that are not ready too",
                                      env=("KUBERNETES_USE_NOT_READY_ADDRESSES",))
    dump_requests: bool = prop(Bool, False, "Print every API request and answer to stdout")

    #: Not a JGroups attribute: the largest API answer accepted (see api.MAX_BODY_BYTES).
    max_body_bytes: int = MAX_BODY_BYTES

    def __init__(self) -> None:
        super().__init__()
        self.api_config: KubeConfig | None = None  # what every ListPods asks, fixed at init() (None: disabled)
        self.env_lookup: Callable[[str], str | None] | None = None  # Java sysprops + env (default: os.environ)
        self.tp_bind_port: int | None = None
        self.last_result: KubeResult | None = None
        self.last_plan: TargetPlan | None = None
        self.last_pods: tuple[Pod, ...] = ()
        self._inflight: dict[int, _Round] = {}
        self._failed_reported = False  # Java's failedJsonErrorReported
        self._last_diagnosis: tuple[Finding, ...] = ()
        self._stopped = True
        self._fetch_callbacks: dict[int, Callable[[str], None]] = {}

    def is_dynamic(self) -> bool:
        return False  # the transport's bind_port must be fixed; the coordinator disseminates the cache

    def set_namespace(self, namespace: str | None) -> None:
        """Java's plain ``setNamespace``: None disables clustering (not possible from XML)."""
        vars(self)["namespace"] = namespace

    def __str__(self) -> str:
        return f"KUBE_PING{{namespace='{self.namespace}', labels='{self.labels}'}}"

    # --- lifecycle --------------------------------------------------------------------------------------

    def init(self) -> None:
        super().init()
        transport = self.stack.transport
        port = getattr(transport, "bind_port", None)
        if isinstance(port, int) and not isinstance(port, bool):
            if port <= 0:
                raise ConfigError(f"KUBE_PING only works with {transport.name}.bind_port > 0")
            self.tp_bind_port = port
        else:  # no JGroups transport (the simulator's, a test fake): its fixed physical port, or at discovery
            physical = getattr(transport, "physical_addr", None)
            self.tp_bind_port = physical.port if isinstance(physical, IpAddress) else None
        self.check_deprecated_properties()
        if self.namespace is None:
            self.log.warning("namespace not set; clustering disabled")
            return
        self.log.info("namespace %s set; clustering enabled", self.namespace)
        self.api_config = self.kube_config()
        self.emit(WarmUpKubeClient(self.api_config))
        self.log.debug("KUBE_PING configuration: %s", self)

    def kube_config(self) -> KubeConfig:
        """The client settings from this layer's attributes."""
        return KubeConfig(
            master_protocol=self.masterProtocol, master_host=self.masterHost, master_port=self.masterPort,
            api_version=self.apiVersion, namespace=self.namespace or "", labels=self.labels,
            connect_timeout_ms=self.connectTimeout, read_timeout_ms=self.readTimeout,
            operation_attempts=self.operationAttempts, operation_sleep_ms=self.operationSleep,
            client_cert_file=self.clientCertFile, client_key_file=self.clientKeyFile,
            client_key_password=self.clientKeyPassword, client_key_algo=self.clientKeyAlgo,
            ca_cert_file=self.caCertFile, sa_token_file=self.saTokenFile, dump_requests=self.dump_requests,
            max_body_bytes=self.max_body_bytes)

    def check_deprecated_properties(self) -> None:
        lookup = self.env_lookup if self.env_lookup is not None else make_lookup(None)
        for name, deprecated in DEPRECATED_ALIASES:
            if lookup(deprecated) is None:
                continue
            if lookup(name) is not None:
                self.log.warning("Both %s and %s are defined, %s is deprecated so please remove it",
                                 name, deprecated, deprecated)
            else:
                self.log.warning("%s is deprecated, please remove it and use %s instead", deprecated, name)

    def start(self) -> None:
        super().start()
        self._stopped = False

    def stop(self) -> None:
        self._stopped = True
        self._inflight.clear()
        self._fetch_callbacks.clear()
        super().stop()

    # --- discovery ----------------------------------------------------------------------------------------

    def find_members(self, members: Sequence[Address] | None, initial_discovery: bool,
                     responses: Responses) -> None:
        timer = responses.timer
        wait_ns = None if timer is None else max(timer.deadline_ns - self.now_ns(), 0)
        rnd = _Round(None if members is None else tuple(members), initial_discovery, responses, wait_ns)
        if self.namespace is None or self.api_config is None:
            self._discover(rnd, ())  # Java: readAll() is empty, nothing is sent
            return
        if timer is not None:
            # Java makes the API call inside findMembers, before its caller starts waiting for answers: the
            # wait (join_timeout for a joiner) is suspended until the pod list is here (see _restart_wait)
            timer.cancel()
            responses.timer = None
        rid = self.stack.new_request_id()
        self._inflight[rid] = rnd
        self.counters["api_calls"] += 1
        self.emit(ListPods(rid, self.api_config))

    def fetch_from_kube(self, callback: Callable[[str], None] | None = None) -> int | None:
        """Java's ``fetchFromKube`` management operation, asynchronously: lists the pods and hands
        ``callback`` Java's text (``[Pod{name='..', ip='..', podGroup='..'}, ...]``); `last_result` and
        `last_pods` hold the details. Call it inside a stack input. Returns the request id."""
        if self.api_config is None:
            if callback is not None:
                callback("[]")
            return None
        rid = self.stack.new_request_id()
        self._fetch_callbacks[rid] = callback or (lambda _text: None)
        self.emit(ListPods(rid, self.api_config))
        return rid

    def on_io_result(self, result: IoResult) -> None:
        rnd = self._inflight.pop(result.request_id, None)
        callback = self._fetch_callbacks.pop(result.request_id, None)
        if self._stopped or (rnd is None and callback is None):
            self.counters["late_api_results"] += 1
            self.log.debug("dropping a Kubernetes API result that arrived after stop")
            return
        kres = self._as_kube_result(result)
        pods = self._read_all(kres)
        if callback is not None:
            callback(format_pods(pods))
            return
        assert rnd is not None
        if rnd.responses.done:
            self.counters["late_api_results"] += 1
            self.log.debug("Kubernetes API answered after discovery had finished; the answer is not used")
            return
        self._restart_wait(rnd)
        self._discover(rnd, pods)

    def _restart_wait(self, rnd: _Round) -> None:
        """The pod list is here: the round now waits what it had left when the API call started. As in Java,
        the API call itself is bounded only by the client's timeouts and retries (GMS waits for discovery)."""
        rsps = rnd.responses
        if rnd.wait_ns is None or rsps.done:
            return
        if rsps.timer is not None:
            rsps.timer.cancel()
        rsps.timer = self.timers.call_later(rnd.wait_ns, rsps.finish)

    def _as_kube_result(self, result: IoResult) -> KubeResult:
        url = self.kube_config().url
        match result:
            case PodsListed(result=KubeResult() as kres):
                return kres
            case IoFailed(error=error):
                return KubeResult.failure(url, KubeError(ErrorKind.CONNECTION, f"the API call failed: {error}"))
        self.counters["bad_api_results"] += 1
        return KubeResult.failure(url, KubeError(ErrorKind.CONNECTION, f"the API client returned {result!r}"))

    def _read_all(self, kres: KubeResult) -> tuple[Pod, ...]:
        """Java's ``readAll``: the pods, or () with one WARN per failure streak (JSON errors at ERROR)."""
        self.last_result = kres
        failure = kres.error
        if failure is None and kres.parse_error is not None and kres.parse_error.kind == "malformed-item":
            # Java: a ClassCastException escapes the parser and is reported like an API failure
            failure = KubeError(ErrorKind.MALFORMED, kres.parse_error.detail)
        if failure is not None:
            self.counters["api_failures"] += 1
            self._last_diagnosis = ()
            if not self._failed_reported:
                self._failed_reported = True
                info = self.kube_config().info()
                self.log.warning("failed getting JSON response from Kubernetes %s for cluster [%s], namespace [%s], "
                                 "labels [%s]; encountered [%s: %s]", info, self.cluster_name, self.namespace,
                                 self.labels, failure.kind, failure.message)
                for line in explain_failure(failure, self.namespace, self.labels, kres.service_account,
                                            master_host=self.masterHost, token_sent=kres.token_sent,
                                            token_file=self.saTokenFile, ca_file=self.caCertFile):
                    self.log.warning("%s", line)
            self.last_pods = ()
            return ()
        self._failed_reported = False
        if kres.parse_error is not None:
            self.counters["json_errors"] += 1
            self.log.error("%s (the answer to %s)", kres.parse_error.detail, kres.url)
            self.last_pods = ()
            return ()
        self.last_pods = kres.pods.pods if kres.pods is not None else ()
        return self.last_pods

    def _discover(self, rnd: _Round, pods: Sequence[Pod]) -> None:
        """``findMembers`` from the pod list on: targets, then one GET_MBRS_REQ each."""
        me = self.local_addr
        physical = None if me is None else self.down_layer.query_down(GetPhysicalAddress(me))
        bind_port = self.tp_bind_port if self.tp_bind_port is not None else (
            physical.port if physical is not None else None)
        if bind_port is None:
            self.log.warning("KUBE_PING: the transport's bind_port is unknown; no discovery requests sent")
            return
        plan = plan_targets(pods, bind_port, self.port_range, physical,
                            use_not_ready_addresses=self.useNotReadyAddresses,
                            split_clusters_during_rolling_update=self.split_clusters_during_rolling_update)
        self.last_plan = plan
        if plan.split is not None:
            for w in plan.split.warnings:
                self.log.warning("split_clusters_during_rolling_update is set to 'true': %s", w)
        self._log_diagnosis(pods, plan, physical)
        wanted = rnd.members if rnd.members is not None and len(rnd.members) <= \
            self.max_members_in_discovery_request else None
        data = ping_data(me, False, self.stack.logical_name, physical, mbrs=wanted)  # JGRP-1670
        hdr = PingHeader(PingHeader.Type.GET_MBRS_REQ, self.cluster_name, rnd.initial)
        self.log.debug("sending discovery requests to %s", list(plan.targets))
        self.send_discovery_requests(plan.targets, hdr, data)

    def _log_diagnosis(self, pods: Sequence[Pod], plan: TargetPlan, own: IpAddress | None) -> None:
        kres = self.last_result
        if kres is None or not kres.ok or kres.parse_error is not None or self.namespace is None:
            return
        dropped = len(kres.pods.dropped) if kres.pods is not None else 0
        lines = tuple(explain_pods(self.namespace, self.labels, pods, plan, own, dropped=dropped))
        for skip in plan.skipped:
            if skip.reason is not SkipReason.SELF:
                who = skip.pod.name if skip.pod is not None else skip.address
                self.log.debug("not probing %s: %s %s", who, skip.reason, skip.detail)
        if lines and lines != self._last_diagnosis:
            for line in lines:
                if line.problem:
                    self.log.warning("%s", line)
                else:
                    self.log.info("%s", line)
        self._last_diagnosis = lines


# --- diagnosis (shared with pygroups doctor) -------------------------------------------------------------


def format_pods(pods: Sequence[Pod]) -> str:
    """Java's ``List<Pod>.toString()`` as ``fetchFromKube`` returns it."""
    return "[" + ", ".join(f"Pod{{name='{p.name}', ip='{p.ip}', podGroup='{p.group}'}}" for p in pods) + "]"


def rbac_yaml(namespace: str | None, service_account: str | None) -> str:
    """Role + RoleBinding granting ``pods: get, list`` (deploy/rbac.yaml), for this namespace and account.

    ``service_account`` is ``namespace:name`` when known. An empty namespace (all namespaces) needs a
    ClusterRole and ClusterRoleBinding instead.
    """
    sa_ns, _, sa_name = (service_account or "").partition(":")
    if not sa_name:
        sa_ns, sa_name = (namespace or "default"), "default"
        sa_comment = "   # the pod's serviceAccountName (default: default)"
    else:
        sa_comment = ""
    cluster_wide = not namespace
    kind, binding = ("ClusterRole", "ClusterRoleBinding") if cluster_wide else ("Role", "RoleBinding")
    ns_line = "" if cluster_wide else f"\n  namespace: {namespace}"
    return (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: pygroups-pod-reader{ns_line}\n"
            "rules:\n  - apiGroups: [\"\"]\n    resources: [\"pods\"]\n    verbs: [\"get\", \"list\"]\n---\n"
            f"apiVersion: rbac.authorization.k8s.io/v1\nkind: {binding}\nmetadata:\n  name: pygroups-pod-reader"
            f"{ns_line}\nsubjects:\n  - kind: ServiceAccount\n    name: {sa_name}{sa_comment}\n"
            f"    namespace: {sa_ns}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: {kind}\n"
            "  name: pygroups-pod-reader\n")


def _where(namespace: str | None, labels: str | None) -> str:
    ns = "all namespaces" if namespace == "" else f"namespace '{namespace}'"
    return f"{ns} with labels '{labels}'" if labels else f"{ns} (no label selector)"


def explain_failure(error: KubeError, namespace: str | None, labels: str | None, service_account: str | None, *,
                    master_host: str | None = None, token_sent: bool | None = None,
                    token_file: str | None = None, ca_file: str | None = None) -> list[str]:
    """Plain words for a failed API call: what is wrong and what to do (no token, ever)."""
    who = f"service account '{service_account}'" if service_account else "this pod's service account"
    impact = "Without the pod list this node cannot find the others and forms a cluster of its own."
    if error.kind is ErrorKind.FORBIDDEN:
        scope = "in any namespace" if namespace == "" else f"in namespace '{namespace}'"
        return [f"Kubernetes refused to list pods (HTTP 403 Forbidden) {scope} for {who}: the RBAC rule "
                f"\"pods: get, list\" is missing. {impact} Apply this Role and RoleBinding "
                "(kubectl apply -f -) and make the pods use that service account:\n"
                + rbac_yaml(namespace, service_account)]
    if error.kind is ErrorKind.UNAUTHORIZED:
        if token_sent is False:
            why = (f"no service account token was sent: the token file '{token_file}' does not exist or is empty "
                   "(is automountServiceAccountToken false, or saTokenFile / KUBERNETES_SA_TOKEN_FILE wrong?)")
        else:
            why = (f"the service account token from '{token_file}' was not accepted (expired, revoked, or from "
                   "another cluster); it is re-read every 60 s and after each 401")
        return [f"Kubernetes rejected the credentials (HTTP 401 Unauthorized): {why}. {impact}"]
    if error.kind is ErrorKind.CONNECTION and master_host is None:
        return ["masterHost is not set: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are injected by "
                f"Kubernetes into every pod; outside a pod set masterHost and masterPort. {impact}"]
    hints = {
        ErrorKind.NOT_FOUND: "the API path does not exist: check apiVersion (normally v1) and the namespace",
        ErrorKind.TLS: f"TLS failed: the API server's certificate must be signed by a CA in '{ca_file}' and name "
                       "masterHost",
        ErrorKind.TIMEOUT: "the API server did not answer in time (connectTimeout / readTimeout)",
        ErrorKind.CONNECTION: f"the API server at '{master_host}' cannot be reached (network policy, wrong "
                              "masterHost/masterPort?)",
        ErrorKind.SERVER_ERROR: "the API server failed (HTTP 5xx); discovery retries at the next round",
        ErrorKind.TOO_LARGE: "the pod list is too large: narrow it with labels",
        ErrorKind.BAD_CONTENT_TYPE: "the answer is not a Kubernetes pod list (a proxy or a wrong masterHost?)",
        ErrorKind.MALFORMED: "an item of the pod list is malformed (Java discovers nobody then as well)",
    }
    hint = hints.get(error.kind, f"the request for pods in {_where(namespace, labels)} failed")
    return [f"Kubernetes discovery failed: {hint}. {impact}"]


def _same_ip(a: str | None, b: IpAddress | None) -> bool:
    if a is None or b is None or b.ip is None:
        return False
    try:
        return ipaddress.ip_address(a) == b.ip
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Finding:
    """One sentence of `explain_pods`; ``problem`` False for what is fine but worth knowing."""

    text: str
    problem: bool = True

    def __str__(self) -> str:
        return self.text


def explain_pods(namespace: str | None, labels: str | None, pods: Sequence[Pod], plan: TargetPlan,
                 own: IpAddress | None, *, dropped: int = 0) -> list[Finding]:
    """Plain words for a pod list that will not let this node join anyone (empty when all is well)."""
    where = _where(namespace, labels)
    hint = ("Check that KUBERNETES_NAMESPACE comes from the downward API (fieldRef metadata.namespace) and that "
            "the labels match the pod template's labels.")
    if not pods:
        extra = f" ({dropped} pod(s) without an IP yet)" if dropped else ""
        return [Finding(f"Kubernetes returned no pod with an IP in {where}{extra}: there is nobody to join, this "
                        f"node forms a cluster of its own. {hint}")]
    found: list[Finding] = []
    ours = [p for p in pods if _same_ip(p.ip, own)]
    if own is not None and not ours:
        found.append(Finding(f"This node's own address {own} is not among the {len(pods)} pod(s) in {where}: "
                             f"either this pod does not match the selector, or it runs in another namespace. {hint}"))
    others = [p for p in pods if not _same_ip(p.ip, own)]
    if own is not None and not others:
        found.append(Finding(f"The only pod in {where} is this one: no other member to join (normal for the "
                             "first pod).", problem=False))
    elif not plan.targets:
        reasons = sorted({str(s.reason) for s in plan.skipped if s.reason is not SkipReason.SELF})
        found.append(Finding(f"{len(others)} other pod(s) in {where} but none is probed "
                             f"({', '.join(reasons) or 'no target'}): this node forms a cluster of its own."))
    return found
