"""The immutable ``Cluster``: every object, defaulted, addressed and indexed.

``build`` is the one way in: raw documents → parse → implicit namespaces → nodes →
workload pods → scheduling → IPAM. Every command starts from its result.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

from podnet import names
from podnet.errors import InputError, SourceRef
from podnet.model import defaults, ipam
from podnet.model.objects import (
    AdminPolicy,
    EndpointGroup,
    Ingress,
    Namespace,
    NetworkPolicy,
    Node,
    Other,
    Pod,
    Service,
    evolve,
    frozen_map,
)

if TYPE_CHECKING:
    # What builds the model (the parsers, PyYAML, kube-proxy's configuration) is imported by
    # ``build``, not here: a model read back from the cache needs only its classes, and the
    # parsers were a third of a repeated ``explain`` (docs/benchmarks.md, the model cache).
    from podnet.model import netconfig
    from podnet.model.lbpools import AddressPool
    from podnet.model.load import RawDoc
    from podnet.model.parse import Workload

DEFAULT_NODES = 3


@dataclass(frozen=True)
class Cluster:
    namespaces: Mapping[str, Namespace]
    nodes: tuple[Node, ...]
    pods: tuple[Pod, ...]  # sorted by namespace/name
    services: tuple[Service, ...]
    endpoint_groups: tuple[EndpointGroup, ...]
    policies: tuple[NetworkPolicy, ...]
    ingresses: tuple[Ingress, ...]
    configs: tuple[Other, ...]
    ignored: tuple[Other, ...]
    workloads: tuple[Workload, ...]
    net: netconfig.NetConfig
    lb_pools: tuple[AddressPool, ...] = ()  # MetalLB's, sorted by name
    warnings: tuple[str, ...] = ()
    # AdminNetworkPolicies by (priority, name), then the BaselineAdminNetworkPolicy if any
    admin_policies: tuple[AdminPolicy, ...] = ()
    _pod_index: Mapping[str, int] = field(default_factory=dict, repr=False)

    def pod(self, key: str) -> Pod | None:
        i = self._pod_index.get(key)
        return None if i is None else self.pods[i]

    def pod_by_ip(self, ip: str) -> Pod | None:
        """The pod-network pod with this IP (a hostNetwork pod shares its node's); the ready
        one when a dump shows several (see ``consistency.ip_owners``)."""
        return self._ip_index.get(ip)

    @cached_property
    def _ip_index(self) -> Mapping[str, Pod]:
        from podnet.model import consistency

        return consistency.ip_owners(self.pods)[0]

    def service_pods(self, svc: Service) -> list[Pod]:
        """The pods the EndpointSlice controller lists for a Service: selected, addressed, and
        ready unless it publishes not-ready addresses. hostNetwork pods are listed too, at
        their node's IP, as the controller lists them."""
        if not svc.selector:
            return []
        key, value = next(iter(svc.selector.items()))
        return [p for p in self._label_index.get((svc.namespace, key, value), ())
                if p.ip and (p.ready or svc.publish_not_ready) and svc.selects(p)]

    @cached_property
    def _label_index(self) -> Mapping[tuple[str, str, str], tuple[Pod, ...]]:
        """(namespace, label key, value) -> pods, in pod order: a Service's candidates
        without a scan of every pod (10,000 Services over 20,000 pods took a minute)."""
        index: dict[tuple[str, str, str], list[Pod]] = {}
        for p in self.pods:
            for k, v in p.labels.items():
                index.setdefault((p.namespace, k, v), []).append(p)
        return {k: tuple(v) for k, v in index.items()}

    def namespace(self, name: str) -> Namespace | None:
        return self.namespaces.get(name)

    def policies_in(self, namespace: str) -> tuple[NetworkPolicy, ...]:
        """The NetworkPolicies of one namespace, in ``policies`` order (the only ones that can
        select its pods)."""
        return self._policies_by_namespace.get(namespace, ())

    @cached_property
    def _policies_by_namespace(self) -> Mapping[str, tuple[NetworkPolicy, ...]]:
        index: dict[str, list[NetworkPolicy]] = {}
        for p in self.policies:
            index.setdefault(p.namespace, []).append(p)
        return {k: tuple(v) for k, v in index.items()}

    def node(self, name: str) -> Node | None:
        for n in self.nodes:
            if n.name == name:
                return n
        return None

    def namespace_labels(self, ns: str) -> Mapping[str, str]:
        n = self.namespaces.get(ns)
        return n.labels if n else frozen_map({defaults.NAMESPACE_NAME_LABEL: ns})


Objects = list[object]


def last_wins(parsed: Sequence[object], warnings: list[str]) -> list[object]:
    """One object per kind, namespace and name: the last one read, at its own place, as the
    API server keeps what ``kubectl apply -f DIR`` applies last (files in podnet's sorted
    order, documents in file order). Each one replaced is a warning naming both places.
    (netpol-analyzer keeps the last Service or workload too, but refuses a repeated Namespace,
    NetworkPolicy or admin policy; podnet reads every kind as the API server would.)"""
    last: dict[tuple[str, str, str], int] = {}
    for i, obj in enumerate(parsed):
        src: SourceRef = getattr(obj, "source")  # noqa: B009 - every parsed object has one
        if src.name and not isinstance(obj, EndpointGroup):
            key = (src.kind, src.namespace, src.name)
            before = last.get(key)
            if before is not None:
                first: SourceRef = getattr(parsed[before], "source")  # noqa: B009
                warnings.append(f"{src.object()} is defined twice: {src.file} (document "
                                f"{src.doc + 1}) replaces {first.file} (document "
                                f"{first.doc + 1}); the last one read wins, as kubectl apply "
                                "leaves it")
            last[key] = i
    keep = set(last.values())
    return [obj for i, obj in enumerate(parsed)
            if i in keep or not getattr(obj, "source").name or isinstance(obj, EndpointGroup)]  # noqa: B009


def _nodes(explicit: list[Node], pods: Iterable[Pod], count: int,
           net: netconfig.NetConfig) -> list[Node]:
    by_name = {n.name: n for n in explicit}
    for p in pods:
        if p.node and p.node not in by_name:
            by_name[p.node] = Node(p.node, frozen_map({"kubernetes.io/hostname": p.node}),
                                   replace(p.source, kind="Node", namespace="", name=p.node))
    if not by_name:
        for i in range(count):
            name = names.synthetic_node(i)
            by_name[name] = Node(name, frozen_map({"kubernetes.io/hostname": name}),
                                 SourceRef(file="<synthesised>", kind="Node", name=name))
    nodes = sorted(by_name.values(), key=lambda n: n.name)
    cidrs = iter(ipam.node_cidrs(net.cluster_cidr, sum(1 for n in nodes if not n.pod_cidr),
                                 [n.pod_cidr for n in nodes if n.pod_cidr]))
    ips = ipam.Pool(net.node_cidr, 1, "nodes")
    for n in nodes:
        if n.internal_ip:
            ips.reserve(n.internal_ip)
    out = []
    for n in nodes:
        ip = n.internal_ip or ips.allocate()
        out.append(replace(n, pod_cidr=n.pod_cidr or next(cidrs), internal_ip=ip,
                           addresses=n.addresses or (ip,)))
    return out


def _schedule_and_address(pods: list[Pod], nodes: list[Node]) -> list[Pod]:
    pods.sort(key=lambda p: (p.namespace, p.name))
    node_by_name = {n.name: n for n in nodes}
    pools: dict[str, ipam.Pool] = {}
    for n in nodes:
        pools[n.name] = ipam.Pool(n.pod_cidr or "", 2, f"pods on node {n.name}")
    # Node podCIDRs do not overlap (given ones are checked, chosen ones skip them), so each
    # given pod IP is reserved in the one pool that could hand it out again.
    owner = ipam.RangeIndex((ipam.span(n.pod_cidr or ""), n.name) for n in nodes)
    for p in pods:
        if p.ip and not p.host_network:
            name = owner.find(*ipam.address(p.ip))
            if name is not None:
                pools[name].reserve(p.ip)
    out: list[Pod] = []
    rr = 0
    for p in pods:
        node = p.node
        if not node:
            node = nodes[rr % len(nodes)].name
            rr += 1
        ip = p.ip
        if p.host_network:
            ip = node_by_name[node].internal_ip or ""
        elif not ip:
            ip = pools[node].allocate()
        out.append(evolve(p, node=node, ip=ip))
    return out


def _service_ips(services: list[Service], net: netconfig.NetConfig) -> list[Service]:
    pool = ipam.Pool(net.service_cidr, 11, "Services")
    fixed = {("default", "kubernetes"): pool.offset(1),
             ("kube-system", "kube-dns"): net.dns_service_ip or pool.offset(10)}
    kubernetes = next((s.cluster_ip or fixed[("default", "kubernetes")] for s in services
                       if (s.namespace, s.name) == ("default", "kubernetes")), "")
    for s in services:
        if s.cluster_ip and s.cluster_ip != "None":
            if s.cluster_ip == kubernetes and (s.namespace, s.name) != ("default", "kubernetes"):
                raise InputError(s.source, "spec.clusterIP",
                                 f"{s.cluster_ip} is already allocated to default/kubernetes "
                                 "(the API server keeps the service CIDR's first address for it)")
            pool.reserve(s.cluster_ip)
    for ip in fixed.values():
        pool.reserve(ip)
    out = []
    for s in sorted(services, key=lambda s: (s.namespace, s.name)):
        if s.type == "ExternalName" or s.cluster_ip:
            out.append(s)
            continue
        ip = fixed.get((s.namespace, s.name)) or pool.allocate()
        out.append(replace(s, cluster_ip=ip))
    return out


def build(docs: Sequence[RawDoc], *, nodes: int = DEFAULT_NODES,
          overrides: Mapping[str, object] | None = None) -> Cluster:
    """Build the immutable cluster model from raw documents."""
    from podnet.model import (
        builtin,
        consistency,
        gateways,
        kubeproxy,
        netconfig,
        tiers,
        unmodelled,
    )
    from podnet.model.lbpools import read_pools
    from podnet.model.parse import CONFIG_KINDS, Workload, parse
    from podnet.model.workloads import expand

    warnings: list[str] = list(getattr(docs, "warnings", ()))
    parsed = last_wins([parse(d, warnings) for d in docs], warnings)
    namespaces: dict[str, Namespace] = {}
    explicit_nodes: list[Node] = []
    pods: list[Pod] = []
    workloads: list[Workload] = []
    services: list[Service] = []
    groups: list[EndpointGroup] = []
    policies: list[NetworkPolicy] = []
    ingresses: list[Ingress] = []
    configs: list[Other] = []
    ignored: list[Other] = []
    admin: list[AdminPolicy] = []
    for obj in parsed:
        if isinstance(obj, Namespace):
            namespaces[obj.name] = obj
        elif isinstance(obj, Node):
            explicit_nodes.append(obj)
        elif isinstance(obj, Pod):
            pods.append(obj)
        elif isinstance(obj, Workload):
            workloads.append(obj)
        elif isinstance(obj, Service):
            services.append(obj)
        elif isinstance(obj, EndpointGroup):
            groups.append(obj)
        elif isinstance(obj, NetworkPolicy):
            policies.append(obj)
        elif isinstance(obj, Ingress):
            ingresses.append(obj)
        elif isinstance(obj, AdminPolicy):
            admin.append(obj)
        elif isinstance(obj, Other):
            (configs if obj.kind in CONFIG_KINDS else ignored).append(obj)
    owned_rs = {(w.namespace, w.name) for w in workloads if w.owned_by_deployment}
    configs = kubeproxy.arrange(configs, warnings)
    net = netconfig.read(configs, workloads).with_overrides(**(overrides or {}))
    if "node_cidr" not in net.origin:
        # The underlay is where the Nodes say they are: the default 10.0.0.0/24 only serves
        # inputs that name no addresses (Flannel itself never asks; each node reaches the
        # others on its own segment, which host-gw checks per node).
        given = netconfig.underlay_of([n.internal_ip or "" for n in explicit_nodes],
                                      ipaddress.ip_network(net.node_cidr).prefixlen)
        if given is not None and given != net.node_cidr:
            net = replace(net, node_cidr=given,
                          origin={**net.origin, "node_cidr": "the Nodes' InternalIPs"})
    for text, key in ((net.cluster_cidr, "cluster CIDR"), (net.service_cidr, "service CIDR")):
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(SourceRef(file=net.origin.get(key.split()[0], "<defaults>")), key,
                             f"{text!r} is not a valid CIDR") from None
    consistency.check_nodes(explicit_nodes)
    node_list = _nodes(explicit_nodes, pods, nodes, net)
    services, groups = builtin.kubernetes_service(services, groups, node_list)
    # Only addresses the input gave can clash or stray: podnet's own come from the node's
    # podCIDR and skip the given ones. (150,000 generated pods then cost nothing to check.)
    given_ips = {p.key for p in pods if p.ip and not p.host_network}
    pods = pods + expand(workloads, pods, node_list, owned_rs)
    gw_pods, gw_services = gateways.data_plane((*configs, *ignored), pods, services)
    pods += gw_pods
    services += gw_services
    pods = _schedule_and_address(pods, node_list)
    warnings += unmodelled.warnings(ignored)
    if given_ips:
        warnings += consistency.pod_warnings([p for p in pods if p.key in given_ips],
                                             {n.name: n for n in explicit_nodes if n.pod_cidr})
    scoped: list[Service | NetworkPolicy | Other | Ingress | EndpointGroup] = [
        *services, *policies, *configs, *ingresses, *groups]
    for ns in {p.namespace for p in pods} | {o.namespace for o in scoped}:
        if ns and ns not in namespaces:
            namespaces[ns] = Namespace(ns, frozen_map({defaults.NAMESPACE_NAME_LABEL: ns}),
                                       SourceRef(file="<implicit>", kind="Namespace", name=ns),
                                       implicit=True)
    warnings += tiers.same_priority_warnings(admin, pods, namespaces)
    index = {p.key: i for i, p in enumerate(pods)}
    return Cluster(
        namespaces=MappingProxyType(dict(sorted(namespaces.items()))),
        nodes=tuple(node_list), pods=tuple(pods),
        services=tuple(_service_ips(services, net)), endpoint_groups=tuple(groups),
        policies=tuple(sorted(policies, key=lambda p: (p.namespace, p.name))),
        ingresses=tuple(sorted(ingresses, key=lambda i: (i.namespace, i.name))),
        configs=tuple(configs), ignored=tuple(ignored), workloads=tuple(workloads), net=net,
        lb_pools=read_pools(configs),
        warnings=tuple(warnings),
        admin_policies=tuple(sorted(admin, key=lambda a: a.order)),
        _pod_index=MappingProxyType(index))

