"""MetalLB: which address a LoadBalancer Service gets, and which node answers ARP for it.

Allocation follows MetalLB's controller (``internal/allocator``); announcement its layer-2
speaker: every speaker sorts the eligible nodes by ``sha256(node + "#" + ip)`` and the first one
announces (``speaker/layer2_controller.go``): stateless, so each IP has one owner without
coordination. With ``externalTrafficPolicy: Local`` only nodes with a ready endpoint of the
service are eligible, which is what keeps the client's source IP reachable.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podnet.errors import InputError
from podnet.model.lbpools import AddressPool
from podnet.model.objects import Service

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster
    from podnet.services.resolve import ServicePlan


def l2_leader(ip: str, candidates: list[str]) -> str | None:
    if not candidates:
        return None
    return min(candidates, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest())


def announcer(plan: ServicePlan, ip: str, nodes: list[str]) -> str | None:
    """The node that attracts ``ip`` of ``plan``; None when no node may announce it."""
    if plan.external_local:
        nodes = [n for n in nodes if plan.local_endpoints(n)]
    return l2_leader(ip, nodes)


# Annotations MetalLB reads on a Service (the metallb.universe.tf forms are the older names).
POOL_ANNOTATIONS = ("metallb.io/address-pool", "metallb.universe.tf/address-pool")
IPS_ANNOTATIONS = ("metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs")


@dataclass(frozen=True, slots=True)
class Allocation:
    ips: tuple[str, ...]  # empty: the Service stays <pending>
    origin: str  # where the addresses come from, or why there are none


def _annotation(svc: Service, keys: tuple[str, ...]) -> str:
    return next((svc.annotations[k] for k in keys if svc.annotations.get(k)), "")


def _eligible(pool: AddressPool, svc: Service, ns_labels: Mapping[str, str]) -> bool:
    if pool.namespaces and svc.namespace not in pool.namespaces:
        return False
    if pool.namespace_selectors and not any(s.matches(ns_labels) for s in pool.namespace_selectors):
        return False
    return not pool.service_selectors or any(s.matches(svc.labels) for s in pool.service_selectors)


def _auto_order(pools: tuple[AddressPool, ...]) -> list[AddressPool]:
    """MetalLB tries pools pinned to the Service first (by priority, lower first, then those
    without one), then the unpinned ones; it leaves ties, and the unpinned pools' order, to Go
    map iteration. podnet breaks every tie by pool name, so its answer is one of MetalLB's."""
    def key(p: AddressPool) -> tuple[int, int, str]:
        if not p.pinned:
            return (2, 0, p.name)
        return (0, p.priority, p.name) if p.priority is not None else (1, 0, p.name)
    return sorted(pools, key=key)


def allocate(services: Iterable[Service], pools: tuple[AddressPool, ...],
             namespace_labels: Callable[[str], Mapping[str, str]]) -> dict[str, Allocation]:
    """LoadBalancer addresses as MetalLB's controller would assign them: an address already in
    ``status`` is kept (and taken); a requested one (``spec.loadBalancerIP`` or the
    loadBalancerIPs annotation) is given when a pool holds it and it is free; otherwise the
    first free address of the annotated pool, or of the first eligible auto-assign pool.
    MetalLB serves Services as their events arrive; podnet serves the explicit requests
    first, then the rest, each in namespace/name order."""
    lbs = sorted((s for s in services if s.type == "LoadBalancer"), key=lambda s: s.key)
    out: dict[str, Allocation] = {}
    taken: set[int] = set()
    for svc in lbs:
        if svc.status_lb_ips:
            out[svc.key] = Allocation(svc.status_lb_ips, "status")
            taken.update(int(ipaddress.ip_address(ip)) for ip in svc.status_lb_ips
                         if ipaddress.ip_address(ip).version == 4)
    if not pools:
        return out
    # taken only grows, so each pool's scan resumes where its last allocation stopped
    cursors = {p.name: iter(p.addresses()) for p in pools}
    # explicit requests first, as if those Services had been created before the others
    for svc in sorted(lbs, key=lambda s: not _requested(s)):
        if svc.key not in out:
            out[svc.key] = _allocate_one(svc, pools, namespace_labels(svc.namespace), taken,
                                         cursors)
    return out


def _requested(svc: Service) -> str:
    return _annotation(svc, IPS_ANNOTATIONS) or svc.load_balancer_ip


def _allocate_one(svc: Service, pools: tuple[AddressPool, ...], ns_labels: Mapping[str, str],
                  taken: set[int], cursors: dict[str, Iterator[int]]) -> Allocation:
    annotated = _annotation(svc, IPS_ANNOTATIONS)
    requested = _requested(svc)
    wanted_pool = _annotation(svc, POOL_ANNOTATIONS)
    if requested:
        field = (f"metadata.annotations[{next(k for k in IPS_ANNOTATIONS if svc.annotations.get(k))}]"
                 if annotated else "spec.loadBalancerIP")
        wanted = []
        for text in (ip.strip() for ip in requested.split(",") if ip.strip()):
            try:
                wanted.append((text, int(ipaddress.ip_address(text))))
            except ValueError:
                raise InputError(svc.source, field, f"{text!r} is not an IP address") from None
        got = []
        for text, ip in wanted:
            owner = next((p for p in pools if p.contains(ip)), None)
            if owner is None:
                return Allocation((), f"requested {text} is in no MetalLB pool: pending")
            if wanted_pool and owner.name != wanted_pool:
                return Allocation((), f"requested {text} is not in pool {wanted_pool}: pending")
            if ip in taken:
                return Allocation((), f"requested {text} is already assigned: pending")
            got.append((ip, owner.name))
        taken.update(ip for ip, _ in got)
        return Allocation(tuple(str(ipaddress.IPv4Address(ip)) for ip, _ in got),
                          f"requested, pool {got[0][1]}")
    if wanted_pool:
        candidates = [p for p in pools if p.name == wanted_pool]
        if not candidates:
            return Allocation((), f"annotated pool {wanted_pool} does not exist: pending")
    else:
        candidates = [p for p in _auto_order(pools) if p.auto_assign and _eligible(p, svc, ns_labels)]
    for pool in candidates:
        free = next((a for a in cursors[pool.name] if a not in taken), None)
        if free is not None:
            taken.add(free)
            return Allocation((str(ipaddress.IPv4Address(free)),), f"pool {pool.name}")
    return Allocation((), "no MetalLB pool has a free address for it: pending")

def external_addresses(cluster: Cluster, plans: tuple[ServicePlan, ...]) -> dict[str, str]:
    """LoadBalancer and external IPs -> the node that attracts each (MetalLB layer 2)."""
    nodes = [n.name for n in cluster.nodes]
    out: dict[str, str] = {}
    for plan in plans:
        for ip in (*plan.load_balancer_ips, *plan.external_ips):
            leader = announcer(plan, ip, nodes)
            if leader is not None and ip not in out:
                out[ip] = leader
    return out
