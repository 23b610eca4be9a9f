"""Workload-level connection lists in netpol-analyzer's txt format.

``src[Kind] => dst[Kind] : conns`` for every pair of distinct workloads (a workload is the
controller that owns a pod, or the pod itself), using one pod per workload as
netpol-analyzer does. Lines are sorted.
"""

from __future__ import annotations

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.verdict import Evaluator


def workload_name(pod: Pod) -> str:
    kind, name = pod.owner_kind, pod.owner_name or pod.name
    if kind == "ReplicaSet" and "-" in name:
        kind, name = "Deployment", name.rsplit("-", 1)[0]
    return f"{pod.namespace}/{name}[{kind}]"


def representatives(cluster: Cluster) -> dict[str, Pod]:
    reps: dict[str, Pod] = {}
    for p in cluster.pods:
        reps.setdefault(workload_name(p), p)
    return reps


def connlist(cluster: Cluster, evaluator: Evaluator) -> list[str]:
    reps = representatives(cluster)
    lines = []
    for src_name, src in reps.items():
        for dst_name, dst in reps.items():
            if src_name == dst_name:
                continue
            allowed = evaluator.allowed(src, dst)
            if not allowed.is_empty():
                lines.append(f"{src_name} => {dst_name} : {allowed}")
    return sorted(lines)
