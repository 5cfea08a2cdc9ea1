"""Codec benchmark: a typical data message (NAKACK2 multicast, 1 KB payload, 3 headers) in a
batch of 10, decoded and encoded by the fast path and by the construct declaration, side by side
with Java's own marshalling timed by the conformance peer in the same run.

Reports messages/s on one core. Not a test: nothing here asserts a timing.

    python benchmarks/bench_codec.py [--seconds 2] [--no-java] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pygroups.address import UUID  # noqa: E402
from pygroups.message import Message, MsgType  # noqa: E402
from pygroups.wire import codec  # noqa: E402
from pygroups.wire.headers.nakack import NakAckHeader2  # noqa: E402
from pygroups.wire.headers.tp import TpHeader  # noqa: E402

CATALOGUE = ROOT / "tests" / "data" / "java" / "5.5.6" / "catalogue.jsonl"


def typical_batch() -> tuple[bytes, str]:
    """The Java catalogue's bench-batch10 frame when recorded, else the same shape built here."""
    if CATALOGUE.exists():
        for line in CATALOGUE.read_text().splitlines():
            entry = json.loads(line)
            if entry["name"] == "bench-batch10":
                return bytes.fromhex(entry["hex"]), "Java catalogue entry bench-batch10"
    a = UUID.parse("91cebc7e-0d62-4778-9dc0-5a9805a43cab")
    msgs = []
    for i in range(10):
        hdrs = {41: NakAckHeader2(1, 1000 + i), 57: TpHeader("demo")}
        msgs.append(Message(MsgType.BYTES, src=a, headers=hdrs, payload=bytes(1024)))
    return codec.encode_list(msgs, dest=None, src=a, cluster="demo"), "built in Python (no catalogue)"


def rate(fn, data, seconds: float, rounds: int = 7) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Calls of fn(data) per second over `rounds` rounds: (median, min, max). These machines are noisy:
    quote the median, and the spread says how noisy the run was."""
    rates = []
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / rounds
        while True:
            for _ in range(20):
                fn(data)
            n += 20
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(n / (now - start))
    rates.sort()
    return rates[len(rates) // 2], rates[0], rates[-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--no-java", action="store_true", help="skip Java's figures")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    data, origin = typical_batch()
    frame = codec.decode_frame(data)
    per = len(frame.messages)
    spreads = {
        "fast_decode": rate(codec.decode_frame, data, args.seconds),
        "fast_encode": rate(codec.encode_frame, frame, args.seconds),
        "spec_decode": rate(codec.decode_frame_spec, data, args.seconds / 2),
        "spec_encode": rate(codec.encode_frame_spec, frame, args.seconds / 2),
    }
    results = {k: v[0] * per for k, v in spreads.items()}
    java: dict[str, float] = {}
    if not args.no_java:
        sys.path.insert(0, str(ROOT / "conformance"))
        from javapeer import bench  # type: ignore[import-not-found]

        j = bench()
        java = {"decode": float(j["decode_msgs_per_s"]), "encode": float(j["encode_msgs_per_s"])}
    out = {"messages_per_frame": per, "frame_bytes": len(data), "source": origin,
           "python_msgs_per_s": results,
           "python_spread_msgs_per_s": {k: [v[1] * per, v[2] * per] for k, v in spreads.items()},
           "java_msgs_per_s": java}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"typical message: {origin}; {per} messages, {len(data)} bytes per frame; medians of 7 rounds")
    print("| codec | decode msgs/s | encode msgs/s | decode ÷ Java | encode ÷ Java |")
    print("|---|---:|---:|---:|---:|")

    def ratio(v: float, key: str) -> str:
        return f"{v / java[key]:.3f}" if java else "n/a"

    for name, d, e in (("pygroups fast path", results["fast_decode"], results["fast_encode"]),
                       ("pygroups construct spec", results["spec_decode"], results["spec_encode"])):
        print(f"| {name} | {d:,.0f} | {e:,.0f} | {ratio(d, 'decode')} | {ratio(e, 'encode')} |")
    if java:
        print(f"| Java JGroups (same run) | {java['decode']:,.0f} | {java['encode']:,.0f} | 1 | 1 |")
    lo, hi = spreads["fast_decode"][1] * per, spreads["fast_decode"][2] * per
    print(f"\nfast-path decode spread over the rounds: {lo:,.0f} .. {hi:,.0f} msgs/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
