"""Pods for the Kubernetes API stand-in: `make_pod` builds a pod as the API server shows it (status,
conditions, container statuses, owner labels), `pod_list` wraps pods in a ``PodList``."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["make_pod", "pod_list"]

_BASE_TIME = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
_UID_NAMESPACE = uuid.UUID("6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0b")


def _ts(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- pods --------------------------------------------------------------------------------------------


def make_pod(
    name: str,
    ip: str | None = None,
    *,
    namespace: str = "default",
    labels: Mapping[str, str] | None = None,
    phase: str = "Running",
    ready: bool | None = None,
    containers_ready: bool | Sequence[bool] | None = None,
    containers: Sequence[str] = ("app",),
    message: str | None = None,
    reason: str | None = None,
    deleting: bool | str = False,
    pod_ips: Sequence[str] | None = None,
    host_ip: str | None = "10.0.0.10",
    node_name: str | None = "node-1",
    pod_template_hash: str | None = None,
    controller_revision_hash: str | None = None,
    deployment: str | None = None,
    generate_name: str | None = None,
    annotations: Mapping[str, str] | None = None,
    ports: Sequence[int] = (7800,),
    image: str = "example/app:1.0",
    uid: str | None = None,
    creation_timestamp: str | None = None,
) -> dict[str, Any]:
    """A pod as the API server returns it in a ``PodList`` (``kind``/``apiVersion`` are list-level).

    ``ip`` is ``status.podIP`` (``None``: no IP yet, the key is absent). ``pod_ips`` sets ``status.podIPs``
    (default ``[ip]``). ``ready`` sets the ``Ready`` condition (default: ``phase == "Running"``);
    ``containers_ready`` the ``ContainersReady`` condition and each container status's ``ready`` (default
    ``ready``; a sequence gives one flag per container). ``message``/``reason`` go to ``status``
    (``reason="NodeLost"``, ``"Evicted"``...). ``deleting`` adds a ``deletionTimestamp`` (``True`` or the
    timestamp). The generation helpers add the labels KUBE_PING's rolling-update split reads:
    ``pod_template_hash`` (Deployment/ReplicaSet), ``controller_revision_hash`` (StatefulSet) and
    ``deployment`` (OpenShift DeploymentConfig); they also shape ``generateName`` and ``ownerReferences``.
    """
    is_ready = (phase == "Running") if ready is None else ready
    flags: list[bool]
    names = list(containers)
    if containers_ready is None or isinstance(containers_ready, bool):
        flags = [is_ready if containers_ready is None else containers_ready] * len(names)
    else:
        flags = list(containers_ready)
        if len(flags) != len(names):
            names = [names[0] if names else "app"] + [f"sidecar-{i}" for i in range(1, len(flags))]
    all_containers_ready = all(flags)

    created = creation_timestamp or _ts(_BASE_TIME)
    lab = dict(labels or {})
    owner: dict[str, Any] | None = None
    if pod_template_hash is not None:
        lab["pod-template-hash"] = pod_template_hash
        base = name.rsplit("-", 2)[0] if name.count("-") >= 2 else name
        rs = f"{base}-{pod_template_hash}"
        generate_name = generate_name or rs + "-"
        owner = {"kind": "ReplicaSet", "name": rs}
    if controller_revision_hash is not None:
        lab["controller-revision-hash"] = controller_revision_hash
        sts = name.rsplit("-", 1)[0] if "-" in name else name
        generate_name = generate_name or sts + "-"
        owner = {"kind": "StatefulSet", "name": sts}
    if deployment is not None:
        lab["deployment"] = deployment
        lab.setdefault("deploymentconfig", deployment.rsplit("-", 1)[0])
        owner = owner or {"kind": "ReplicationController", "name": deployment}

    metadata: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "uid": uid or str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{name}")),
        "resourceVersion": "1",
        "creationTimestamp": created,
    }
    if generate_name:
        metadata["generateName"] = generate_name
    if lab:
        metadata["labels"] = lab
    if annotations:
        metadata["annotations"] = dict(annotations)
    if owner is not None:
        metadata["ownerReferences"] = [
            {
                "apiVersion": "apps/v1" if owner["kind"] != "ReplicationController" else "v1",
                "kind": owner["kind"],
                "name": owner["name"],
                "uid": str(uuid.uuid5(_UID_NAMESPACE, f"{namespace}/{owner['kind']}/{owner['name']}")),
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    if deleting:
        metadata["deletionTimestamp"] = (
            deleting if isinstance(deleting, str) else _ts(_BASE_TIME + dt.timedelta(hours=1))
        )
        metadata["deletionGracePeriodSeconds"] = 30

    spec: dict[str, Any] = {
        "containers": [
            {
                "name": c,
                "image": image,
                "ports": [{"name": "jgroups", "containerPort": p, "protocol": "TCP"} for p in ports] if i == 0 else [],
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent",
            }
            for i, c in enumerate(names)
        ],
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": "default",
        "serviceAccount": "default",
        "schedulerName": "default-scheduler",
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
    }
    if node_name:
        spec["nodeName"] = node_name

    started = _ts(_BASE_TIME + dt.timedelta(seconds=1))

    def cond(kind: str, ok: bool | str, why: str | None = None, text: str | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {
            "type": kind,
            "status": ok if isinstance(ok, str) else ("True" if ok else "False"),
            "lastProbeTime": None,
            "lastTransitionTime": started,
        }
        if why:
            c["reason"] = why
        if text:
            c["message"] = text
        return c

    unready = [n for n, f in zip(names, flags, strict=True) if not f]
    not_ready_text = f"containers with unready status: [{' '.join(unready)}]" if unready else None
    ready_reason = {"Succeeded": "PodCompleted", "Failed": "PodFailed"}.get(phase, "ContainersNotReady")
    conditions = [
        cond("PodReadyToStartContainers", phase != "Pending"),
        cond("Initialized", True),
        cond("Ready", is_ready, None if is_ready else ready_reason, None if is_ready else not_ready_text),
        cond(
            "ContainersReady",
            all_containers_ready,
            None if all_containers_ready else ready_reason,
            None if all_containers_ready else not_ready_text,
        ),
        cond("PodScheduled", True),
    ]

    def container_status(i: int, cname: str, ok: bool) -> dict[str, Any]:
        state: dict[str, Any]
        if phase == "Pending":
            state = {"waiting": {"reason": "ContainerCreating"}}
        elif phase in ("Succeeded", "Failed"):
            code = 0 if phase == "Succeeded" else 1
            state = {
                "terminated": {
                    "exitCode": code,
                    "reason": "Completed" if code == 0 else "Error",
                    "startedAt": started,
                    "finishedAt": _ts(_BASE_TIME + dt.timedelta(minutes=5)),
                    "containerID": _container_id(namespace, name, cname),
                }
            }
        else:
            state = {"running": {"startedAt": started}}
        cs: dict[str, Any] = {
            "name": cname,
            "state": state,
            "lastState": {},
            "ready": ok,
            "restartCount": 0,
            "image": image,
            "imageID": "docker.io/" + image.split(":")[0] + "@sha256:" + hashlib.sha256(image.encode()).hexdigest(),
            "started": phase == "Running",
        }
        if phase != "Pending":
            cs["containerID"] = _container_id(namespace, name, cname)
        return cs

    status: dict[str, Any] = {"phase": phase, "conditions": conditions}
    if message is not None:
        status["message"] = message
    if reason is not None:
        status["reason"] = reason
    if host_ip:
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
    if ip is not None:
        status["podIP"] = ip
    ips = list(pod_ips) if pod_ips is not None else ([ip] if ip else [])
    if ips:
        status["podIPs"] = [{"ip": a} for a in ips]
    status["startTime"] = created
    status["containerStatuses"] = [container_status(i, c, f) for i, (c, f) in enumerate(zip(names, flags, strict=True))]
    status["qosClass"] = "BestEffort"
    return {"metadata": metadata, "spec": spec, "status": status}


def _container_id(namespace: str, pod: str, container: str) -> str:
    return "containerd://" + hashlib.sha256(f"{namespace}/{pod}/{container}".encode()).hexdigest()


def pod_list(pods: Iterable[Mapping[str, Any]], resource_version: str = "1") -> dict[str, Any]:
    """A ``PodList`` document around ``pods``."""
    return {
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": resource_version},
        "items": [dict(p) for p in pods],
    }
