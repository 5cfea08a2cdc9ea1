"""Probe helpers for the conformance tests: free diagnostics ports, the diagnostics properties of the stock stacks,
Java's own ``org.jgroups.tests.Probe`` and ``pygroups probe`` as subprocesses, and parsers of Probe's output."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

from cluster import ROOT

ANSWER = re.compile(r"^#(\d+) \((\d+) bytes\):\n", re.M)
SUMMARY = re.compile(r"^\d+ responses \(\d+ matches, \d+ non matches\)$", re.M)
DETAILED = re.compile(r"^(\S+) \(ip=([\d.]+:\d+)\)\nview=(.*)\ncluster=(.*)\nversion=(.*)\n$")
GROUP = "239.255.75.76"  # a test group, never JGroups' 224.0.75.75


def free_block(n: int) -> int:
    """The first port of n consecutive free loopback ports."""
    for base in range(21000, 60000, 97):
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no block of free ports")


def diag_properties(base: int, **extra: str) -> dict[str, str]:
    return {"jgroups.diag.enabled": "true", "jgroups.diag.enable_tcp": "true", "jgroups.diag.enable_udp": "false",
            "jgroups.diag.bind_addr": "127.0.0.1", "jgroups.diag.port": str(base),
            "jgroups.diag.port_range": "10", **{f"jgroups.diag.{k}": v for k, v in extra.items()}}


def java_probe(java_peer, *args: str) -> str:
    cmd = [java_peer.java_executable(), "-Djava.net.preferIPv4Stack=true", "-cp", java_peer.classpath(),
           "org.jgroups.tests.Probe", *args]
    r = subprocess.run(cmd, capture_output=True, timeout=60)  # bytes: answers hold "\r\n"
    out, err = r.stdout.decode(), r.stderr.decode(errors="replace")
    assert r.returncode == 0, f"{cmd}\n{out}\n{err}"
    return out


def py_probe(*args: str) -> str:
    r = subprocess.run([sys.executable, "-m", "pygroups", "probe", *args], capture_output=True, timeout=60, cwd=ROOT)
    out, err = r.stdout.decode(), r.stderr.decode(errors="replace")
    assert r.returncode in (0, 1), f"{out}\n{err}"
    return out


def answers(output: str) -> list[str]:
    """Probe's ``#N (B bytes):\nTEXT\n`` blocks, checking B against TEXT's UTF-8 length."""
    marks = list(ANSWER.finditer(output))
    summary = SUMMARY.search(output)
    assert summary is not None, output
    found = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else summary.start()
        text = output[m.end():end].removesuffix("\n")  # Probe's printf adds "\n" after the answer
        assert len(text.encode()) == int(m.group(2)), f"byte count of answer {m.group(1)}: {text!r}"
        found.append(text)
    return found


def keyed(texts: list[str]) -> dict[str, dict[str, str]]:
    """name -> {key: value} of answers to keyed requests (short header, then key=value\\r\\n)."""
    out: dict[str, dict[str, str]] = {}
    for text in texts:
        head, _, body = text.partition("\n")
        name = head.split(" ", 1)[0]
        assert re.match(r"^\S+ \[ip=[\d.]+:\d+, \d+ mbr\(s\), cluster=.*, version=5\.5\.6\.Final .*\]$", head), head
        assert body.endswith("\r\n") or not body, repr(body)
        out[name] = dict(line.split("=", 1) for line in body.split("\r\n") if line)
    return out
