"""The Service table of ``podnet services`` (one row per Service port, as kube-proxy on one
node sees it), shared by the command's table and json and by the HTML report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from podnet.services.resolve import ServicePlan


def service_rows(plans: Sequence[ServicePlan], attract: Mapping[str, str],
                 node: str) -> list[dict[str, Any]]:
    """``attract``: the node answering ARP for each LoadBalancer and external address."""
    return [{"service": p.key, "type": p.type, "clusterIP": p.cluster_ip,
             "port": f"{p.port}/{p.protocol}", "nodePort": p.node_port,
             "externalIPs": list(p.external_ips), "loadBalancerIPs": list(p.load_balancer_ips),
             "loadBalancerIPSource": p.lb_origin or None,
             "announcedBy": {ip: attract.get(ip) for ip in (*p.load_balancer_ips, *p.external_ips)},
             "endpoints": [e.address for e in p.endpoints],
             "localEndpoints": [e.address for e in p.local_endpoints(node)],
             "terminatingEndpoints": [e.address for e in p.terminating],
             "affinity": p.affinity_timeout,
             "externalTrafficPolicy": "Local" if p.external_local else "Cluster",
             "internalTrafficPolicy": "Local" if p.internal_local else "Cluster"}
            for p in plans]


def external_text(row: Mapping[str, Any]) -> str:
    """The LoadBalancer and external addresses of a row, each with its announcing node."""
    def at(ip: str) -> str:
        node = row["announcedBy"].get(ip)
        return f"{ip} @{node}" if node else f"{ip} (no node may announce it)"
    lb = ", ".join(at(ip) for ip in row["loadBalancerIPs"])
    if row["type"] == "LoadBalancer":
        lb = f"{lb} ({row['loadBalancerIPSource']})" if lb else "<pending>"
    return ", ".join(filter(None, [lb, *(at(ip) for ip in row["externalIPs"])]))


def endpoints_text(row: Mapping[str, Any]) -> str:
    if row["endpoints"]:
        return ", ".join(row["endpoints"])
    if row["terminatingEndpoints"]:  # kube-proxy drains to them rather than reject
        return "terminating only: " + ", ".join(row["terminatingEndpoints"])
    return "none (REJECT)"
