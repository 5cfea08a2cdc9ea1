"""Cluster benchmark: Java-only, Python-only and mixed clusters of 2 and 3 nodes on loopback, every node
loading the same stock XML (tcp-fc.xml), driven by the conformance harness (conformance/cluster.py).

Figures, per cluster kind:

* multicast throughput: every member multicasts N messages at once (1 KB, then 100 B); per receiving node,
  messages/s and MB/s over its own first-to-last receive span (averaged over the nodes);
* unicast request/response: sequential round trips from the first member to the second (p50, p99);
* join: the time a new member's ``connect()`` takes to join an existing cluster (mean over the joiners).

The table shows absolute figures and the Python/Java and mixed/Java ratios. Not a test: nothing is asserted,
and a cluster kind that cannot run (e.g. pygroups lacks a protocol) is reported as n/a with the reason.

    python benchmarks/bench_cluster.py --quick     # CI: 2-node clusters, small counts (about a minute)
    python benchmarks/bench_cluster.py             # 2- and 3-node clusters, fuller counts
    python benchmarks/bench_cluster.py --full      # larger counts
    options: --sizes 2,3  --kinds java,python,mixed  --config tcp-fc.xml  --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "conformance"))

from cluster import Cluster, ClusterError, wait_received  # noqa: E402

KINDS = ("java", "python", "mixed")


def langs(kind: str, size: int) -> list[str]:
    if kind == "mixed":  # a Java coordinator, then alternating
        return ["java" if i % 2 == 0 else "python" for i in range(size)]
    return [kind] * size


def throughput(c: Cluster, names: list[str], count: int, size: int, timeout: float) -> dict[str, float]:
    for n in names:
        c[n].request({"cmd": "reset"}, "reset")
    ids = [(c[n], c[n].submit({"cmd": "send_seq", "dest": None, "count": count, "size": size})) for n in names]
    for node, i in ids:
        node.wait_done(i, timeout)
    expected = {(r, s, "mcast"): count for r in names for s in names}
    problems, stats = wait_received([c[n] for n in names], expected, timeout, poll=0.2)
    if problems:
        raise ClusterError("incomplete delivery: " + "; ".join(problems[:5]))
    rates = []
    for n in names:
        streams = list(stats[n].values())
        span = max(s["last_t"] for s in streams) - min(s["first_t"] for s in streams)
        total = sum(s["count"] for s in streams)
        rates.append(total / span if span > 0 else float("nan"))
    rate = statistics.mean(rates)
    return {"msgs_per_s": rate, "mb_per_s": rate * size / 1e6}


def run_kind(kind: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    names = [f"{'J' if lang == 'java' else 'P'}{i + 1}" for i, lang in enumerate(langs(kind, size))]
    result: dict[str, Any] = {"kind": kind, "size": size, "members": names}
    with Cluster(args.config, max_nodes=size) as c:
        first = c.start(names[0], langs(kind, size)[0])
        joins = []
        for name, lang in zip(names[1:], langs(kind, size)[1:], strict=True):
            node = c.start(name, lang)
            joins.append(float(node.started["connect_ms"]))  # type: ignore[index]
        c.wait_same_view(names, 30)
        del first
        result["join_ms"] = statistics.mean(joins)
        for msg_size in (1000, 100):
            t = throughput(c, names, args.msgs, msg_size, timeout=args.timeout)
            result[f"mcast_{msg_size}B_msgs_per_s"] = t["msgs_per_s"]
            result[f"mcast_{msg_size}B_mb_per_s"] = t["mb_per_s"]
        rtt = c[names[0]].request(
            {"cmd": "rtt", "dest": names[1], "count": args.rtts, "size": 100, "warmup": max(10, args.rtts // 10)},
            "rtt_done", timeout=args.timeout,
        )
        result["rtt_p50_us"] = rtt["p50_us"]
        result["rtt_p99_us"] = rtt["p99_us"]
    return result


METRICS = [
    ("mcast_1000B_msgs_per_s", "mcast 1 KB msgs/s per node", "{:,.0f}"),
    ("mcast_1000B_mb_per_s", "mcast 1 KB MB/s per node", "{:,.1f}"),
    ("mcast_100B_msgs_per_s", "mcast 100 B msgs/s per node", "{:,.0f}"),
    ("mcast_100B_mb_per_s", "mcast 100 B MB/s per node", "{:,.2f}"),
    ("rtt_p50_us", "unicast req/rsp p50 (us)", "{:,.0f}"),
    ("rtt_p99_us", "unicast req/rsp p99 (us)", "{:,.0f}"),
    ("join_ms", "join existing cluster (ms)", "{:,.0f}"),
]


def table(results: dict[tuple[str, int], dict[str, Any]], sizes: list[int], kinds: list[str]) -> str:
    out = []
    for size in sizes:
        out.append(f"\n{size}-node clusters (per-node figures; ratio = Python/Java, mixed/Java)")
        header = f"{'metric':<30}" + "".join(f"{k:>14}" for k in kinds)
        if "java" in kinds:
            header += "".join(f"{k + '/java':>14}" for k in kinds if k != "java")
        out.append(header)
        for key, label, fmt in METRICS:
            row = f"{label:<30}"
            for k in kinds:
                r = results.get((k, size), {})
                row += f"{fmt.format(r[key]) if key in r else 'n/a':>14}"
            java = results.get(("java", size), {}).get(key)
            if "java" in kinds:
                for k in kinds:
                    if k == "java":
                        continue
                    v = results.get((k, size), {}).get(key)
                    row += f"{(f'{v / java:.2f}x' if v is not None and java else 'n/a'):>14}"
            out.append(row)
        for k in kinds:
            err = results.get((k, size), {}).get("error")
            if err:
                out.append(f"  {k}: n/a because {err}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI mode: 2-node clusters, small counts")
    p.add_argument("--full", action="store_true", help="larger counts")
    p.add_argument("--sizes", default=None, help="cluster sizes, e.g. 2,3")
    p.add_argument("--kinds", default=",".join(KINDS), help="java,python,mixed")
    p.add_argument("--config", default="tcp-fc.xml")
    p.add_argument("--msgs", type=int, default=None, help="multicasts per member per message size")
    p.add_argument("--rtts", type=int, default=None, help="request/response round trips")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = p.parse_args(argv)
    sizes = [int(s) for s in (args.sizes or ("2" if args.quick else "2,3")).split(",")]
    kinds = [k for k in args.kinds.split(",") if k]
    if args.msgs is None:
        args.msgs = 2000 if args.quick else 50_000 if args.full else 10_000
    if args.rtts is None:
        args.rtts = 300 if args.quick else 5000 if args.full else 1000
    results: dict[tuple[str, int], dict[str, Any]] = {}
    started = time.monotonic()
    for size in sizes:
        for kind in kinds:
            t0 = time.monotonic()
            try:
                results[(kind, size)] = run_kind(kind, size, args)
            except (ClusterError, OSError) as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                results[(kind, size)] = {"kind": kind, "size": size, "error": first[:200]}
            print(f"  {kind} x{size}: {time.monotonic() - t0:.1f}s", file=sys.stderr)
    print(f"cluster benchmark ({args.config}, {args.msgs} multicasts per member per size, {args.rtts} round trips; "
          f"{time.monotonic() - started:.0f}s)")
    print(table(results, sizes, kinds))
    if args.json:
        print(json.dumps([results[k] for k in sorted(results)], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
