"""Deterministic synthetic clusters at Kubernetes' published scale limits, as a JSON List dump.

Each namespace holds a few apps (Deployments, ~30 pods per namespace) with named container
ports, and two policies: a default deny, and an allow rule whose shape rotates among the
common ones (same app, from a labelled namespace, ipBlock, named port, egress with DNS).
Nodes carry 110 pods each (the kubelet default) in a 10.0.0.0/8 pod subnet.
"""

from __future__ import annotations

import json
from typing import Any

APPS = ("web", "api", "db", "cache", "worker")


def cluster(pods: int, namespaces: int, policies: int) -> dict[str, Any]:
    items: list[dict[str, Any]] = [{
        "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
        "networking": {"podSubnet": "10.0.0.0/8", "serviceSubnet": "172.16.0.0/12"}}]
    nodes = -(-pods // 110)
    items += [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i:05d}"},
               "status": {"addresses": [{"type": "InternalIP",
                                         "address": f"192.168.{i // 250}.{i % 250 + 1}"}]}}
              for i in range(nodes)]
    per_ns = pods // namespaces
    apps_per_ns = 3
    pol_per_ns = max(1, policies // namespaces)
    for n in range(namespaces):
        ns = f"ns-{n:05d}"
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": {"team": f"team-{n % 50}", "env": ("prod", "dev")[n % 2]}}})
        for a in range(apps_per_ns):
            app = APPS[(n + a) % len(APPS)]
            replicas = per_ns // apps_per_ns + (1 if a < per_ns % apps_per_ns else 0)
            items.append({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": app, "namespace": ns},
                          "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                                   "template": {"metadata": {"labels": {"app": app, "tier": f"t{a}"}},
                                                "spec": {"containers": [{"name": "c", "ports": [
                                                    {"name": "http", "containerPort": 8080 + a},
                                                    {"name": "metrics", "containerPort": 9090}]}]}}}})
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "default-deny", "namespace": ns},
                      "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
        for p in range(pol_per_ns - 1):
            items.append(_allow(ns, n, p))
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _allow(ns: str, n: int, p: int) -> dict[str, Any]:
    app = APPS[(n + p) % len(APPS)]
    shape = (n + p) % 4
    spec: dict[str, Any] = {"podSelector": {"matchLabels": {"app": app}}}
    if shape == 0:
        spec["ingress"] = [{"from": [{"podSelector": {}}], "ports": [{"port": "http"}]}]
    elif shape == 1:
        spec["ingress"] = [{"from": [{"namespaceSelector": {"matchLabels": {"team": f"team-{n % 50}"}},
                                      "podSelector": {"matchLabels": {"tier": "t0"}}}],
                            "ports": [{"port": 8080, "endPort": 8082}]}]
    elif shape == 2:
        spec["ingress"] = [{"from": [{"ipBlock": {"cidr": "10.0.0.0/9", "except": ["10.1.0.0/16"]}}]}]
    else:
        spec["policyTypes"] = ["Ingress", "Egress"]
        spec["ingress"] = [{"from": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}],
                            "ports": [{"port": "metrics"}]}]
        spec["egress"] = [{"to": [{"namespaceSelector": {}}], "ports": [
            {"port": 53, "protocol": "UDP"}, {"port": 8080}]}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"allow-{p}", "namespace": ns}, "spec": spec}


def write(path: str, pods: int, namespaces: int, policies: int) -> None:
    with open(path, "w") as f:
        json.dump(cluster(pods, namespaces, policies), f)
