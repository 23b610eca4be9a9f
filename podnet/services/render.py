"""One entry point for the three proxy modes: the ruleset kube-proxy on a node would load."""

from __future__ import annotations

from podnet.errors import UsageError
from podnet.model import kubeproxy
from podnet.model.cluster import Cluster
from podnet.model.vocabulary import PROXY_MODES
from podnet.services.iptables import CURRENT_NODE_FEATURES, IptablesOptions, render_iptables
from podnet.services.ipvs import IpvsOptions, render_ipvs
from podnet.services.nftables import NftablesOptions, render_nftables
from podnet.services.nodeports import node_port_ips
from podnet.services.resolve import ServicePlan, resolve


def render_for_node(mode: str, cluster: Cluster, node: str,
                    plans: tuple[ServicePlan, ...] | None = None,
                    iptables_features: frozenset[str] = CURRENT_NODE_FEATURES) -> str:
    """The text of ``mode``'s ruleset for ``node`` (IPVS: its four parts, one after another);
    ``iptables_features`` are the node's capabilities that change iptables mode's text."""
    n = cluster.node(node)
    if n is None:
        raise UsageError(f"no such node {node!r} ({', '.join(x.name for x in cluster.nodes)})")
    plans = resolve(cluster) if plans is None else plans
    node_ip, net = n.internal_ip or "", cluster.net
    proxy = kubeproxy.effective(cluster.configs)
    settings = kubeproxy.settings(proxy) if proxy is not None else None
    configured = settings.node_port_addresses if settings else ()
    if mode == "iptables":
        if settings and settings.tcp_be_liberal:
            iptables_features |= {"tcp-be-liberal"}  # kube-proxy sets the sysctl at start-up
        return render_iptables(plans, IptablesOptions(
            node, net.cluster_cidr, node_ip, iptables_features,
            node_port_ips(n, configured, mode)))
    if mode == "nftables":
        # every local address (a zero CIDR) is written as the node's addresses, not as
        # kube-proxy's `fib daddr type local`: the same packets, another text
        ips = node_port_ips(n, configured, mode)
        return render_nftables(plans, NftablesOptions(
            node, node_ip, net.cluster_cidr, net.service_cidr,
            ips if ips is not None else (n.addresses or (node_ip,))))
    if mode == "ipvs":
        # every local address: the node's own addresses stand for them, as in nftables mode
        ips = node_port_ips(n, configured, mode)
        return render_ipvs(plans, IpvsOptions(
            node, node_ip, net.cluster_cidr,
            node_port_ips=ips if ips is not None else (n.addresses or (node_ip,)))).text()
    raise UsageError(f"proxy mode {mode!r}: choose one of {', '.join(PROXY_MODES)}")
