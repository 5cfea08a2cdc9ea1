"""Cluster benchmark: Java-only, Python-only and mixed clusters of 2 and 3 nodes on loopback, every node
loading the same stock XML (tcp-fc.xml), driven by the conformance harness (conformance/cluster.py).

Figures, per cluster kind:

* multicast throughput: every member multicasts N messages at once (1 KB, then 100 B); per receiving node,
  messages/s and MB/s over its own first-to-last receive span (averaged over the nodes);
* unicast request/response: sequential round trips from the first member to the second (p50, p99);
* join: the time a new member's ``connect()`` takes to join an existing cluster (mean over the joiners).

The table shows absolute figures and the Python/Java and mixed/Java ratios. Not a test: nothing is asserted,
and a cluster kind that cannot run (e.g. pygroups lacks a protocol) is reported as n/a with the reason.

``--fd-cost`` measures instead what failure detection costs on the 1 KB multicast benchmark: the same 2-node
clusters (Java, Python) on two stacks that differ only by the FD/merge protocols, the stock tcp.xml as is and
the same file with MERGE3, FD_SOCK2, FD_ALL3 and VERIFY_SUSPECT2 removed (derived at run time into a temporary
directory with an XML parser; the real jar and pygroups both build it first, and their protocol lists are
printed). Both clusters of a language run side by side ("pods": each node on its own loopback IP, port 7800)
and take turns: a warm-up round each (not counted), then ``--rounds`` rounds alternating which stack goes first.
The table: per stack and language the median msgs/s and MB/s per node (with min-max over the rounds), the
with/without ratio per language (of the medians; 1.00 = free, below 1 = FD costs throughput) and the median and
range of the same ratio taken round by round, and Python/Java per stack.

    python benchmarks/bench_cluster.py --quick     # CI: 2-node clusters, small counts (about a minute)
    python benchmarks/bench_cluster.py             # 2- and 3-node clusters, fuller counts
    python benchmarks/bench_cluster.py --full      # larger counts
    python benchmarks/bench_cluster.py --fd-cost --quick   # CI: FD cost, about a minute
    python benchmarks/bench_cluster.py --fd-cost --rounds 7 --msgs 50000
    options: --sizes 2,3  --kinds java,python,mixed  --config tcp-fc.xml (--fd-cost: tcp.xml)  --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "conformance"))

from cluster import Cluster, ClusterError, stack_path, wait_received  # noqa: E402
from stacks import FD_PROTOCOLS, check_stacks, derive_stack, protocol_names  # noqa: E402

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


# ------------------------------------------------------------------------------------------ --fd-cost

FD_MSG_SIZE = 1000


def fd_cluster(stack: str, kind: str, size: int) -> tuple[Cluster, list[str]]:
    """A started cluster of ``size`` pods of ``kind`` on ``stack`` (each node on its own loopback IP, port 7800,
    so FD_SOCK2's bind_port + offset is free whatever runs beside it)."""
    names = [f"{'J' if lang == 'java' else 'P'}{i + 1}" for i, lang in enumerate(langs(kind, size))]
    c = Cluster(stack, pods=True, properties={"jgroups.tcp.port_range": "0"})
    try:
        c.extra_properties["jgroups.tcpping.initial_hosts"] = ",".join(f"{c.pod_ip(n)}[7800]" for n in names)
        for name, lang in zip(names, langs(kind, size), strict=True):
            c.start(name, lang)
        c.wait_same_view(names, 60)
    except BaseException:
        c.close()
        raise
    return c, names


def fd_cost_kind(stacks: list[tuple[str, str]], kind: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    """Both stacks' clusters of one kind side by side; rounds alternate which stack goes first. Returns
    per stack label the list of per-round msgs/s (warm-up excluded)."""
    rates: dict[str, list[float]] = {label: [] for label, _ in stacks}
    with contextlib.ExitStack() as es:
        clusters = {}
        for label, path in stacks:
            c, names = fd_cluster(path, kind, size)
            es.enter_context(c)
            clusters[label] = (c, names)
        for c, names in clusters.values():  # warm-up (Java's JIT, first connections): not counted
            throughput(c, names, args.msgs, FD_MSG_SIZE, timeout=args.timeout)
        for r in range(args.rounds):
            order = list(clusters) if r % 2 == 0 else list(reversed(clusters))
            for label in order:
                c, names = clusters[label]
                rates[label].append(throughput(c, names, args.msgs, FD_MSG_SIZE, timeout=args.timeout)["msgs_per_s"])
    return {"rates": rates}


def fd_cost_table(results: dict[tuple[int, str], dict[str, Any]], labels: list[str], sizes: list[int],
                  kinds: list[str]) -> str:
    def med(size: int, kind: str, label: str) -> float | None:
        v = results.get((size, kind), {}).get("rates", {}).get(label)
        return statistics.median(v) if v else None

    def cell(size: int, kind: str, label: str, scale: float, fmt: str) -> str:
        v = results.get((size, kind), {}).get("rates", {}).get(label)
        if not v:
            return "n/a"
        return f"{fmt.format(statistics.median(v) * scale)} ({fmt.format(min(v) * scale)}-{fmt.format(max(v) * scale)})"

    out = []
    w = max(28, *(len(x) for x in labels)) + 2
    for size in sizes:
        out.append(f"\n{size}-node clusters, 1 KB multicasts (per-node median over the rounds, min-max in brackets)")
        header = f"{'stack':<{w}}"
        for k in kinds:
            header += f"{k + ' msgs/s':>26}{k + ' MB/s':>20}"
        header += "".join(f"{k + '/java':>14}" for k in kinds if k != "java" and "java" in kinds)
        out.append(header)
        for label in labels:
            row = f"{label:<{w}}"
            for k in kinds:
                row += f"{cell(size, k, label, 1.0, '{:,.0f}'):>26}"
                row += f"{cell(size, k, label, FD_MSG_SIZE / 1e6, '{:.1f}'):>20}"
            java = med(size, "java", label)
            for k in kinds:
                if k == "java" or "java" not in kinds:
                    continue
                v = med(size, k, label)
                row += f"{(f'{v / java:.2f}x' if v is not None and java else 'n/a'):>14}"
            out.append(row)
        row = f"{'with/without FD':<{w}}"
        for k in kinds:
            a, b = med(size, k, labels[0]), med(size, k, labels[1])
            row += f"{(f'{a / b:.2f}x' if a is not None and b else 'n/a'):>26}{'':>20}"
        out.append(row)
        # the two stacks' rounds run back to back: a per-round ratio cancels most of the machine's drift, and its
        # range shows how much of the with/without difference is noise (a range across 1.00: below the noise)
        row = f"{'  same round, median (range)':<{w}}"
        for k in kinds:
            rates = results.get((size, k), {}).get("rates", {})
            pairs = [a / b for a, b in zip(rates.get(labels[0], []), rates.get(labels[1], []), strict=False) if b]
            text = f"{statistics.median(pairs):.2f}x ({min(pairs):.2f}-{max(pairs):.2f})" if pairs else "n/a"
            row += f"{text:>26}{'':>20}"
        out.append(row)
        for k in kinds:
            err = results.get((size, k), {}).get("error")
            if err:
                out.append(f"  {k}: n/a because {err}")
    return "\n".join(out)


def fd_cost(args: argparse.Namespace, sizes: list[int], kinds: list[str]) -> int:
    started = time.monotonic()
    src = Path(stack_path(args.config))
    with tempfile.TemporaryDirectory(prefix="pygroups-fdcost-") as tmp:
        removed = [p for p in protocol_names(src) if p in FD_PROTOCOLS]
        if not removed:
            print(f"--fd-cost: {src.name} has none of {', '.join(FD_PROTOCOLS)}: nothing to compare", file=sys.stderr)
            return 2
        derived = derive_stack(src, tmp, remove=removed, name=f"{src.stem}-without-fd.xml")
        labels = [f"{src.name} (with FD)", f"{src.name} without FD"]
        stacks = list(zip(labels, [str(src), str(derived)], strict=True))
        # both languages must build the derived stack, and it must be the stock one minus the FD protocols
        checks = check_stacks([src, derived], {"jgroups.bind_addr": "127.0.0.1"})
        notes = []
        for (label, _), check in zip(stacks, checks, strict=True):
            for lang in ("java", "python"):
                built = check[lang]
                notes.append(f"  {label}, {lang} builds: " + (" ".join(built) if isinstance(built, list) else built))
        full = checks[0]["java"]
        expected = [p for p in full if p not in FD_PROTOCOLS] if isinstance(full, list) else None
        same = all(c == expected for c in (checks[1]["java"], checks[1]["python"]))
        notes.append(f"  derived stack = {src.name} minus {' '.join(removed)} in both languages: "
                     f"{'yes' if same else 'NO'}")
        results: dict[tuple[int, str], dict[str, Any]] = {}
        for size in sizes:
            for kind in kinds:
                t0 = time.monotonic()
                try:
                    results[(size, kind)] = fd_cost_kind(stacks, kind, size, args)
                except (ClusterError, OSError) as e:
                    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                    results[(size, kind)] = {"error": first[:200]}
                print(f"  {kind} x{size}: {time.monotonic() - t0:.1f}s", file=sys.stderr)
    print(f"FD cost on the cluster benchmark ({src.name} with and without {', '.join(removed)}; "
          f"{args.msgs} multicasts of 1 KB per member per round, {args.rounds} rounds after a warm-up; "
          f"{time.monotonic() - started:.0f}s)")
    print("\n".join(notes))
    print(fd_cost_table(results, labels, sizes, kinds))
    if args.json:
        print(json.dumps([{"size": s, "kind": k, **r} for (s, k), r in sorted(results.items())], indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI mode: 2-node clusters, small counts")
    p.add_argument("--full", action="store_true", help="larger counts")
    p.add_argument("--sizes", default=None, help="cluster sizes, e.g. 2,3")
    p.add_argument("--kinds", default=None, help="java,python,mixed (--fd-cost: java,python)")
    p.add_argument("--config", default=None, help="stack XML (default tcp-fc.xml; --fd-cost: tcp.xml)")
    p.add_argument("--fd-cost", action="store_true",
                   help="1 KB multicast throughput with and without MERGE3/FD_SOCK2/FD_ALL3/VERIFY_SUSPECT2")
    p.add_argument("--rounds", type=int, default=None, help="--fd-cost: measured rounds per stack")
    p.add_argument("--msgs", type=int, default=None, help="multicasts per member per message size")
    p.add_argument("--rtts", type=int, default=None, help="request/response round trips")
    p.add_argument("--timeout", type=float, default=300.0)
    p.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = p.parse_args(argv)
    if args.fd_cost:
        args.config = args.config or "tcp.xml"
        sizes = [int(s) for s in (args.sizes or "2").split(",")]
        kinds = [k for k in (args.kinds or "java,python").split(",") if k]
        if args.msgs is None:
            args.msgs = 10_000 if args.quick else 50_000 if args.full else 20_000
        if args.rounds is None:
            args.rounds = 3 if args.quick else 5
        return fd_cost(args, sizes, kinds)
    args.config = args.config or "tcp-fc.xml"
    sizes = [int(s) for s in (args.sizes or ("2" if args.quick else "2,3")).split(",")]
    kinds = [k for k in (args.kinds or ",".join(KINDS)).split(",") if k]
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
