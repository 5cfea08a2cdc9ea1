"""Kubernetes discovery (KUBE_PING) building blocks.

``pods``: the sans-IO core, parsing the pods API answer and turning it into discovery targets exactly as
jgroups-kubernetes 3.0.0 does. ``api``: the values of an API call (`KubeConfig`, `KubeResult`, `KubeError`).
``requests``: KUBE_PING's `ListPods` request and its `PodsListed` answer. The blocking API client
(`KubeClient`) is at the edge, in `pygroups.aio.kubernetes`. ``kube_ping``: the KUBE_PING layer,
registered by ``pygroups.protocols`` (not imported here, to keep this package importable without the stack).
"""

from pygroups.protocols.kubernetes.api import ErrorKind, KubeConfig, KubeError, KubeResult
from pygroups.protocols.kubernetes.pods import (
    ParsedPods,
    Pod,
    PodListError,
    RollingUpdateSplit,
    Skipped,
    SkipReason,
    TargetPlan,
    java_host_address,
    parse_pod_list,
    parse_pods,
    plan_targets,
    pod_group,
    select_pods,
    split_rolling_update,
    targets,
)

__all__ = [
    "ErrorKind",
    "KubeConfig",
    "KubeError",
    "KubeResult",
    "ParsedPods",
    "Pod",
    "PodListError",
    "RollingUpdateSplit",
    "SkipReason",
    "Skipped",
    "TargetPlan",
    "java_host_address",
    "parse_pod_list",
    "parse_pods",
    "plan_targets",
    "pod_group",
    "select_pods",
    "split_rolling_update",
    "targets",
]
