"""Workload-level connection lists in netpol-analyzer's txt format.

``src => dst : conns`` for every pair of distinct workloads and for IP ranges outside the
cluster. A workload is the controller named in a pod's ownerReferences (kept as written: a
ReplicaSet stays a ReplicaSet), the controller podnet expanded, or the pod itself; one pod
stands for its workload, as in netpol-analyzer. External peers are the disjoint IPv4 ranges
cut by the ipBlocks of one direction (ingress ranges for sources, egress ranges for
destinations), each range printed on its own line. Lines are sorted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import MappingProxyType

import numpy as np

from podnet.errors import SourceRef
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod, Service
from podnet.policy.compile import Compiled
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.connset import NONE, ConnSet
from podnet.policy.extranges import range_name
from podnet.policy.verdict import Evaluator

CONTROLLERS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
               "ReplicationController")


def workload_name(pod: Pod) -> str:
    if not pod.owner_kind:  # an owner reference without a kind still names the group
        return f"{pod.namespace}/{pod.owner_name or pod.name}[Pod]"
    if pod.owner_kind not in CONTROLLERS:  # a static pod is "owned" by its Node
        return f"{pod.namespace}/{pod.name}[Pod]"
    return f"{pod.namespace}/{pod.owner_name or pod.name}[{pod.owner_kind}]"


def representatives(cluster: Cluster) -> dict[str, Pod]:
    reps: dict[str, Pod] = {}
    for p in cluster.pods:
        reps.setdefault(workload_name(p), p)
    return reps


# Words of uint64 per block of destinations: bounds the memory of each block's arrays.
BLOCK_WORDS = 1 << 22


def _lines(cs: ConnSpace, m: np.ndarray, dst_names: Sequence[str], src_names: Sequence[str],
           texts: dict[bytes, str]) -> list[str]:
    """One line per non-empty set of ``m[dst, src]``; each distinct set is rendered once."""
    i, j = np.nonzero(m.any(axis=2))
    masks = np.ascontiguousarray(m[i, j])
    rows = masks.view(np.dtype((np.void, masks.shape[1] * 8))).ravel()
    uniq, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    keys = uniq.tolist()
    for key, at in zip(keys, first.tolist(), strict=True):
        if key not in texts:
            texts[key] = cs.text(masks[at])
    names = [texts[k] for k in keys]
    return [f"{src_names[b]} => {dst_names[a]} : {names[k]}"
            for a, b, k in zip(i.tolist(), j.tolist(), inverse.ravel().tolist(), strict=True)]


def pair_blocks(cs: ConnSpace) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The allowed sets between the pods ``cs`` was built over, a block of destinations at a
    time: (destination indices, ``[dst, src, words]`` toward each from every pod, with a pod to
    itself empty, ``[dst, ext_in range, words]`` from outside the cluster)."""
    cls = cs.classes.of_pod
    n, count = cs.n, len(cls)
    order = np.argsort(cls, kind="stable")  # pods of one class land in one block
    step = max(1, BLOCK_WORDS // (max(count, n + len(cs.ext_in)) * cs.atoms.words))
    for start in range(0, count, step):
        dst = order[start:start + step]
        dcls, inv = np.unique(cls[dst], return_inverse=True)
        ingress = cs.ingress(dcls)
        pairs = (ingress[:, :n] & cs.egress(dcls))[inv][:, cls]
        pairs[np.arange(len(dst)), dst] = 0  # a workload's own pods are not a pair
        yield dst, pairs, ingress[inv, n:]


def connlist(cluster: Cluster, compiled: Compiled) -> list[str]:
    """Workload pairs, then each external range some rule tells apart, toward and from each
    workload; computed once per pair of pod classes and spread over the workloads in them."""
    reps = representatives(cluster)
    names = list(reps)
    cs = ConnSpace(cluster, compiled, list(reps.values()))
    cls = cs.classes.of_pod
    texts, lines = dict[bytes, str](), list[str]()
    ext_in = [range_name(lo, hi) for lo, hi in cs.ext_in]
    ext_out = [range_name(lo, hi) for lo, hi in cs.ext_out]
    for dst, pairs, from_ext in pair_blocks(cs):
        dst_names = [names[i] for i in dst.tolist()]
        lines += _lines(cs, pairs, dst_names, names, texts)
        lines += _lines(cs, from_ext, dst_names, ext_in, texts)
    step = max(1, BLOCK_WORDS // (max(len(names), 1) * cs.atoms.words))
    for start in range(0, len(ext_out), step):
        ext = np.arange(start, min(start + step, len(ext_out)))
        lines += _lines(cs, cs.egress_ext(ext)[:, cls], ext_out[start:start + step], names, texts)
    return sorted(lines + ingress_lines(cluster, Evaluator(cluster, compiled)))


# netpol-analyzer models the ingress controller as a pod with no labels in a namespace of its
# own; policies admit it exactly as they would admit such a pod.
INGRESS_CONTROLLER = Pod(namespace="ingress-controller-ns", name="ingress-controller",
                         labels=MappingProxyType({}), source=SourceRef(file="<ingress-controller>"),
                         owner_kind="", owner_name="ingress-controller")


def _service_target_ports(svc: Service, port: int | None, port_name: str, dst: Pod) -> ConnSet:
    out = NONE
    for sp in svc.ports:
        if port is not None and sp.port != port:
            continue
        if port is None and port_name and sp.name != port_name:
            continue
        target = sp.target_port
        number = target if isinstance(target, int) else dst.named_port(target, sp.protocol)
        if number is not None:
            out = out | ConnSet.port(sp.protocol, number)
    return out


def _exposures(cluster: Cluster) -> list[tuple[str, str, int | None, str]]:
    """(namespace, service, port number, port name) for every Ingress and Route backend."""
    out: list[tuple[str, str, int | None, str]] = []
    for ing in cluster.ingresses:
        backends = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            backends.append(ing.default_backend)
        out += [(ing.namespace, b.service, b.port_number, b.port_name) for b in backends if b.service]
    for o in (*cluster.configs, *cluster.ignored):
        if o.kind != "Route":
            continue
        spec = o.body.get("spec") or {}
        to = (spec.get("to") or {}).get("name", "")
        target = (spec.get("port") or {}).get("targetPort")
        names = [to] + [b.get("name", "") for b in spec.get("alternateBackends") or []]
        for svc in names:
            if isinstance(target, int):
                out.append((o.namespace, svc, None, f"#target:{target}"))
            else:
                out.append((o.namespace, svc, None, str(target or "")))
    return out


def ingress_lines(cluster: Cluster, evaluator: Evaluator) -> list[str]:
    services = {(s.namespace, s.name): s for s in cluster.services}
    exposed: dict[str, ConnSet] = {}
    reps = representatives(cluster)
    for ns, name, number, port_name in _exposures(cluster):
        svc = services.get((ns, name))
        if svc is None or svc.selector is None:
            continue
        for wname, pod in reps.items():
            if not svc.selects(pod):
                continue
            if port_name.startswith("#target:"):  # a Route naming the pods' port by number
                ports = ConnSet.port("TCP", int(port_name.split(":")[1]))
            else:
                ports = _service_target_ports(svc, number, port_name, pod)
            exposed[wname] = exposed.get(wname, NONE) | ports
    lines = []
    for wname, ports in exposed.items():
        allowed = ports & evaluator.allowed(INGRESS_CONTROLLER, reps[wname])
        if not allowed.is_empty():
            lines.append(f"{{ingress-controller}} => {wname} : {allowed}")
    return lines
