"""`pygroups chat` and JGroups' own `org.jgroups.demos.Chat` (from the Java peer's classpath) exchange lines both
ways on loopback, with the same stock XML (ports through ``${...}`` properties: ``-D`` for both programs)."""

from __future__ import annotations

import collections
import contextlib
import subprocess
import sys
import threading
import time

import cluster as cluster_mod
import pytest
from cluster import ROOT, stack_path

CHAT_TIMEOUT = 60.0


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies. Java's Chat spins on stdin EOF instead of exiting, so
    closing its stdin is not enough to avoid an orphan."""
    with contextlib.suppress(Exception):
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class ChatProcess:
    """A chat program whose stdout lines are collected; stdin takes chat lines."""

    def __init__(self, label: str, cmd: list[str]):
        self.label, self.cmd = label, cmd
        self.lines: list[str] = []
        self.stderr: collections.deque[str] = collections.deque(maxlen=60)
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1, cwd=ROOT, preexec_fn=_die_with_parent)
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()

    def _read(self, stream, is_stdout: bool) -> None:  # type: ignore[no-untyped-def]
        for line in stream:
            line = line.rstrip("\n")
            if is_stdout:
                with self._cond:
                    self.lines.append(line)
                    self._cond.notify_all()
            else:
                self.stderr.append(line)
        with self._cond:
            self._cond.notify_all()

    def describe(self) -> str:
        with self._cond:
            out = "\n".join(self.lines[-30:])
        return (f"=== {self.label}: {self.cmd[-6:]} rc={self.proc.poll()}\n--- stdout (tail) ---\n{out}\n"
                f"--- stderr (tail) ---\n" + "\n".join(self.stderr))

    def wait_line(self, predicate, timeout: float = CHAT_TIMEOUT, what: str = "") -> str:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        checked = 0
        with self._cond:
            while True:
                for line in self.lines[checked:]:
                    if predicate(line):
                        return line
                checked = len(self.lines)
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    break
                self._cond.wait(min(remaining, 0.5))
        pytest.fail(f"{self.label}: no line with {what} within {timeout:.0f}s\n{self.describe()}", pytrace=False)

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        # Java's Chat loops on stdin EOF: "exit" ends it; then escalate
        with contextlib.suppress(OSError, ValueError):
            self.type("exit")
        with contextlib.suppress(OSError, ValueError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def props(port: int, ports: list[int]) -> list[str]:
    hosts = ",".join(f"127.0.0.1[{p}]" for p in ports)
    return ["jgroups.bind_addr=127.0.0.1", f"jgroups.bind_port={port}",
            f"jgroups.tcpping.initial_hosts={hosts}", "jgroups.tcp.port_range=0"]


def java_chat(java_peer, config: str, name: str, port: int, ports: list[int]) -> ChatProcess:
    jvm = ["-Djava.net.preferIPv4Stack=true", *(f"-D{p}" for p in props(port, ports))]
    cmd = [java_peer.java_executable(), *jvm, "-cp", java_peer.classpath(), "org.jgroups.demos.Chat",
           "-props", config, "-name", name]
    return ChatProcess(f"Java Chat {name}", cmd)


def python_chat(config: str, name: str, port: int, ports: list[int]) -> ChatProcess:
    cmd = [sys.executable, "-m", "pygroups", "chat", "--config", config, "--name", name]
    for p in props(port, ports):
        cmd += ["-D", p]
    return ChatProcess(f"pygroups chat {name}", cmd)


def view_with(names: list[str]):  # type: ignore[no-untyped-def]
    def ok(line: str) -> bool:
        if "** view:" not in line:
            return False
        members = line.rsplit("[", 1)[-1].rstrip("]").split(", ")
        return sorted(members) == sorted(names)
    return ok


@pytest.mark.parametrize(
    ("stack", "langs"),
    [
        ("tcp-core.xml", ("java", "python")),
        ("tcp-core.xml", ("python", "java")),
        ("tcp-fc.xml", ("java", "python")),
        ("tcp-fc.xml", ("python", "java")),
        ("tcp-fc.xml", ("java", "java")),
    ],
    ids=["tcp-core-java-first", "tcp-core-python-first", "tcp-fc-java-first", "tcp-fc-python-first",
         "tcp-fc-java-only"],
)
def test_pygroups_chat_and_java_chat_exchange_lines(java_peer, stack, langs):
    """The first program starts alone (coordinator), the second joins; each types a line the other prints.
    ``java-only`` (two Java Chats) checks the test itself against JGroups."""
    config = stack_path(stack)
    ports = cluster_mod.free_ports(2)
    names = [f"{lang}{i + 1}" for i, lang in enumerate(langs)]
    procs: list[ChatProcess] = []
    try:
        for i, lang in enumerate(langs):
            if lang == "java":
                proc = java_chat(java_peer, config, names[i], ports[i], ports)
            else:
                proc = python_chat(config, names[i], ports[i], ports)
            procs.append(proc)
            proc.wait_line(lambda line: "** view:" in line, what="a first view")
        for proc in procs:
            proc.wait_line(view_with(names), what=f"a view of {names}")
        # Java's Chat lower-cases what it reads (and so does pygroups chat): the lines are lower case
        for i, proc in enumerate(procs):
            text = f"hello from {names[i]}"
            proc.type(text)
            for other in procs:  # everyone, the sender included (multicasts loop back)
                other.wait_line(lambda line, t=f"[{names[i]}]: {text}": t in line, what=f"'[{names[i]}]: {text}'")
    finally:
        for proc in procs:
            proc.stop()
