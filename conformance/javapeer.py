"""Python side of the Java conformance peer (conformance/java), standard library only.

The Java peer drives the real JGroups jar. This module builds it with Maven (once, cached by
modification time) and runs its modes:

* ``catalogue()``    golden vectors serialized by JGroups, as a list of dicts
* ``Decoder``        one long-lived JVM that decodes/re-encodes bytes with JGroups' own read/write paths
* ``JavaNode``       a real JChannel (``node`` mode) driven by JSON commands, optionally in a netns
                     (cluster.py drives the same mode, and pypeer.py's Python twin, for mixed clusters)
* ``bench()``        JGroups' marshalling speed for the catalogue's ``bench-batch10`` list

Every failure raises :class:`JavaPeerError` with a message meant for a test report. Callers (see
``conftest.py``) must turn it into a test *failure*: a missing Java toolchain is a broken environment,
not a reason to skip.

Environment:

* ``PYGROUPS_MVN_ARGS``  extra Maven arguments, e.g. ``-o`` or ``-Djgroups.version=5.5.5.Final``
  (changing them triggers a rebuild)
* ``PYGROUPS_JAVA``      java executable to use instead of the one on PATH
"""


from __future__ import annotations

import collections
import contextlib
import fcntl
import itertools
import json
import os
import queue
import shlex
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
JAVA_DIR = HERE / "java"
POM = JAVA_DIR / "pom.xml"
TARGET = JAVA_DIR / "target"
STAMP = TARGET / ".pygroups-build.json"
MAIN_CLASS = "io.pygroups.peer.Peer"

BUILD_TIMEOUT = 1800.0  # a cold ~/.m2 downloads Maven plugins and JGroups first


class JavaPeerError(RuntimeError):
    """The Java peer could not be built or run, or it misbehaved."""


class JavaPeerTimeout(JavaPeerError, TimeoutError):
    """A deadline passed while waiting for the Java peer."""


# ---------------------------------------------------------------------------------------------- build


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def java_executable() -> str:
    override = os.environ.get("PYGROUPS_JAVA")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise JavaPeerError(f"PYGROUPS_JAVA={override} is not an executable file")
        return override
    java = shutil.which("java")
    if not java:
        raise JavaPeerError("java not found on PATH (install a JDK 17+ or set PYGROUPS_JAVA)")
    return java


def _mvn_args() -> list[str]:
    return shlex.split(os.environ.get("PYGROUPS_MVN_ARGS", ""))


def _newest_source_mtime() -> float:
    newest = POM.stat().st_mtime
    for path in (JAVA_DIR / "src").rglob("*"):
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _is_fresh(args: list[str]) -> bool:
    try:
        stamp = json.loads(STAMP.read_text())
    except (OSError, ValueError):
        return False
    return (
        stamp.get("mtime") == _newest_source_mtime()
        and stamp.get("args") == args
        and (TARGET / "classes" / "io" / "pygroups" / "peer" / "Peer.class").is_file()
        and (TARGET / "lib" / "jgroups.jar").is_file()
    )


def build(force: bool = False, timeout: float = BUILD_TIMEOUT) -> str:
    """Build the Java peer unless an up-to-date build exists; returns the classpath.

    Safe to call from several processes at once (file lock); raises JavaPeerError on any problem.
    """
    java_executable()
    mvn = shutil.which("mvn")
    if not mvn:
        raise JavaPeerError("Java peer could not be built: mvn (Maven 3.8+) not found on PATH")
    if not POM.is_file():
        raise JavaPeerError(f"Java peer could not be built: {POM} is missing")
    args = _mvn_args()
    TARGET.mkdir(parents=True, exist_ok=True)
    with open(JAVA_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if force or not _is_fresh(args):
            mtime = _newest_source_mtime()  # before building: edits during the build force another one
            STAMP.unlink(missing_ok=True)  # a failed or interrupted build must not look fresh afterwards
            cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "-f", str(POM), *args, "package"]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=JAVA_DIR)
            except subprocess.TimeoutExpired as e:
                out = (
                    (e.stdout or b"").decode(errors="replace")
                    if isinstance(e.stdout, bytes)
                    else (e.stdout or "")
                )
                raise JavaPeerError(
                    f"Java peer could not be built: Maven did not finish within {timeout:.0f}s\n{_tail(out)}"
                ) from None
            if proc.returncode != 0:
                raise JavaPeerError(
                    f"Java peer could not be built: '{shlex.join(cmd)}' exited with {proc.returncode}\n"
                    f"--- Maven output (tail) ---\n{_tail(proc.stdout + proc.stderr)}"
                )
            if not (TARGET / "lib" / "jgroups.jar").is_file():
                raise JavaPeerError(
                    "Java peer could not be built: Maven succeeded but target/lib/jgroups.jar is missing"
                )
            STAMP.write_text(json.dumps({"mtime": mtime, "args": args, "built": time.time()}))
    return classpath()


def classpath() -> str:
    return os.pathsep.join([str(TARGET / "classes"), str(TARGET / "lib" / "*")])


def java_command(mode: str, *args: str, jvm_args: Sequence[str] = ()) -> list[str]:
    return [java_executable(), *jvm_args, "-cp", classpath(), MAIN_CLASS, mode, *args]


def _run_mode(mode: str, *args: str, timeout: float, jvm_args: Sequence[str] = ()) -> list[dict[str, Any]]:
    build()
    cmd = java_command(mode, *args, jvm_args=jvm_args)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise JavaPeerTimeout(f"Java peer '{mode}' did not finish within {timeout:.0f}s") from None
    if proc.returncode != 0:
        raise JavaPeerError(
            f"Java peer '{mode}' exited with {proc.returncode}\n--- stderr ---\n{_tail(proc.stderr)}"
        )
    try:
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    except ValueError as e:
        raise JavaPeerError(f"Java peer '{mode}' printed something that is not JSON: {e}") from None


def catalogue(timeout: float = 120.0) -> list[dict[str, Any]]:
    """Golden vectors: ``{"name", "kind", "hex", "desc"}`` per entry, in catalogue order."""
    entries = _run_mode("catalogue", timeout=timeout)
    if not entries:
        raise JavaPeerError("Java peer printed an empty catalogue")
    return entries


def version(timeout: float = 60.0) -> dict[str, Any]:
    """``{"jgroups": "5.5.6", "version_short": 10566, "flag_table_problems": [...]}``."""
    return _run_mode("version", timeout=timeout)[0]


def bench(seconds: float = 3.0, warmup: float = 2.0, timeout: float | None = None) -> dict[str, Any]:
    """JGroups' own encode/decode rate (messages/s) for the catalogue's ``bench-batch10`` list."""
    limit = timeout if timeout is not None else 2 * (seconds + warmup) + 60
    return _run_mode("bench", "--seconds", str(seconds), "--warmup", str(warmup), timeout=limit)[0]


# ---------------------------------------------------------------------------------------------- processes


class _Process:
    """A child JVM whose stdout lines go to a callback and whose stderr is kept (tail) for error messages."""

    def __init__(
        self,
        cmd: list[str],
        on_line: Callable[[str], None],
        on_exit: Callable[[], None],
        env: dict[str, str] | None = None,
    ):
        """``env``: extra environment variables for the child (added to this process's environment)."""
        self.cmd = cmd
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        try:
            self.proc = subprocess.Popen(
                cmd,
                env={**os.environ, **env} if env else None,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                bufsize=1,
            )
        except OSError as e:
            raise JavaPeerError(f"cannot start {shlex.join(cmd)}: {e}") from None
        self._on_line, self._on_exit = on_line, on_exit
        threading.Thread(target=self._read_stdout, daemon=True, name="javapeer-stdout").start()
        threading.Thread(target=self._read_stderr, daemon=True, name="javapeer-stderr").start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._on_line(line.rstrip("\n"))
        self._on_exit()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_tail.append(line.rstrip("\n"))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def write_line(self, line: str) -> None:
        if not self.alive():
            raise JavaPeerError(f"Java peer has exited (rc={self.proc.returncode})\n{self.stderr()}")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise JavaPeerError(f"Java peer stdin closed ({e})\n{self.stderr()}") from None

    def stderr(self, lines: int = 30) -> str:
        tail = list(self.stderr_tail)[-lines:]
        return "--- Java stderr (tail) ---\n" + "\n".join(tail) if tail else "(no stderr output)"

    def stop(self, graceful: Callable[[], None] | None, timeout: float) -> int | None:
        """Ask nicely (graceful), then close stdin, then SIGTERM, then SIGKILL; returns the exit code."""
        if self.alive() and graceful is not None:
            with contextlib.suppress(JavaPeerError):
                graceful()
        with contextlib.suppress(OSError, ValueError):
            if self.proc.stdin:
                self.proc.stdin.close()
        for action in (None, self.proc.terminate, self.proc.kill):
            if action is not None and self.alive():
                with contextlib.suppress(OSError):
                    action()
            try:
                return self.proc.wait(timeout=timeout if action is None else 5)
            except subprocess.TimeoutExpired:
                continue
        return self.proc.poll()


class Decoder:
    """One long-lived JVM running the ``decode`` mode.

    >>> with Decoder() as d:
    ...     r = d.decode("vlong", bytes.fromhex("0101"))
    ...     assert r["ok"] and r["json"] == 1

    ``decode`` returns the peer's answer: ``{"id", "ok": True, "consumed", "total", "reencoded", ["json"],
    "string"}`` or ``{"id", "ok": False, "error"}``. Thread-safe (requests are serialized).
    """

    def __init__(self, timeout: float = 30.0, jvm_args: Sequence[str] = ()):
        self.timeout = timeout
        self.jvm_args = list(jvm_args)
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._process: _Process | None = None

    def start(self) -> Decoder:
        if self._process is None:
            build()
            self._process = _Process(
                java_command("decode", jvm_args=self.jvm_args),
                self._answers.put,
                lambda: self._answers.put(None),
            )
        return self

    def __enter__(self) -> Decoder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def decode(self, kind: str, data: bytes, timeout: float | None = None) -> dict[str, Any]:
        self.start()
        assert self._process is not None
        with self._lock:
            req_id = next(self._ids)
            self._process.write_line(json.dumps({"id": req_id, "kind": kind, "hex": bytes(data).hex()}))
            limit = timeout if timeout is not None else self.timeout
            deadline = time.monotonic() + limit
            while True:
                remaining = deadline - time.monotonic()
                try:
                    line = self._answers.get(timeout=max(remaining, 0.001))
                except queue.Empty:
                    raise JavaPeerTimeout(
                        f"Java decoder gave no answer for {kind} within {limit:.0f}s\n"
                        + self._process.stderr()
                    ) from None
                if line is None:
                    raise JavaPeerError(f"Java decoder exited\n{self._process.stderr()}")
                try:
                    answer = json.loads(line)
                except ValueError:
                    raise JavaPeerError(f"Java decoder printed non-JSON: {line[:200]!r}") from None
                if answer.get("id") == req_id:
                    return answer
                # an answer to an earlier request that timed out: drop it

    def close(self) -> None:
        if self._process is not None:
            self._process.stop(None, timeout=10)
            self._process = None


class EventLog:
    """The JSON events of a node process (objects with an ``"event"`` key; other lines become ``raw``
    events), appended by its reader thread; shared by `JavaNode` and the cluster harness's nodes."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._exited = False

    def _on_line(self, line: str) -> None:
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict) or "event" not in ev:
                raise ValueError
        except ValueError:
            ev = {"event": "raw", "line": line}
        ev["_t"] = time.monotonic()
        with self._cond:
            self.events.append(ev)
            self._cond.notify_all()

    def _on_exit(self) -> None:
        with self._cond:
            self._exited = True
            self._cond.notify_all()

    def mark(self) -> int:
        """Index of the next event; pass it as ``since`` to only look at later events."""
        with self._cond:
            return len(self.events)

    def select(self, predicate: Callable[[dict[str, Any]], bool], since: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events[since:] if predicate(e)]

    def count(self, predicate: Callable[[dict[str, Any]], bool], since: int = 0) -> int:
        return len(self.select(predicate, since))


class JavaNode(EventLog):
    """A real JGroups JChannel (``node`` mode) in a child JVM.

    Events (JSON objects with an ``"event"`` key, see Node.java) are collected by a background thread.
    ``wait_for`` polls them against a deadline; there are no fixed sleeps.

    ``netns``: run inside ``ip netns exec NETNS`` (the namespace must exist). ``system_properties`` become
    ``-Dkey=value`` JVM options, e.g. ``{"jgroups.bind_addr": "127.0.0.1"}``. ``config`` is a file path or a
    resource name that JGroups finds on its classpath (``"tcp.xml"`` is the jar's own stack).
    """

    def __init__(
        self,
        config: str | os.PathLike[str],
        name: str,
        cluster: str = "chat",
        *,
        netns: str | None = None,
        system_properties: dict[str, str] | None = None,
        jvm_args: Sequence[str] = (),
        hex_limit: int | None = None,
        prefer_ipv4: bool = True,
    ):
        self.config, self.name, self.cluster, self.netns = str(config), name, cluster, netns
        props = {"java.net.preferIPv4Stack": "true"} if prefer_ipv4 else {}
        props.update(system_properties or {})
        self.jvm_args = [*(f"-D{k}={v}" for k, v in props.items()), *jvm_args]
        self.hex_limit = hex_limit
        super().__init__()
        self._process: _Process | None = None

    # -- lifecycle

    def start(self, timeout: float = 60.0) -> dict[str, Any]:
        """Starts the JVM and waits until the channel is connected; returns the ``started`` event."""
        build()
        args = ["--config", self.config, "--name", self.name, "--cluster", self.cluster]
        if self.hex_limit is not None:
            args += ["--hex-limit", str(self.hex_limit)]
        cmd = java_command("node", *args, jvm_args=self.jvm_args)
        if self.netns:
            cmd = ["ip", "netns", "exec", self.netns, *cmd]
        self._process = _Process(cmd, self._on_line, self._on_exit)
        ev = self.wait_for(lambda e: e["event"] in ("started", "error"), timeout)
        if ev["event"] == "error":
            raise JavaPeerError(
                f"node {self.name} failed to start: {ev.get('error')}\n{self._process.stderr()}"
            )
        return ev

    def __enter__(self) -> JavaNode:
        if self._process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self, timeout: float = 20.0) -> int | None:
        """Sends ``exit`` (closes the channel), then escalates to SIGTERM/SIGKILL; returns the exit code."""
        if self._process is None:
            return None
        return self._process.stop(lambda: self.send({"cmd": "exit"}), timeout)

    def alive(self) -> bool:
        return self._process is not None and self._process.alive()

    # -- events

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0
    ) -> dict[str, Any]:
        """First event (from index ``since``) matching ``predicate``; JavaPeerTimeout at the deadline."""
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
        why = "exited" if self._exited else f"no matching event within {timeout:.1f}s"
        recent = [json.dumps({k: v for k, v in e.items() if k != "_t"})[:200] for e in self.events[-8:]]
        stderr = self._process.stderr() if self._process else ""
        raise JavaPeerTimeout(
            f"node {self.name}: {why}\n--- recent events ---\n" + "\n".join(recent) + "\n" + stderr
        )

    def wait_count(
        self, predicate: Callable[[dict[str, Any]], bool], n: int, timeout: float, since: int = 0
    ) -> int:
        """Waits until at least ``n`` events match; returns the count."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                c = sum(1 for e in self.events[since:] if predicate(e))
                if c >= n:
                    return c
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._exited:
                    break
                self._cond.wait(timeout=min(remaining, 1.0))
        stderr = self._process.stderr() if self._process else ""
        raise JavaPeerTimeout(f"node {self.name}: only {c} of {n} events within {timeout:.1f}s\n{stderr}")

    def wait_view(self, members: Iterable[str], timeout: float, since: int = 0) -> dict[str, Any]:
        """Waits for a view whose member names are exactly ``members`` (in any order)."""
        want = sorted(members)
        return self.wait_for(lambda e: e["event"] == "view" and sorted(e["members"]) == want, timeout, since)

    # -- commands

    def send(self, cmd: dict[str, Any]) -> None:
        if self._process is None:
            raise JavaPeerError(f"node {self.name} is not started")
        self._process.write_line(json.dumps(cmd))

    def command(self, cmd: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Sends a command and waits for its ``sent``/``disconnected``/``error`` event (matched by id)."""
        cmd = dict(cmd)
        cmd.setdefault("id", f"{self.name}-{next(_command_ids)}")
        since = self.mark()
        self.send(cmd)
        ev = self.wait_for(lambda e: e.get("id") == cmd["id"], timeout, since)
        if ev["event"] == "error":
            raise JavaPeerError(f"node {self.name}: command {cmd} failed: {ev.get('error')}")
        return ev

    def stderr(self) -> str:
        return self._process.stderr() if self._process else ""


_command_ids = itertools.count(1)


def check_configs(
    files: Sequence[str | Path], properties: dict[str, str] | None = None, timeout: float = 120.0
) -> list[dict[str, Any]]:
    """Let JGroups build (not connect) a JChannel from each XML file, with ``-Dkey=value`` properties.

    One ``{"file", "ok", "protocols" | "error"}`` per file; a file JGroups refuses is a result, not an error.
    """
    build()
    jvm = [f"-D{k}={v}" for k, v in (properties or {}).items()]
    cmd = java_command("config", *map(str, files), jvm_args=jvm)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise JavaPeerTimeout(f"Java peer 'config' did not finish within {timeout:.0f}s") from None
    if proc.returncode not in (0, 1):
        raise JavaPeerError(f"Java peer 'config' exited with {proc.returncode}\n--- stderr ---\n{_tail(proc.stderr)}")
    try:
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    except ValueError as e:
        raise JavaPeerError(f"Java peer 'config' printed something that is not JSON: {e}") from None
