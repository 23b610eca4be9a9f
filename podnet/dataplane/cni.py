"""Desired data-plane state per node, for each CNI mode. Pure: the lab applies it as is.

Every mode wires pods the same way (Calico's routed veths: the pod's /32 behind a ``cali…``
veth, a route to it on the node, the pod's default route to the link-local 169.254.1.1 the
node answers for), so policy enforcement is uniform; modes differ in how a node reaches the
*other* nodes' pod CIDRs:

- ``vxlan`` (Flannel): device ``flannel.1`` (VNI 1, UDP 8472, no learning, MTU underlay-50)
  holding ``<podCIDR>.0/32``; per remote node an onlink route to its pod CIDR via its ``.0``,
  a permanent neighbour entry binding that ``.0`` to its VTEP MAC, and an FDB entry sending
  that MAC to its node IP — exactly what flanneld programs from the node annotations.
- ``host-gw`` (Flannel): a route per remote pod CIDR via the remote node IP; the nodes must
  share one L2 segment, since the next hop must be directly reachable.
- ``bgp`` (Calico, no encapsulation): the same routes, but *learned* from a full node-to-node
  BGP mesh (AS 64512) by BIRD (``proto bird``), plus a blackhole for the node's own block.
- ``ipip`` (Calico): ``tunl0`` and onlink routes via the remote node IPs, MTU underlay-20.
- ``wireguard``: ``wireguard.cali`` carrying all pod CIDRs, MTU underlay-60 (model only).

CrossSubnet (Calico's ``ipipMode``/``vxlanMode: CrossSubnet``, Flannel's VXLAN
``DirectRouting``): the tunnel is kept, but a remote node inside this node's own subnet is
reached natively (a route via its IP on ``eth0``, no neighbour/FDB entry), as calico's BIRD
template and flanneld program it. A node's subnet is its ``projectcalico.org/IPv4Address``
annotation's; without one it is assumed to be its IP's /24 (``SEGMENT_PREFIX``): a Node's
InternalIP has no prefix. host-gw needs every peer on each node's own subnet, as the kernel
accepts a route's gateway only on a segment the node is on.

VTEP MACs are derived from node names (locally administered, stable across runs).
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from podnet.dataplane.mtu import budget
from podnet.errors import InputError, SourceRef
from podnet.model.cluster import Cluster
from podnet.model.objects import Node

VXLAN_DEVICE = "flannel.1"
VXLAN_VNI = 1
VXLAN_PORT = 8472
IPIP_DEVICE = "tunl0"
WIREGUARD_DEVICE = "wireguard.cali"
BGP_AS = 64512
POD_GATEWAY = "169.254.1.1"


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    kind: str  # vxlan | ipip | wireguard
    mtu: int
    address: str  # cidr, or ""
    mac: str = ""
    vni: int = 0
    port: int = 0
    local: str = ""

    def __str__(self) -> str:
        extra = ""
        if self.kind == "vxlan":
            extra = (f" id {self.vni} local {self.local} dev eth0 dstport {self.port} nolearning "
                     f"address {self.mac}")
        elif self.kind == "ipip":
            extra = f" local {self.local}"
        addr = f"; addr {self.address}" if self.address else ""
        return f"link {self.name} type {self.kind}{extra} mtu {self.mtu}{addr}"


@dataclass(frozen=True, slots=True)
class Route:
    dst: str
    dev: str
    via: str = ""
    onlink: bool = False
    proto: str = "static"  # "bird" when BGP installs it
    blackhole: bool = False

    def __str__(self) -> str:
        if self.blackhole:
            return f"route blackhole {self.dst} proto {self.proto}"
        via = f" via {self.via}" if self.via else ""
        onlink = " onlink" if self.onlink else ""
        return f"route {self.dst}{via} dev {self.dev}{onlink} proto {self.proto}"


@dataclass(frozen=True, slots=True)
class Neighbour:
    ip: str
    mac: str
    dev: str

    def __str__(self) -> str:
        return f"neigh {self.ip} lladdr {self.mac} dev {self.dev} permanent"


@dataclass(frozen=True, slots=True)
class Fdb:
    mac: str
    dst: str
    dev: str

    def __str__(self) -> str:
        return f"fdb {self.mac} dst {self.dst} dev {self.dev} self permanent"


@dataclass(frozen=True, slots=True)
class NodeState:
    node: str
    ip: str
    pod_cidr: str
    mode: str
    underlay_prefix: int
    devices: tuple[Device, ...]
    routes: tuple[Route, ...]
    neighbours: tuple[Neighbour, ...]
    fdb: tuple[Fdb, ...]
    sysctls: tuple[tuple[str, str], ...]
    bgp_peers: tuple[str, ...]
    pod_mtu: int
    cross_subnet: bool = False

    def tunnels_to(self, pod_cidr: str) -> bool:
        """Whether this node reaches ``pod_cidr`` through its tunnel device (not ``eth0``)."""
        return any(r.dst == pod_cidr and r.dev not in ("eth0", "") for r in self.routes)


def vtep_mac(node: str) -> str:
    digest = hashlib.sha256(f"vtep/{node}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x0E, *digest[:5]))


def _gateway_of(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False).network_address)


# A node's own segment when nothing says otherwise (Calico's IPv4Address annotation does): a
# /24, the common one. Not the underlay's width: podnet widens that to hold every node's
# address, which says nothing about which of them share a segment.
SEGMENT_PREFIX = 24


def node_subnet(node: Node) -> ipaddress.IPv4Network:
    """The subnet ``node`` sits on (see the module docstring for the assumption)."""
    if node.subnet:
        return ipaddress.IPv4Network(node.subnet)
    return ipaddress.IPv4Network(f"{node.internal_ip or '0.0.0.0'}/{SEGMENT_PREFIX}", strict=False)


def _direct(node: Node, peer: Node, cluster: Cluster) -> bool:
    """CrossSubnet: the peer is on this node's subnet, so no tunnel is needed to reach it."""
    return (cluster.net.cross_subnet and
            ipaddress.ip_address(peer.internal_ip or "0.0.0.0") in node_subnet(node))


def _check_l2(cluster: Cluster, mode: str) -> int:
    """host-gw routes each peer's pod CIDR via the peer's address, which the kernel accepts only
    on a segment the node is on (flanneld's route add fails with "network is unreachable"
    otherwise, and those pods never reach each other): every peer must be on the node's own
    subnet (its Calico annotation, else its address's /24)."""
    prefix = ipaddress.ip_network(cluster.net.node_cidr, strict=False).prefixlen
    if mode != "host-gw":
        return prefix
    # A subnet is one range of addresses, so a node's peers all lie in it exactly when the
    # lowest and highest of them do: one sort instead of a check of every pair, which a trace
    # (a few nodes' state) would pay on every run of a 1,000-node cluster. A node that fails,
    # or any address that is not IPv4, is scanned peer by peer, for the same first offender
    # as the pairwise order.
    addrs = [ipaddress.ip_address(n.internal_ip or "0.0.0.0") for n in cluster.nodes]
    ips = (sorted((int(a), i) for i, a in enumerate(addrs))
           if all(a.version == 4 for a in addrs) else None)
    for i, n in enumerate(cluster.nodes):
        own = node_subnet(n)
        if ips is not None:
            lo = next((ip for ip, j in ips if j != i), None)
            hi = next((ip for ip, j in reversed(ips) if j != i), None)
            if lo is None or hi is None or (int(own.network_address) <= lo and
                                             hi <= int(own.broadcast_address)):
                continue
        for o in cluster.nodes:
            if o.name != n.name and ipaddress.ip_address(o.internal_ip or "0.0.0.0") not in own:
                raise InputError(o.source, "status.addresses",
                                 f"host-gw needs every node on one L2 segment: node {o.name} "
                                 f"({o.internal_ip}) is not on node {n.name}'s subnet {own}, so "
                                 f"flanneld on {n.name} cannot route {o.pod_cidr} via it "
                                 "(use vxlan or bgp)")
    return prefix


def _node_state(cluster: Cluster, node: Node, mode: str, prefix: int) -> NodeState:
    b = budget(cluster.net, mode)
    ip = node.internal_ip or ""
    cidr = node.pod_cidr or ""
    others = [n for n in cluster.nodes if n.name != node.name]
    devices: list[Device] = []
    routes: list[Route] = []
    neigh: list[Neighbour] = []
    fdb: list[Fdb] = []
    peers: tuple[str, ...] = ()
    if mode == "vxlan":
        devices.append(Device(VXLAN_DEVICE, "vxlan", b.tunnel_mtu, f"{_gateway_of(cidr)}/32",
                              vtep_mac(node.name), VXLAN_VNI, VXLAN_PORT, ip))
        for o in others:
            if _direct(node, o, cluster):  # DirectRouting: flanneld's host-gw route
                routes.append(Route(o.pod_cidr or "", "eth0", o.internal_ip or ""))
                continue
            gw = _gateway_of(o.pod_cidr or "")
            routes.append(Route(o.pod_cidr or "", VXLAN_DEVICE, gw, onlink=True))
            neigh.append(Neighbour(gw, vtep_mac(o.name), VXLAN_DEVICE))
            fdb.append(Fdb(vtep_mac(o.name), o.internal_ip or "", VXLAN_DEVICE))
    elif mode == "host-gw":
        routes += [Route(o.pod_cidr or "", "eth0", o.internal_ip or "") for o in others]
    elif mode == "bgp":
        routes.append(Route(cidr, "", proto="bird", blackhole=True))
        routes += [Route(o.pod_cidr or "", "eth0", o.internal_ip or "", proto="bird") for o in others]
        peers = tuple(o.internal_ip or "" for o in others)
    elif mode == "ipip":
        devices.append(Device(IPIP_DEVICE, "ipip", b.tunnel_mtu, f"{_gateway_of(cidr)}/32", local=ip))
        routes.append(Route(cidr, "", proto="bird", blackhole=True))
        # CrossSubnet: BIRD leaves the tunnel off the routes to peers on this node's subnet
        routes += [Route(o.pod_cidr or "", "eth0", o.internal_ip or "", proto="bird")
                   if _direct(node, o, cluster) else
                   Route(o.pod_cidr or "", IPIP_DEVICE, o.internal_ip or "", onlink=True, proto="bird")
                   for o in others]
        peers = tuple(o.internal_ip or "" for o in others)
    elif mode == "wireguard":
        devices.append(Device(WIREGUARD_DEVICE, "wireguard", b.tunnel_mtu, ""))
        routes += [Route(o.pod_cidr or "", WIREGUARD_DEVICE) for o in others]
    else:
        raise InputError(SourceRef(file="<command line>"), "--cni", f"unknown CNI mode {mode!r}")
    cross = cluster.net.cross_subnet and mode in ("vxlan", "ipip")
    if cross:
        prefix = node_subnet(node).prefixlen
    return NodeState(node.name, ip, cidr, mode, prefix, tuple(devices), tuple(routes),
                     tuple(neigh), tuple(fdb), (("net.ipv4.ip_forward", "1"),), peers, b.pod_mtu,
                     cross)


def desired_state(cluster: Cluster, mode: str | None = None) -> tuple[NodeState, ...]:
    """Per node, what the CNI programs (sorted by node name)."""
    mode = mode or cluster.net.cni
    prefix = _check_l2(cluster, mode)
    return tuple(_node_state(cluster, n, mode, prefix) for n in cluster.nodes)


def node_states(cluster: Cluster, nodes: Iterable[str], mode: str | None = None
                ) -> dict[str, NodeState]:
    """What the CNI programs on the named nodes only, as ``desired_state`` gives it for them:
    one flow reads two or three nodes' state, and every node's routes to every other node grow
    with the square of the cluster (1,364 nodes: 1.9 million routes). Checked like
    ``desired_state``: a cluster it refuses is refused here too."""
    mode = mode or cluster.net.cni
    prefix = _check_l2(cluster, mode)
    wanted = set(nodes)
    return {n.name: _node_state(cluster, n, mode, prefix) for n in cluster.nodes
            if n.name in wanted}


def render(states: tuple[NodeState, ...]) -> str:
    """ip-command-like text, one block per node (golden-tested)."""
    out = []
    for s in states:
        scope = ", CrossSubnet" if s.cross_subnet else ""
        out.append(f"# node {s.node} ({s.mode}{scope}): eth0 {s.ip}/{s.underlay_prefix}, pods "
                   f"{s.pod_cidr}, pod MTU {s.pod_mtu}")
        out += [f"sysctl {k}={v}" for k, v in s.sysctls]
        out += [str(d) for d in s.devices]
        out += [str(r) for r in s.routes]
        out += [str(n) for n in s.neighbours]
        out += [str(f) for f in s.fdb]
        out += [f"bgp peer {p} as {BGP_AS} (node-to-node mesh)" for p in s.bgp_peers]
        out.append("")
    return "\n".join(out)
