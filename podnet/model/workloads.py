"""Controllers → pods, with deterministic, readable names (see ``podnet.names``).

A ``kubectl get -o yaml`` dump holds both controllers and the pods they made; a controller is
expanded only when none of its pods is in the input, so a dump is not counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from podnet import names
from podnet.model.objects import Node, Pod, evolve
from podnet.model.parse import Workload


def _realized(workload: Workload, owners: set[tuple[str, str, str]],
              rs_prefixes: set[tuple[str, str]]) -> bool:
    if (workload.namespace, workload.kind, workload.name) in owners:
        return True
    if workload.kind == "Deployment":
        return (workload.namespace, workload.name) in rs_prefixes
    return False


def expand(workloads: Sequence[Workload], pods: Iterable[Pod], nodes: Sequence[Node],
           owned_replicasets: set[tuple[str, str]]) -> list[Pod]:
    """Pods for every workload not already represented by pods in the input.

    ``owned_replicasets`` lists ReplicaSets (namespace, name) that belong to a Deployment
    in the input; they are the Deployment's, so they are not expanded on their own.
    """
    owners = {(p.namespace, p.owner_kind, p.owner_name) for p in pods if p.owner_kind != "Pod"}
    rs_of_deploy = set()
    for ns, kind, owner in owners:
        if kind == "ReplicaSet" and "-" in owner:
            rs_of_deploy.add((ns, owner.rsplit("-", 1)[0]))
    out: list[Pod] = []
    for w in workloads:
        if _realized(w, owners, rs_of_deploy):
            continue
        if w.kind == "ReplicaSet" and (w.namespace, w.name) in owned_replicasets:
            continue
        if w.kind == "DaemonSet":
            for node in nodes:
                if all(node.labels.get(k) == v for k, v in w.node_selector.items()):
                    out.append(evolve(w.template, name=names.daemonset_pod(w.name, node.name),
                                      node=node.name))
            continue
        for i in range(w.replicas):
            name = names.workload_pod(w.name, i)
            hostname = w.template.hostname or (name if w.kind == "StatefulSet" else "")
            out.append(evolve(w.template, name=name, hostname=hostname))
    return out
