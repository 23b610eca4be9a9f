"""Workload-level connection lists in netpol-analyzer's txt format.

``src => dst : conns`` for every pair of distinct workloads and for IP ranges outside the
cluster. A workload is the controller named in a pod's ownerReferences (kept as written: a
ReplicaSet stays a ReplicaSet), the controller podnet expanded, or the pod itself; one pod
stands for its workload, as in netpol-analyzer. External peers are the disjoint IPv4 ranges
cut by the ipBlocks of one direction (ingress ranges for sources, egress ranges for
destinations), each range printed on its own line. Lines are sorted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from types import MappingProxyType

from podnet.errors import SourceRef
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod, Service
from podnet.policy.compile import Compiled
from podnet.policy.connset import NONE, ConnSet
from podnet.policy.matcher import IPPeer, Target
from podnet.policy.verdict import Endpoint, Evaluator, block_contains

V4_END = 2**32 - 1


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


def ranges(targets: Iterable[Target]) -> list[tuple[int, int]]:
    """The IPv4 space cut into ranges that every ipBlock of these targets treats alike.

    Adjacent pieces that fall in the same blocks are merged (10.0.0.0/9 and 10.128.0.0/9 both
    excepted read as 10.0.0.0-10.255.255.255), as netpol-analyzer's disjoint IP blocks do.
    """
    blocks = sorted({pm.block for t in targets for rule in t.rules for pm in rule.peers
                     if isinstance(pm, IPPeer) and ":" not in pm.block.cidr},
                    key=lambda b: (b.cidr, b.excepts))
    cuts = {0, V4_END + 1}
    for b in blocks:
        for cidr in (b.cidr, *b.excepts):
            net = ipaddress.ip_network(cidr, strict=False)
            cuts.add(int(net.network_address))
            cuts.add(int(net.broadcast_address) + 1)
    edges = sorted(cuts)
    out: list[tuple[int, int]] = []
    last: tuple[bool, ...] | None = None
    for lo, nxt in zip(edges, edges[1:], strict=False):
        ip = str(ipaddress.IPv4Address(lo))
        member = tuple(block_contains(b, ip) for b in blocks)
        if out and member == last:
            out[-1] = (out[-1][0], nxt - 1)
        else:
            out.append((lo, nxt - 1))
        last = member
    return out


def range_name(lo: int, hi: int) -> str:
    return f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}[External]"


def _pairs(reps: dict[str, Pod], compiled: Compiled) -> Iterator[tuple[str, Endpoint, str, Endpoint]]:
    """Every (source name, source, destination name, destination) connlist reports on: workload
    pairs, then each external range that some rule tells apart, toward and from each workload."""
    for src_name, src in reps.items():
        for dst_name, dst in reps.items():
            if src_name != dst_name:
                yield src_name, src, dst_name, dst
    for lo, hi in ranges(compiled.ingress):
        ip, ext = str(ipaddress.IPv4Address(lo)), range_name(lo, hi)
        for name, pod in reps.items():
            yield ext, ip, name, pod
    for lo, hi in ranges(compiled.egress):
        ip, ext = str(ipaddress.IPv4Address(lo)), range_name(lo, hi)
        for name, pod in reps.items():
            yield name, pod, ext, ip


def connlist(cluster: Cluster, evaluator: Evaluator, compiled: Compiled) -> list[str]:
    lines = []
    for src_name, src, dst_name, dst in _pairs(representatives(cluster), compiled):
        allowed = evaluator.allowed(src, dst)
        if not allowed.is_empty():
            lines.append(f"{src_name} => {dst_name} : {allowed}")
    return sorted(lines + ingress_lines(cluster, evaluator))


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
