"""MetalLB: which node answers ARP for a LoadBalancer address (allocation: lballoc.py).

Announcement follows MetalLB's layer-2
speaker: every speaker sorts the eligible nodes by ``sha256(node + "#" + ip)`` and the first one
announces (``speaker/layer2_controller.go``): stateless, so each IP has one owner without
coordination. With ``externalTrafficPolicy: Local`` only nodes with a ready endpoint of the
service are eligible, which is what keeps the client's source IP reachable.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster
    from podnet.services.resolve import ServicePlan


def l2_leader(ip: str, candidates: list[str]) -> str | None:
    if not candidates:
        return None
    return min(candidates, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def announcer(plan: ServicePlan, ip: str, nodes: list[str]) -> str | None:
    """The node that attracts ``ip`` of ``plan``; None when no node may announce it."""
    if plan.external_local:
        nodes = [n for n in nodes if plan.local_endpoints(n)]
    return l2_leader(ip, nodes)


def external_addresses(cluster: Cluster, plans: tuple[ServicePlan, ...]) -> dict[str, str]:
    """LoadBalancer and external IPs -> the node that attracts each (MetalLB layer 2)."""
    nodes = [n.name for n in cluster.nodes]
    out: dict[str, str] = {}
    for plan in plans:
        for ip in (*plan.load_balancer_ips, *plan.external_ips):
            leader = announcer(plan, ip, nodes)
            if leader is not None and ip not in out:
                out[ip] = leader
    return out
