#!/usr/bin/env python3
"""Record golden data from the real JGroups jar into tests/data/java/<version>/.

1. ``catalogue.jsonl``: the Java peer's catalogue (fixed-input vectors serialized by JGroups).
2. ``tcp-3node.pcap``: TCP traffic of a 3-node Java cluster running the jar's unmodified ``tcp.xml``.
   Everything happens inside a network namespace created here that contains only ``lo``, so no packet can
   leave the machine. Scenario: A starts, B joins, C joins; every node sends unicasts and a multicast to
   the others; A multicasts 100,000 bytes (> FRAG2 frag_size 60K, so 2 fragments) and B unicasts 70,000
   bytes to C; A sends a few OOB unicasts; A multicasts 1300 x 1000 bytes (MFC REPLENISH from B and C
   after 1.2 MB) and B unicasts 1300 x 1000 bytes to C (UFC REPLENISH from C); then C leaves, B leaves,
   A stops.
   Every step waits for the nodes' JSON events with a deadline.
3. ``tcp-3node.nodes.json``: which UUID / physical address each node name had in the capture, and a summary of
   the capture as decoded by the Java peer (every preamble and frame must round-trip through the jar).
4. ``README.md``: one line per file (version, stack, scenario, command, date).

Needs root (ip netns, tcpdump), java, mvn and tcpdump (``apt-get install -y tcpdump``).

    python3 conformance/record_capture.py                  # everything
    python3 conformance/record_capture.py --catalogue-only # only catalogue.jsonl (+ README line)
"""


from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import javapeer
import pcaptcp
from javapeer import JavaNode, JavaPeerError

REPO = Path(__file__).resolve().parents[1]
NAMES = ("A", "B", "C")
CLUSTER = "demo"
STEP_TIMEOUT = 60.0


def log(msg: str) -> None:
    print(f"[record {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


# ------------------------------------------------------------------------------------------- catalogue


def write_catalogue(out_dir: Path) -> int:
    """The catalogue, each entry with what the jar's own decoder reports for its bytes ("java"):
    the canonical JSON and toString, so unit tests compare pygroups' decoding without a JVM."""
    entries = javapeer.catalogue()
    with javapeer.Decoder() as decoder, open(out_dir / "catalogue.jsonl", "w") as f:
        for e in entries:
            answer = decoder.decode(e["kind"], bytes.fromhex(e["hex"]))
            if not answer.get("ok") or answer.get("reencoded") != e["hex"]:
                raise SystemExit(f"the jar does not round-trip its own catalogue entry {e['name']}: {answer}")
            e["java"] = {k: answer[k] for k in ("json", "string") if k in answer}
            f.write(json.dumps(e) + "\n")
    log(f"catalogue.jsonl: {len(entries)} entries")
    return len(entries)


# ------------------------------------------------------------------------------------------- capture


class Tcpdump:
    """tcpdump on lo inside the namespace, writing packets unbuffered (-U) to a file."""

    def __init__(self, netns: str, path: Path):
        # -Z root: keep root so the file can be written wherever we are; -n: no name lookups
        cmd = [
            "ip",
            "netns",
            "exec",
            netns,
            "tcpdump",
            "-i",
            "lo",
            "-n",
            "-U",
            "-s",
            "0",
            "-Z",
            "root",
            "-B",
            "65536",
            "-w",
            str(path),
            "tcp",
        ]  # -B: 64 MiB buffer, bursts of 64 KiB segments
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.path = path
        self.stderr: list[str] = []
        self._listening = threading.Event()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        # tcpdump says "listening on lo" once it captures; it exits early on errors
        deadline = time.monotonic() + 20
        while not self._listening.wait(0.1):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("tcpdump did not start capturing: " + "".join(self.stderr))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line)
            if "listening on" in line:
                self._listening.set()

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return "".join(self.stderr)


def wait_file_quiet(path: Path, quiet: float = 0.5, limit: float = 5.0) -> None:
    """Waits (bounded) until the capture file stops growing, so the last FIN/ACK packets are written."""
    deadline = time.monotonic() + limit
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        size = path.stat().st_size if path.exists() else 0
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


def tcp_xml_sha256() -> str:
    with zipfile.ZipFile(javapeer.TARGET / "lib" / "jgroups.jar") as jar:
        return hashlib.sha256(jar.read("tcp.xml")).hexdigest()


def scenario(netns: str, args: argparse.Namespace) -> dict:
    props = {"jgroups.bind_addr": "127.0.0.1", "jgroups.tcpping.initial_hosts": "127.0.0.1[7800]"}
    nodes: dict[str, JavaNode] = {}
    info: dict = {"nodes": {}}
    try:
        # --- joins
        for i, name in enumerate(NAMES):
            node = JavaNode("tcp.xml", name, CLUSTER, netns=netns, system_properties=props)
            nodes[name] = node
            started = node.start(timeout=STEP_TIMEOUT)
            info["nodes"][name] = {k: started[k] for k in ("uuid", "physical")}
            members = NAMES[: i + 1]
            for n in members:
                nodes[n].wait_view(members, STEP_TIMEOUT)
            log(f"{name} started at {started['physical']} ({started['uuid']}); view {list(members)}")

        A, B, C = (nodes[n] for n in NAMES)
        mark = {n: nodes[n].mark() for n in NAMES}

        # --- a few text unicasts and multicasts from every node (ObjectMessage(String), like the Chat demo)
        for s in NAMES:
            for d in NAMES:
                if d != s:
                    nodes[s].command({"cmd": "send", "dest": d, "text": f"unicast {s}->{d}"})
            nodes[s].command({"cmd": "send", "dest": None, "text": f"multicast from {s}"})
        for r in NAMES:
            for s in NAMES:
                texts = [f"multicast from {s}"] + ([f"unicast {s}->{r}"] if s != r else [])
                for t in texts:
                    nodes[r].wait_for(
                        lambda e, t=t: e["event"] == "msg" and e.get("object") == t, STEP_TIMEOUT, mark[r]
                    )
        log("text unicasts and multicasts delivered everywhere")

        # --- big messages: FRAG2 (frag_size 60K) on a multicast and on a unicast
        mark = {n: nodes[n].mark() for n in NAMES}
        A.command({"cmd": "send_bytes", "dest": None, "size": 100_000, "count": 1})
        B.command({"cmd": "send_bytes", "dest": "C", "size": 70_000, "count": 1})
        for r in ("B", "C"):
            nodes[r].wait_for(
                lambda e: e["event"] == "msg" and e["src"] == "A" and e["length"] == 100_000,
                STEP_TIMEOUT,
                mark[r],
            )
        C.wait_for(
            lambda e: e["event"] == "msg" and e["src"] == "B" and e["length"] == 70_000,
            STEP_TIMEOUT,
            mark["C"],
        )
        log("100,000-byte multicast and 70,000-byte unicast delivered (fragmented)")

        # --- OOB unicasts
        mark_b = B.mark()
        A.command({"cmd": "send_bytes", "dest": "B", "size": 16, "count": 5, "oob": True})
        B.wait_count(
            lambda e: e["event"] == "msg" and e["src"] == "A" and "OOB" in e["flags"], 5, STEP_TIMEOUT, mark_b
        )

        # --- flow control: enough bytes that receivers must send REPLENISH (after 1.2 MB of 2 MB credits)
        n, size = args.flood_count, args.flood_size
        mark = {x: nodes[x].mark() for x in NAMES}
        A.command({"cmd": "send_bytes", "dest": None, "size": size, "count": n}, timeout=300)
        B.command({"cmd": "send_bytes", "dest": "C", "size": size, "count": n}, timeout=300)

        def flood(src: str):
            return lambda e: e["event"] == "msg" and e["src"] == src and e["length"] == size

        for r in ("B", "C"):
            nodes[r].wait_count(flood("A"), n, 300, mark[r])
        C.wait_count(flood("B"), n, 300, mark["C"])
        log(f"{n} x {size} B multicast from A and {n} x {size} B unicast B->C delivered")

        # Bounded settle: UNICAST3 ACKs and credit messages that follow the last delivery go out on the
        # 500 ms retransmit/ack timer, which no event reports; give them a moment before the leaves.
        time.sleep(args.settle)

        # --- graceful leaves: C, then B, then A
        C.command({"cmd": "disconnect"})
        for x in ("A", "B"):
            nodes[x].wait_view(["A", "B"], STEP_TIMEOUT)
        C.stop()
        log("C left")
        B.command({"cmd": "disconnect"})
        A.wait_view(["A"], STEP_TIMEOUT)
        B.stop()
        log("B left")
        A.command({"cmd": "disconnect"})
        A.stop()
        log("A stopped")
        info["views"] = {
            name: [e["view_id"] for e in node.select(lambda e: e["event"] == "view")]
            for name, node in nodes.items()
        }
        return info
    finally:
        for node in nodes.values():
            node.stop()


def pcap_summary(path: Path) -> dict:
    """Counts records and looks for a few JGroups byte patterns in the TCP payloads (no real decoding)."""
    data = path.read_bytes()
    magic = data[:4]
    if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    elif magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    else:
        raise RuntimeError(f"{path} is not a pcap file (magic {magic.hex()})")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off, records, payload_bytes = 24, 0, 0
    payloads = []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off : off + 16])
        pkt = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        records += 1
        if linktype == 1 and len(pkt) > 14 + 20 and pkt[12:14] == b"\x08\x00":  # Ethernet (lo) + IPv4
            ihl = (pkt[14] & 0x0F) * 4
            tcp = pkt[14 + ihl :]
            if len(tcp) >= 20:
                body = tcp[(tcp[12] >> 4) * 4 :]
                if body:
                    payload_bytes += len(body)
                    payloads.append(body)
    blob = b"".join(payloads)
    version = struct.pack(">H", 0x2946)
    patterns = {
        "preamble 'bela'+5.5.6": b"bela" + version,
        "MFC REPLENISH (prot 30, magic 59, type 1)": bytes.fromhex("001e003b01"),
        "UFC REPLENISH (prot 31, magic 59, type 1)": bytes.fromhex("001f003b01"),
        "FRAG2 header (prot 4, magic 52)": bytes.fromhex("00040034"),
        "GMS JOIN_REQ (prot 12, magic 55, type 1)": bytes.fromhex("000c003701"),
        "GMS VIEW (prot 12, magic 55, type 5)": bytes.fromhex("000c003705"),
        "GMS LEAVE_REQ (prot 12, magic 55, type 3)": bytes.fromhex("000c003703"),
        "TCPPING GET_MBRS_REQ (prot 9, magic 53, type 1)": bytes.fromhex("0009003501"),
        "FD_SOCK2 CONNECT (prot 71, magic 93, type 3)": bytes.fromhex("0047005d03"),
        "graceful close marker fffffffb": bytes.fromhex("fffffffb"),
    }
    found = {name: blob.count(p) for name, p in patterns.items()}
    return {
        "records": records,
        "linktype": linktype,
        "tcp_payload_bytes": payload_bytes,
        "patterns": found,
        "size": path.stat().st_size,
    }


def verify_with_java(pcap: Path, tp_ports: set[int]) -> dict:
    """Every preamble and frame of the capture must decode in Java and re-encode to the same bytes."""
    counts: dict[str, int] = {}
    failures = []
    with javapeer.Decoder() as dec:
        for f in pcaptcp.frames(pcap, tp_ports):
            if f.kind == "close":
                counts["close markers"] = counts.get("close markers", 0) + 1
                continue
            kind = {"preamble": "Preamble", "frame": "frame", "bare": "bare"}[f.kind]
            r = dec.decode(kind, f.data)
            if not r["ok"] or r["consumed"] != r["total"] or r["reencoded"] != f.data.hex():
                failures.append(f"{f.src}->{f.dst} {kind}: {r.get('error') or 'round trip differs'}")
                continue
            if kind != "frame":
                counts[kind] = counts.get(kind, 0) + 1
                continue
            frame = r["json"]
            counts["lists" if frame["list"] else "single frames"] = (
                counts.get("lists" if frame["list"] else "single frames", 0) + 1
            )
            for m in frame["messages"]:
                key = f"{m['type']} [{', '.join(m['headers'])}]"
                counts[key] = counts.get(key, 0) + 1
    if failures:
        raise SystemExit("Java could not round-trip the capture:\n" + "\n".join(failures[:20]))
    return dict(sorted(counts.items()))


def capture_once(tmp_pcap: Path, args: argparse.Namespace) -> dict:
    """Runs the scenario once inside a fresh namespace; returns the node info. Raises on any problem."""
    netns = f"pgcap-{os.getpid()}"
    run(["ip", "netns", "add", netns])
    try:
        run(["ip", "-n", netns, "link", "set", "lo", "up"])
        links = run(["ip", "-n", netns, "-o", "link"]).stdout.strip().splitlines()
        assert len(links) == 1 and ": lo:" in links[0], f"namespace must contain only lo: {links}"
        dump = Tcpdump(netns, tmp_pcap)
        try:
            info = scenario(netns, args)
            wait_file_quiet(tmp_pcap)
        finally:
            tcpdump_out = dump.stop()
    finally:
        run(["ip", "netns", "del", netns], check=False)
    stats = " | ".join(line.strip() for line in tcpdump_out.splitlines() if "packets" in line)
    log("tcpdump: " + stats)
    dropped = re.search(r"(\d+) packets? dropped by kernel", tcpdump_out)
    if dropped is None or int(dropped.group(1)) != 0:
        raise CaptureIncomplete(f"tcpdump lost packets: {stats}")
    return info


class CaptureIncomplete(RuntimeError):
    pass


def record_capture(out_dir: Path, args: argparse.Namespace) -> dict:
    for tool in ("ip", "tcpdump"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found (apt-get install -y tcpdump iproute2)")
    with tempfile.TemporaryDirectory(prefix="pgcap-") as tmp:
        tmp_pcap = Path(tmp) / "capture.pcap"
        for attempt in range(1, args.attempts + 1):
            try:
                info = capture_once(tmp_pcap, args)
                break
            except CaptureIncomplete as e:
                log(f"attempt {attempt}: {e}")
        else:
            raise SystemExit(f"no complete capture in {args.attempts} attempts")
        summary = pcap_summary(tmp_pcap)
        info["pcap"] = summary
        log(f"capture: {summary['size']} bytes, {summary['records']} packets")
        for name, count in summary["patterns"].items():
            log(f"  {count:6d} x {name}")
        missing = [n for n, c in summary["patterns"].items() if c == 0]
        if missing:
            raise SystemExit(f"capture lacks expected traffic: {missing}")
        if summary["size"] > 6_500_000:
            log("WARNING: capture is larger than ~6 MB; lower --flood-count")
        tp_ports = {int(n["physical"].rsplit(":", 1)[1]) for n in info["nodes"].values()}
        info["tp_ports"] = sorted(tp_ports)
        info["decoded_by_java"] = verify_with_java(tmp_pcap, tp_ports)
        log(f"Java decoded and re-encoded every frame: {info['decoded_by_java']}")
        shutil.copyfile(tmp_pcap, out_dir / "tcp-3node.pcap")  # only a verified capture replaces the old one
    (out_dir / "tcp-3node.nodes.json").write_text(json.dumps(info, indent=2) + "\n")
    return info


def write_readme(out_dir: Path, args: argparse.Namespace, version: str, catalogue_count: int | None) -> None:
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    readme = out_dir / "README.md"
    lines: dict[str, str] = {}
    if readme.exists():  # keep lines of files this run did not regenerate
        for line in readme.read_text().splitlines():
            if line.startswith("* `"):
                lines[line.split("`")[1]] = line
    if catalogue_count is not None:
        lines["catalogue.jsonl"] = (
            f"* `catalogue.jsonl` — JGroups {version}; no stack (objects serialized directly with the jar's "
            f"writeTo/Util/Bits methods, fixed inputs); {catalogue_count} vectors, one JSON object per line "
            f"`{{name, kind, hex, desc}}`; produced by `python3 conformance/record_capture.py` "
            f"(Java peer mode `catalogue`); {today}."
        )
    if not args.catalogue_only:
        lines["tcp-3node.pcap"] = (
            f"* `tcp-3node.pcap` — JGroups {version}; the jar's unmodified `tcp.xml` (sha256 "
            f"{tcp_xml_sha256()[:16]}…), cluster `{CLUSTER}`, `-Djgroups.bind_addr=127.0.0.1 "
            f"-Djgroups.tcpping.initial_hosts=127.0.0.1[7800] -Djava.net.preferIPv4Stack=true`, "
            f"ports 7800-7802; scenario: A starts, B joins, C joins, text unicasts + multicasts from each, "
            f"100,000-byte multicast (FRAG2) and 70,000-byte unicast, 5 OOB unicasts, "
            f"{args.flood_count} x {args.flood_size} B multicast from A and unicast B->C "
            f"(MFC/UFC REPLENISH), "
            f"C leaves, B leaves, A stops; captured with `tcpdump -i lo -s 0 -U -w … tcp` inside a private "
            f"network namespace holding only lo, by `python3 conformance/record_capture.py`; {today}."
        )
        lines["tcp-3node.nodes.json"] = (
            f"* `tcp-3node.nodes.json` — for the pcap above: each node's UUID and physical address (TP "
            f"ports), the views each saw, a byte-pattern count, and what Java's decoder found in it (every "
            f"preamble and frame was decoded and re-encoded identically by the jar); same command; {today}."
        )
    header = [
        f"# Recorded JGroups {version} data",
        "",
        "Golden data produced by the real JGroups jar through the Java peer in `conformance/java`.",
        "Do not edit by hand; regenerate with `python3 conformance/record_capture.py` (needs root for",
        "network namespaces and tcpdump; `--catalogue-only` does not).",
        "UUIDs in the capture are random per run; `tcp-3node.nodes.json` maps them to node names.",
        "",
    ]
    order = ["catalogue.jsonl", "tcp-3node.pcap", "tcp-3node.nodes.json"]
    body = [lines[k] for k in order if k in lines] + [v for k, v in lines.items() if k not in order]
    readme.write_text("\n".join(header + body) + "\n")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=None, help="default: tests/data/java/<jgroups version>")
    p.add_argument("--catalogue-only", action="store_true", help="only (re)write catalogue.jsonl")
    p.add_argument(
        "--flood-count", type=int, default=1300, help="messages per flow-control flood (default 1300)"
    )
    p.add_argument("--flood-size", type=int, default=1000, help="bytes per flood message (default 1000)")
    p.add_argument(
        "--settle", type=float, default=1.5, help="bounded wait after the floods, seconds (default 1.5)"
    )
    p.add_argument(
        "--attempts", type=int, default=3, help="re-run the scenario if tcpdump lost packets (default 3)"
    )
    args = p.parse_args()
    try:
        javapeer.build()
        version = javapeer.version()["jgroups"]
    except JavaPeerError as e:
        print(e, file=sys.stderr)
        return 1
    out_dir = args.out_dir or REPO / "tests" / "data" / "java" / version
    out_dir.mkdir(parents=True, exist_ok=True)
    count = write_catalogue(out_dir)
    if not args.catalogue_only:
        if os.geteuid() != 0:
            print(
                "the capture needs root (ip netns, tcpdump); use --catalogue-only otherwise", file=sys.stderr
            )
            return 1
        record_capture(out_dir, args)
    write_readme(out_dir, args, version, count)
    log(f"done: {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
