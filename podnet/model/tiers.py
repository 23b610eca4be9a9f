"""Checks of the admin policies against the built model.

Two AdminNetworkPolicies with one priority that both select a pod leave that pod's order of
evaluation undefined upstream (network-policy-api v1alpha1: "the behavior is undefined");
podnet orders them by name and says so in a warning. v1alpha2 ClusterNetworkPolicies say the
same within each tier ("the implementation can apply any of the matching policies"), and an
AdminNetworkPolicy shares the admin tier's priorities with Admin ClusterNetworkPolicies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from podnet.model.defaults import NAMESPACE_NAME_LABEL
from podnet.model.objects import AdminPolicy, Namespace, Pod


def _selects(a: AdminPolicy, pod: Pod, ns: Mapping[str, Namespace]) -> bool:
    if pod.host_network:  # never a subject (network-policy-api: "not included in subject selection")
        return False
    labels = ns[pod.namespace].labels if pod.namespace in ns else {NAMESPACE_NAME_LABEL: pod.namespace}
    return a.namespace_selector.matches(labels) and a.pod_selector.matches(pod.labels)


def same_priority_warnings(admin: Sequence[AdminPolicy], pods: Sequence[Pod],
                           namespaces: Mapping[str, Namespace]) -> list[str]:
    by_priority: dict[tuple[str, int], list[AdminPolicy]] = {}
    for a in admin:
        if a.priority is not None:
            by_priority.setdefault((a.tier, a.priority), []).append(a)
    out = []
    for (_, priority), group in sorted(by_priority.items()):
        for a, b in combinations(sorted(group, key=lambda x: x.key), 2):
            both = next((p for p in pods if _selects(a, p, namespaces) and _selects(b, p, namespaces)),
                        None)
            if both is not None:
                kinds = ("AdminNetworkPolicies" if a.kind == b.kind == "AdminNetworkPolicy"
                         else "admin policies")
                out.append(f"{b.source.where()}: {kinds} {a.key} and {b.key} "
                           f"both have priority {priority} and both select {both.key} (and "
                           f"maybe more): their order is undefined upstream; podnet applies "
                           f"{a.key} first (by name)")
    return out
