"""A harness for mixed Java/Python clusters on loopback (standard library only).

Every node is a child process speaking the same JSON line protocol (see Node.java): a Java node is the
conformance peer's ``node`` mode (a real JChannel), a Python node is ``conformance/pypeer.py node`` (a
pygroups Channel). Both load the same stock XML unmodified; addresses and ports come from ``${...}``
properties (``-Djgroups.bind_port=...`` etc.): each node binds 127.0.0.1 on its own free port, and
TCPPING.initial_hosts lists every port of the cluster.

    with Cluster("tcp-core.xml") as c:
        a = c.start("A", "java")
        b, p = c.start_many([("B", "java"), ("P", "python")])
        c.wait_same_view(["A", "B", "P"])

Pod mode (``Cluster(config, pods=True, env={...})``) mimics Kubernetes pods for KUBE_PING/DNS_PING: every node
gets its own loopback IP (:func:`allocate_pod_ip`) and binds ``<ip>:7800`` through ``jgroups.bind_addr`` /
``jgroups.bind_port`` (no TCPPING hosts); ``c.pod_ip(name)`` hands out a node's IP before it starts (so an API or
DNS stand-in can list it first), and ``env`` (cluster-wide) plus ``c.start(name, lang, env={...})`` (per node)
become environment variables of the node process, where KUBE_PING reads KUBERNETES_NAMESPACE etc.:

    with Cluster("kubernetes-core.xml", pods=True, env={"KUBERNETES_NAMESPACE": "demo"}) as c:
        api.add_pod(make_pod("j1", c.pod_ip("J1"), namespace="demo", labels={"app": "demo"}))
        c.start("J1", "java", env={"KUBERNETES_LABELS": "app=demo"})

Teardown is reliable: ``close()`` asks every node to exit, then escalates to SIGTERM/SIGKILL; nodes also exit
when their stdin closes (the harness process died). Failures raise :class:`ClusterError` whose message carries
the recent events and the stderr tail of every node involved.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import javapeer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROTOCOLS = ROOT / "protocols"
PYPEER = HERE / "pypeer.py"

KINDS = ("mcast", "mcast_oob", "ucast", "ucast_oob")


class ClusterError(AssertionError):
    """A node failed to start, misbehaved, or an expected event did not arrive in time."""


def stack_path(config: str | os.PathLike[str]) -> str:
    p = Path(config)
    if not p.is_absolute() and not p.exists():
        p = PROTOCOLS / p
    if not p.is_file():
        raise ClusterError(f"no such stack XML: {config}")
    return str(p)


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held open together while choosing, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


_ids = itertools.count(1)

#: The port every pod binds (KUBE_PING probes ``pod IP x bind_port..bind_port+port_range``).
POD_PORT = 7800
#: tcp-fd.xml's timings shortened for the fault scenarios: FD_ALL3 as tcp.xml runs it would take 40 s to notice a
#: hung member (a killed one is noticed by FD_SOCK2 at once, and FD_ALL3 at 8 s still ends a missed FD_SOCK2
#: suspicion within the tests' timeouts), MERGE3 checks every 8 s instead of 48 s
FAST_FD = {"jgroups.merge3.min_interval": "2s", "jgroups.merge3.max_interval": "5s",
           "jgroups.fd_all3.timeout": "8s", "jgroups.fd_all3.interval": "2s", "jgroups.verify_suspect2.timeout": "1s",
           "jgroups.tcp.port_range": "0", "jgroups.join_timeout": "5s"}

_pod_lock = threading.Lock()
_pod_next = 0


def _bindable(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((ip, port))
        except OSError:
            return False
    return True


def allocate_pod_ip() -> str:
    """A loopback IP never handed out before in this process, whose POD_PORT is free right now.

    Addresses are ``127.A.B.C`` with every octet in 100..254 (A from the process id, so concurrent test
    processes differ): all have the same length, so no pod IP is a substring of another, which matters
    because jgroups-kubernetes finds its own pod for the rolling-update split by a substring match. Never
    reusing an address in a process means a node never binds where an earlier one left TIME_WAIT sockets.
    """
    global _pod_next
    a = 100 + os.getpid() % 155
    with _pod_lock:
        while True:
            n = _pod_next
            _pod_next += 1
            if n >= 155 * 155:
                raise ClusterError("pod IP allocator exhausted")
            ip = f"127.{a}.{100 + n // 155}.{100 + n % 155}"
            if _bindable(ip, POD_PORT):
                return ip


class PeerNode(javapeer.EventLog):
    """One Java or Python node process; events are collected by a reader thread."""

    def __init__(
        self,
        lang: str,
        name: str,
        config: str,
        cluster: str,
        properties: dict[str, str],
        discard: float = 0.0,
        env: dict[str, str] | None = None,
        wrap: Sequence[str] = (),
    ):
        if lang not in ("java", "python"):
            raise ValueError(f"lang must be java or python, not {lang!r}")
        self.lang, self.name, self.config, self.cluster = lang, name, config, cluster
        self.properties = dict(properties)
        self.discard = discard
        self.env = dict(env or {})  # extra environment variables of the node process
        self.wrap = list(wrap)  # a command prefix the node runs under (e.g. a private mount namespace)
        super().__init__()
        self.started: dict[str, Any] | None = None
        self._process: javapeer._Process | None = None
        self.t_spawn = 0.0

    def __repr__(self) -> str:
        return f"<{self.lang} node {self.name}>"

    # -- lifecycle

    def command_line(self) -> list[str]:
        args = ["--config", self.config, "--name", self.name, "--cluster", self.cluster]
        args += [f"-D{k}={v}" for k, v in self.properties.items()]
        if self.discard:
            args += ["--discard", str(self.discard)]
        if self.lang == "java":
            return [*self.wrap, *javapeer.java_command("node", *args, jvm_args=["-Djava.net.preferIPv4Stack=true"])]
        return [*self.wrap, sys.executable, str(PYPEER), "node", *args]

    def spawn(self) -> None:
        if self.lang == "java":
            try:
                javapeer.build()
            except javapeer.JavaPeerError as e:
                raise ClusterError(str(e)) from None
        self.t_spawn = time.monotonic()
        try:
            self._process = javapeer._Process(self.command_line(), self._on_line, self._on_exit, env=self.env)
        except javapeer.JavaPeerError as e:
            raise ClusterError(f"{self}: {e}") from None

    def wait_started(self, timeout: float) -> dict[str, Any]:
        ev = self.wait_for(lambda e: e["event"] in ("started", "error"), timeout)
        if ev["event"] == "error":
            raise ClusterError(f"{self} failed to start: {ev.get('error')}\n{self.stderr()}")
        self.started = ev
        return ev

    def stop(self, timeout: float = 15.0) -> int | None:
        if self._process is None:
            return None

        def graceful() -> None:
            assert self._process is not None
            self._process.write_line(json.dumps({"cmd": "exit"}))

        return self._process.stop(graceful, timeout)

    def kill(self) -> None:
        if self._process is not None and self._process.alive():
            with contextlib.suppress(OSError):
                self._process.proc.kill()
            with contextlib.suppress(Exception):
                self._process.proc.wait(timeout=5)

    def alive(self) -> bool:
        return self._process is not None and self._process.alive()

    # -- events

    def stderr(self, lines: int = 40) -> str:
        if self._process is None:
            return "(not started)"
        tail = list(self._process.stderr_tail)[-lines:]
        body = "\n".join(tail) if tail else "(no stderr output)"
        return f"--- {self.lang} {self.name} stderr (tail) ---\n{body}"

    def describe(self, events: int = 8) -> str:
        with self._cond:
            # answers to the harness's polling say nothing new: leave them out
            told = [e for e in self.events if e["event"] not in ("stats", "current_view", "reset")]
            recent = [json.dumps({k: v for k, v in e.items() if k != "_t"})[:300] for e in told[-events:]]
        state = "running" if self.alive() else f"exited rc={self._process.proc.poll() if self._process else None}"
        return f"=== {self.lang} node {self.name} ({state}) recent events:\n" + "\n".join(recent) + "\n" + self.stderr()

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                for ev in self.events[checked:]:
                    if predicate(ev):
                        return ev
                checked = max(checked, len(self.events))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._exited:
                    break
                self._cond.wait(timeout=min(remaining, 1.0))
        why = "exited" if self._exited else f"no {what or 'matching'} event within {timeout:.1f}s"
        raise ClusterError(f"{self}: {why}\n{self.describe()}")

    # -- commands

    def send(self, cmd: dict[str, Any]) -> None:
        if self._process is None:
            raise ClusterError(f"{self} is not started")
        try:
            self._process.write_line(json.dumps(cmd))
        except javapeer.JavaPeerError as e:
            raise ClusterError(f"{self}: {e}\n{self.describe()}") from None

    def request(self, cmd: dict[str, Any], answer: str | Sequence[str], timeout: float = 60.0) -> dict[str, Any]:
        """Sends a command and waits for the answer event with its id (an ``error`` event raises)."""
        answers = (answer,) if isinstance(answer, str) else tuple(answer)
        cmd = dict(cmd)
        cmd.setdefault("id", f"{self.name}-{next(_ids)}")
        since = self.mark()
        self.send(cmd)
        ev = self.wait_for(
            lambda e: e.get("id") == cmd["id"] and e["event"] in (*answers, "error"),
            timeout,
            since,
            what=f"{'/'.join(answers)} (answer to {cmd['cmd']})",
        )
        if ev["event"] == "error":
            raise ClusterError(f"{self}: command {cmd} failed: {ev.get('error')}\n{self.describe()}")
        return ev

    def submit(self, cmd: dict[str, Any]) -> str:
        """Sends a command without waiting; returns its id (wait with :meth:`wait_done`)."""
        cmd = dict(cmd)
        cmd.setdefault("id", f"{self.name}-{next(_ids)}")
        self.send(cmd)
        return str(cmd["id"])

    def wait_done(self, cmd_id: str, timeout: float, answer: str = "sent_done") -> dict[str, Any]:
        ev = self.wait_for(
            lambda e: e.get("id") == cmd_id and e["event"] in (answer, "error"), timeout, what=answer
        )
        if ev["event"] == "error":
            raise ClusterError(f"{self}: command {cmd_id} failed: {ev.get('error')}\n{self.describe()}")
        return ev

    def stats(self, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
        return dict(self.request({"cmd": "stats"}, "stats", timeout)["streams"])

    def discarded(self, timeout: float = 30.0) -> int:
        """Messages this node's DISCARD dropped (-1 when it runs without --discard)."""
        return int(self.request({"cmd": "stats"}, "stats", timeout).get("discarded", -1))

    def current_view(self, timeout: float = 30.0) -> dict[str, Any]:
        return self.request({"cmd": "view"}, "current_view", timeout)

    def views(self) -> list[dict[str, Any]]:
        return self.select(lambda e: e["event"] == "view")

    def last_view(self) -> dict[str, Any] | None:
        v = self.views()
        return v[-1] if v else None


def view_key(ev: dict[str, Any]) -> tuple[str, int, tuple[str, ...]]:
    """What makes two nodes' views the same: the ViewId (creator UUID, id) and the member UUIDs in order."""
    return (ev["creator_uuid"], int(ev["number"]), tuple(ev["member_uuids"]))


def show_view(ev: dict[str, Any]) -> str:
    return f"[{ev['creator']}|{ev['number']}] {ev['members']}"


class Cluster:
    """Nodes of one JGroups cluster on loopback; a context manager that always tears everything down."""

    def __init__(
        self,
        config: str | os.PathLike[str],
        cluster: str | None = None,
        max_nodes: int = 8,
        start_timeout: float = 60.0,
        properties: dict[str, str] | None = None,
        *,
        pods: bool = False,
        env: dict[str, str] | None = None,
        wrap: Sequence[str] = (),
    ):
        self.config = stack_path(config)
        self.cluster = cluster or f"conf-{os.getpid()}-{next(_ids)}"
        self.pods = pods
        self.ports = [] if pods else free_ports(max_nodes)
        self._next_port = 0
        self.max_nodes = max_nodes
        self.pod_ips: dict[str, str] = {}  # pod mode: node name -> its loopback IP
        self.nodes: dict[str, PeerNode] = {}
        self.start_timeout = start_timeout
        self.extra_properties = dict(properties or {})  # more ${...} values for every node
        self.env = dict(env or {})  # environment variables of every node process
        self.wrap = list(wrap)  # command prefix of every node process (it must exec the command: kill -9 hits it)
        self.log: list[str] = []

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pod_ip(self, name: str) -> str:
        """Pod mode: the loopback IP node ``name`` binds (allocated on first use, also before it starts)."""
        if not self.pods:
            raise ValueError("pod_ip() needs Cluster(..., pods=True)")
        ip = self.pod_ips.get(name)
        if ip is None:
            ip = self.pod_ips[name] = allocate_pod_ip()
        return ip

    def pod_properties(self, ip: str) -> dict[str, str]:
        """A pod's properties; ``{pod_ip}`` in an extra property's value stands for the pod's own IP (e.g. to bind
        its probe diagnostics server where probe looks for it: at each member's IP)."""
        return {
            "jgroups.bind_addr": ip,
            "jgroups.bind_port": str(POD_PORT),
            "jgroups.port_range": "0",  # TP.port_range: a busy port fails loudly instead of drifting
            **{k: v.replace("{pod_ip}", ip) for k, v in self.extra_properties.items()},
        }

    def properties(self, port: int) -> dict[str, str]:
        hosts = ",".join(f"127.0.0.1[{p}]" for p in self.ports)
        return {
            "jgroups.bind_addr": "127.0.0.1",
            "jgroups.bind_port": str(port),
            "jgroups.tcpping.initial_hosts": hosts,
            "jgroups.tcp.port_range": "0",
            **self.extra_properties,
        }

    def spawn(self, name: str, lang: str, discard: float = 0.0, env: dict[str, str] | None = None) -> PeerNode:
        if name in self.nodes:
            raise ValueError(f"duplicate node name {name}")
        if self.pods:
            props = self.pod_properties(self.pod_ip(name))
        else:
            if self._next_port >= len(self.ports):
                raise ValueError("more nodes than max_nodes")
            props = self.properties(self.ports[self._next_port])
            self._next_port += 1
        node = PeerNode(lang, name, self.config, self.cluster, props, discard, env={**self.env, **(env or {})},
                        wrap=self.wrap)
        self.nodes[name] = node
        node.spawn()
        return node

    def start(
        self, name: str, lang: str, discard: float = 0.0, env: dict[str, str] | None = None
    ) -> PeerNode:
        """Starts a node and waits until its channel is connected (first view installed). ``env``: more
        environment variables for this node (on top of the cluster's)."""
        return self.start_many([(name, lang)], discard, env=env)[0]

    def start_many(
        self,
        specs: Iterable[tuple[str, str] | tuple[str, str, dict[str, str]]],
        discard: float = 0.0,
        env: dict[str, str] | None = None,
    ) -> list[PeerNode]:
        """Starts nodes concurrently (they join in any order) and waits until each is connected. A spec is
        ``(name, lang)`` or ``(name, lang, env)``; ``env`` applies to all of them, a spec's own env on top."""
        nodes = []
        for spec in specs:
            name, lang, *rest = spec
            own: dict[str, str] = rest[0] if rest else {}
            nodes.append(self.spawn(name, lang, discard, env={**(env or {}), **own}))
        for n in nodes:
            try:
                ev = n.wait_started(self.start_timeout)
            except ClusterError as e:
                raise ClusterError(f"{e}\n{self.describe()}") from None
            self.log.append(f"{n.lang} {n.name} connected in {ev.get('connect_ms', 0):.0f} ms "
                            f"({time.monotonic() - n.t_spawn:.1f}s after spawn)")
        return nodes

    def __getitem__(self, name: str) -> PeerNode:
        return self.nodes[name]

    def running(self) -> list[PeerNode]:
        return [n for n in self.nodes.values() if n.alive()]

    def describe(self, names: Iterable[str] | None = None) -> str:
        chosen = [self.nodes[n] for n in names] if names is not None else list(self.nodes.values())
        return "\n".join(n.describe() for n in chosen)

    def names_by_uuid(self) -> dict[str, str]:
        """Every started node's UUID -> its logical name (what the harness knows, whatever the nodes know)."""
        return {n.started["uuid"]: n.name for n in self.nodes.values() if n.started}

    def wait_same_view(
        self,
        members: Sequence[str],
        timeout: float = 30.0,
        nodes: Sequence[str] | None = None,
        names: bool = True,
    ) -> dict[str, Any]:
        """Waits until every node in ``nodes`` (default: ``members``) has a last view whose members are exactly
        ``members`` (compared by UUID), then checks all those views are identical: same ViewId (creator, id),
        same member order. With ``names``, every holder must also show every member by its logical name (as
        JGroups nodes do: names travel with discovery). Returns the common view event, names resolved by the
        harness."""
        holders = [self.nodes[n] for n in (nodes if nodes is not None else members)]
        uuids = {self.nodes[m].started["uuid"] for m in members if self.nodes[m].started}
        deadline = time.monotonic() + timeout
        last: dict[str, dict[str, Any] | None] = {}
        agreed: dict[str, Any] | None = None
        while True:
            last = {n.name: n.last_view() for n in holders}
            if all(v is not None and set(v["member_uuids"]) == uuids for v in last.values()):
                keys = {view_key(v) for v in last.values() if v is not None}
                if len(keys) == 1:
                    agreed = next(iter(last.values()))
                    assert agreed is not None
                    if not names or all(self._shows_names(self.nodes[n], v, members) for n, v in last.items()):
                        break
            if time.monotonic() >= deadline:
                lines = [f"  {name}: {show_view(v) if v else None}" + (f" {view_key(v)}" if v else "")
                         for name, v in last.items()]
                what = "logical names in the common view" if agreed else "common view"
                raise ClusterError(
                    f"no {what} of {sorted(members)} within {timeout:.0f}s; last views:\n" + "\n".join(lines)
                    + "\n" + self.describe([n.name for n in holders])
                )
            for n in holders:
                if not n.alive():
                    raise ClusterError(f"{n} exited while waiting for a view of {sorted(members)}\n{self.describe()}")
            time.sleep(0.05)
        resolved = dict(agreed)
        by_uuid = self.names_by_uuid()
        resolved["members"] = [by_uuid.get(u, u) for u in agreed["member_uuids"]]
        resolved["creator"] = by_uuid.get(agreed["creator_uuid"], agreed["creator"])
        resolved["coord"] = resolved["members"][0] if resolved["members"] else None
        return resolved

    @staticmethod
    def _shows_names(node: PeerNode, view: dict[str, Any] | None, members: Sequence[str]) -> bool:
        """Whether ``node`` prints every member by its logical name. Names travel with discovery and
        may arrive after the view was installed (in Java too), so ask for the current view if needed."""
        if view is not None and sorted(view["members"]) == sorted(members):
            return True
        current = node.current_view(timeout=10.0)
        return sorted(current.get("members") or []) == sorted(members)

    def close(self) -> None:
        """Asks every node to exit, in parallel; kills whatever is still alive."""
        threads = [threading.Thread(target=n.stop, daemon=True) for n in self.nodes.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=40)
        for n in self.nodes.values():
            n.kill()


# ------------------------------------------------------------------------------------------ stream checks


def check_stream(
    summary: dict[str, Any] | None, expected: int, fifo: bool, label: str
) -> list[str]:
    """Problems with one received (sender, kind) stream: it must hold seqnos 0..expected-1 exactly once
    (and in order when ``fifo``)."""
    if summary is None:
        return [f"{label}: nothing received (expected {expected})"] if expected else []
    problems = []
    if summary["dups"]:
        problems.append(f"{label}: {summary['dups']} duplicates")
    if summary["distinct"] != expected or summary["max"] != expected - 1 or summary["min"] not in (0, -1):
        problems.append(
            f"{label}: {summary['distinct']} distinct of {expected} (min {summary['min']}, max {summary['max']}, "
            f"missing {summary['missing'][:5]}{'...' if summary['gaps'] > 5 else ''})"
        )
    if fifo and summary["ooo"]:
        problems.append(f"{label}: {summary['ooo']} out of per-sender FIFO order")
    return problems


def resolve_sources(
    stats: dict[str, dict[str, dict[str, Any]]], aliases: dict[str, str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Stream keys by the sender's logical name, also where a receiver only knew the sender's UUID."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rcv, streams in stats.items():
        out[rcv] = {}
        for s in streams.values():
            src = aliases.get(s["src"], s["src"])
            out[rcv][f"{src}/{s['kind']}"] = {**s, "src": src}
    return out


def check_received(
    stats: dict[str, dict[str, dict[str, Any]]], expected: dict[tuple[str, str, str], int]
) -> list[str]:
    """``stats``: receiver -> its stats streams; ``expected``: (receiver, sender, kind) -> count.
    Also flags streams nobody expected."""
    problems = []
    for (rcv, src, kind), n in sorted(expected.items()):
        s = stats[rcv].get(f"{src}/{kind}")
        problems += check_stream(s, n, fifo=not kind.endswith("_oob"), label=f"{src} -> {rcv} {kind}")
    for rcv, streams in stats.items():
        for key, s in streams.items():
            if (rcv, s["src"], s["kind"]) not in expected:
                problems.append(f"{rcv}: unexpected stream {key} ({s['count']} messages)")
    return problems


def wait_received(
    nodes: Sequence[PeerNode],
    expected: dict[tuple[str, str, str], int],
    timeout: float,
    poll: float = 0.5,
    stall: float | None = None,
    aliases: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, dict[str, dict[str, Any]]]]:
    """Polls every node's stats until ``expected`` is met, the deadline passes, or (with ``stall``) nothing new
    arrived anywhere for ``stall`` seconds; returns the problems left (empty when all is well) and the stats."""
    deadline = time.monotonic() + timeout
    progress, last_change = -1, time.monotonic()
    while True:
        stats = {n.name: n.stats() for n in nodes}
        if aliases is None:
            aliases = {n.started["uuid"]: n.name for n in nodes if n.started}
        stats = resolve_sources(stats, aliases)
        problems = check_received(stats, expected)
        incomplete = any(
            stats[r].get(f"{s}/{k}", {}).get("distinct", 0) < n for (r, s, k), n in expected.items()
        )
        now = time.monotonic()
        total = sum(s["count"] for streams in stats.values() for s in streams.values())
        if total != progress:
            progress, last_change = total, now
        stalled = stall is not None and now - last_change >= stall
        if not problems or not incomplete or now >= deadline or stalled:
            if problems and stalled:
                problems.insert(0, f"no progress for {stall:.0f}s ({total} messages received in all)")
            return problems, stats
        time.sleep(poll)


def multicasts_arrive_exactly_once(c: Cluster, roles: Sequence[str], n: int = 200, stall: float = 30.0) -> None:
    """Every one of ``roles`` multicasts ``n`` messages at once; each of them gets every stream exactly once, in
    order (after a view change: the cluster still works)."""
    for r in roles:
        c[r].request({"cmd": "reset"}, "reset")
    ids = [(c[r], c[r].submit({"cmd": "send_seq", "dest": None, "count": n, "size": 100})) for r in roles]
    for node, i in ids:
        node.wait_done(i, 60)
    expected = {(rcv, src, "mcast"): n for rcv in roles for src in roles}
    problems, _ = wait_received([c[r] for r in roles], expected, 120, stall=stall)
    assert not problems, "\n".join(problems) + "\n" + c.describe()

