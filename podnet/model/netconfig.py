"""The cluster's network configuration, read from the objects that set it in real clusters.

Sources, in order of precedence (later wins within a field only when earlier said nothing):
kubeadm ``ClusterConfiguration`` (podSubnet, serviceSubnet, dnsDomain), ``KubeProxyConfiguration``
(mode, clusterCIDR; the one kube-proxy reads: ``kubeproxy.effective``), ``KubeletConfiguration``
(clusterDomain, clusterDNS), Flannel's
``kube-flannel-cfg`` ConfigMap (``net-conf.json``: Network, Backend.Type), Calico's
``calico-config`` ConfigMap (``veth_mtu``), the calico-node DaemonSet env
(``CALICO_IPV4POOL_CIDR``, ``CALICO_IPV4POOL_IPIP``, ``CALICO_IPV4POOL_VXLAN``) and Calico
``IPPool`` objects. ``CrossSubnet`` (Calico's ``ipipMode``/``vxlanMode`` and the env above) and
Flannel's ``Backend.DirectRouting`` keep the mode's tunnel but use it only towards nodes on
another subnet (``cross_subnet``; see ``dataplane/cni.py``). Anything still unset takes the
defaults below, and every field records where its value came from so ``podnet analyze`` can
say so.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from podnet.errors import InputError
from podnet.model.objects import Other

if TYPE_CHECKING:  # both import the parsers and PyYAML: what unpickles a NetConfig needs neither
    from podnet.model.parse import Workload

DEFAULT_CLUSTER_CIDR = "10.244.0.0/16"
DEFAULT_SERVICE_CIDR = "10.96.0.0/12"
DEFAULT_DOMAIN = "cluster.local"
DEFAULT_UNDERLAY_MTU = 1500
DEFAULT_NODE_CIDR = "10.0.0.0/24"


@dataclass(frozen=True, slots=True)
class NetConfig:
    cluster_cidr: str = DEFAULT_CLUSTER_CIDR
    service_cidr: str = DEFAULT_SERVICE_CIDR
    node_cidr: str = DEFAULT_NODE_CIDR
    dns_domain: str = DEFAULT_DOMAIN
    cni: str = "vxlan"
    proxy_mode: str = "iptables"
    underlay_mtu: int = DEFAULT_UNDERLAY_MTU
    pod_mtu: int | None = None  # None: what the CNI derives from the underlay
    cni_plugin: str = "flannel"
    dns_service_ip: str = ""
    cross_subnet: bool = False  # tunnel only to nodes outside this node's subnet
    origin: Mapping[str, str] = field(default_factory=dict)

    def with_overrides(self, **values: Any) -> NetConfig:
        given = {k: v for k, v in values.items() if v is not None}
        origin = dict(self.origin)
        origin.update({k: "command line" for k in given})
        return replace(self, origin=origin, **given)


def underlay_of(addresses: list[str], prefix: int) -> str | None:
    """The smallest network of at least ``prefix`` bits' width that holds every node address
    (the Nodes' InternalIPs, when the input gives them): None when there are none."""
    ips = [ipaddress.ip_address(a) for a in addresses if a]
    if not ips or any(ip.version != 4 for ip in ips):
        return None
    for bits in range(prefix, -1, -1):
        net = ipaddress.ip_network(f"{ips[0]}/{bits}", strict=False)
        if all(ip in net for ip in ips):
            return str(net)
    return None


def _get(body: Mapping[str, Any], *path: str) -> Any:
    cur: Any = body
    for key in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def read(others: Iterable[Other], workloads: Iterable[Workload]) -> NetConfig:
    """Derive the network configuration from config objects in the input."""
    from podnet.model import kubeproxy

    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    others = list(others)
    proxy = kubeproxy.effective(others)

    def put(key: str, value: Any, where: str) -> None:
        if value in (None, "") or key in values:
            return
        values[key] = value
        origin[key] = where

    def put_mode(cni: str, setting: str, where: str) -> None:
        # the tunnel's scope belongs to the object that chose the tunnel
        if "cni" not in values:
            put("cni", cni, where)
            if setting == "CrossSubnet":
                put("cross_subnet", True, where)

    for o in others:
        where = o.source.object()
        b = o.body
        if o.kind == "ClusterConfiguration":
            put("cluster_cidr", _get(b, "networking", "podSubnet"), where)
            put("service_cidr", _get(b, "networking", "serviceSubnet"), where)
            put("dns_domain", _get(b, "networking", "dnsDomain"), where)
        elif o.kind == kubeproxy.KIND:
            mode = kubeproxy.mode(o)  # every one is checked; kube-proxy reads one of them
            if o is proxy:
                put("proxy_mode", mode, where)
                put("cluster_cidr", _get(b, "clusterCIDR"), where)
        elif o.kind == "KubeletConfiguration":
            put("dns_domain", _get(b, "clusterDomain"), where)
            dns = _get(b, "clusterDNS")
            if isinstance(dns, list | tuple) and dns:
                put("dns_service_ip", str(dns[0]), where)
        elif o.kind == "ConfigMap" and "net-conf.json" in (_get(b, "data") or {}):
            raw = _get(b, "data", "net-conf.json")
            try:
                conf = json.loads(raw)
            except (TypeError, json.JSONDecodeError) as e:
                raise InputError(o.source, "data.net-conf.json", f"invalid JSON: {e}") from None
            put("cni_plugin", "flannel", where)
            put("cluster_cidr", conf.get("Network"), where)
            backend = str(_get(conf, "Backend", "Type") or "vxlan").lower()
            cni = {"host-gw": "host-gw", "wireguard": "wireguard"}.get(backend, "vxlan")
            # DirectRouting (vxlan only): flanneld routes natively to hosts on its own subnet
            direct = cni == "vxlan" and _get(conf, "Backend", "DirectRouting") is True
            put_mode(cni, "CrossSubnet" if direct else "Always", where)
            mtu = _get(conf, "MTU")
            if mtu:
                put("pod_mtu", int(mtu), where)
        elif o.kind == "ConfigMap" and o.name == "calico-config":
            put("cni_plugin", "calico", where)
            mtu = _get(b, "data", "veth_mtu")
            if mtu not in (None, ""):
                try:
                    put("pod_mtu", int(str(mtu).strip()), where)
                except ValueError:
                    raise InputError(o.source, "data.veth_mtu",
                                     f"{mtu!r} is not a number") from None
        elif o.kind == "IPPool":
            put("cni_plugin", "calico", where)
            put("cluster_cidr", _get(b, "spec", "cidr"), where)
            ipip, vxlan = _get(b, "spec", "ipipMode"), _get(b, "spec", "vxlanMode")
            if ipip in ("Always", "CrossSubnet"):
                put_mode("ipip", ipip, where)
            elif vxlan in ("Always", "CrossSubnet"):
                put_mode("vxlan", vxlan, where)
    for w in workloads:
        if w.kind != "DaemonSet" or not any(k.startswith("CALICO_") for k in w.env):
            continue
        where = w.source.object()
        put("cni_plugin", "calico", where)
        put("cluster_cidr", w.env.get("CALICO_IPV4POOL_CIDR"), where)
        ipip = w.env.get("CALICO_IPV4POOL_IPIP", "")
        vxlan = w.env.get("CALICO_IPV4POOL_VXLAN", "")
        if ipip in ("Always", "CrossSubnet"):
            put_mode("ipip", ipip, where)
        elif vxlan in ("Always", "CrossSubnet"):
            put_mode("vxlan", vxlan, where)
        else:
            put_mode("bgp", "Never", where)
    if values.get("cni_plugin") == "calico" and "cni" not in values:
        values["cni"] = "ipip"  # calico's manifest default pool is IPIP Always
        origin["cni"] = "Calico default (IPIP)"
    return NetConfig(origin=origin, **values)
