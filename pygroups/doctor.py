"""``pygroups doctor --config FILE``: run discovery once and explain why a node would (not) join.

For the stack's discovery protocol it shows what discovery sees and decides:

* KUBE_PING: the API request (URL, token and CA files), the answer or the classified failure with its
  explanation (403 -> the Role to apply), every pod with its verdict (probed, or why not: no IP, not
  ready, other generation, ourselves), and the target addresses;
* DNS_PING: what is resolved and the target addresses (`fetch_from_dns`, then ``DNS_PING.explain``);
* TCPPING: the resolved ``initial_hosts`` targets.

With ``--cluster NAME`` it then starts a temporary node (the stack's TCP transport and discovery protocol,
nothing else) that sends real discovery requests for cluster NAME and lists who answered: members only
answer requests for their own cluster name, so nobody answering while targets exist means a wrong
cluster name, a port not reachable, or no member running. Exit code 0 when nothing is wrong, 1 when a
problem was found, 2 for configuration errors. This is a command (blocking I/O is fine here): the API
call and the DNS lookups go through the same clients the asyncio driver uses (`pygroups.aio.handlers`),
or through the fakes given as ``io_handlers``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from pygroups.address import IpAddress
from pygroups.aio.handlers import IoHandler, IoHandlers, default_io_handlers
from pygroups.cli_args import define_arg
from pygroups.errors import ConfigError, PyGroupsError
from pygroups.events import DiscoveryResponse, Event, FindInitialMembers
from pygroups.protocols import BUILTIN_PROTOCOLS
from pygroups.protocols.discovery import Discovery
from pygroups.protocols.dns.dns_ping import DNS_PING
from pygroups.protocols.dns.records import Resolution, check_record_type
from pygroups.protocols.dns.requests import DnsResolved, ResolveDns
from pygroups.protocols.kubernetes.api import KubeResult
from pygroups.protocols.kubernetes.requests import ListPods, PodsListed
from pygroups.stack.config import ProtocolSpec, StackSpec, load_stack_file
from pygroups.stack.io import IoCommand
from pygroups.stack.layer import Layer
from pygroups.stack.registry import build_layers
from pygroups.wire.headers.ping import PingData

EXIT_OK, EXIT_PROBLEM, EXIT_CONFIG = 0, 1, 2
__all__ = ["DoctorReport", "add_parser", "diagnose", "diagnose_async", "fetch_from_dns", "run"]


@dataclass
class DoctorReport:
    """What doctor found: lines to print and the problems among them."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)

    def problem(self, text: str) -> None:
        self.lines.append(f"PROBLEM: {text}")
        self.problems.append(text)


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``doctor`` on the ``pygroups`` command's subparsers."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "doctor", help="run discovery once and explain why a node would not join")
    p.add_argument("--config", "-props", required=True, metavar="FILE",
                   help="JGroups XML stack: a file or a stock name (e.g. kubernetes.xml)")
    p.add_argument("--cluster", default=None, metavar="NAME",
                   help="also send real discovery requests for this cluster and list who answers")
    p.add_argument("-D", dest="defines", action="append", default=[], type=define_arg, metavar="NAME=VALUE",
                   help="set a ${NAME} variable / Java system property (like java -DNAME=VALUE); repeatable")
    p.add_argument("--addr", default=None, metavar="IP",
                   help="this node's IP (default: $POD_IP, else the transport's bind_addr on this host)")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for answers (default 3)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    return diagnose(args.config, variables=dict(args.defines), cluster=args.cluster, addr=args.addr,
                    timeout=args.timeout, out=sys.stdout)


# --- building -------------------------------------------------------------------------------------------


def _discovery_spec(spec: StackSpec) -> ProtocolSpec | None:
    for p in spec.protocols[1:]:
        cls = BUILTIN_PROTOCOLS.get(p.name)
        if isinstance(cls, type) and issubclass(cls, Discovery):
            return p
        if p.name in ("kubernetes.KUBE_PING", "dns.DNS_PING", "TCPPING", "MPING", "PING", "JDBC_PING2",
                      "FILE_PING", "DNS_PING"):
            return p
    return None


def _build(spec: StackSpec, disc: ProtocolSpec, variables: Mapping[str, str],
           environ: Mapping[str, str] | None) -> tuple[Layer, Layer]:
    """Fresh transport + discovery layers with the stack's attributes (variables, then the environment)."""
    layers = build_layers(StackSpec((spec.protocols[0], disc), spec.source), BUILTIN_PROTOCOLS, variables=variables,
                          environ=environ)
    tp, dp = layers
    assert isinstance(tp, Layer) and isinstance(dp, Layer)
    return tp, dp


def _prepare(tp: Layer, dp: Layer, variables: Mapping[str, str], environ: Mapping[str, str] | None) -> None:
    from pygroups.stack.config import make_lookup

    if hasattr(tp, "interfaces"):
        from pygroups.aio.netif import local_interfaces

        tp.interfaces = local_interfaces()
    if hasattr(dp, "env_lookup"):
        dp.env_lookup = make_lookup(variables, environ)


class _Top(Layer):
    """Collects the DiscoveryResponse of the probe."""

    name = "DOCTOR"

    def __init__(self) -> None:
        super().__init__()
        self.responses: tuple[PingData, ...] | None = None

    def up(self, evt: Event) -> None:
        match evt:
            case DiscoveryResponse(responses=responses):
                self.responses = responses
            case _:
                pass


def _stack(layers: Sequence[Layer]) -> Any:
    from pygroups.aio.driver import LoopClock
    from pygroups.stack.stack import ProtocolStack

    return ProtocolStack(list(layers), clock=LoopClock(), rng=random.Random())


# --- per protocol -------------------------------------------------------------------------------------------


def _own_ip(tp: Layer, addr: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    if addr:
        return addr, "--addr"
    if environ.get("POD_IP"):
        return environ["POD_IP"], "$POD_IP"
    try:
        from pygroups.aio.netif import local_interfaces
        from pygroups.stack.bind_addr import resolve_bind_addr

        return str(resolve_bind_addr(getattr(tp, "bind_addr", None), local_interfaces())), "bind_addr"
    except (ConfigError, OSError):
        return None, "unknown"


async def _kube(report: DoctorReport, dp: Any, own_text: str | None, how: str,
                list_pods: IoHandler) -> KubeResult | None:
    """KUBE_PING: the API call, every pod's verdict, the targets. Returns the KubeResult (or None)."""
    from pygroups.protocols.kubernetes.kube_ping import explain_failure, explain_pods
    from pygroups.protocols.kubernetes.pods import plan_targets

    report.say(f"KUBE_PING: namespace={dp.namespace!r} labels={dp.labels!r} port_range={dp.port_range} "
               f"useNotReadyAddresses={dp.useNotReadyAddresses} "
               f"split_clusters_during_rolling_update={dp.split_clusters_during_rolling_update}")
    if dp.namespace is None:
        report.problem("namespace is not set: KUBE_PING is disabled and this node always forms its own cluster")
        return None
    cfg = dp.kube_config()
    report.say(f"request: GET {cfg.url}")
    if cfg.cert_mode:
        report.say(f"auth: client certificate {cfg.client_cert_file} / key {cfg.client_key_file}")
    else:
        there = cfg.sa_token_file is not None and os.path.exists(cfg.sa_token_file)
        report.say(f"auth: service account token from {cfg.sa_token_file} ({'present' if there else 'MISSING'})")
    if cfg.scheme == "https":
        ca_ok = bool(cfg.ca_cert_file) and os.path.exists(cfg.ca_cert_file or "")
        report.say(f"TLS: CA bundle {cfg.ca_cert_file or '(none)'}"
                   + ("" if ca_ok else " (missing: the server certificate is NOT verified, as Java falls back)"))
    if dp.masterHost is None:
        report.problem("masterHost is not set (KUBERNETES_SERVICE_HOST): outside a pod set masterHost/masterPort")
    answer = await asyncio.to_thread(list_pods, ListPods(0, dp.api_config or cfg))
    if not isinstance(answer, PodsListed):
        return None
    result = answer.result
    if result.error is not None:
        report.problem(f"the API call failed after {result.attempts} attempt(s): {result.error}")
        for line in explain_failure(result.error, dp.namespace, dp.labels, result.service_account,
                                    master_host=dp.masterHost, token_sent=result.token_sent,
                                    token_file=dp.saTokenFile, ca_file=dp.caCertFile):
            report.say(line)
        return result
    if result.service_account:
        report.say(f"service account: {result.service_account}")
    if result.parse_error is not None:
        report.problem(f"the answer is not a usable pod list: {result.parse_error}")
        return result
    assert result.pods is not None
    pods, dropped = result.pods.pods, result.pods.dropped
    port = dp.tp_bind_port
    own = IpAddress(own_text, port) if own_text and port else None
    report.say(f"this node: {own if own is not None else 'address unknown (pass --addr)'} (from {how})")
    if port is None:
        report.problem("the transport has no fixed bind_port: KUBE_PING needs bind_port > 0")
        return result
    plan = plan_targets(pods, port, dp.port_range, own, use_not_ready_addresses=dp.useNotReadyAddresses,
                        split_clusters_during_rolling_update=dp.split_clusters_during_rolling_update)
    report.say(f"the API listed {len(pods) + len(dropped)} pod(s):")
    probed_ips = {str(t.ip) for t in plan.targets}
    for p in [*pods, *(s.pod for s in dropped if s.pod is not None)]:
        reasons = [f"{s.reason}" + (f" ({s.detail})" if s.detail else "") for s in (*plan.skipped, *dropped)
                   if s.pod is p]
        if p.ip is not None and own is not None and own.ip is not None and str(own.ip) == p.ip:
            verdict = "this node"
        elif p.ip is not None and p.ip in probed_ips:
            verdict = "probed"
        elif p.ip is not None and p.ip not in probed_ips and plan.split is not None and plan.split.allowed_ips \
                is not None and p.ip not in plan.split.allowed_ips:
            verdict = f"skipped: other-group (ours is {plan.split.own_group})"
        else:
            verdict = "skipped: " + ("; ".join(reasons) or "not probed")
        ready = "ready" if p.ready else f"not ready ({p.not_ready_reason})"
        extra = ", terminating" if p.terminating else ""
        report.say(f"  {p.name}  ip={p.ip}  phase={p.phase}  {ready}  group={p.group}{extra}  -> {verdict}")
    if plan.split is not None:
        for w in plan.split.warnings:
            report.say(f"rolling-update split: {w}")
    report.say(f"discovery requests go to {len(plan.targets)} address(es): "
               + (", ".join(str(t) for t in plan.targets) or "none"))
    for finding in explain_pods(dp.namespace, dp.labels, pods, plan, own, dropped=len(dropped)):
        if finding.problem:
            report.problem(finding.text)
        else:
            report.say(finding.text)
    return result


def fetch_from_dns(layer: DNS_PING, resolve: IoHandler) -> Resolution:
    """Java ``DNS_PING.fetchFromDns()``: run the layer's lookup now (blocking, through ``resolve``, the
    `ResolveDns` handler) and return what it found and why not. For tools: never inside a running stack."""
    layer.check_resolver_settings()
    check_record_type(layer.dns_record_type)
    request = layer.resolve_request(0)
    if not request.queries:
        return Resolution(problems=("dns_query is empty: set dns_query or jgroups.dns.dns_query",))
    answer = resolve(request)
    if isinstance(answer, DnsResolved):
        return answer.resolution
    return Resolution(problems=(f"DNS lookup returned {answer!r}, not a Resolution",))


async def _dns(report: DoctorReport, dp: DNS_PING, resolve: IoHandler) -> None:
    try:
        resolution = await asyncio.to_thread(fetch_from_dns, dp, resolve)
    except (ConfigError, PyGroupsError) as e:
        report.problem(f"DNS_PING: {e}")
        return
    for line in dp.explain(resolution):
        if line.startswith("problem:") or line.startswith("no addresses"):
            report.problem(line.removeprefix("problem: "))
        else:
            report.say(line)


def _tcpping(report: DoctorReport, dp: Any) -> None:
    hosts = [*dp.hosts, *[h for h in dp.dynamic_hosts if h not in dp.hosts]]
    report.say(f"TCPPING: {len(hosts)} target(s): {', '.join(str(h) for h in hosts) or 'none'}")
    if dp.unresolved_hosts:
        report.problem(f"unresolved initial_hosts: {', '.join(sorted(dp.unresolved_hosts))}")
    if not hosts:
        report.problem("TCPPING has no initial_hosts: this node can only form a cluster of its own")


# --- the probe ---------------------------------------------------------------------------------------------


async def _probe(tp: Layer, dp: Layer, cluster: str, timeout: float,
                 io_handlers: IoHandlers) -> tuple[tuple[PingData, ...], str | None]:
    from pygroups.aio.driver import StackDriver

    top = _Top()
    if isinstance(dp, Discovery):
        dp.break_on_coord_rsp = False  # wait for everyone, not just the coordinator
    stack = _stack([tp, dp, top])
    driver = StackDriver(stack, on_event=lambda e: None, io_handlers=io_handlers)
    try:
        await driver.settle()
        physical = getattr(tp, "physical_addr", None)
        if physical is None:
            return (), f"the temporary node could not listen: {getattr(tp, 'listen_error', 'unknown error')}"
        driver.call(stack.connect, cluster, name="pygroups-doctor")
        driver.call(stack.run_input, top.down, FindInitialMembers(1, int(timeout * 1000)))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout + 30.0  # the API call itself may take a while (retries)
        while top.responses is None and loop.time() < deadline:
            await asyncio.sleep(0.05)
        return top.responses or (), None if top.responses is not None else "no discovery result in time"
    finally:
        with contextlib.suppress(Exception):
            driver.call(stack.disconnect)
        await driver.aclose()


def _fixed(result: KubeResult) -> IoHandler:
    """A `ListPods` handler answering ``result``: the probe reuses the answer shown, no second API call."""
    def list_pods(request: ListPods) -> PodsListed:
        return PodsListed(request.request_id, result)

    return list_pods


# --- main --------------------------------------------------------------------------------------------------


def diagnose(config: str, *, variables: Mapping[str, str] | None = None, cluster: str | None = None,
             addr: str | None = None, timeout: float = 3.0, out: TextIO | None = None,
             environ: Mapping[str, str] | None = None, prepare: Callable[[Layer], None] | None = None,
             io_handlers: IoHandlers | None = None) -> int:
    """Run the checks and print the report to ``out``; returns the exit code (see `diagnose_async`)."""
    return asyncio.run(diagnose_async(config, variables=variables, cluster=cluster, addr=addr, timeout=timeout,
                                      out=out, environ=environ, prepare=prepare, io_handlers=io_handlers))


async def diagnose_async(config: str, *, variables: Mapping[str, str] | None = None, cluster: str | None = None,
                         addr: str | None = None, timeout: float = 3.0, out: TextIO | None = None,
                         environ: Mapping[str, str] | None = None,
                         prepare: Callable[[Layer], None] | None = None,
                         io_handlers: IoHandlers | None = None) -> int:
    """The doctor on the running loop. ``environ`` replaces the environment; ``prepare(layer)`` is called
    on each discovery layer built; ``io_handlers`` replace the real clients by request type (tests give a
    fake `ListPods` or `ResolveDns` handler there), for the checks and the temporary node alike."""
    handlers: dict[type[IoCommand], IoHandler] = {**default_io_handlers(), **(io_handlers or {})}
    out = out or sys.stdout
    env = os.environ if environ is None else environ
    variables = dict(variables or {})
    report = DoctorReport()

    def emit(code: int) -> int:
        for line in report.lines:
            out.write(line + "\n")
        if report.problems:
            out.write(f"\n{len(report.problems)} problem(s) found: a node with this configuration would not join "
                      "the others until they are fixed.\n")
        else:
            out.write("\nno problem found.\n")
        out.flush()
        return code if code else (EXIT_PROBLEM if report.problems else EXIT_OK)

    try:
        spec = load_stack_file(config, variables, environ=environ)
    except ConfigError as e:
        out.write(f"pygroups doctor: {e}\n")
        return EXIT_CONFIG
    disc = _discovery_spec(spec)
    report.say(f"config: {config}: {' / '.join(spec.names())}")
    if disc is None:
        report.problem("no discovery protocol in this stack")
        return emit(0)
    report.say(f"discovery: {disc.element}")
    try:
        tp, dp = _build(spec, disc, variables, environ)
        _prepare(tp, dp, variables, environ)
        if prepare is not None:
            prepare(dp)
        _stack([tp, dp])  # runs init(): bind_port checks, the client settings, resolved host lists
    except ConfigError as e:
        report.problem(str(e))
        return emit(0)
    bind_addr = getattr(tp, "bind_addr", None)
    report.say(f"transport: {tp.name} bind_addr={getattr(bind_addr, 'text', bind_addr)} "
               f"bind_port={getattr(tp, 'bind_port', None)}")
    own_text, how = _own_ip(tp, addr, env)
    kube_result = None
    if disc.name == "kubernetes.KUBE_PING":
        kube_result = await _kube(report, dp, own_text, how, handlers[ListPods])
    elif disc.name == "dns.DNS_PING" and isinstance(dp, DNS_PING):
        await _dns(report, dp, handlers[ResolveDns])
    elif disc.name == "TCPPING":
        _tcpping(report, dp)
    else:
        report.say(f"{disc.name}: doctor cannot inspect this discovery protocol")

    if cluster is None:
        report.say("(give --cluster NAME to also send discovery requests and see who answers)")
        return emit(0)
    if tp.name != "TCP":
        report.say(f"probe skipped: the temporary node needs the TCP transport, not {tp.name}")
        return emit(0)
    try:
        tp2, dp2 = _build(spec, disc, variables, environ)
        _prepare(tp2, dp2, variables, environ)
        tp_range = getattr(tp2, "port_range", None)
        if isinstance(tp_range, int):
            # the application may hold bind_port on this host: listen next to it (discovery targets still use
            # bind_port, so the local member is probed too)
            setattr(tp2, "port_range", max(tp_range, 10))  # noqa: B010
        if prepare is not None:
            prepare(dp2)
        probe_handlers = dict(handlers)
        if kube_result is not None:
            probe_handlers[ListPods] = _fixed(kube_result)  # the answer shown above, not a second API call
        answers, error = await _probe(tp2, dp2, cluster, timeout, probe_handlers)
    except (ConfigError, PyGroupsError, OSError, TimeoutError) as e:
        report.problem(f"the temporary node failed: {e}")
        return emit(0)
    if error is not None:
        report.problem(error)
        return emit(0)
    if answers:
        report.say(f"members of cluster {cluster!r} that answered ({len(answers)}):")
        for a in answers:
            role = "coordinator" if a.is_coord else ("member" if a.is_server else "joining")
            report.say(f"  {a.logical_name or a.sender}  {a.physical_addr}  {role}")
        if not any(a.is_coord for a in answers):
            report.problem("nobody answered as coordinator: the members are still joining")
    else:
        report.problem(f"nobody answered discovery requests for cluster {cluster!r}: members only answer their own "
                       "cluster name (check the cluster name), the targets may not listen on these ports, or no "
                       "member is running yet")
    return emit(0)
