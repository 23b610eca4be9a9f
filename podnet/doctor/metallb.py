"""MetalLB findings: LoadBalancer Services left <pending> (the allocator's reason), and kube-proxy's
IPVS mode without strictARP under MetalLB's layer 2 mode."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import yaml

from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check, to_yaml
from podnet.errors import SourceRef
from podnet.model import kubeproxy
from podnet.model.lbpools import LEGACY_CONFIGMAP


def _l2_pools(ctx: Context) -> tuple[list[str], SourceRef | None]:
    """Pools MetalLB announces in layer 2 mode, and where they are declared."""
    names: list[str] = []
    where: SourceRef | None = None
    for o in ctx.configs("ConfigMap"):
        if (o.namespace, o.name) != LEGACY_CONFIGMAP:
            continue
        try:
            conf = yaml.safe_load(str((o.body.get("data") or {}).get("config") or "")) or {}
        except yaml.YAMLError:
            continue  # lbpools.py already refused it
        for p in conf.get("address-pools") or []:
            if isinstance(p, dict) and p.get("protocol") == "layer2":
                names.append(str(p.get("name")))
                where = where or o.source
    if ctx.configs("L2Advertisement"):
        crd = ctx.configs("IPAddressPool")
        names += [o.name for o in crd]
        if crd:
            where = where or crd[0].source
    return names, where


@check("ipvs-metallb-strictarp",
       summary="kube-proxy in IPVS mode without strictARP under MetalLB layer 2: every node "
               "answers ARP for the load-balancer addresses.",
       example="every node answers ARP for 192.168.1.240-250: kube-proxy (ipvs) binds them to "
               "kube-ipvs0 on all nodes and strictARP is false")
def ipvs_metallb_strictarp(ctx: Context) -> Iterator[Finding]:
    cfg = ctx.proxy_config
    if ctx.cluster.net.proxy_mode != "ipvs" or cfg is None:
        return
    ipvs = cfg.body.get("ipvs") or {}
    strict = ipvs.get("strictARP") if hasattr(ipvs, "get") else None
    if kubeproxy.settings(cfg).strict_arp:
        return
    pools, _ = _l2_pools(ctx)
    if not pools:
        return
    ranges = [f"{ipaddress.IPv4Address(lo)}-{ipaddress.IPv4Address(hi)}"
              for p in ctx.cluster.lb_pools if p.name in pools for lo, hi in p.ranges]
    lbs = sorted({f"{p.namespace}/{p.name}" for p in ctx.analysis.plans if p.load_balancer_ips})
    yield Finding(
        "ipvs-metallb-strictarp", "error", cfg.source.object(), cfg.source, cfg.at("ipvs.strictARP"),
        f"every node answers ARP for MetalLB's layer-2 addresses ({', '.join(ranges)}): kube-proxy "
        "in IPVS mode binds each load-balancer address to kube-ipvs0 on all nodes, and without "
        "strictARP their kernels reply to ARP for it, so clients reach whichever node answered "
        "last instead of MetalLB's leader, and failover does not move the address",
        {"mode": "ipvs", "strictARP": strict, "layer2Pools": pools, "addresses": ranges,
         "loadBalancerServices": lbs},
        to_yaml({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                 "kind": "KubeProxyConfiguration", "mode": "ipvs", "ipvs": {"strictARP": True}})
        + "# or, on a running kubeadm cluster:\n"
        "kubectl get configmap kube-proxy -n kube-system -o yaml | "
        "sed -e 's/strictARP: false/strictARP: true/' | kubectl apply -f - -n kube-system")


@check("lb-pending",
       summary="A LoadBalancer Service that gets no address: it stays <pending> and is "
               "reachable only through its NodePorts.",
       example="LoadBalancer shop/web stays <pending>: no MetalLB pool has a free address "
               "for it (pool default: 11 addresses, 11 assigned)")
def lb_pending(ctx: Context) -> Iterator[Finding]:
    seen: set[str] = set()
    pools = ctx.cluster.lb_pools
    assigned = {ip for p in ctx.analysis.plans for ip in p.load_balancer_ips}
    for plan in ctx.analysis.plans:
        key = f"{plan.namespace}/{plan.name}"
        if plan.type != "LoadBalancer" or plan.load_balancer_ips or key in seen:
            continue
        seen.add(key)
        svc = next(s for s in ctx.cluster.services if s.key == key)
        reason = plan.lb_origin or "no address in its status and no MetalLB pool in the input"
        if "requested" in reason:
            field = ("spec.loadBalancerIP" if svc.load_balancer_ip
                     else "metadata.annotations")
        elif "annotated pool" in reason:
            field = "metadata.annotations"
        else:
            field = "spec.type"
        sizes = {p.name: sum(hi - lo + 1 for lo, hi in p.ranges) for p in pools}
        used = {p.name: sum(1 for ip in assigned if p.contains(int(ipaddress.IPv4Address(ip))))
                for p in pools}
        detail = "; ".join(f"pool {n}: {sizes[n]} addresses, {used[n]} assigned" for n in sizes)
        yield Finding(
            "lb-pending", "error" if pools else "warning", svc.source.object(), svc.source, field,
            f"LoadBalancer {key} stays <pending>: {reason.removesuffix(': pending')}"
            + (f" ({detail})" if detail else "")
            + "; clients outside the cluster can reach it only through its NodePorts",
            {"reason": reason, "pools": {n: {"addresses": sizes[n], "assigned": used[n]}
                                         for n in sizes}},
            "give MetalLB a pool (IPAddressPool and L2Advertisement) with free addresses on the "
            "nodes' network, or request an address a pool holds"
            if not pools or "free address" in reason else
            f"kubectl describe service -n {svc.namespace} {svc.name}   # and correct {field}")
