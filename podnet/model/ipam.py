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
from collections.abc import Iterable, Iterator

from podnet.errors import PodnetError

NODE_MASK = 24


class AddressExhausted(PodnetError):
    exit_code = 2


def _net(cidr: str) -> ipaddress.IPv4Network:
    net = ipaddress.ip_network(cidr, strict=False)
    if not isinstance(net, ipaddress.IPv4Network):
        raise PodnetError(f"{cidr}: podnet allocates IPv4 only")
    return net


def node_cidrs(cluster_cidr: str, count: int, taken: Iterable[str]) -> Iterator[str]:
    net = _net(cluster_cidr)
    mask = max(NODE_MASK, net.prefixlen)
    used = {str(_net(c)) for c in taken}
    given = 0
    for sub in net.subnets(new_prefix=mask):
        if given == count:
            return
        if str(sub) in used:
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
