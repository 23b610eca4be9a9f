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
    items += _nodes(pods)
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


def _nodes(pods: int) -> list[dict[str, Any]]:
    return [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i:05d}"},
             "status": {"addresses": [{"type": "InternalIP",
                                       "address": f"192.168.{i // 250}.{i % 250 + 1}"}]}}
            for i in range(-(-pods // 110))]


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


# ipBlocks come from a small pool, as real policies name a handful of office, VPN and
# partner ranges; every rule naming a fresh CIDR would make the external ranges the output.
CIDRS = (("0.0.0.0/0", ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]),
         ("10.0.0.0/9", ["10.1.0.0/16"]), ("10.128.0.0/9", []), ("172.16.0.0/12", []),
         ("203.0.113.0/24", ["203.0.113.128/25"]), ("198.51.100.0/24", []),
         ("192.0.2.0/24", ["192.0.2.0/28"]), ("100.64.0.0/10", ["100.64.0.0/16"]))
RULES_PER_POLICY = 5


def rules_cluster(rules: int, namespaces: int = 100, apps: int = 4, replicas: int = 8
                  ) -> dict[str, Any]:
    """``rules`` NetworkPolicy rules (five per policy: three ingress, two egress) over
    ``namespaces * apps * replicas`` pods; every namespace has ``apps`` Deployments.

    Rules mix the shapes connlist must tell apart: pod and namespace+pod selector peers,
    ipBlocks with excepts, named ports, numeric ports, endPort ranges and UDP. Every third
    policy isolates ingress only, so some sources keep their egress open.
    """
    items: list[dict[str, Any]] = [{
        "apiVersion": "kubeadm.k8s.io/v1beta3", "kind": "ClusterConfiguration",
        "networking": {"podSubnet": "10.0.0.0/8", "serviceSubnet": "172.16.0.0/12"}}]
    items += _nodes(namespaces * apps * replicas)
    for n in range(namespaces):
        ns = f"ns-{n:04d}"
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": ns, "labels": {"team": f"team-{n % 10}", "env": ("prod", "dev")[n % 2]}}})
        for a in range(apps):
            app = APPS[(n + a) % len(APPS)]
            items.append({"apiVersion": "apps/v1", "kind": "Deployment",
                          "metadata": {"name": app, "namespace": ns},
                          "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                                   "template": {"metadata": {"labels": {"app": app, "tier": f"t{a}"}},
                                                "spec": {"containers": [{"name": "c", "ports": [
                                                    {"name": "http", "containerPort": 8080 + a},
                                                    {"name": "metrics", "containerPort": 9090},
                                                    {"name": "dns", "containerPort": 5353,
                                                     "protocol": "UDP"}]}]}}}})
    for i in range(-(-rules // RULES_PER_POLICY)):
        items.append(_rich_policy(i, namespaces))
    return {"apiVersion": "v1", "kind": "List", "items": items}


def _rich_policy(i: int, namespaces: int) -> dict[str, Any]:
    n = i % namespaces
    app, peer_app = APPS[(n + i) % len(APPS)], APPS[(n + i + 1) % len(APPS)]
    cidr, excepts = CIDRS[i % len(CIDRS)]
    base = 8000 + (i * 7) % 200
    spec: dict[str, Any] = {
        "podSelector": {"matchLabels": {"app": app}} if i % 5 else
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["t0", "t1"]}]},
        "policyTypes": ["Ingress"] if i % 3 == 0 else ["Ingress", "Egress"],
        "ingress": [
            {"from": [{"podSelector": {"matchLabels": {"app": peer_app}}}],
             "ports": [{"port": "http"}, {"port": base}]},
            {"from": [{"namespaceSelector": {"matchLabels": {"team": f"team-{(n + i) % 10}"}},
                       "podSelector": {"matchLabels": {"tier": f"t{i % 3}"}}}],
             "ports": [{"port": base, "endPort": base + 10 + i % 20}]},
            {"from": [{"ipBlock": {"cidr": cidr, "except": excepts}}],
             "ports": [{"port": 443}, {"port": "dns", "protocol": "UDP"}]}],
        "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {"env": "prod"}}}],
             "ports": [{"port": "metrics"}, {"port": 53, "protocol": "UDP"}]},
            {"to": [{"ipBlock": {"cidr": CIDRS[(i + 3) % len(CIDRS)][0]}}],
             "ports": [{"port": 5432}, {"port": base + 100, "endPort": base + 120}]}]}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": f"rich-{i:05d}", "namespace": f"ns-{n:04d}"}, "spec": spec}


def edited(data: dict[str, Any], count: int = 5) -> dict[str, Any]:
    """A copy of a ``cluster`` with ``count`` of its allow policies changed, as a pull request
    changes a handful: spread over the namespaces, each one's ingress ports moved to 8443, or
    (when it had none) opened to every pod on 8443."""
    items = [dict(i) for i in data["items"]]
    allows = [k for k, i in enumerate(items)
              if i.get("kind") == "NetworkPolicy" and i["metadata"]["name"].startswith("allow-")]
    for k in allows[::max(1, len(allows) // count)][:count]:
        spec = json.loads(json.dumps(items[k]["spec"]))
        spec["ingress"] = [{"from": [{"podSelector": {}}], "ports": [{"port": 8443}]}]
        items[k] = {**items[k], "spec": spec}
    return {**data, "items": items}


def write_edited(path: str, pods: int, namespaces: int, policies: int, count: int = 5) -> None:
    with open(path, "w") as f:
        json.dump(edited(cluster(pods, namespaces, policies), count), f)
