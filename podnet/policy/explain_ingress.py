"""The ingress controller's pairs of ``connlist --explain``: what each Ingress and Route admits
toward the workloads behind its Services, intersected with what policies let the controller
reach, and why (netpol-analyzer's ingress analyzer, pkg/netpol/connlist/internal/ingressanalyzer).
Only TCP is ever admitted; a workload the policies close entirely to the controller is not listed.
"""

from __future__ import annotations

from collections.abc import Callable

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod, Service
from podnet.policy.connlist import (
    INGRESS_CONTROLLER,
    INGRESS_PEER,
    Backend,
    Peer,
    backend_workloads,
    ingress_backends,
    route_backends,
    workload_peer,
)
from podnet.policy.explconn import Rules, XConnSet, add_interval, full


def backends(cluster: Cluster) -> list[Backend]:
    """Routes first, then Ingresses, as netpol-analyzer merges them."""
    return route_backends(cluster) + ingress_backends(cluster)


def _target_ports(svc: Service, required: int | str | None, pod: Pod) -> list[int]:
    """The pod ports the backend names, each only if some container declares it (as
    netpol-analyzer reads a pod's exposed ports, every container port counts)."""
    out: list[int] = []
    declared = {p.port for p in pod.ports}
    for sp in svc.ports:
        if required is not None and not ((sp.name and sp.name == required) or sp.port == required
                                         or sp.target_port == required):
            continue
        target = sp.target_port or sp.port
        number = target if isinstance(target, int) else pod.named_port(target, "TCP")
        if number is not None and number in declared:
            out.append(number)
        if required is not None:
            break
    return out


def _backend_conns(kind: str, obj: str, svc: str, ports: list[int]) -> XConnSet:
    prefix = f"{kind} '{obj}'"
    nomatch = Rules.of(kind, f"{prefix} allows ingress to service {svc}, but the protocols and "
                       "ports do not match", True)
    allowed = Rules.of(kind, f"{prefix} allows ingress connections through service {svc}", True)
    res = XConnSet(False, {}, nomatch.copy())
    for port in ports:
        res.add_connection("TCP", add_interval(full(False, nomatch), port, port, True, allowed, 0))
    return res


def ingress_pairs(cluster: Cluster, side: Callable[[Pod, Pod], XConnSet],
                  keep: Callable[[Peer, Peer], bool]) -> list[tuple[Peer, XConnSet]]:
    """(destination workload, its explained connections from the controller)."""
    reps: dict[str, Pod] = {}
    found: dict[str, XConnSet] = {}
    for (kind, obj, _, name, required), svc, wname, pod in backend_workloads(
            cluster, backends(cluster)):
        conns = _backend_conns(kind, obj, name, _target_ports(svc, required, pod))
        if wname in found:
            found[wname].union(conns, True)
        else:
            found[wname] = conns
            reps[wname] = pod
    out = []
    for wname, conns in found.items():
        peer = workload_peer(reps[wname])
        if not keep(INGRESS_PEER, peer):
            continue
        policy = side(INGRESS_CONTROLLER, reps[wname])
        if policy.common.ingress.only_default():
            policy.common.ingress = Rules().ingress
        policy.protos = {p: [(s, e, i, _no_default(r)) for s, e, i, r in segs]
                         for p, segs in policy.protos.items()}
        conns.intersection(policy)
        conns.set_result(True)
        if not conns.is_empty():
            out.append((peer, conns))
    return out


def _no_default(r: Rules) -> Rules:
    r = r.copy()
    if r.ingress.only_default():
        r.ingress = Rules().ingress
    return r
