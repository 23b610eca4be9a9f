"""The typed, frozen subset of Kubernetes that podnet reasons about.

Every object keeps the ``SourceRef`` it was read from so findings and errors can point at it.
Fields are already defaulted the way the API server would (see ``defaults.py``); collections
are tuples, label maps are read-only mappings, so a ``Cluster`` cannot be mutated by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

from podnet.errors import SourceRef
from podnet.model.selectors import LabelSelector

EMPTY: Mapping[str, str] = MappingProxyType({})


def frozen_map(data: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted((data or {}).items())))


@dataclass(frozen=True, slots=True)
class Namespace:
    name: str
    labels: Mapping[str, str]
    source: SourceRef
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    labels: Mapping[str, str]
    source: SourceRef
    pod_cidr: str | None = None
    internal_ip: str | None = None
    # The node's own subnet (CIDR), from calico-node's projectcalico.org/IPv4Address annotation
    # (address/prefix as autodetected on its interface); None when the input does not say.
    subnet: str | None = None
    # every IPv4 InternalIP and ExternalIP of status.addresses, in order: the addresses
    # kube-proxy's nodePortAddresses CIDRs select from
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ContainerPort:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True, slots=True)
class DNSConfig:
    nameservers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()


class Pod(NamedTuple):
    """A pod. A NamedTuple rather than a frozen dataclass: equally immutable, and five times
    cheaper to create and copy, which counts when workloads expand into 150,000 pods."""

    namespace: str
    name: str
    labels: Mapping[str, str]
    source: SourceRef
    node: str = ""
    ip: str = ""
    ports: tuple[ContainerPort, ...] = ()
    host_network: bool = False
    owner_kind: str = "Pod"
    owner_name: str = ""
    dns_policy: str = "ClusterFirst"
    dns_config: DNSConfig | None = None
    hostname: str = ""
    subdomain: str = ""
    ready: bool = True

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def named_port(self, name: str, protocol: str) -> int | None:
        for p in self.ports:
            if p.name == name and p.protocol == protocol:
                return p.port
        return None


@dataclass(frozen=True, slots=True)
class ServicePort:
    port: int
    protocol: str = "TCP"
    name: str = ""
    target_port: int | str = 0
    node_port: int | None = None
    app_protocol: str = ""


@dataclass(frozen=True, slots=True)
class Service:
    namespace: str
    name: str
    source: SourceRef
    type: str = "ClusterIP"
    selector: Mapping[str, str] | None = None
    cluster_ip: str = ""
    ports: tuple[ServicePort, ...] = ()
    external_name: str = ""
    external_ips: tuple[str, ...] = ()
    session_affinity: str = "None"
    affinity_timeout: int = 10800
    external_traffic_policy: str = "Cluster"
    internal_traffic_policy: str = "Cluster"
    load_balancer_ip: str = ""
    load_balancer_source_ranges: tuple[str, ...] = ()
    status_lb_ips: tuple[str, ...] = ()
    health_check_node_port: int | None = None
    publish_not_ready: bool = False
    allocate_lb_node_ports: bool = True
    labels: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    annotations: Mapping[str, str] = field(default_factory=lambda: EMPTY)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return self.cluster_ip == "None"

    def selects(self, pod: Pod) -> bool:
        """Whether the selector picks this pod; an absent or empty selector picks none (the
        Service's endpoints are then given by hand), unlike a NetworkPolicy's."""
        sel = self.selector
        return (bool(sel) and pod.namespace == self.namespace
                and all(pod.labels.get(k) == v for k, v in (sel or {}).items()))


@dataclass(frozen=True, slots=True)
class Endpoint:
    ip: str
    ready: bool = True
    node: str = ""
    target: str = ""  # ns/pod when the endpoint is a known pod
    # an EndpointSlice's serving and terminating conditions: kube-proxy falls back to serving,
    # terminating endpoints when a Service has no ready one (pkg/proxy/topology.go)
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True, slots=True)
class EndpointPort:
    port: int
    protocol: str = "TCP"
    name: str = ""


@dataclass(frozen=True, slots=True)
class EndpointGroup:
    """Endpoints or one EndpointSlice given in the input, for the Service named ``service``."""

    namespace: str
    service: str
    source: SourceRef
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[EndpointPort, ...] = ()


@dataclass(frozen=True, slots=True)
class IPBlock:
    cidr: str
    excepts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Peer:
    """One ``from``/``to`` element: pod+namespace selectors (None = absent), or an ipBlock;
    for an admin policy's egress also a node selector (the nodes' addresses)."""

    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    node_selector: LabelSelector | None = None


@dataclass(frozen=True, slots=True)
class PolicyPort:
    protocol: str = "TCP"
    port: int | str | None = None  # None: every port of the protocol
    end_port: int | None = None


@dataclass(frozen=True, slots=True)
class PolicyRule:
    """An ingress or egress rule. Empty ``peers`` or ``ports`` mean all (absent == empty)."""

    peers: tuple[Peer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    namespace: str
    name: str
    source: SourceRef
    pod_selector: LabelSelector
    policy_types: tuple[str, ...]
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class AdminRule:
    """One rule of an admin policy (v1alpha1 AdminNetworkPolicy or BaselineAdminNetworkPolicy,
    v1alpha2 ClusterNetworkPolicy). ``peers`` is empty only when every peer the rule names is
    one podnet cannot resolve (a ``domainNames`` peer): then it matches nothing. Empty
    ``ports`` means every port."""

    name: str
    # Allow | Deny | Pass. v1alpha2's Accept is read as Allow: the two mean the same, and every
    # evaluator (verdict, matrix, tiermasks, nft) speaks one vocabulary.
    action: str
    peers: tuple[Peer, ...]
    ports: tuple[PolicyPort, ...] = ()


@dataclass(frozen=True, slots=True)
class AdminPolicy:
    """A cluster-scoped AdminNetworkPolicy (``priority`` 0..1000), the one
    BaselineAdminNetworkPolicy (``priority`` None), or a v1alpha2 ClusterNetworkPolicy
    (``spec_tier`` Admin or Baseline, ``priority`` 0..1000). The subject is the pods matching
    ``pod_selector`` in namespaces matching ``namespace_selector``."""

    kind: str
    name: str
    source: SourceRef
    priority: int | None
    namespace_selector: LabelSelector
    pod_selector: LabelSelector
    ingress: tuple[AdminRule, ...] = ()
    egress: tuple[AdminRule, ...] = ()
    spec_tier: str = ""  # a ClusterNetworkPolicy's spec.tier; "" for v1alpha1 kinds

    @property
    def key(self) -> str:
        # Both generations are cluster-scoped and may share a name: a ClusterNetworkPolicy is
        # named by its kubectl short name so that explain and rule comments tell them apart.
        return f"cnp/{self.name}" if self.spec_tier else self.name

    @property
    def tier(self) -> str:
        """The tier it is evaluated in, named by the v1alpha1 kind that behaves so."""
        if self.spec_tier:
            return "AdminNetworkPolicy" if self.spec_tier == "Admin" else "BaselineAdminNetworkPolicy"
        return self.kind

    @property
    def order(self) -> tuple[bool, int, str]:
        """Evaluation order: the admin tier first, by priority then key; then the baseline
        tier by priority, where the v1alpha1 BaselineAdminNetworkPolicy (no priority) comes
        after every Baseline ClusterNetworkPolicy. Upstream defines no order between the two
        generations; podnet picks this one and keeps it everywhere."""
        baseline = self.tier == "BaselineAdminNetworkPolicy"
        return (baseline, 1001 if self.priority is None else self.priority, self.key)


@dataclass(frozen=True, slots=True)
class IngressBackend:
    service: str = ""
    port_number: int | None = None
    port_name: str = ""
    resource: str = ""


@dataclass(frozen=True, slots=True)
class IngressPath:
    path: str
    path_type: str
    backend: IngressBackend


@dataclass(frozen=True, slots=True)
class IngressRule:
    host: str = ""
    paths: tuple[IngressPath, ...] = ()


@dataclass(frozen=True, slots=True)
class IngressTLS:
    hosts: tuple[str, ...] = ()
    secret_name: str = ""


@dataclass(frozen=True, slots=True)
class Ingress:
    """An Ingress in networking.k8s.io/v1 form; legacy apiVersions are upgraded on load."""

    namespace: str
    name: str
    source: SourceRef
    api_version: str
    ingress_class: str = ""
    annotations: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    default_backend: IngressBackend | None = None
    rules: tuple[IngressRule, ...] = ()
    tls: tuple[IngressTLS, ...] = ()
    class_name: str = ""  # spec.ingressClassName alone (ingress_class also reads the annotation)
    created: str = ""  # metadata.creationTimestamp: ingress-nginx merges Ingresses in this order


@dataclass(frozen=True, slots=True)
class Other:
    """Any other object: kept whole (read-only) for config readers, or listed as ignored."""

    kind: str
    api_version: str
    namespace: str
    name: str
    source: SourceRef
    body: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # where ``body`` sits in its source document: "" for a document of its own, the key for a
    # configuration kept as text in a ConfigMap (kube-proxy's ``data['config.conf']``)
    path: str = ""

    def at(self, field: str) -> str:
        """A field of ``body`` as a path in the source document (what errors and findings name)."""
        return f"{self.path}.{field}" if self.path else field


_POD_FIELD = {f: i for i, f in enumerate(Pod._fields)}


def evolve(pod: Pod, **changes: Any) -> Pod:
    """A copy of ``pod`` with some fields changed."""
    # Not ``pod._replace``: its generic map/pop path is 2.5x slower, and pods are copied
    # twice each (expand, then schedule) at 150,000 pods. Unknown fields still fail.
    values = list(pod)
    for name, value in changes.items():
        if name not in _POD_FIELD:
            raise ValueError(f"Pod has no field {name!r}")
        values[_POD_FIELD[name]] = value
    return tuple.__new__(Pod, values)
