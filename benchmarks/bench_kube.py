"""KUBE_PING benchmark: one discovery over a Kubernetes API answer of 1,000 pods (parse the JSON, readiness,
rolling-update split, expand pod IPs x ports into discovery targets), pygroups beside jgroups-kubernetes 3.0.0's
own ``KUBE_PING.findMembers`` timed by the conformance peer in the same run (``Peer kubebench``).

The answer is shaped like a real ``PodList`` (metadata with managedFields, spec, status; about 3 KB per pod):
950 ready pods in two generations, 30 not ready, 20 pending without an IP. Reported as discoveries per second on
one core (median of 7 rounds) and the ratio to Java. Not a test: nothing here asserts a timing.

    python benchmarks/bench_kube.py [--pods 1000] [--seconds 2] [--no-java] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pygroups.address import UUID, IpAddress  # noqa: E402
from pygroups.protocols.discovery import ping_data, request_message  # noqa: E402
from pygroups.protocols.kubernetes.pods import parse_pods, plan_targets  # noqa: E402
from pygroups.wire.headers.ping import PingHeader  # noqa: E402

KUBE_PING_ID = 2017

OWN_IP = "127.0.0.1"  # the benchmark node's own pod (Java's channel binds it; the split looks for it)
BIND_PORT = 7800


def _pod(i: int, n: int) -> dict[str, Any]:
    """Pod i of n: the first one is the benchmark node itself; 2% pending (no IP), 3% not ready."""
    generation = "7d4b9c8f6d" if i % 2 == 0 else "5f6c7b8a9e"
    name = f"infinispan-{generation}-{i:05d}"
    ip = OWN_IP if i == 0 else f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    pending = i % 50 == 49
    not_ready = i % 33 == 32
    ready = "False" if not_ready else "True"
    meta = {
        "name": name, "generateName": f"infinispan-{generation}-", "namespace": "prod",
        "uid": f"4b0f1c2e-{i:04x}-4d6e-9a7b-{generation}00", "resourceVersion": str(100_000 + i),
        "creationTimestamp": "2026-11-20T10:00:00Z",
        "labels": {"app": "infinispan", "cluster": "prod-cache", "pod-template-hash": generation},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"infinispan-{generation}",
                             "uid": "0c1d2e3f-0000-4000-8000-000000000001", "controller": True,
                             "blockOwnerDeletion": True}],
        "managedFields": [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-11-20T10:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {".": {}, "f:app": {},
                                        "f:pod-template-hash": {}}}, "f:spec": {"f:containers": {}}}},
                          {"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-11-20T10:00:05Z", "fieldsType": "FieldsV1", "subresource": "status",
                           "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {},
                                                     "f:podIP": {}, "f:podIPs": {}, "f:startTime": {}}}}],
    }
    spec = {
        "volumes": [{"name": "kube-api-access", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}]}}],
        "containers": [{
            "name": "infinispan", "image": "quay.io/infinispan/server:16.0",
            "args": ["-c", "infinispan.xml", "-Djgroups.bind.address=$(POD_IP)"],
            "ports": [{"name": "ping", "containerPort": 7800, "protocol": "TCP"},
                      {"name": "hotrod", "containerPort": 11222, "protocol": "TCP"}],
            "env": [{"name": "KUBERNETES_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "KUBERNETES_LABELS", "value": "app=infinispan,cluster=prod-cache"},
                    {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
            "resources": {"limits": {"memory": "2Gi"}, "requests": {"cpu": "500m", "memory": "2Gi"}},
            "volumeMounts": [{"name": "kube-api-access", "readOnly": True,
                              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}],
            "readinessProbe": {"tcpSocket": {"port": 11222}, "periodSeconds": 10},
            "imagePullPolicy": "IfNotPresent"}],
        "restartPolicy": "Always", "serviceAccountName": "infinispan", "nodeName": f"node-{i % 40}",
        "schedulerName": "default-scheduler", "terminationGracePeriodSeconds": 30,
    }
    status: dict[str, Any] = {"phase": "Pending" if pending else "Running", "qosClass": "Burstable",
                              "startTime": "2026-11-20T10:00:01Z"}
    if not pending:
        status.update({
            "hostIP": f"192.168.0.{i % 40}", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": t, "status": ready if t in ("Ready", "ContainersReady") else "True",
                            "lastTransitionTime": "2026-11-20T10:00:05Z"}
                           for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
            "containerStatuses": [{"name": "infinispan", "ready": not not_ready, "restartCount": 0,
                                   "image": "quay.io/infinispan/server:16.0", "started": True,
                                   "imageID": "quay.io/infinispan/server@sha256:" + "ab" * 32,
                                   "containerID": f"containerd://{i:064x}",
                                   "state": {"running": {"startedAt": "2026-11-20T10:00:04Z"}}}],
        })
    return {"metadata": meta, "spec": spec, "status": status}


def pod_list(n: int) -> str:
    return json.dumps({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "123456"},
                       "items": [_pod(i, n) for i in range(n)]})


ME = UUID(0x1234, 0x5678)
HDR = PingHeader(PingHeader.Type.GET_MBRS_REQ, "bench", True)


def discover(body: str, port_range: int, split: bool) -> int:
    """What pygroups' KUBE_PING does with an API answer (its client parses on the worker thread, the layer does the
    rest): parse, select, split, expand, one GET_MBRS_REQ with a marshalled PingData per target, as Java's
    findMembers does; returns the number of requests."""
    pods = parse_pods(body).pods
    own = IpAddress(OWN_IP, BIND_PORT)
    plan = plan_targets(pods, BIND_PORT, port_range, own, split_clusters_during_rolling_update=split)
    data = ping_data(ME, False, "bench", own)
    return len([request_message(addr, KUBE_PING_ID, HDR, data) for addr in plan.targets])


def rate(body: str, port_range: int, split: bool, seconds: float, rounds: int = 7) -> tuple[float, float, float, int]:
    """Discoveries per second over ``rounds`` rounds: (median, min, max, targets)."""
    rates, targets = [], 0
    for _ in range(rounds):
        n, start = 0, time.perf_counter()
        deadline = start + seconds / rounds
        while True:
            targets = discover(body, port_range, split)
            n += 1
            now = time.perf_counter()
            if now >= deadline:
                break
        rates.append(n / (now - start))
    rates.sort()
    return rates[len(rates) // 2], rates[0], rates[-1], targets


def java_rate(pods_file: Path, port_range: int, split: bool, seconds: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "conformance"))
    import javapeer  # type: ignore[import-not-found]

    args = ["--pods", str(pods_file), "--port-range", str(port_range), "--seconds", str(seconds), "--warmup", "2"]
    if split:
        args.append("--split")
    result: dict[str, Any] = javapeer._run_mode("kubebench", *args, timeout=2 * seconds + 120)[0]
    return result


def steady_calls(lang: str, stack: str, pods: int, window: float) -> dict[str, Any]:
    """API calls of ``pods`` pods of one language joining one by one, then over ``window`` seconds of steady state."""
    sys.path.insert(0, str(ROOT / "conformance"))
    from cluster import Cluster  # type: ignore[import-not-found]

    from pygroups.testing.servers.kubeapi import KubeApiServer, make_pod

    labels = {"app": "bench", "cluster": "steady"}
    with KubeApiServer() as api:
        env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": str(api.port),
               "KUBERNETES_NAMESPACE": "bench", "KUBERNETES_LABELS": "app=bench,cluster=steady",
               "KUBERNETES_CA_CERTIFICATE_FILE": api.ca_file, "KUBERNETES_SA_TOKEN_FILE": api.token_file}
        with Cluster(stack, pods=True, env=env, max_nodes=pods,
                     properties={"jgroups.kube_ping.port_range": "1"}) as c:
            names = [f"N{i}" for i in range(pods)]
            for name in names:
                api.add_pod(make_pod(name.lower(), c.pod_ip(name), namespace="bench", labels=labels))
            start = time.monotonic()
            for name in names:
                c.start(name, lang)
            c.wait_same_view(names, 60)
            joined = api.request_count
            join_s = time.monotonic() - start
            time.sleep(window)  # the steady state itself is what is measured
            steady = api.request_count - joined
    return {"lang": lang, "stack": stack, "pods": pods, "join_calls": joined, "join_seconds": join_s,
            "window_s": window, "steady_calls": steady, "calls_per_hour": steady * 3600 / window}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--no-java", action="store_true", help="skip Java's figures")
    ap.add_argument("--window", type=float, default=60.0, help="seconds of steady state measured per cluster")
    ap.add_argument("--steady-pods", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="CI: 1 s per rate, a 60 s window")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.window = 1.0, 60.0

    body = pod_list(args.pods)
    cases = [("port_range=1", 1, False), ("port_range=1, split", 1, True)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pods_file = Path(tmp) / "pods.json"
        pods_file.write_text(body)
        for label, port_range, split in cases:
            med, lo, hi, targets = rate(body, port_range, split, args.seconds)
            java = None if args.no_java else java_rate(pods_file, port_range, split, args.seconds)
            rows.append({"case": label, "targets": targets, "python_per_s": med, "python_spread": [lo, hi],
                         "java_per_s": None if java is None else float(java["per_second"]),
                         "java_requests": None if java is None else int(java["requests_per_discovery"])})
    steady = [steady_calls("python", "kubernetes-core.xml", args.steady_pods, args.window),
              steady_calls("python", "kubernetes.xml", args.steady_pods, args.window)]
    if not args.no_java:
        steady.append(steady_calls("java", "kubernetes-core.xml", args.steady_pods, args.window))
        steady.append(steady_calls("java", "kubernetes.xml", args.steady_pods, args.window))
    if args.json:
        print(json.dumps({"pods": args.pods, "bytes": len(body), "rows": rows, "steady": steady}, indent=2))
        return 0
    print(f"discovery over one API answer of {args.pods} pods ({len(body) / 1e6:.1f} MB JSON); "
          "medians of 7 rounds, one core")
    print("| case | targets (pygroups / Java) | pygroups discoveries/s | ms each | Java discoveries/s | ms each "
          "| pygroups ÷ Java |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        j = r["java_per_s"]
        jt = "n/a" if r["java_requests"] is None else str(r["java_requests"])
        print(f"| {r['case']} | {r['targets']} / {jt} | {r['python_per_s']:,.1f} | {1e3 / r['python_per_s']:.1f} | "
              + (f"{j:,.1f} | {1e3 / j:.1f} | {r['python_per_s'] / j:.2f} |" if j else "n/a | n/a | n/a |"))
    print(f"\nKubernetes API calls of a steady cluster of {args.steady_pods} pods (steady state measured over "
          f"{args.window:g} s, scaled to an hour)")
    print("| pods | stack | calls while joining | calls per hour, steady |")
    print("|---|---|---:|---:|")
    for r in steady:
        print(f"| {r['pods']} {'pygroups' if r['lang'] == 'python' else 'Java'} | {r['stack']} | {r['join_calls']} "
              f"| {r['calls_per_hour']:,.0f} |")
    print("(kubernetes.xml's MERGE3 asks for the pods from every member every 15-45 s, i.e. about 120 calls per "
          "pod and hour; a window much shorter than a few minutes sees only a handful of them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
