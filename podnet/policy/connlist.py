"""Workload-level connection lists, as netpol-analyzer's ``list`` computes them.

One connection (``src => dst : conns`` in txt) for every pair of distinct workloads and for IP
ranges outside the cluster. A workload is the controller named in a pod's ownerReferences (kept
as written: a ReplicaSet stays a ReplicaSet), the controller podnet expanded, or the pod
itself; one pod stands for its workload, as in netpol-analyzer. External peers are the disjoint IPv4 ranges
cut by the ipBlocks of one direction (ingress ranges for sources, egress ranges for
destinations), each range its own peer. ``connections`` returns the pairs sorted by source
then destination (netpol-analyzer's order), for the renderers of every format.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import NamedTuple

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


@dataclass(frozen=True, slots=True)
class Peer:
    """One end of a connection, named as netpol-analyzer names it."""

    text: str  # ns/name[Kind], {ingress-controller} or a.b.c.d-e.f.g.h[External]
    namespace: str = ""
    name: str = ""
    kind: str = ""
    ip: bool = False  # an IP range outside the cluster

    @property
    def in_namespace(self) -> bool:
        """A workload of the cluster's namespaces (not an IP range, not the ingress controller)."""
        return bool(self.kind)


class Conn(NamedTuple):
    src: Peer
    dst: Peer
    conns: ConnSet
    text: str  # str(conns), rendered once per distinct set

    def line(self) -> str:
        return f"{self.src.text} => {self.dst.text} : {self.text}"


def workload_peer(pod: Pod) -> Peer:
    text = workload_name(pod)
    name, kind = text[len(pod.namespace) + 1:-1].split("[", 1)
    return Peer(text, pod.namespace, name, kind)


def ip_peer(lo: int, hi: int) -> Peer:
    return Peer(range_name(lo, hi), ip=True)


def representatives(cluster: Cluster) -> dict[str, Pod]:
    reps: dict[str, Pod] = {}
    for p in cluster.pods:
        reps.setdefault(workload_name(p), p)
    return reps


def workload_peers(cluster: Cluster) -> list[Peer]:
    return [workload_peer(p) for p in representatives(cluster).values()]


def has_ingress_controller(cluster: Cluster) -> bool:
    """netpol-analyzer adds its ingress controller only when some Ingress or Route and some
    Service with a selector exist."""
    return bool(exposures(cluster)) and any(s.selector is not None for s in cluster.services)


# Words of uint64 per block of destinations: bounds the memory of each block's arrays.
BLOCK_WORDS = 1 << 22


def _conns(cs: ConnSpace, m: np.ndarray, dsts: Sequence[Peer], srcs: Sequence[Peer],
           sets: dict[bytes, tuple[ConnSet, str]], order: _Order | None = None) -> list[Conn]:
    """One connection per non-empty set of ``m[dst, src]``; each distinct set is built once.
    ``order`` receives each connection's (source, destination) rank for the final sort (a
    caller that sorts otherwise, as ``diff`` does, gives none)."""
    i, j = np.nonzero(m.any(axis=2))
    masks = np.ascontiguousarray(m[i, j])
    rows = masks.view(np.dtype((np.void, masks.shape[1] * 8))).ravel()
    uniq, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    keys = uniq.tolist()
    for key, at in zip(keys, first.tolist(), strict=True):
        if key not in sets:
            conns = cs.atoms.conns(masks[at])
            sets[key] = (conns, str(conns))
    if order is not None:
        order.add(order.ranks(srcs)[j], order.ranks(dsts)[i])
    # Built column by column and made with tuple.__new__ (C) rather than Conn(...) (a Python
    # __new__ per pair): there are millions of pairs at 150,000 pods.
    inv = inverse.ravel().tolist()
    found = [sets[k] for k in keys]
    set_col = [found[k][0] for k in range(len(found))]
    text_col = [found[k][1] for k in range(len(found))]
    return list(map(tuple.__new__, repeat(Conn), zip(
        [srcs[b] for b in j.tolist()], [dsts[a] for a in i.tolist()],
        [set_col[k] for k in inv], [text_col[k] for k in inv], strict=True)))


class _Order:
    """Each connection's (source, destination) rank by name, gathered as numpy arrays while the
    connections are made, so millions of pairs sort as integers (a Python key per pair cost
    most of connlist's time at 150,000 pods)."""

    def __init__(self, peers: Sequence[Peer]) -> None:
        self.rank = {t: r for r, t in enumerate(sorted({p.text for p in peers}))}
        self._cache: dict[int, tuple[Sequence[Peer], np.ndarray]] = {}
        self.src: list[np.ndarray] = []
        self.dst: list[np.ndarray] = []

    def ranks(self, peers: Sequence[Peer]) -> np.ndarray:
        hit = self._cache.get(id(peers))
        if hit is None or hit[0] is not peers:
            hit = (peers, np.array([self.rank[p.text] for p in peers], dtype=np.int64))
            self._cache[id(peers)] = hit
        return hit[1]

    def add(self, src: np.ndarray, dst: np.ndarray) -> None:
        self.src.append(src)
        self.dst.append(dst)

    def sort(self, conns: list[Conn]) -> list[Conn]:
        if not conns:
            return conns
        idx = np.lexsort((np.concatenate(self.dst), np.concatenate(self.src)))
        return [conns[k] for k in idx.tolist()]


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
    """The txt lines (``src => dst : conns``), sorted."""
    return [c.line() for c in connections(cluster, compiled)]


def connections(cluster: Cluster, compiled: Compiled) -> list[Conn]:
    """Workload pairs, then each external range some rule tells apart, toward and from each
    workload, then the ingress controller's; computed once per pair of pod classes and spread
    over the workloads in them. Sorted by source, then destination."""
    reps = representatives(cluster)
    names = [workload_peer(p) for p in reps.values()]
    cs = ConnSpace(cluster, compiled, list(reps.values()))
    cls = cs.classes.of_pod
    sets, out = dict[bytes, tuple[ConnSet, str]](), list[Conn]()
    ext_in = [ip_peer(lo, hi) for lo, hi in cs.ext_in]
    ext_out = [ip_peer(lo, hi) for lo, hi in cs.ext_out]
    ingress = ingress_conns(cluster, Evaluator(cluster, compiled))
    order = _Order([*names, *ext_in, *ext_out, *(c.src for c in ingress), *(c.dst for c in ingress)])
    for dst, pairs, from_ext in pair_blocks(cs):
        dst_peers = [names[i] for i in dst.tolist()]
        out += _conns(cs, pairs, dst_peers, names, sets, order)
        out += _conns(cs, from_ext, dst_peers, ext_in, sets, order)
    step = max(1, BLOCK_WORDS // (max(len(names), 1) * cs.atoms.words))
    for start in range(0, len(ext_out), step):
        ext = np.arange(start, min(start + step, len(ext_out)))
        out += _conns(cs, cs.egress_ext(ext)[:, cls], ext_out[start:start + step], names, sets,
                      order)
    out += ingress
    order.add(order.ranks([c.src for c in ingress]), order.ranks([c.dst for c in ingress]))
    return order.sort(out)


# netpol-analyzer models the ingress controller as a pod with no labels in a namespace of its
# own; policies admit it exactly as they would admit such a pod.
INGRESS_CONTROLLER = Pod(namespace="ingress-controller-ns", name="ingress-controller",
                         labels=MappingProxyType({}), source=SourceRef(file="<ingress-controller>"),
                         owner_kind="", owner_name="ingress-controller")
INGRESS_PEER = Peer("{ingress-controller}", INGRESS_CONTROLLER.namespace, INGRESS_CONTROLLER.name)


def _service_target_ports(svc: Service, required: int | str | None, dst: Pod) -> ConnSet:
    """The pod ports an Ingress or Route backend reaches through ``svc``. As netpol-analyzer
    reads it, the required port picks the first service port whose name, port or targetPort
    equals it (an Ingress naming the pods' port 8080 of a Service 5000->8080 still reaches
    8080); with no required port, every service port."""
    out = NONE
    for sp in svc.ports:
        if required is not None and not ((sp.name and sp.name == required) or sp.port == required
                                         or sp.target_port == required):
            continue
        target = sp.target_port or sp.port
        number = target if isinstance(target, int) else dst.named_port(target, sp.protocol)
        if number is not None:
            out = out | ConnSet.port(sp.protocol, number)
        if required is not None:
            break
    return out


Backend = tuple[str, str, str, str, int | str | None]  # kind, ns/name, namespace, service, port


def route_backends(cluster: Cluster) -> list[Backend]:
    """Every OpenShift Route's Services, with the route's targetPort as the required port."""
    out: list[Backend] = []
    for o in (*cluster.configs, *cluster.ignored):
        if o.kind != "Route":
            continue
        spec = o.body.get("spec") or {}
        target = (spec.get("port") or {}).get("targetPort")
        required = target if isinstance(target, int) else (str(target) if target else None)
        names = [(spec.get("to") or {}).get("name", "")]
        names += [b.get("name", "") for b in spec.get("alternateBackends") or []]
        out += [("Route", f"{o.namespace}/{o.name}", o.namespace, s, required) for s in names]
    return out


def ingress_backends(cluster: Cluster) -> list[Backend]:
    """Every Ingress's Services (paths, then the default backend) with the port it names."""
    out: list[Backend] = []
    for ing in cluster.ingresses:
        found = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            found.append(ing.default_backend)
        out += [("Ingress", f"{ing.namespace}/{ing.name}", ing.namespace, b.service,
                 b.port_number or b.port_name or None) for b in found if b.service]
    return out


def exposures(cluster: Cluster) -> list[Backend]:
    """Every Ingress and Route backend, Ingresses first."""
    return ingress_backends(cluster) + route_backends(cluster)


def backend_workloads(cluster: Cluster, backends: list[Backend]
                      ) -> Iterator[tuple[Backend, Service, str, Pod]]:
    """(backend, its Service, workload, the workload's representative pod) for every workload
    a backend's Service selects; a Service that is missing or has no selector reaches none."""
    services = {(s.namespace, s.name): s for s in cluster.services}
    if not any(s.selector is not None for s in services.values()):
        return
    reps = representatives(cluster)
    for backend in backends:
        svc = services.get((backend[2], backend[3]))
        if svc is None or svc.selector is None:
            continue
        for wname, pod in reps.items():
            if svc.selects(pod):
                yield backend, svc, wname, pod


def ingress_lines(cluster: Cluster, evaluator: Evaluator) -> list[str]:
    return [c.line() for c in ingress_conns(cluster, evaluator)]


def ingress_conns(cluster: Cluster, evaluator: Evaluator) -> list[Conn]:
    exposed: dict[str, ConnSet] = {}
    reps: dict[str, Pod] = {}
    for (_, _, _, _, required), svc, wname, pod in backend_workloads(cluster, exposures(cluster)):
        exposed[wname] = exposed.get(wname, NONE) | _service_target_ports(svc, required, pod)
        reps[wname] = pod
    out = []
    for wname, ports in exposed.items():
        allowed = ports & evaluator.allowed(INGRESS_CONTROLLER, reps[wname])
        if not allowed.is_empty():
            out.append(Conn(INGRESS_PEER, workload_peer(reps[wname]), allowed, str(allowed)))
    return out
