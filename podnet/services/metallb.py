"""Which node answers ARP for a LoadBalancer or external IP in MetalLB's layer-2 mode.

Every speaker sorts the eligible nodes by ``sha256(node + "#" + ip)`` and the first one
announces (``speaker/layer2_controller.go``): stateless, so each IP has one owner without
coordination. With ``externalTrafficPolicy: Local`` only nodes with a ready endpoint of the
service are eligible, which is what keeps the client's source IP reachable.
"""

from __future__ import annotations

import hashlib

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
