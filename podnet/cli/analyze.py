"""``podnet analyze``: what the input holds and what the model made of it."""

from __future__ import annotations

import ipaddress
from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer

from podnet.cli.common import (
    ClusterCidrOpt,
    CniOpt,
    FileOpt,
    NodesOpt,
    OutputOpt,
    ServiceCidrOpt,
    check_format,
    load_cluster,
)
from podnet.cli.output import console, emit_json

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster


def summary(cluster: Cluster) -> dict[str, object]:
    from podnet.analysis import Analysis
    from podnet.dataplane.cni import node_subnet
    from podnet.dataplane.mtu import budget
    from podnet.policy.verdict import target_selects

    analysis = Analysis(cluster)
    compiled = analysis.compiled
    isolated_in = isolated_eg = unprotected = 0
    for p in cluster.pods:
        i = any(target_selects(t, p) for t in compiled.ingress)
        e = any(target_selects(t, p) for t in compiled.egress)
        isolated_in += i
        isolated_eg += e
        unprotected += not i and not e
    kinds = Counter(o.kind for o in cluster.ignored)
    net = cluster.net
    mtu = budget(net)
    return {
        "namespaces": len(cluster.namespaces),
        "nodes": [{"name": n.name, "ip": n.internal_ip, "podCIDR": n.pod_cidr,
                   "subnet": str(node_subnet(n))} for n in cluster.nodes],
        "pods": len(cluster.pods),
        "workloads": len(cluster.workloads),
        "services": len(cluster.services),
        "networkPolicies": len(cluster.policies),
        "ingresses": len(cluster.ingresses),
        "isolatedForIngress": isolated_in,
        "isolatedForEgress": isolated_eg,
        "unprotectedPods": unprotected,
        "ignoredKinds": dict(sorted(kinds.items())),
        "network": {
            "clusterCIDR": net.cluster_cidr, "serviceCIDR": net.service_cidr,
            "cni": net.cni, "crossSubnet": net.cross_subnet, "cniPlugin": net.cni_plugin,
            "proxyMode": net.proxy_mode,
            "dnsDomain": net.dns_domain, "underlayMTU": net.underlay_mtu,
            "podMTU": net.pod_mtu,
            "origin": dict(sorted(net.origin.items())),
            "mtu": {"podMTU": mtu.pod_mtu, "overhead": mtu.overhead,
                    "tunnelMTU": mtu.tunnel_mtu, "crossNodePathMTU": mtu.cross_node_path_mtu,
                    "problem": mtu.problem},
            "loadBalancerPools": [{"name": lp.name, "addresses": [_span(r) for r in lp.ranges],
                                   "autoAssign": lp.auto_assign, "source": lp.source}
                                  for lp in cluster.lb_pools],
        },
        # a refused request is one Service's problem, not the input's: said here, not raised
        "pendingLoadBalancers": dict(sorted(
            (f"{p.namespace}/{p.name}", p.lb_origin or "no status and no MetalLB pool")
            for p in analysis.plans if p.type == "LoadBalancer" and not p.load_balancer_ips)),
        "warnings": list(cluster.warnings),
    }


def _span(r: tuple[int, int]) -> str:
    lo, hi = (str(ipaddress.IPv4Address(x)) for x in r)
    return lo if lo == hi else f"{lo}-{hi}"


def register(app: typer.Typer) -> None:
    @app.command()
    def analyze(filename: FileOpt = [], output: OutputOpt = "table",  # noqa: B006
                nodes: NodesOpt = 3, cluster_cidr: ClusterCidrOpt = None,
                service_cidr: ServiceCidrOpt = None, cni: CniOpt = None,
                underlay_mtu: Annotated[int | None, typer.Option("--underlay-mtu")] = None
                ) -> None:
        """Summarise the cluster: objects, pods, policies, isolation, ignored kinds, network."""
        check_format(output, ("table", "json"))
        cluster = load_cluster(filename, nodes, cluster_cidr=cluster_cidr,
                               service_cidr=service_cidr, cni=cni, underlay_mtu=underlay_mtu)
        data = summary(cluster)
        if output == "json":
            emit_json(data)
            return
        from rich.table import Table

        t = Table(title="podnet analyze", show_header=False)
        t.add_column("what")
        t.add_column("value")
        for key in ("namespaces", "pods", "workloads", "services", "networkPolicies",
                    "ingresses", "isolatedForIngress", "isolatedForEgress", "unprotectedPods"):
            t.add_row(key, str(data[key]))
        t.add_row("nodes", ", ".join(f"{n.name} {n.internal_ip} {n.pod_cidr}"
                                     for n in cluster.nodes))
        net = data["network"]
        assert isinstance(net, dict)
        origin = net["origin"]
        for key in ("clusterCIDR", "serviceCIDR", "cni", "cniPlugin", "proxyMode", "dnsDomain",
                    "underlayMTU", "podMTU"):
            src = {"clusterCIDR": "cluster_cidr", "serviceCIDR": "service_cidr", "cni": "cni",
                   "cniPlugin": "cni_plugin", "proxyMode": "proxy_mode",
                   "dnsDomain": "dns_domain", "underlayMTU": "underlay_mtu",
                   "podMTU": "pod_mtu"}[key]
            value = net[key]
            if key == "cni" and net["crossSubnet"]:
                value = f"{value} (CrossSubnet: tunnel only between subnets)"
            t.add_row(key, f"{value if value is not None else 'CNI default'}"
                           f"  ({origin.get(src, 'default')})")
        m = net["mtu"]
        t.add_row("MTU budget", f"pod {m['podMTU']}, {cluster.net.cni} overhead {m['overhead']}, "
                                f"cross-node path {m['crossNodePathMTU']}"
                                + (f"  PROBLEM: {m['problem']}" if m["problem"] else ""))
        t.add_row("MetalLB pools", "; ".join(
            f"{lp['name']} {', '.join(lp['addresses'])} ({lp['source']})"
            for lp in net["loadBalancerPools"]) or "none")
        pending = data["pendingLoadBalancers"]
        assert isinstance(pending, dict)
        t.add_row("pending LoadBalancers", "; ".join(f"{k}: {v}" for k, v in pending.items())
                  or "none")
        ignored = data["ignoredKinds"]
        assert isinstance(ignored, dict)
        t.add_row("ignored kinds", ", ".join(f"{k} ({v})" for k, v in ignored.items()) or "none")
        console().print(t)
