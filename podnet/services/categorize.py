"""One Service port as kube-proxy on one node sees it: which endpoints each traffic policy
uses and which chains exist (``pkg/proxy/topology.go`` ``CategorizeEndpoints`` plus the
``has*Endpoints`` / ``uses*Chain`` decisions every proxier makes). The iptables, nftables and
IPVS renderers all start from this, so the three modes cannot disagree about semantics.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from podnet.services.resolve import EndpointPlan, ServicePlan


@dataclass(frozen=True, slots=True)
class NodeView:
    plan: ServicePlan
    cluster_eps: tuple[EndpointPlan, ...]  # endpoints Cluster policy spreads over
    local_eps: tuple[EndpointPlan, ...]  # endpoints on this node, when Local policy is used
    reachable: tuple[EndpointPlan, ...]  # every endpoint some chain of this node may DNAT to
    has_eps: bool  # ready or serving-terminating endpoints anywhere in the cluster
    has_internal: bool  # cluster-IP traffic has somewhere to go from this node
    has_external: bool  # external traffic (NodePort, LB, external IPs) has somewhere to go
    uses_cluster_chain: bool
    uses_local_chain: bool
    uses_ext_chain: bool
    uses_fw: bool  # LB IPs with loadBalancerSourceRanges

    @property
    def internal_filter(self) -> str:
        """What the filter table does to cluster-IP traffic that is not DNATed: '' (nothing),
        'reject' (no endpoints at all) or 'drop' (Local policy, none on this node)."""
        return "" if self.has_internal else ("reject" if not self.has_eps else "drop")

    @property
    def external_filter(self) -> str:
        return "" if self.has_external else ("reject" if not self.has_eps else "drop")


def view(plan: ServicePlan, node: str) -> NodeView:
    """Ready endpoints first; where there are none (cluster-wide for the Cluster policy, on
    this node for Local), the serving ones that are terminating, so that connections drain
    instead of being rejected during a rollout (KEP-1669)."""
    external = plan.external
    uses_cluster = not plan.internal_local or external
    uses_local = plan.internal_local or plan.external_local
    cluster_eps = (plan.endpoints or plan.terminating) if uses_cluster else ()
    local_eps = (plan.local_endpoints(node) or plan.local_terminating(node)) if uses_local else ()
    has_eps = bool(plan.endpoints or plan.terminating)
    # every endpoint either chain uses, once, in the plan's order
    chosen = {e: None for e in (*cluster_eps, *local_eps)}
    reachable = tuple(e for e in (*plan.endpoints, *plan.terminating) if e in chosen)
    return NodeView(
        plan=plan, cluster_eps=cluster_eps, local_eps=local_eps, reachable=reachable,
        has_eps=has_eps,
        has_internal=has_eps and (not plan.internal_local or bool(local_eps)),
        has_external=has_eps and (not plan.external_local or bool(local_eps)),
        uses_cluster_chain=bool(cluster_eps),
        uses_local_chain=bool(local_eps),
        uses_ext_chain=has_eps and external,
        uses_fw=bool(plan.load_balancer_ips and plan.source_ranges))


def allowed_sources(plan: ServicePlan, node_ip: str) -> list[str]:
    """loadBalancerSourceRanges, plus the LB IPs themselves when a range covers the node (a
    node reaching its own VIP loops back with the VIP as source)."""
    srcs = list(plan.source_ranges)
    if node_ip and any(ipaddress.ip_address(node_ip) in ipaddress.ip_network(c, strict=False)
                       for c in plan.source_ranges):
        srcs += plan.load_balancer_ips
    return srcs
