"""The stand-in ingress controller made real: manifests for the one default controller the
analyzer assumes when the input has Ingresses and declares no controller.

`find_controllers` answers for such an input with a controller that has no pod. The lab runs
what it is given, so `lab up` adds these documents (recorded with the lab's own, so every later
prediction sees the same pod): the namespace, a one-replica Deployment shaped like ingress-nginx's
official manifest (``deploy/static/provider/cloud/deploy.yaml``: same names, labels, flags and
ports), and its Service: a LoadBalancer when a MetalLB pool could give it an address, else a
NodePort (MetalLB answers nothing without a pool, and a LoadBalancer Service would stay pending).
"""

from __future__ import annotations

from typing import Any

from podnet.ingress.controllers import DEFAULT_INGRESS_CLASS, find_controllers
from podnet.model.cluster import Cluster

FILE = "<podnet stand-in ingress controller>"
NAMESPACE = "ingress-nginx"
NAME = "ingress-nginx-controller"
LABELS = {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"}


def _auto_pool(cluster: Cluster) -> bool:
    """A pool MetalLB would take an address from for a Service in ``NAMESPACE`` with no
    annotations (auto-assign, not reserved for other namespaces or selected Services)."""
    return any(p.auto_assign and not p.allocation and not p.service_selectors
               and not p.namespace_selectors and (not p.namespaces or NAMESPACE in p.namespaces)
               for p in cluster.lb_pools)


def documents(cluster: Cluster) -> list[dict[str, Any]]:
    """The stand-in's manifests, or [] when the input declares a controller or has no Ingress."""
    found = find_controllers(cluster)
    if not found or found[0].declared:
        return []
    kind = "LoadBalancer" if _auto_pool(cluster) else "NodePort"
    # the namespace is left implicit (the model makes one, as for any namespace only named)
    docs: list[dict[str, Any]] = [{
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"replicas": 1, "selector": {"matchLabels": dict(LABELS)}, "template": {
            "metadata": {"labels": dict(LABELS)},
            "spec": {"containers": [{
                "name": "controller",
                "image": "registry.k8s.io/ingress-nginx/controller",
                "args": ["/nginx-ingress-controller", f"--ingress-class={DEFAULT_INGRESS_CLASS}",
                         f"--publish-service=$(POD_NAMESPACE)/{NAME}"],
                "ports": [{"name": "http", "containerPort": 80, "protocol": "TCP"},
                          {"name": "https", "containerPort": 443, "protocol": "TCP"}]}]}}}},
        {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {"type": kind, "selector": dict(LABELS), "ports": [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
            {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}}]
    # a Service of that name already in the input stays the input's (a second one is refused)
    if any((s.namespace, s.name) == (NAMESPACE, NAME) for s in cluster.services):
        docs.pop()
    return docs
