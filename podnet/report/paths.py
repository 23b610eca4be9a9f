"""The Paths section: for each Service port, the hop-by-hop path ``podnet trace`` gives from
one client pod, with the MTU of every link it crosses."""

from __future__ import annotations

from typing import Any

from podnet.analysis import Analysis
from podnet.errors import PodnetError
from podnet.model.objects import Pod
from podnet.predict.translate import trace_flow
from podnet.services.resolve import ServicePlan

MAX_PATHS = 30  # Service ports traced; the page says how many there were
MAX_TRIES = 6  # clients tried per Service before showing the first one's (failing) path


def _clients(a: Analysis, plan: ServicePlan) -> list[Pod]:
    """Pods that are not the Service's endpoints, those on another node than its first
    endpoint first (their path crosses the underlay, where the MTU matters)."""
    backing = {e.pod for e in plan.endpoints}
    first = plan.endpoints[0].node if plan.endpoints else ""
    pods = [p for p in a.cluster.pods if not p.host_network and p.key not in backing]
    return sorted(pods, key=lambda p: (p.node == first, p.key))


def service_paths(a: Analysis, limit: int = MAX_PATHS) -> dict[str, Any]:
    plans = sorted((p for p in a.plans if p.cluster_ip and p.cluster_ip != "None"),
                   key=lambda p: (p.namespace, p.name, p.port, p.protocol))
    rows = []
    for plan in plans[:limit]:
        target, port = f"{plan.namespace}/{plan.name}", f"{plan.port}/{plan.protocol}"
        row: dict[str, Any] = {"service": f"{target}:{port}"}
        chosen = None
        for client in _clients(a, plan)[:MAX_TRIES]:
            try:
                path = trace_flow(a, client, target, port, plan.port, plan.protocol)
            except PodnetError as e:
                row["error"] = str(e)
                break
            chosen = chosen or path
            if path.verdict == "delivered":
                chosen = path
                break
        if chosen is not None:
            row.pop("error", None)
            row.update(chosen.as_dict())
        elif "error" not in row:
            row["error"] = "no pod outside the Service's endpoints to trace from"
        rows.append(row)
    return {"rows": rows, "total": len(plans), "limit": limit}
