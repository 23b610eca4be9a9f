"""Address-plan findings: the pod network, the Service range, the nodes' addresses and MetalLB's
pools must not share addresses (the kernel routes each address one way only)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check
from podnet.errors import SourceRef

# Where NetConfig's origin objects keep each range (by kind), for the finding's field.
_FIELDS = {("cluster_cidr", "ClusterConfiguration"): "networking.podSubnet",
           ("cluster_cidr", "KubeProxyConfiguration"): "clusterCIDR",
           ("cluster_cidr", "ConfigMap"): "data.net-conf.json",
           ("cluster_cidr", "IPPool"): "spec.cidr",
           ("cluster_cidr", "DaemonSet"): "spec.template.spec.containers[].env[CALICO_IPV4POOL_CIDR]",
           ("service_cidr", "ClusterConfiguration"): "networking.serviceSubnet"}


@dataclass(frozen=True, slots=True)
class Range:
    what: str  # "the pod network 10.244.0.0/16"
    lo: int
    hi: int
    source: SourceRef
    field: str
    role: str  # pods, services, node, pool


def _fmt(lo: int, hi: int) -> str:
    a, b = ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)
    return str(a) if lo == hi else f"{a}-{b}"


def _net_range(ctx: Context, key: str, role: str, label: str) -> Range | None:
    text = getattr(ctx.cluster.net, key)
    net = ipaddress.ip_network(text, strict=False)
    if net.version != 4:
        return None
    origin = ctx.cluster.net.origin.get(key, "")
    src = ctx.source_of(origin) if origin else SourceRef(file=ctx.first_file)
    field = _FIELDS.get((key, src.kind), "")
    proxy = ctx.proxy_config
    if key == "cluster_cidr" and proxy is not None and proxy.path and src == proxy.source:
        field = proxy.at("clusterCIDR")  # kube-proxy's ConfigMap, not Flannel's
    default = "" if origin else " (podnet's default: nothing in the input sets it)"
    return Range(f"{label} {text}{default}", int(net.network_address), int(net.broadcast_address),
                 src, field, role)


def _ranges(ctx: Context) -> list[Range]:
    out = [r for r in (_net_range(ctx, "cluster_cidr", "pods", "the pod network"),
                       _net_range(ctx, "service_cidr", "services", "the Service range"))
           if r is not None]
    given = set()
    for d in ctx.docs:  # only addresses the input states: podnet invents the others
        if d.body.get("kind") == "Node":
            for a in ((d.body.get("status") or {}).get("addresses") or []):
                if isinstance(a, dict) and a.get("type") == "InternalIP":
                    given.add(str((d.body.get("metadata") or {}).get("name")))
    for n in ctx.cluster.nodes:
        if n.name in given and n.internal_ip and ":" not in n.internal_ip:
            ip = int(ipaddress.IPv4Address(n.internal_ip))
            out.append(Range(f"node {n.name}'s address {n.internal_ip}", ip, ip, n.source,
                             "status.addresses", "node"))
    for pool in ctx.cluster.lb_pools:
        src = ctx.source_of(pool.source)
        field = "spec.addresses" if src.kind == "IPAddressPool" else "data.config"
        for lo, hi in pool.ranges:
            out.append(Range(f"MetalLB pool {pool.name} ({_fmt(lo, hi)})", lo, hi, src, field,
                             "pool"))
    return out


def _consequence(a: Range, b: Range) -> str:
    roles = {a.role, b.role}
    if roles == {"pods", "services"}:
        return ("a packet to a Service address may be routed to a pod holding the same address, "
                "and kube-proxy's pod-CIDR test misjudges where Service traffic comes from")
    if roles == {"pool"}:
        return "MetalLB refuses overlapping pools, so neither is served as written"
    if "pool" in roles and "node" in roles:
        return "MetalLB may give the node's own address to a Service: two hosts answer ARP for it"
    if "pool" in roles:
        return ("MetalLB may hand out an address that is also routed inside the cluster: "
                "traffic for the load balancer goes to whatever holds it there")
    if "node" in roles:
        return ("the node's address is inside a range the nodes route elsewhere: traffic for the "
                "node is captured by those routes")
    return "the kernel routes each address one way only"


@check("cidr-overlap",
       summary="Two of the pod network, the Service range, a node's address and MetalLB's pools "
               "share addresses.",
       example="the Service range 10.96.0.0/12 overlaps the pod network 10.96.0.0/16 (65,536 "
               "addresses in common)")
def cidr_overlap(ctx: Context) -> Iterator[Finding]:
    ranges = _ranges(ctx)
    for i, a in enumerate(ranges):
        for b in ranges[i + 1:]:
            if a.role == "node" and b.role == "node":
                continue
            lo, hi = max(a.lo, b.lo), min(a.hi, b.hi)
            if lo > hi:
                continue
            # report on the narrower, more specific object (the pool or node, not the CIDR)
            first, second = (b, a) if b.hi - b.lo < a.hi - a.lo else (a, b)
            common = hi - lo + 1
            yield Finding(
                "cidr-overlap", "error", first.source.object() or first.what, first.source,
                first.field,
                f"{first.what} overlaps {second.what} ({_fmt(lo, hi)}, {common:,} address"
                f"{'es' if common > 1 else ''} in common): {_consequence(first, second)}",
                {"ranges": [_fmt(first.lo, first.hi), _fmt(second.lo, second.hi)],
                 "overlap": _fmt(lo, hi), "addresses": common,
                 "other": second.source.object() or second.what},
                f"move {first.what.split(' (')[0]} out of {_fmt(second.lo, second.hi)}")
