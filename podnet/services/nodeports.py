"""Which of a node's addresses accept NodePort traffic: kube-proxy's ``nodePortAddresses``
(``pkg/proxy/util/nodeport_addresses.go``), read for the IPv4 proxier podnet models.

Each proxier keeps the CIDRs of its own family; none left, or a zero CIDR, means every local
address. ``primary`` means the node's own IP, and is what nftables mode uses when the list is
empty (``cmd/kube-proxy/app/server.go``). The node's interfaces are not in a manifest: its
InternalIP and ExternalIP addresses stand for them."""

from __future__ import annotations

import ipaddress

from podnet.model.objects import Node


def node_port_ips(node: Node, configured: tuple[str, ...], mode: str) -> tuple[str, ...] | None:
    """The addresses, in the node's order; None for every local address."""
    own = node.internal_ip or ""
    if configured == ("primary",) or (not configured and mode == "nftables"):
        return (own,) if own else ()
    cidrs = [ipaddress.ip_network(c, strict=False) for c in configured if ":" not in c]
    if not cidrs or any(c.prefixlen == 0 for c in cidrs):
        return None
    candidates = node.addresses or ((own,) if own else ())
    return tuple(a for a in candidates if any(ipaddress.ip_address(a) in c for c in cidrs))
