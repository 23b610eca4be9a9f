"""What the analyzer expects of one HTTP request through an ingress controller in the cluster:
ingress-nginx's routing (podnet/ingress) with NetworkPolicy judged on the controller -> endpoint
hop, as the controller's pod is a pod like any other."""

from __future__ import annotations

from podnet.analysis import Analysis
from podnet.ingress.controllers import Controller, controller_pods
from podnet.ingress.request import Outcome, Reachable, Request, handle
from podnet.ingress.routes import Table


def reachability(a: Analysis, controller: Controller) -> Reachable | None:
    """None for a controller with no pod in the input (the stand-in): no policy to judge."""
    pods = controller_pods(a.cluster, controller)
    if not pods:
        return None
    src = pods[0]  # replicas share labels and namespace, so policy treats them alike

    def ok(endpoint: str) -> bool:
        ip, _, port = endpoint.rpartition(":")
        dst = a.cluster.pod_by_ip(ip) or ip
        return a.evaluator.allowed(src, dst).allows("TCP", int(port))
    return ok


def outcome(a: Analysis, table: Table, req: Request) -> Outcome:
    return handle(table, req, reachability(a, table.controller))
