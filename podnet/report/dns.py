"""The DNS section: what one lookup of an external name costs each workload (the search list
walked before the absolute name, as ``podnet dns`` and doctor's ndots check compute it)."""

from __future__ import annotations

from typing import Any

from podnet.dns.resolvconf import dns_service_ip, node_resolv, resolv_conf
from podnet.dns.resolver import external_lookup
from podnet.model.cluster import Cluster
from podnet.policy.connlist import representatives

EXTERNAL_NAME = "google.com"  # doctor's example too: one dot, as most external API hosts have


# The most workloads charted (one bar each): past it, the first ones and how many there are.
MAX_DNS_ROWS = 300


def dns_costs(cluster: Cluster, name: str = EXTERNAL_NAME, limit: int = MAX_DNS_ROWS) -> dict[str, Any]:
    """Per workload (one pod each, sorted by namespace then name; the first ``limit``): the
    ndots and search list its pods get, and the glibc queries (A and AAAA per name tried) one
    lookup of ``name`` sends, how many of them answered NXDOMAIN."""
    cluster_dns = dns_service_ip(cluster)
    node = node_resolv(cluster)
    rows: list[dict[str, Any]] = []
    reps = sorted(representatives(cluster).items(), key=lambda r: (r[1].namespace, r[0]))
    for wname, pod in reps[:limit]:
        rc = resolv_conf(cluster, pod, node, cluster_dns=cluster_dns)
        names, queries, wasted = external_lookup(rc, name)
        rows.append({"workload": wname, "namespace": pod.namespace, "ndots": rc.ndots,
                     "searches": list(rc.searches), "clusterDNS": cluster_dns in rc.nameservers,
                     "names": names, "queries": queries, "nxdomain": wasted})
    return {"name": name, "rows": rows, "total": len(reps),
            "maxQueries": max((int(r["queries"]) for r in rows), default=0)}
