"""Deterministic address allocation: node IPs and podCIDRs, pod IPs, Service ClusterIPs.

Addresses given in the input (``status.podIP``, ``spec.podCIDR``, ``spec.clusterIP``, node
InternalIP) are kept; the rest are handed out in sorted-name order, skipping taken ones:
node i gets the i-th /24 (kube-controller-manager's default ``--node-cidr-mask-size``) of the
cluster CIDR and the (i+1)-th address of the underlay; pods on a node start at ``.2`` (``.1``
is the node's bridge/gateway, as Flannel's ``cni0``); ``default/kubernetes`` gets the first
service address and ``kube-system/kube-dns`` the tenth, as kubeadm does.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

from podnet.errors import PodnetError

NODE_MASK = 24
T = TypeVar("T")


class AddressExhausted(PodnetError):
    exit_code = 2


def _net(cidr: str) -> ipaddress.IPv4Network:
    net = ipaddress.ip_network(cidr, strict=False)
    if not isinstance(net, ipaddress.IPv4Network):
        raise PodnetError(f"{cidr}: podnet allocates IPv4 only")
    return net


def ipv4_int(ip: str) -> int:
    """``int(IPv4Address(ip))``, without its per-octet parsing for the canonical dotted form
    (IPAM's output); anything else goes to ``ipaddress``, which validates it."""
    parts = ip.split(".")
    if len(parts) == 4:
        try:
            a, b, c, d = (int(x) for x in parts)
        except ValueError:
            pass
        else:
            if 0 <= a <= 255 and 0 <= b <= 255 and 0 <= c <= 255 and 0 <= d <= 255 \
                    and f"{a}.{b}.{c}.{d}" == ip:
                return (a << 24) | (b << 16) | (c << 8) | d
    return int(ipaddress.IPv4Address(ip))


def address(ip: str) -> tuple[int, int]:
    """(IP version, address as an integer): IPv4 on the fast path, IPv6 through ``ipaddress``."""
    if ":" in ip:
        return 6, int(ipaddress.IPv6Address(ip))
    return 4, ipv4_int(ip)


def span(cidr: str) -> tuple[int, int, int]:
    """(IP version, first address, last address) of a CIDR, as integers."""
    net = ipaddress.ip_network(cidr, strict=False)
    return net.version, int(net.network_address), int(net.broadcast_address)


class RangeIndex(Generic[T]):
    """Which of a set of non-overlapping address ranges holds an address: a bisection over
    the ranges sorted by start, so 150,000 pods over 1,400 node ranges stay linear."""

    def __init__(self, ranges: Iterable[tuple[tuple[int, int, int], T]]) -> None:
        ordered = sorted(ranges, key=lambda r: r[0][:2])
        self._starts = [r[0][:2] for r in ordered]
        self._ranges = ordered

    def find(self, version: int, value: int) -> T | None:
        i = bisect_right(self._starts, (version, value)) - 1
        if i < 0:
            return None
        (v, _, last), owner = self._ranges[i]
        return owner if v == version and value <= last else None

    def overlapping(self, first: int, last: int, version: int = 4) -> T | None:
        """An owner whose range shares an address with [first, last], if any."""
        i = bisect_right(self._starts, (version, last)) - 1
        if i < 0:
            return None
        (v, _, end), owner = self._ranges[i]
        # ranges do not overlap each other, so the last one starting at or before ``last``
        # is the only candidate
        return owner if v == version and end >= first else None


def node_cidrs(cluster_cidr: str, count: int, taken: Iterable[str]) -> Iterator[str]:
    net = _net(cluster_cidr)
    mask = max(NODE_MASK, net.prefixlen)
    # A given podCIDR of another size (a /16 on one node, say) must not be handed out again
    # in /24 pieces: skip every subnet that shares an address with one, not only equal ones.
    used = RangeIndex((span(c), c) for c in taken)
    given = 0
    for sub in net.subnets(new_prefix=mask):
        if given == count:
            return
        if used.overlapping(int(sub.network_address), int(sub.broadcast_address)) is not None:
            continue
        given += 1
        yield str(sub)
    if given < count:
        raise AddressExhausted(f"cluster CIDR {cluster_cidr} has room for fewer than {count} "
                               f"node /{mask} ranges; give a larger --cluster-cidr")


class Pool:
    """Sequential allocator over one CIDR, skipping reserved and taken addresses."""

    def __init__(self, cidr: str, first_offset: int, what: str) -> None:
        net = _net(cidr)
        self.cidr = cidr
        self.what = what
        self.base = int(net.network_address)
        self.last = int(net.broadcast_address) - 1
        self.next = self.base + first_offset
        self.taken: set[int] = set()

    def reserve(self, ip: str) -> None:
        self.taken.add(int(ipaddress.IPv4Address(ip)))

    def offset(self, n: int) -> str:
        return str(ipaddress.IPv4Address(self.base + n))

    def allocate(self) -> str:
        while self.next in self.taken:
            self.next += 1
        if self.next > self.last:
            raise AddressExhausted(f"no free address left in {self.cidr} for {self.what}")
        ip = self.next
        self.taken.add(ip)
        self.next += 1
        return f"{ip >> 24}.{(ip >> 16) & 255}.{(ip >> 8) & 255}.{ip & 255}"
