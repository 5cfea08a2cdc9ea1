"""Failure benchmark: how long a cluster takes to exclude a killed member and to become one view again after a
partition heals, for Java-only and Python-only clusters of 3 "pods" (each node on its own loopback IP, port
7800) loading the same stock stack (tcp-fd.xml: MERGE3, FD_SOCK2, FD_ALL3, VERIFY_SUSPECT2), in one run, driven by
the conformance harness (conformance/cluster.py).

* exclude: SIGKILL a member (not the coordinator); seconds until both survivors hold the view without it;
* heal: a 2+1 partition (DISCARD on every node drops the other side), then the heal; seconds from the heal to one
  MergeView of all three.

Each figure is the median of ``--runs`` fresh clusters (with min and max), and the table prints Python/Java.
Timings are the stack's: FD_ALL3 8 s / 2 s, VERIFY_SUSPECT2 1 s, MERGE3 2-5 s (``--fd``/``--merge`` to change).
Not a test: nothing is asserted.

    python benchmarks/bench_failure.py --quick     # CI: 2 runs per figure
    python benchmarks/bench_failure.py --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "conformance"))

from cluster import Cluster, ClusterError  # noqa: E402

ROLES = ["A", "B", "C"]
TIMEOUT = 90.0


def properties(fd: str, merge: str) -> dict[str, str]:
    timeout, interval = fd.split("/")
    lo, hi = merge.split("-")
    return {"jgroups.fd_all3.timeout": timeout, "jgroups.fd_all3.interval": interval,
            "jgroups.verify_suspect2.timeout": "1s", "jgroups.merge3.min_interval": lo,
            "jgroups.merge3.max_interval": hi, "jgroups.tcp.port_range": "0", "jgroups.join_timeout": "5s"}


def cluster(lang: str, props: dict[str, str]) -> Cluster:
    c = Cluster("tcp-fd.xml", pods=True, properties=props)
    try:
        c.extra_properties["jgroups.tcpping.initial_hosts"] = ",".join(f"{c.pod_ip(r)}[7800]" for r in ROLES)
        for r in ROLES:
            c.start(r, lang, discard=1e-9)  # DISCARD in place (for the partition), dropping nothing
        c.wait_same_view(ROLES, TIMEOUT)
    except BaseException:
        c.close()
        raise
    return c


def exclude_once(lang: str, props: dict[str, str]) -> float:
    with cluster(lang, props) as c:
        t0 = time.monotonic()
        c["B"].kill()
        c.wait_same_view(["A", "C"], TIMEOUT)
        return time.monotonic() - t0


def heal_once(lang: str, props: dict[str, str]) -> float:
    with cluster(lang, props) as c:
        c["C"].request({"cmd": "partition", "ignore": ["A", "B"]}, "partitioned")
        for r in ("A", "B"):
            c[r].request({"cmd": "partition", "ignore": ["C"]}, "partitioned")
        c.wait_same_view(["A", "B"], TIMEOUT, ["A", "B"])
        c.wait_same_view(["C"], TIMEOUT, ["C"])
        t0 = time.monotonic()
        for r in ROLES:
            c[r].request({"cmd": "heal"}, "healed")
        v = c.wait_same_view(ROLES, TIMEOUT)
        if not v.get("merge"):
            raise ClusterError(f"no MergeView after the heal: {v}")
        return time.monotonic() - t0


def summary(values: list[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.2f} s ({min(values):.2f}-{max(values):.2f})"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="CI mode: 2 runs per figure")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--fd", default="8s/2s", help="FD_ALL3 timeout/interval")
    p.add_argument("--merge", default="2s-5s", help="MERGE3 min-max interval")
    args = p.parse_args(argv)
    runs = 2 if args.quick else args.runs
    props = properties(args.fd, args.merge)
    figures: dict[tuple[str, str], list[float]] = {}
    errors: dict[tuple[str, str], str] = {}
    started = time.monotonic()
    for what, fn in (("exclude a killed member", exclude_once), ("one view after a heal", heal_once)):
        for lang in ("java", "python"):
            values: list[float] = []
            for _ in range(runs):
                try:
                    values.append(fn(lang, props))
                except (ClusterError, OSError) as e:
                    errors[(what, lang)] = str(e).strip().splitlines()[0][:200] if str(e).strip() else repr(e)
            figures[(what, lang)] = values
            print(f"  {what}, {lang}: {summary(values)}", file=sys.stderr)
    print(f"failure benchmark (tcp-fd.xml, 3 pods, FD_ALL3 {args.fd}, MERGE3 {args.merge}, {runs} runs each; "
          f"{time.monotonic() - started:.0f}s)")
    print("| figure | Java 5.5.6 | pygroups | pygroups ÷ Java |")
    print("|---|---:|---:|---:|")
    for what in ("exclude a killed member", "one view after a heal"):
        java, py = figures[(what, "java")], figures[(what, "python")]
        ratio = f"{statistics.median(py) / statistics.median(java):.2f}" if java and py else "n/a"
        print(f"| {what} | {summary(java)} | {summary(py)} | {ratio} |")
    for (what, lang), err in sorted(errors.items()):
        print(f"  ({what}, {lang}: a run failed: {err})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
