"""LoadBalancer addresses as MetalLB's controller assigns them.

The controller converges one Service at a time (``controller/service.go``, convergeBalancer)
over an allocator that remembers who holds each address (``internal/allocator``):

- an address in ``status.loadBalancer.ingress`` is re-assigned, not trusted: it must still be
  in a pool that admits the Service, be of the Service's family, be free or shareable, agree
  with the pool annotation and with the requested addresses; otherwise it is cleared and the
  Service allocated anew;
- a requested address (``spec.loadBalancerIP`` or the loadBalancerIPs annotation, never both)
  must lie in one pool, that pool must admit the Service (serviceAllocation), and the address
  be free or shareable;
- otherwise the first free address of the annotated pool, or of the pools pinned to the Service
  (lower priority first, pools without one after), or of the plain auto-assign pools;
- Services with the same ``allow-shared-ip`` key, the same backends (the selector, when
  ``externalTrafficPolicy: Local``) and no port in common share one address.

On a restart MetalLB reprocesses Services with addresses in their status first; podnet does the
same, then serves the explicit requests, then the rest, each in namespace/name order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from podnet.model.lbpools import AddressPool
from podnet.model.objects import Service

# Annotations MetalLB reads on a Service (the metallb.universe.tf forms are the older names).
POOL_ANNOTATIONS = ("metallb.io/address-pool", "metallb.universe.tf/address-pool")
IPS_ANNOTATIONS = ("metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs")
SHARE_ANNOTATIONS = ("metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Allocation:
    ips: tuple[str, ...]  # empty: the Service stays <pending>
    origin: str  # where the addresses come from, or why there are none


class _Refused(Exception):
    """Why MetalLB will not give a Service an address (the message is the reason)."""


@dataclass(frozen=True, slots=True)
class _Claim:
    svc: str
    sharing: str  # allow-shared-ip, "" when the Service does not share
    backend: str  # the selector under externalTrafficPolicy Local, else ""
    ports: frozenset[tuple[str, int]]


def _annotation(svc: Service, keys: tuple[str, ...]) -> str:
    # the first name present wins, even when empty, as in MetalLB's valueForAnnotation
    return next((svc.annotations[k] for k in keys if k in svc.annotations), "")


def _claim_of(svc: Service) -> _Claim:
    backend = ""
    if svc.external_traffic_policy == "Local":
        # k8salloc.BackendKey: only Local traffic cares where the endpoints are
        backend = ",".join(f"{k}={v}" for k, v in sorted((svc.selector or {}).items()))
    return _Claim(svc.key, _annotation(svc, SHARE_ANNOTATIONS), backend,
                  frozenset((p.protocol, p.port) for p in svc.ports))


def requested(svc: Service) -> list[IP]:
    """The addresses the Service asks for; _Refused when the request itself is malformed."""
    text = _annotation(svc, IPS_ANNOTATIONS)
    if not text and not svc.load_balancer_ip:
        return []
    if text and svc.load_balancer_ip:
        raise _Refused(f"requested both spec.loadBalancerIP and {IPS_ANNOTATIONS[0]}: MetalLB "
                       "can not have both")
    if not text:
        return [ipaddress.ip_address(svc.load_balancer_ip)]  # the API server checked it
    out = []
    for part in text.split(","):
        try:
            out.append(ipaddress.ip_address(part.strip()))
        except ValueError:
            raise _Refused(f"requested {text!r} in the loadBalancerIPs annotation is not a list "
                           "of IP addresses") from None
    if len(out) > 2 or (len(out) == 2 and out[0].version == out[1].version):
        raise _Refused(f"requested {text!r} in the loadBalancerIPs annotation is neither one "
                       "address nor one of each family")
    return out


def _shown(ips: Iterable[IP]) -> str:
    return ",".join(str(ip) for ip in ips)


class _Scan:
    """A pool's addresses in order: the first never claimed, and those passed over (all
    claimed, since claims are never withdrawn), which a sharing Service may still join."""

    def __init__(self, pool: AddressPool) -> None:
        self._rest: Iterator[int] = iter(pool.addresses())
        self._head: int | None = next(self._rest, None)
        self.passed: list[int] = []

    def head(self, claimed: Mapping[int, object]) -> int | None:
        while self._head is not None and self._head in claimed:
            self.passed.append(self._head)
            self._head = next(self._rest, None)
        return self._head


class _Allocator:
    def __init__(self, pools: tuple[AddressPool, ...],
                 namespaces: Mapping[str, Mapping[str, str]]) -> None:
        self.pools = pools
        self.by_name = {p.name: p for p in pools}
        # MetalLB's config resolves namespaceSelectors to names once, against the namespaces
        # that exist (config.go); a selector that matches none restricts nothing
        self.pool_ns = {p.name: frozenset(p.namespaces) | {
            n for n, labels in namespaces.items()
            if any(s.matches(labels) for s in p.namespace_selectors)} for p in pools}
        self.plain = [p for p in pools if p.auto_assign and not p.allocation]
        self.claims: dict[int, list[_Claim]] = {}
        self.scans = {p.name: _Scan(p) for p in pools}

    def compatible(self, pool: AddressPool, svc: Service) -> bool:
        ns = self.pool_ns[pool.name]
        if ns and svc.namespace not in ns:
            return False
        return not pool.service_selectors or any(s.matches(svc.labels)
                                                 for s in pool.service_selectors)

    def pinned(self, svc: Service) -> list[AddressPool]:
        out = [p for p in self.pools if p.allocation and p.auto_assign and self.compatible(p, svc)
               and (svc.namespace in self.pool_ns[p.name] or p.service_selectors)]
        # MetalLB leaves ties to Go map order; podnet breaks them by name
        return sorted(out, key=lambda p: (0, p.priority, p.name) if (p.priority or 0) > 0
                      else (1, 0, p.name))

    def sharing_error(self, ip: int, c: _Claim) -> str | None:
        others = [o for o in self.claims.get(ip, ()) if o.svc != c.svc]
        if not others:
            return None
        holder, last = others[0].svc, others[-1]
        if not last.sharing:
            return f"to {holder}, which does not allow sharing"
        if not c.sharing:
            return f"to {holder}, and this Service does not allow sharing"
        if last.sharing != c.sharing:
            return f"to {holder}, whose sharing key is {last.sharing!r}, not {c.sharing!r}"
        if last.backend != c.backend:
            return (f"to {holder}, whose backends differ (with externalTrafficPolicy Local "
                    "sharing needs the same selector)")
        clash = sorted(p for o in others for p in o.ports & c.ports)
        if clash:
            return f"to {holder}, which uses port {clash[0][0]}/{clash[0][1]} too"
        return None

    def check(self, svc: Service, c: _Claim, ips: list[IP]) -> AddressPool:
        """The pool that would hold ``ips`` for the Service (the allocator's Assign)."""
        ints = [int(ip) for ip in ips]
        pool = next((p for p in self.pools if all(p.contains(i) for i in ints)), None)
        if pool is None:
            raise _Refused(f"{_shown(ips)} is in no MetalLB pool")
        if not self.compatible(pool, svc):
            raise _Refused(f"{_shown(ips)} is in pool {pool.name}, whose serviceAllocation does "
                           "not admit this Service")
        for ip in ips:
            why = self.sharing_error(int(ip), c)
            if why is not None:
                raise _Refused(f"{ip} is already assigned {why}")
        return pool

    def claim(self, c: _Claim, ips: Iterable[IP]) -> tuple[str, ...]:
        for ip in ips:
            self.claims.setdefault(int(ip), []).append(c)
        return tuple(str(ip) for ip in ips)

    def free(self, pool: AddressPool, c: _Claim) -> IP | None:
        scan = self.scans[pool.name]
        head = scan.head(self.claims)
        if c.sharing:
            joinable = next((ip for ip in scan.passed if self.sharing_error(ip, c) is None), None)
            if joinable is not None:
                return ipaddress.IPv4Address(joinable)
        return None if head is None else ipaddress.IPv4Address(head)

    def revalidate(self, svc: Service, c: _Claim) -> Allocation:
        """Keep the status address when MetalLB would; _Refused says why it is cleared."""
        try:
            ips = [ipaddress.ip_address(t) for t in svc.status_lb_ips]
        except ValueError:
            raise _Refused("it is not an IP address") from None
        if any(ip.version != 4 for ip in ips):
            raise _Refused("it is not of the Service's family (IPv4)")
        if len(ips) > 1:
            raise _Refused("it holds more than one IPv4 address")
        pool = self.check(svc, c, ips)
        wanted_pool = _annotation(svc, POOL_ANNOTATIONS)
        if wanted_pool and pool.name != wanted_pool:
            raise _Refused(f"it is in pool {pool.name}, the annotation asks for {wanted_pool}")
        try:
            wanted = requested(svc)
        except _Refused as e:
            # convergeBalancer gives up after the address is assigned and before it is cleared
            self.claim(c, ips)
            return Allocation(svc.status_lb_ips,
                              f"status, pool {pool.name} (the request is refused: {e})")
        if wanted and sorted(wanted) != sorted(ips):
            raise _Refused(f"{_shown(wanted)} is requested")
        self.claim(c, ips)
        return Allocation(svc.status_lb_ips, f"status, pool {pool.name}")

    def allocate(self, svc: Service, c: _Claim) -> Allocation:
        wanted = requested(svc)
        wanted_pool = _annotation(svc, POOL_ANNOTATIONS)
        if wanted:
            if len(wanted) != 1 or wanted[0].version != 4:
                raise _Refused(f"requested {_shown(wanted)} does not match the Service's IP "
                               "family (IPv4)")
            try:
                pool = self.check(svc, c, wanted)
            except _Refused as e:
                raise _Refused(f"requested {e}") from None
            if wanted_pool and pool.name != wanted_pool:
                raise _Refused(f"requested {_shown(wanted)} is not in pool {wanted_pool}")
            return Allocation(self.claim(c, wanted), f"requested, pool {pool.name}")
        if wanted_pool:
            annotated = self.by_name.get(wanted_pool)
            if annotated is None:
                raise _Refused(f"annotated pool {wanted_pool} does not exist")
            candidates = [annotated]
        else:
            candidates = [*self.pinned(svc), *self.plain]
        for pool in candidates:
            ip = self.free(pool, c)
            if ip is None:
                continue
            if not self.compatible(pool, svc):
                raise _Refused(f"annotated pool {pool.name}'s serviceAllocation does not admit "
                               "this Service")
            return Allocation(self.claim(c, [ip]), f"pool {pool.name}")
        if wanted_pool:
            raise _Refused(f"annotated pool {wanted_pool} has no free address for it")
        raise _Refused("no MetalLB pool has a free address for it")

    def converge(self, svc: Service) -> Allocation:
        c = _claim_of(svc)
        cleared = ""
        if svc.status_lb_ips:
            try:
                return self.revalidate(svc, c)
            except _Refused as e:
                cleared = f"status {','.join(svc.status_lb_ips)} cleared: {e}"
        try:
            got = self.allocate(svc, c)
        except _Refused as e:
            return Allocation((), f"{e}{f' ({cleared})' if cleared else ''}: pending")
        return Allocation(got.ips, f"{got.origin} ({cleared})" if cleared else got.origin)


def allocate(services: Iterable[Service], pools: tuple[AddressPool, ...],
             namespaces: Mapping[str, Mapping[str, str]]) -> dict[str, Allocation]:
    """Service key -> its LoadBalancer addresses (``namespaces``: name -> labels). Without any
    pool in the input MetalLB is not what answers, so addresses in status are taken as given."""
    lbs = sorted((s for s in services if s.type == "LoadBalancer"), key=lambda s: s.key)
    if not pools:
        return {s.key: Allocation(s.status_lb_ips, "status") for s in lbs if s.status_lb_ips}
    state = _Allocator(pools, namespaces)
    order = sorted(lbs, key=lambda s: (not s.status_lb_ips,
                                       not (s.load_balancer_ip
                                            or _annotation(s, IPS_ANNOTATIONS))))
    return {s.key: state.converge(s) for s in order}
