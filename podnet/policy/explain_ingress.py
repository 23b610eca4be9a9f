"""The ingress controller's pairs of ``connlist --explain``: what each Ingress and Route admits
toward the workloads behind its Services, intersected with what policies let the controller
reach, and why (netpol-analyzer's ingress analyzer, pkg/netpol/connlist/internal/ingressanalyzer).
Only TCP is ever admitted; a workload the policies close entirely to the controller is not listed.
"""

from __future__ import annotations

from collections.abc import Callable

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod, Service
from podnet.policy.connlist import INGRESS_CONTROLLER, INGRESS_PEER, Peer, representatives, workload_peer
from podnet.policy.explconn import Rules, XConnSet, add_interval, full

Backend = tuple[str, str, str, str, int | str | None]  # kind, ns/name, namespace, service, port


def backends(cluster: Cluster) -> list[Backend]:
    """Routes first, then Ingresses, as netpol-analyzer merges them."""
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
    for ing in cluster.ingresses:
        found = [p.backend for r in ing.rules for p in r.paths]
        if ing.default_backend is not None:
            found.append(ing.default_backend)
        out += [("Ingress", f"{ing.namespace}/{ing.name}", ing.namespace, b.service,
                 b.port_number or b.port_name or None) for b in found if b.service]
    return out


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
    services = {(s.namespace, s.name): s for s in cluster.services}
    if not any(s.selector is not None for s in services.values()):
        return []
    reps = representatives(cluster)
    found: dict[str, XConnSet] = {}
    for kind, obj, ns, name, required in backends(cluster):
        svc = services.get((ns, name))
        if svc is None or svc.selector is None:
            continue
        for wname, pod in reps.items():
            if not svc.selects(pod):
                continue
            conns = _backend_conns(kind, obj, name, _target_ports(svc, required, pod))
            if wname in found:
                found[wname].union(conns, True)
            else:
                found[wname] = conns
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
