"""The `pygroups` command line. Thin on purpose: argument parsing and printing only.

Subcommands: `demo` (a 3-member cluster on loopback, pygroups.aio.demo), `chat` (JGroups' Chat
demo, pygroups.aio.chat), `dump` (decode captured JGroups traffic, engine in pygroups.capture.dump)
and `version`. Exit codes: 0 fine, 1 something in the input did not decode / the cluster could not
be joined, 2 usage, configuration or I/O error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib import metadata, resources
from typing import IO, Any

from pygroups import doctor, probe
from pygroups.capture import CaptureError
from pygroups.capture.sources import InputFormat
from pygroups.cli_args import define_arg
from pygroups.wire.version import DEFAULT_VERSION, WireVersion

EXIT_OK, EXIT_DECODE_ERRORS, EXIT_USAGE = 0, 1, 2
EXIT_FAILED, EXIT_INTERRUPTED = 1, 130
DEFAULT_CHAT_STACK = "tcp-core.xml"  # the stock stack pygroups implements completely


def package_version() -> str:
    try:
        return metadata.version("pygroups")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _wire_version(text: str) -> WireVersion:
    try:
        return WireVersion.parse(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"not a version: {text!r} (expected e.g. 5.5.6)") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pygroups", description="JGroups-compatible group communication tools"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump", help="decode JGroups TCP traffic from a pcap/pcapng, frames or hex file")
    d.add_argument("file", nargs="?", help="capture file (pcap, pcapng, frames or hex lines)")
    d.add_argument("--demo", action="store_true", help="decode the bundled 3-node demo capture")
    d.add_argument("--json", action="store_true", help="one JSON record per line (summary to stderr)")
    d.add_argument("--payload", action="store_true", help="include message payloads")
    d.add_argument("--format", choices=[f.value for f in InputFormat], default="auto", help="input format")
    d.add_argument(
        "--version",
        type=_wire_version,
        default=None,
        metavar="X.Y.Z",
        help="reject preambles not binary-compatible with this JGroups version (default: accept any)",
    )
    d.add_argument("--summary", action="store_true", help="print the summary only")
    d.set_defaults(func=_dump)
    c = sub.add_parser("chat", help="JGroups' Chat demo: join a cluster, multicast stdin lines, print what arrives")
    c.add_argument("--config", "-props", default=DEFAULT_CHAT_STACK, metavar="FILE",
                   help=f"JGroups XML stack: a file or a stock name (default: {DEFAULT_CHAT_STACK})")
    c.add_argument("--name", "-name", default=None, help="logical name (default: host name and a number, as Java)")
    c.add_argument("--cluster", default="chat", help="cluster name (default: chat, as Java's Chat)")
    c.add_argument("-D", dest="defines", action="append", default=[], type=define_arg, metavar="NAME=VALUE",
                   help="set a ${NAME} variable of the stack (like java -DNAME=VALUE); repeatable")
    c.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the first view (default 30)")
    c.set_defaults(func=_chat)
    m = sub.add_parser("demo", help="start a 3-member demo cluster on 127.0.0.1 in this process (a few seconds)")
    m.add_argument("--config", default=DEFAULT_CHAT_STACK, metavar="FILE",
                   help=f"JGroups XML stack (default: {DEFAULT_CHAT_STACK})")
    m.add_argument("--members", type=int, default=3, choices=range(2, 9), metavar="N", help="2..8 (default 3)")
    m.add_argument("--port", type=int, default=None, help="first TCP port (default: first free block from 7800)")
    m.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each step (default 15)")
    m.set_defaults(func=_demo)
    v = sub.add_parser("version", help="print the pygroups version and the JGroups wire version")
    v.set_defaults(func=_version)
    probe.add_parser(sub)
    doctor.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2)
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `pygroups dump x.pcap | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _run_async(what: str, make: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """Run a channel program; map pygroups errors to exit codes and messages on stderr."""
    from pygroups.aio.chat import run_sync
    from pygroups.errors import ConfigError, PyGroupsError

    try:
        run_sync(make())
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except ConfigError as e:
        print(f"pygroups {what}: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (PyGroupsError, OSError, TimeoutError) as e:
        print(f"pygroups {what}: {e}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _chat(args: argparse.Namespace) -> int:
    import logging

    from pygroups.aio.chat import run_chat

    # Java prints GMS's print_local_addr banner on stdout and logs warnings on stderr: so do we
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    banner = logging.getLogger("pygroups.gms.banner")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = banner.level, banner.propagate
    banner.addHandler(handler)
    banner.setLevel(logging.INFO)
    banner.propagate = False
    try:
        return _run_async("chat", lambda: run_chat(args.config, name=args.name, cluster=args.cluster,
                                                   variables=dict(args.defines), connect_timeout=args.timeout))
    finally:
        banner.removeHandler(handler)
        banner.setLevel(saved[0])
        banner.propagate = saved[1]


def _demo(args: argparse.Namespace) -> int:
    from pygroups.aio.demo import run_demo

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    return _run_async("demo", lambda: run_demo(write, config=args.config, count=args.members, base_port=args.port,
                                               timeout=args.timeout))


def _version(args: argparse.Namespace) -> int:
    v = DEFAULT_VERSION
    print(f"pygroups {package_version()}")
    print(f"JGroups wire version {v} (0x{v.short:04x}; talks to {v.major}.{v.minor}.x)")
    return EXIT_OK


def _dump(args: argparse.Namespace) -> int:
    from pygroups.capture.dump import Dump
    from pygroups.capture.text import TextFormatter

    if args.demo == bool(args.file):
        print("pygroups dump: give a FILE or --demo", file=sys.stderr)
        return EXIT_USAGE
    if args.demo:
        res = resources.files("pygroups.capture") / "data" / "demo.pcap"
        if not res.is_file():
            print("pygroups dump: the demo capture is not installed", file=sys.stderr)
            return EXIT_USAGE
        label = "demo.pcap"

        def opener() -> IO[bytes]:
            return res.open("rb")
    else:
        path = args.file
        label = os.path.basename(path)
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            print(f"pygroups dump: {path}: {e.strerror or e}", file=sys.stderr)
            return EXIT_USAGE

        def opener() -> IO[bytes]:
            return open(path, "rb")

    dump = Dump(
        opener, fmt=InputFormat(args.format), version=args.version, with_payload=args.payload, label=label
    )
    text = TextFormatter(with_payload=args.payload, summary=dump.summary)
    try:
        for rec in dump:
            if args.summary:
                continue
            if args.json:
                print(json.dumps(rec.to_json()))
            else:
                print(text.format(rec))
    except CaptureError as e:  # the format could not be told or the file not read at all
        print(f"pygroups dump: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        raise
    except OSError as e:
        print(f"pygroups dump: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"kind": "summary", **dump.summary.to_json()}), file=sys.stderr)
    else:
        print(text.summary(dump.summary))
    return EXIT_DECODE_ERRORS if dump.summary.errors else EXIT_OK
