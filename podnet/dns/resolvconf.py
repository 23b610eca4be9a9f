"""The resolv.conf kubelet writes for a pod (``pkg/kubelet/network/dns/dns.go``).

``ClusterFirst``: the cluster DNS Service IP, search ``<ns>.svc.<zone> svc.<zone> <zone>`` then
the node's search list, ``options ndots:5``; a hostNetwork pod with ``ClusterFirst`` gets the
node's file instead (``ClusterFirstWithHostNet`` keeps the cluster DNS). ``Default``: the node's
resolv.conf. ``None``: only ``dnsConfig``. ``dnsConfig`` is merged in: nameservers and searches
appended without duplicates, options merged by name with the pod's value winning. Limits:
3 nameservers, 32 search domains of at most 253 characters, 2048 characters of search line;
kubelet trims and warns (a ``DNSConfigForming`` event), and so does podnet.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from podnet.dns.libcconf import read
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
MAX_DOMAIN = 253


@dataclass(frozen=True, slots=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    searches: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...]
    warnings: tuple[str, ...] = ()

    @property
    def ndots(self) -> int:
        """ndots as glibc reads this file (capped at 15; musl can differ on a malformed value:
        ``podnet.dns.libcconf``)."""
        return read(self.text(), "glibc").ndots

    def text(self) -> str:
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {n}" for n in self.nameservers]
        if self.options:
            lines.append("options " + " ".join(n if v is None else f"{n}:{v}" for n, v in self.options))
        return "".join(f"{line}\n" for line in lines)


@dataclass(frozen=True, slots=True)
class NodeResolv:
    """The node's own resolv.conf (kubelet --resolv-conf): in the lab, the upstream resolver
    in the ``external`` namespace."""

    nameservers: tuple[str, ...]
    searches: tuple[str, ...] = ()


def dns_service_ip(cluster: Cluster) -> str:
    for s in cluster.services:
        if s.namespace == "kube-system" and s.name == "kube-dns" and s.cluster_ip not in ("", "None"):
            return s.cluster_ip
    if cluster.net.dns_service_ip:
        return cluster.net.dns_service_ip
    net = ipaddress.ip_network(cluster.net.service_cidr, strict=False)
    return str(net.network_address + 10)


def node_resolv(cluster: Cluster) -> NodeResolv:
    underlay = ipaddress.ip_network(cluster.net.node_cidr, strict=False)
    return NodeResolv((str(underlay.broadcast_address - 1),))  # the lab's external namespace


def _dedup(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def resolv_conf(cluster: Cluster, pod: Pod, node: NodeResolv | None = None, *,
                cluster_dns: str | None = None) -> ResolvConf:
    """``cluster_dns``: the DNS Service IP when the caller knows it (asking for thousands of
    pods, the lookup among the Services is worth doing once)."""
    node = node or node_resolv(cluster)
    domain = cluster.net.dns_domain.strip(".")
    policy = pod.dns_policy
    if policy == "ClusterFirst" and pod.host_network:
        policy = "Default"
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet"):
        servers = [cluster_dns or dns_service_ip(cluster)]
        searches = [f"{pod.namespace}.svc.{domain}", f"svc.{domain}", domain, *node.searches]
        options: dict[str, str | None] = {"ndots": "5"}
    elif policy == "Default":
        servers, searches, options = list(node.nameservers), list(node.searches), {}
    else:  # None
        servers, searches, options = [], [], {}
    if pod.dns_config is not None:
        servers += pod.dns_config.nameservers
        searches += pod.dns_config.searches
        for name, value in pod.dns_config.options:
            options[name] = value
    servers, searches = _dedup(servers), _dedup(searches)
    warnings = []
    if len(servers) > MAX_NAMESERVERS:
        warnings.append(f"{len(servers)} nameservers: kubelet keeps the first {MAX_NAMESERVERS} "
                        f"({', '.join(servers[MAX_NAMESERVERS:])} dropped)")
        servers = servers[:MAX_NAMESERVERS]
    long = [s for s in searches if len(s) > MAX_DOMAIN]
    if long:
        warnings.append(f"search domains longer than {MAX_DOMAIN} characters dropped: {', '.join(long)}")
        searches = [s for s in searches if len(s) <= MAX_DOMAIN]
    if len(searches) > MAX_SEARCHES:
        warnings.append(f"{len(searches)} search domains: kubelet keeps the first {MAX_SEARCHES}")
        searches = searches[:MAX_SEARCHES]
    while searches and len(" ".join(searches)) > MAX_SEARCH_CHARS:
        dropped = searches.pop()
        warnings.append(f"search line over {MAX_SEARCH_CHARS} characters: {dropped} dropped")
    if policy == "None" and not servers:
        warnings.append("dnsPolicy None without dnsConfig.nameservers: the pod has no resolver "
                        "(the API server rejects this)")
    return ResolvConf(tuple(servers), tuple(searches), tuple(options.items()), tuple(warnings))
