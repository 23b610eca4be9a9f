"""MTU budget: encapsulation overheads, the pod MTU each CNI configures, and path MTU.

Overheads are the outer headers each mode adds to a pod's IPv4 packet: VXLAN 50 (outer IPv4
20 + UDP 8 + VXLAN 8 + inner Ethernet 14), IPIP 20 (outer IPv4), WireGuard 60 (outer IPv4 20
+ UDP 8 + WireGuard 32); host-gw and BGP route natively (0). Flannel sets the pod MTU to the
underlay MTU minus its overhead; Calico uses ``veth_mtu`` when given. A pod MTU above what the
path carries means fragmentation, or dropped packets when DF is set (TCP path MTU discovery
black-holes if the ICMP "fragmentation needed" never comes back).
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet.model.netconfig import NetConfig

OVERHEAD = {"vxlan": 50, "ipip": 20, "wireguard": 60, "host-gw": 0, "bgp": 0}
ENCAPSULATION = {"vxlan": "vxlan", "ipip": "ipip", "wireguard": "wireguard", "host-gw": "none",
                 "bgp": "none"}


@dataclass(frozen=True, slots=True)
class MtuBudget:
    mode: str
    underlay_mtu: int
    overhead: int
    pod_mtu: int  # what the pods' eth0 gets
    pod_mtu_origin: str
    tunnel_mtu: int  # the largest inner packet the path between nodes carries
    problem: str | None  # a pod MTU the cross-node path cannot carry

    @property
    def cross_node_path_mtu(self) -> int:
        return min(self.pod_mtu, self.tunnel_mtu)


def budget(net: NetConfig, mode: str | None = None) -> MtuBudget:
    mode = mode or net.cni
    overhead = OVERHEAD[mode]
    tunnel = net.underlay_mtu - overhead
    if net.pod_mtu is not None:
        pod, origin = net.pod_mtu, net.origin.get("pod_mtu", "configured")
    else:
        pod, origin = tunnel, f"{net.cni_plugin} default: underlay {net.underlay_mtu} - {overhead}"
    problem = None
    if pod > tunnel:
        problem = (f"pod MTU {pod} exceeds the {tunnel} bytes a {mode} path carries (underlay "
                   f"{net.underlay_mtu} - {overhead} overhead): cross-node packets larger than "
                   f"{tunnel} are fragmented, or dropped when DF is set")
    return MtuBudget(mode, net.underlay_mtu, overhead, pod, origin, tunnel, problem)
