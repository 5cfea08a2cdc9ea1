"""Kubernetes discovery (KUBE_PING) building blocks.

Only the sans-IO core lives here so far: parsing the pods API answer and turning it into discovery
targets exactly as jgroups-kubernetes 3.0.0 does. No protocol is registered from this package.
"""

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
