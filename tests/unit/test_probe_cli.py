"""``pygroups probe``: Java Probe's options, flags and output format (the probes of a running node over loopback
are in tests/integration/test_probe_cli.py)."""

from __future__ import annotations

import argparse

import pytest

from pygroups import cli, probe


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    probe.add_parser(parser.add_subparsers())
    return parser.parse_args(["probe", *argv])


def test_java_style_options() -> None:
    a = parse("-addr", "127.0.0.1", "-addr", "127.0.0.2", "-port", "7600", "-timeout", "800", "-ttl", "0",
              "-cluster", "prod.*", "-passcode", "pw", "-bind_addr", "127.0.0.1", "-tcp", "true", "jmx=GMS", "view")
    assert (a.addrs, a.port, a.timeout, a.ttl, a.cluster, a.passcode, a.bind_addr, a.tcp, a.keys) == (
        ["127.0.0.1", "127.0.0.2"], 7600, 800, 0, "prod.*", "pw", "127.0.0.1", "true", ["jmx=GMS", "view"])
    assert probe.build_request(a.keys, a.cluster) == "cluster=prod.* jmx=GMS view "
    assert probe.build_request([], None) == ""


@pytest.mark.parametrize(("argv", "udp", "tcp", "keys"), [
    ((), True, False, []),
    (("-tcp",), True, True, []),
    (("-tcp", "jmx"), True, True, ["jmx"]),  # a bare -tcp does not eat the key
    (("-tcp", "false", "keys"), True, False, ["keys"]),
    (("--tcp", "true"), True, True, []),
    (("-udp", "false", "-tcp", "true"), False, True, []),
])
def test_udp_tcp_flags(argv: tuple[str, ...], udp: bool, tcp: bool, keys: list[str]) -> None:
    a = parse(*argv)
    k = list(a.keys)
    assert (probe._flag(a.udp, True, k), probe._flag(a.tcp, False, k), k) == (udp, tcp, keys)


def test_neither_udp_nor_tcp_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "-udp", "false", "-tcp", "false"]) == 2
    assert "either UDP or TCP" in capsys.readouterr().err


def test_printer_like_probe() -> None:
    out: list[str] = []
    p = probe.Printer(out.append, match="cluster=a", weed_out_duplicates=False)
    p(b"A [ip=x, 1 mbr(s), cluster=a, version=v]\n")
    p(b"B [ip=y, 1 mbr(s), cluster=b, version=v]\n")
    assert out == ["#1 (41 bytes):\nA [ip=x, 1 mbr(s), cluster=a, version=v]\n\n"]
    assert p.summary() == "2 responses (1 matches, 1 non matches)\n"
    w = probe.Printer(out.append, match=None, weed_out_duplicates=True)
    for _ in range(2):
        w(b"A [..]\nlocal_addr=A\r\n")
    assert w.count == 1


def test_help_lists_the_java_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["probe", "-h"]) == 0
    text = capsys.readouterr().out
    for option in ("-addr", "-bind_addr", "-port", "-ttl", "-timeout", "-passcode", "-cluster", "-tcp", "-udp"):
        assert option in text
