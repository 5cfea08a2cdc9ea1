"""The `pygroups` command line: exit codes, output formats, the bundled demo."""

from __future__ import annotations

import io
import json
import subprocess  # noqa: TID251 - runs `python -m pygroups`
import sys
from pathlib import Path

import pytest

from pygroups.aio.chat import chat_line
from pygroups.cli import main
from tests.support.aio_toys import Hub, LoopbackTransport, SingletonGms, hub_layers, track_drivers
from tests.unit.capture.test_dump import B_PHYS, GARBAGE, join_req, tp_capture

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("pygroups ") and "JGroups wire version 5.5.6 (0x2946" in out


@pytest.mark.parametrize(
    "argv", [[], ["dump"], ["frobnicate"], ["dump", "--format", "xml", "x"], ["dump", "--demo", "x"]]
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--help"]) == 0
    assert "--json" in capsys.readouterr().out


def test_io_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", str(tmp_path / "missing.pcap")]) == 2
    assert "missing.pcap" in capsys.readouterr().err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01\x02\xff" * 10)
    assert main(["dump", str(junk)]) == 2
    assert "--format" in capsys.readouterr().err


def test_json_output_with_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "x.pcap"
    f.write_bytes(tp_capture()[0])
    assert main(["dump", str(f), "--json"]) == 1
    out, err = capsys.readouterr()
    recs = [json.loads(line) for line in out.splitlines()]
    assert {r["kind"] for r in recs} == {"preamble", "message", "error", "close"}
    assert all("payload" not in r for r in recs)
    summary = json.loads(err.splitlines()[-1])
    assert summary["kind"] == "summary" and summary["errors"] == 1 and summary["messages"] == 5
    assert main(["dump", str(f), "--json", "--payload"]) == 1
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all("payload" in r for r in recs if r["kind"] == "message")


def test_human_output_and_summary_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "ok.frames"
    from pygroups.wire import framing

    f.write_bytes(framing.encode_preamble(B_PHYS) + framing.frame(join_req()))
    assert main(["dump", str(f)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("-- ok.frames preamble: version 5.5.6")
    assert out[1].startswith("#1 ok.frames [dst: ") and "GMS: JOIN_REQ" in out[1]
    assert out[2].startswith("frames: 0 packets, 0 connections, 1 frames, 1 messages, 0 errors")
    assert main(["dump", str(f), "--summary"]) == 0
    assert capsys.readouterr().out.startswith("frames: ")
    # the version check and a forced format
    assert main(["dump", str(f), "--version", "5.6.0"]) == 1
    capsys.readouterr()
    assert main(["dump", str(f), "--version", "five"]) == 2
    capsys.readouterr()
    bad = tmp_path / "bad.hex"
    bad.write_text(GARBAGE.hex() + "\n")
    assert main(["dump", str(bad), "--format", "hex"]) == 1


def test_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dump", "--demo", "--summary"]) == 0
    out = capsys.readouterr().out
    for needle in (
        "0 errors",
        "JOIN_REQ=2",
        "LEAVE_REQ=2",
        "VIEW=",
        "GET_MBRS_REQ=",
        "CONNECT=",
        "REPLENISH=",
    ):
        assert needle in out
    assert main(["dump", "--demo", "--json"]) == 0
    out, err = capsys.readouterr()
    assert len([json.loads(line) for line in out.splitlines()]) > 300
    assert json.loads(err)["errors"] == 0
    assert main(["dump", "--demo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any("GMS: JOIN_REQ mbr=B" in line and "src: B" in line for line in lines)


def test_python_dash_m() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pygroups", "version"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "5.5.6" in proc.stdout


# --- chat and demo (toy stacks: tests/support/aio_toys.py; the real stack is exercised by conformance) ---


@pytest.fixture
def toy_stacks(monkeypatch: pytest.MonkeyPatch) -> Hub:
    """Stack names "toy" (one member, loopback) and "hub" (members of one in-process hub)."""
    from pygroups.aio import channel

    hub = Hub()
    track_drivers(monkeypatch, hub)
    real = channel._build_layers

    def build(config: object, variables: object, protocols: object) -> object:
        if config == "toy":
            return [LoopbackTransport(), SingletonGms()]
        if config == "hub":
            return hub_layers(hub)()
        return real(config, variables, protocols)  # type: ignore[arg-type]

    monkeypatch.setattr(channel, "_build_layers", build)
    return hub


def test_chat_prints_like_java_and_stops_on_quit(
    toy_stacks: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hello World\n42\nQuit now\nnot sent\n"))
    assert main(["chat", "-props", "toy", "-name", "A", "-D", "x=1"]) == 0
    assert capsys.readouterr().out.splitlines() == ["** view: [A|1] (1) [A]", "[A]: hello world", "[A]: 42"]


def test_chat_ends_at_end_of_input(
    toy_stacks: Hub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("one"))
    assert main(["chat", "--config", "toy", "--name", "Bob", "--cluster", "c"]) == 0
    assert capsys.readouterr().out.splitlines() == ["** view: [Bob|1] (1) [Bob]", "[Bob]: one"]


def test_chat_usage_and_config_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "-D", "novalue"]) == 2
    assert "NAME=VALUE" in capsys.readouterr().err
    assert main(["chat", "--config", "no-such-stack.xml"]) == 2
    assert "no-such-stack.xml" in capsys.readouterr().err


def test_chat_line_rules() -> None:
    assert chat_line("Hi There\n") == "hi there"  # Java's Chat lower-cases what it sends
    assert chat_line("exit\n") is None and chat_line("QUITTING") is None
    assert chat_line("\n") == ""


def test_demo_runs_a_three_member_cluster(toy_stacks: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--config", "hub", "--port", "7800"]) == 0
    out = capsys.readouterr().out
    assert "  A  ** view: [A|3] (3) [A, B, C]" in out
    for who in "ABC":
        for sender in "ABC":
            assert f"  {who}  [{sender}]: hello from {sender}" in out
    assert "  A  [B]: just for you" in out and "  C  [B]: just for you" not in out
    assert "  B  ** view: [A|4] (2) [A, B]" in out and "  B  ** view: [B|5] (1) [B]" in out
    assert out.rstrip().splitlines()[-1].startswith("Done in ")


def test_demo_reports_a_stack_that_does_not_work(toy_stacks: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    # singleton views only: never 2 members
    assert main(["demo", "--config", "toy", "--port", "7800", "--timeout", "0.05"]) == 1
    assert "no view with 2 members" in capsys.readouterr().err


def test_demo_on_the_stock_stack(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's main command, for real: TCP on loopback, tcp-core.xml."""
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "  C  ** view: [A|2] (3) [A, B, C]" in out and "  A  [B]: just for you" in out
    assert "  B  ** view: [B|4] (1) [B]" in out
