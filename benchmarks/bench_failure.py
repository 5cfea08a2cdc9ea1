"""Failure benchmark: how long a cluster takes to exclude a killed member and to become one view again after a
partition heals, for Java-only and Python-only clusters (``--kinds`` adds mixed ones) of "pods" (each node on its
own loopback IP, port 7800) loading the same stock stack (tcp-fd.xml: MERGE3, FD_SOCK2, FD_ALL3, VERIFY_SUSPECT2;
``--stack tcp.xml`` for the jar-like full stack), in one run, driven by the conformance harness
(conformance/cluster.py).

* exclude: SIGKILL a member (not the coordinator) of ``--members`` pods (3); seconds until every survivor holds
  the view without it;
* heal: a partition (DISCARD on every node drops everything from the other side; the TCP connections stay up, so
  FD_ALL3's heartbeats decide), then the heal; seconds from the heal to one MergeView of all members. One figure
  per shape of ``--partitions`` (2+1 on 3 pods and 2+2 on 4 pods). In a mixed cluster the languages alternate in
  start order (J, P, J, P), so each half of a 2+2 partition holds both, as in the conformance test.

Each figure is the median of ``--runs`` fresh clusters (with min and max; the languages take turns run by run),
and the table prints Python/Java (and mixed/Java). Timings on tcp-fd.xml are set through its variables: FD_ALL3
8 s / 2 s, VERIFY_SUSPECT2 1 s, MERGE3 2-5 s (``--fd``/``--verify``/``--merge`` to change). On tcp.xml, whose
timings are literal (FD_ALL3 40 s / 5 s, VERIFY_SUSPECT2 1.5 s, MERGE3 10-30 s), the file runs as is unless one
of those options is given: then a copy with those attributes set is derived at run time into a temporary
directory (benchmarks/stacks.py). Not a test: nothing is asserted.

    python benchmarks/bench_failure.py --quick     # CI: 2 runs per figure
    python benchmarks/bench_failure.py --runs 5
    python benchmarks/bench_failure.py --runs 5 --kinds java,python,mixed --partitions 2+2
    python benchmarks/bench_failure.py --stack tcp.xml --runs 3                      # tcp.xml's own timings
    python benchmarks/bench_failure.py --stack tcp.xml --fd 8s/2s --merge 2s-5s --verify 1s
"""

from __future__ import annotations

import argparse
import functools
import re
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "conformance"))

from cluster import Cluster, ClusterError, stack_path  # noqa: E402
from stacks import derive_stack  # noqa: E402

TIMEOUT = 90.0
KINDS = ("java", "python", "mixed")
HEADS = {"java": "Java 5.5.6", "python": "pygroups", "mixed": "mixed"}
# tcp-fd.xml's timing variables (the defaults this benchmark runs it with)
TCP_FD_DEFAULTS = {"fd": "8s/2s", "merge": "2s-5s", "verify": "1s"}


def seconds(value: str) -> float:
    """A JGroups duration ("40s", "1.5s", "500ms", "2m", or milliseconds as a bare number) in seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s|m|h)?\s*", value)
    if not m:
        raise ValueError(f"not a duration: {value!r}")
    n, unit = float(m.group(1)), (m.group(2) or "ms")
    return n * {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[unit]


def literal_timings(path: str) -> dict[str, str]:
    """The fd/merge/verify timings written in a stack file (JGroups' defaults where an attribute is absent; a
    ``${...}`` where the file takes them from variables)."""
    attrs: dict[str, dict[str, str]] = {}
    for el in ET.parse(path).getroot():
        if isinstance(el.tag, str):
            attrs[el.tag.rsplit("}", 1)[-1]] = dict(el.attrib)
    fd, mg, vs = attrs.get("FD_ALL3", {}), attrs.get("MERGE3", {}), attrs.get("VERIFY_SUSPECT2", {})
    return {"fd": f"{fd.get('timeout', '40s')}/{fd.get('interval', '8s')}",
            "merge": f"{mg.get('min_interval', '10s')}-{mg.get('max_interval', '30s')}",
            "verify": vs.get("timeout", "1s")}


def tcp_fd_properties(t: dict[str, str]) -> dict[str, str]:
    timeout, interval = t["fd"].split("/")
    lo, hi = t["merge"].split("-")
    return {"jgroups.fd_all3.timeout": timeout, "jgroups.fd_all3.interval": interval,
            "jgroups.verify_suspect2.timeout": t["verify"], "jgroups.merge3.min_interval": lo,
            "jgroups.merge3.max_interval": hi, "jgroups.join_timeout": "5s"}


def attributes(t: dict[str, str]) -> dict[tuple[str, str], str]:
    timeout, interval = t["fd"].split("/")
    lo, hi = t["merge"].split("-")
    return {("FD_ALL3", "timeout"): timeout, ("FD_ALL3", "interval"): interval,
            ("VERIFY_SUSPECT2", "timeout"): t["verify"],
            ("MERGE3", "min_interval"): lo, ("MERGE3", "max_interval"): hi}


def view_timeout(t: dict[str, str]) -> float:
    """Long enough for a split (FD_ALL3 timeout + interval + VERIFY_SUSPECT2 twice) and a merge (MERGE3's view
    consistency check runs every 1.6 x max_interval in 5.5.6) on a busy machine."""
    timeout, interval = (seconds(x) for x in t["fd"].split("/"))
    hi = seconds(t["merge"].split("-")[1])
    return max(TIMEOUT, 2 * (timeout + interval + 2 * seconds(t["verify"]) + 1.6 * hi))


class Setup:
    def __init__(self, stack: str, props: dict[str, str], timeout: float):
        self.stack, self.props, self.timeout = stack, props, timeout


def langs(kind: str, n: int) -> list[str]:
    if kind == "mixed":  # a Java coordinator, then alternating
        return ["java" if i % 2 == 0 else "python" for i in range(n)]
    return [kind] * n


def roles(n: int) -> list[str]:
    return [chr(ord("A") + i) for i in range(n)]


def cluster(setup: Setup, kind: str, names: list[str]) -> Cluster:
    c = Cluster(setup.stack, pods=True, properties={**setup.props, "jgroups.tcp.port_range": "0"})
    try:
        c.extra_properties["jgroups.tcpping.initial_hosts"] = ",".join(f"{c.pod_ip(r)}[7800]" for r in names)
        for r, lang in zip(names, langs(kind, len(names)), strict=True):
            c.start(r, lang, discard=1e-9)  # DISCARD in place (for the partition), dropping nothing
        c.wait_same_view(names, setup.timeout)
    except BaseException:
        c.close()
        raise
    return c


def exclude_once(setup: Setup, n: int, kind: str) -> float:
    names = roles(n)
    victim = names[1]
    survivors = [r for r in names if r != victim]
    with cluster(setup, kind, names) as c:
        t0 = time.monotonic()
        c[victim].kill()
        c.wait_same_view(survivors, setup.timeout)
        return time.monotonic() - t0


def heal_once(setup: Setup, shape: tuple[int, ...], kind: str) -> float:
    names = roles(sum(shape))
    halves = (names[: shape[0]], names[shape[0]:])
    with cluster(setup, kind, names) as c:
        for mine, other in (halves, halves[::-1]):
            for r in mine:
                c[r].request({"cmd": "partition", "ignore": other}, "partitioned")
        for half in halves:
            c.wait_same_view(half, setup.timeout, half)
        t0 = time.monotonic()
        for r in names:
            c[r].request({"cmd": "heal"}, "healed")
        v = c.wait_same_view(names, setup.timeout)
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
    p.add_argument("--stack", default="tcp-fd.xml", help="tcp-fd.xml (default) or tcp.xml (or another stack with "
                   "MERGE3, FD_SOCK2, FD_ALL3, VERIFY_SUSPECT2)")
    p.add_argument("--kinds", default="java,python", help="java,python[,mixed]")
    p.add_argument("--members", type=int, default=3, help="pods of the exclusion figure (one non-coordinator dies)")
    p.add_argument("--partitions", default="2+1,2+2", help="partition shapes of the heal figures, e.g. 2+1,2+2,3+3")
    p.add_argument("--fd", default=None, help="FD_ALL3 timeout/interval (tcp-fd.xml: 8s/2s)")
    p.add_argument("--merge", default=None, help="MERGE3 min-max interval (tcp-fd.xml: 2s-5s)")
    p.add_argument("--verify", default=None, help="VERIFY_SUSPECT2 timeout (tcp-fd.xml: 1s)")
    args = p.parse_args(argv)
    runs = 2 if args.quick else args.runs
    kinds = [k for k in args.kinds.split(",") if k]
    if unknown := [k for k in kinds if k not in KINDS]:
        p.error(f"unknown kinds: {unknown}")
    shapes = [tuple(int(x) for x in s.split("+")) for s in args.partitions.split(",") if s]
    if any(len(s) != 2 or min(s) < 1 for s in shapes):
        p.error(f"--partitions wants shapes like 2+1,2+2: {args.partitions}")
    src = stack_path(args.stack)
    given = {k: v for k, v in (("fd", args.fd), ("merge", args.merge), ("verify", args.verify)) if v}
    with tempfile.TemporaryDirectory(prefix="pygroups-benchfail-") as tmp:
        if "${" in literal_timings(src)["fd"]:  # tcp-fd.xml: timings through its variables
            timings = {**TCP_FD_DEFAULTS, **given}
            setup = Setup(src, tcp_fd_properties(timings), view_timeout(timings))
            how = "set through variables"
        else:  # literal timings (tcp.xml): as written, or a derived copy with the ones given
            timings = {**literal_timings(src), **given}
            stack = str(derive_stack(src, tmp, attributes=attributes(timings), name=Path(src).name)) if given else src
            setup = Setup(stack, {}, view_timeout(timings))
            how = "derived copy with these set" if given else "the file's own"
        figures: dict[tuple[str, str], list[float]] = {}
        errors: dict[tuple[str, str], str] = {}
        whats: list[tuple[str, Callable[[str], float]]] = [
            (f"exclude a killed member ({args.members} pods)",
             functools.partial(exclude_once, setup, args.members))]
        for shape in shapes:
            whats.append((f"one view after a {shape[0]}+{shape[1]} heal",
                          functools.partial(heal_once, setup, shape)))
        started = time.monotonic()
        for what, fn in whats:
            for _ in range(runs):
                for kind in kinds:  # the languages take turns: drift of a busy machine hits both alike
                    try:
                        figures.setdefault((what, kind), []).append(fn(kind))
                    except (ClusterError, OSError) as e:
                        figures.setdefault((what, kind), [])
                        errors[(what, kind)] = str(e).strip().splitlines()[0][:200] if str(e).strip() else repr(e)
            for kind in kinds:
                print(f"  {what}, {kind}: {summary(figures[(what, kind)])}", file=sys.stderr)
    print(f"failure benchmark ({Path(args.stack).name}, FD_ALL3 {timings['fd']}, VERIFY_SUSPECT2 {timings['verify']}, "
          f"MERGE3 {timings['merge']} ({how}); median (min-max) of {runs} runs each; "
          f"{time.monotonic() - started:.0f}s)")
    others = [k for k in kinds if k != "java"] if "java" in kinds else []
    print("| figure | " + " | ".join(HEADS[k] for k in kinds) + "".join(f" | {HEADS[k]} ÷ Java" for k in others)
          + " |")
    print("|---|" + "---:|" * (len(kinds) + len(others)))
    for what, _ in whats:
        row = f"| {what} | " + " | ".join(summary(figures[(what, k)]) for k in kinds)
        java = figures[(what, "java")] if "java" in kinds else []
        for k in others:
            v = figures[(what, k)]
            row += f" | {statistics.median(v) / statistics.median(java):.2f}" if java and v else " | n/a"
        print(row + " |")
    for (what, kind), err in sorted(errors.items()):
        print(f"  ({what}, {kind}: a run failed: {err})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
