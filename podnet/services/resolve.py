"""Service → one frozen ``ServicePlan`` per port: the desired state every proxy mode renders.

This plays the role of kube-proxy's ServicePortMap + EndpointsMap + ``CategorizeEndpoints``
(``pkg/proxy/topology.go``), with no rule text: ClusterIP, NodePort (allocated
deterministically in 30000-32767 when absent, as the API server would have), LoadBalancer
(ingress IPs from status, else allocated from MetalLB's pools), externalIPs, ExternalName and
headless (no rules), targetPort by number or by name per endpoint pod, endpoints from the
selector (ready pods) or from given Endpoints/EndpointSlices, ClientIP affinity, traffic
policies, loadBalancerSourceRanges.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from podnet import names
from podnet.errors import InputError
from podnet.model.cluster import Cluster
from podnet.model.objects import EndpointGroup, Pod, Service, ServicePort
from podnet.services.lballoc import allocate

NODEPORT_RANGE = (30000, 32767)


@dataclass(frozen=True, slots=True)
class EndpointPlan:
    ip: str
    port: int
    node: str
    ready: bool = True
    pod: str = ""  # ns/name when the endpoint is a pod of the model

    @property
    def address(self) -> str:
        return f"{self.ip}:{self.port}"


@dataclass(frozen=True, slots=True)
class ServicePlan:
    namespace: str
    name: str
    port_name: str
    protocol: str
    port: int
    cluster_ip: str
    type: str
    node_port: int | None
    external_ips: tuple[str, ...]
    load_balancer_ips: tuple[str, ...]
    source_ranges: tuple[str, ...]
    affinity_timeout: int | None  # seconds when sessionAffinity is ClientIP
    external_local: bool  # externalTrafficPolicy: Local (NodePort/LB/external IPs)
    internal_local: bool  # internalTrafficPolicy: Local
    health_check_node_port: int | None
    endpoints: tuple[EndpointPlan, ...]  # ready endpoints, sorted by IP then port
    lb_origin: str = ""  # where the LoadBalancer IPs came from, or why there are none
    # serving but terminating endpoints (given EndpointSlices only): kube-proxy sends traffic
    # to them only when no ready endpoint is left, cluster-wide or on the node for Local
    terminating: tuple[EndpointPlan, ...] = ()

    @property
    def spn(self) -> str:
        return names.service_port_name(self.namespace, self.name, self.port_name)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port_name or self.port}"

    @property
    def external(self) -> bool:
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    def local_endpoints(self, node: str) -> tuple[EndpointPlan, ...]:
        return tuple(e for e in self.endpoints if e.node == node)

    def local_terminating(self, node: str) -> tuple[EndpointPlan, ...]:
        return tuple(e for e in self.terminating if e.node == node)


def _ip_key(ip: str) -> tuple[int, ...]:
    return tuple(int(x) for x in ip.split(".")) if "." in ip else (0,)


def _target(sp: ServicePort, pod: Pod) -> int | None:
    if isinstance(sp.target_port, int):
        return sp.target_port
    return pod.named_port(sp.target_port, sp.protocol)


def _selector_endpoints(cluster: Cluster, svc: Service, sp: ServicePort) -> list[EndpointPlan]:
    out = []
    for pod in cluster.service_pods(svc):
        port = _target(sp, pod)
        if port is not None:  # a pod without the named port is not an endpoint of this port
            out.append(EndpointPlan(pod.ip, port, pod.node, True, pod.key))
    return out


def _given_endpoints(groups: list[EndpointGroup], svc: Service, sp: ServicePort
                     ) -> tuple[list[EndpointPlan], list[EndpointPlan]] | None:
    """(ready, serving-and-terminating) endpoints of the given groups for this port."""
    if not groups:
        return None
    ready, terminating = [], []
    for g in groups:
        ports = [p for p in g.ports if p.name == sp.name and p.protocol == sp.protocol]
        if not ports:
            continue
        for e in g.endpoints:
            if e.ready or svc.publish_not_ready:
                ready.append(EndpointPlan(e.ip, ports[0].port, e.node, True, e.target))
            elif e.serving and e.terminating:
                terminating.append(EndpointPlan(e.ip, ports[0].port, e.node, False, e.target))
    return ready, terminating


def _sorted(eps: list[EndpointPlan]) -> list[EndpointPlan]:
    return sorted(set(eps), key=lambda e: (_ip_key(e.ip), e.port))


def port_endpoint_sets(cluster: Cluster, svc: Service, sp: ServicePort,
                       groups: list[EndpointGroup]
                       ) -> tuple[list[EndpointPlan], list[EndpointPlan]]:
    """The ready and the serving-but-terminating endpoints of one Service port, each sorted by
    IP then port: from the selector (ready pods only), or from the Endpoints/EndpointSlices
    given for a Service without one."""
    given = _given_endpoints(groups, svc, sp) if svc.selector is None else None
    if given is None:
        return _sorted(_selector_endpoints(cluster, svc, sp)), []
    return _sorted(given[0]), _sorted(given[1])


def port_endpoints(cluster: Cluster, svc: Service, sp: ServicePort,
                   groups: list[EndpointGroup]) -> list[EndpointPlan]:
    """The ready endpoints of one Service port, sorted by IP then port."""
    return port_endpoint_sets(cluster, svc, sp, groups)[0]


def _given_node_ports(services: tuple[Service, ...]) -> set[int]:
    """NodePorts written in the input. The API server allocates each number once; one Service
    may use a number twice only for different protocols."""
    seen: dict[int, tuple[Service, set[str]]] = {}
    for svc in sorted(services, key=lambda s: (s.namespace, s.name)):
        for i, sp in enumerate(svc.ports):
            if not sp.node_port:
                continue
            if sp.node_port not in seen:
                seen[sp.node_port] = (svc, {sp.protocol})
                continue
            other, protocols = seen[sp.node_port]
            if other is not svc or sp.protocol in protocols:
                raise InputError(svc.source, f"spec.ports[{i}].nodePort",
                                 f"{sp.node_port} is already allocated to {other.key}")
            protocols.add(sp.protocol)
    return set(seen)


def _node_port(svc: Service, sp: ServicePort, taken: set[int]) -> int:
    """A stable NodePort for a port that has none: hash of its name, probing past taken ones."""
    lo, hi = NODEPORT_RANGE
    span = hi - lo + 1
    seed = int(hashlib.sha256(f"{svc.namespace}/{svc.name}:{sp.port}/{sp.protocol}".encode())
               .hexdigest(), 16)
    for i in range(span):
        candidate = lo + (seed + i) % span
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    index = svc.ports.index(sp)
    raise InputError(svc.source, f"spec.ports[{index}].nodePort",
                     f"no NodePort left: all {span} of {lo}-{hi} are taken, as the API server "
                     "would say (a LoadBalancer can do without: allocateLoadBalancerNodePorts: "
                     "false)")


def resolve(cluster: Cluster, *, endpoints: bool = True,
            only: frozenset[str] | None = None) -> tuple[ServicePlan, ...]:
    """A plan per Service port that kube-proxy programs (sorted by service port name).

    ``endpoints=False``: the same plans with no endpoints, for a question about addresses and
    ports only (which address kube-proxy translates): finding every Service's endpoints is
    most of the cost, and finding them checks nothing (every InputError here is about
    NodePorts), so the addresses and the errors are the same. ``only``: the plans of these
    Services (ns/name), with their endpoints; every Service still takes part in allocating
    NodePorts and LoadBalancer addresses, so each plan is the one the whole cluster has."""
    taken = _given_node_ports(cluster.services)
    lbs = allocate(cluster.services, cluster.lb_pools,
                   {n: ns.labels for n, ns in cluster.namespaces.items()})
    by_service: dict[str, list[EndpointGroup]] = {}  # Endpoints/EndpointSlices per Service
    for g in cluster.endpoint_groups:
        by_service.setdefault(f"{g.namespace}/{g.service}", []).append(g)
    plans = []
    for svc in sorted(cluster.services, key=lambda s: (s.namespace, s.name)):
        if svc.type == "ExternalName" or svc.headless or not svc.cluster_ip:
            continue
        wanted = only is None or svc.key in only
        for sp in sorted(svc.ports, key=lambda p: (p.name, p.port, p.protocol)):
            eps, terminating = (port_endpoint_sets(cluster, svc, sp, by_service.get(svc.key, []))
                                if endpoints and wanted else ([], []))
            node_port = sp.node_port
            wants = svc.type == "NodePort" or (svc.type == "LoadBalancer"
                                               and svc.allocate_lb_node_ports)
            if wants and node_port is None:
                node_port = _node_port(svc, sp, taken)
            external_local = (svc.external_traffic_policy == "Local"
                              and (svc.type in ("NodePort", "LoadBalancer") or bool(svc.external_ips)))
            if not wanted:
                continue
            lb = lbs.get(svc.key)
            lb_ips = lb.ips if lb else ()
            plans.append(ServicePlan(
                namespace=svc.namespace, name=svc.name, port_name=sp.name, protocol=sp.protocol,
                port=sp.port, cluster_ip=svc.cluster_ip, type=svc.type,
                node_port=node_port if svc.type in ("NodePort", "LoadBalancer") else None,
                external_ips=svc.external_ips, load_balancer_ips=lb_ips,
                source_ranges=svc.load_balancer_source_ranges if lb_ips else (),
                affinity_timeout=svc.affinity_timeout if svc.session_affinity == "ClientIP" else None,
                external_local=external_local,
                internal_local=svc.internal_traffic_policy == "Local",
                health_check_node_port=(svc.health_check_node_port if external_local
                                        and svc.type == "LoadBalancer" else None),
                endpoints=tuple(eps), lb_origin=lb.origin if lb else "",
                terminating=tuple(terminating)))
    return tuple(plans)
