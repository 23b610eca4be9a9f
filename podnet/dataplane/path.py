"""The hop-by-hop path of one flow through the modelled data plane, with MTU on each hop.

Built from the same desired state the lab applies (``cni.desired_state``, here only for the
nodes the flow crosses: ``cni.node_states``) and the same policy
verdicts the analyzer gives (``verdict.Evaluator``): pod eth0 → veth to its node → the node's
egress policy → same node: the destination's veth; other node: the mode's tunnel device and
encapsulation (or a plain routed hop), the underlay, the remote node → the destination's
ingress policy → the destination pod. Service targets (DNAT by kube-proxy) plug in through
``dnat``: callers resolve the Service to an endpoint first and pass it here. Clients outside
the cluster come in over the underlay to the node that translates their address.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from podnet import names
from podnet.dataplane.cni import VXLAN_PORT, VXLAN_VNI, NodeState, node_states
from podnet.dataplane.mtu import ENCAPSULATION, MtuBudget, budget
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.compile import Compiled
from podnet.policy.matcher import ANP
from podnet.policy.verdict import DirectionResult, Evaluator


@dataclass(frozen=True)
class Hop:
    at: str  # where: pod, node or underlay
    device: str
    mtu: int | None  # None where the hop is a decision, not a link
    action: str

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at, "device": self.device, "mtu": self.mtu, "action": self.action}


@dataclass(frozen=True)
class Path:
    src: str
    dst: str
    port: str
    hops: tuple[Hop, ...]
    path_mtu: int
    encapsulation: str
    verdict: str  # delivered | dropped | rejected
    dropped_by: str | None
    notes: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.src, "to": self.dst, "port": self.port,
                "hops": [h.as_dict() for h in self.hops], "path_mtu": self.path_mtu,
                "encapsulation": self.encapsulation, "verdict": self.verdict,
                "dropped_by": self.dropped_by, "notes": list(self.notes)}


def _policy_hop(node: str, side: DirectionResult, subject: str, number: int, proto: str) -> Hop:
    ok = side.allowed.allows(proto, number)
    # An admin rule decides before the NetworkPolicies (ANP), or after them where none
    # selects the pod (BANP); a Pass decides nothing.
    admin = next((h for h in side.tiers if h.action != "Pass" and h.ports.allows(proto, number)), None)
    if admin is not None and (admin.tier == ANP or not side.isolated):
        action = f"{side.direction} of {subject}: {'allowed' if ok else 'DROPPED'} by {admin}"
    elif not side.isolated:
        action = f"{side.direction} of {subject}: no policy selects it, allowed"
    elif ok:
        who = [str(m.origin) for t in side.selecting for m in t.matches
               if m.allowed.allows(proto, number)]
        action = f"{side.direction} of {subject}: allowed by {', '.join(who)}"
    else:
        pols = ", ".join(t.policy for t in side.selecting)
        action = f"{side.direction} of {subject}: DROPPED, isolated by {pols} and no rule allows it"
    return Hop(f"node {node}", "nft forward", None, action)


def trace(cluster: Cluster, compiled: Compiled, src: Pod, dst: Pod | str, number: int,
          proto: str, mode: str | None = None, dnat: str | None = None,
          original: str | None = None, ingress_from: str | None = None) -> Path:
    """Trace src → dst. ``dnat`` describes a Service translation already resolved by the
    caller (kube-proxy's rules on the source node); ``dst``/``number`` are then the endpoint.
    ``ingress_from``: the address the destination's ingress policy sees instead of the source
    (the node's, when kube-proxy masqueraded the packet on its way to another node)."""
    mode = mode or cluster.net.cni
    # a node's own address as the target: the packet ends on that node
    to_name = next((n.name for n in cluster.nodes
                    if isinstance(dst, str) and (n.internal_ip or "") == dst), None)
    involved = [src.node, *([dst.node] if isinstance(dst, Pod) else []),
                *([to_name] if to_name is not None else [])]
    states = node_states(cluster, involved, mode)
    b = budget(cluster.net, mode)
    ev = Evaluator(cluster, compiled)
    verdict = ev.verdict(src, dst)
    if ingress_from is not None:
        ingress = ev.verdict(ingress_from, dst).ingress
        verdict = replace(verdict, ingress=ingress,
                          allowed=verdict.egress.allowed & ingress.allowed)
    port = f"{number}/{proto}"
    dst_name = dst.key if isinstance(dst, Pod) else dst
    a: NodeState = states[src.node]
    shown = original or f"{dst.ip if isinstance(dst, Pod) else dst} {port}"
    hops = [Hop(f"pod {src.key}", "eth0", b.pod_mtu,
                f"{src.ip} -> {shown}, default route via 169.254.1.1"),
            Hop(f"node {a.node}", names.pod_veth(src.namespace, src.name), b.pod_mtu,
                "veth from the pod; the node routes it")]
    if dnat:
        hops.append(Hop(f"node {a.node}", "nat PREROUTING", None, dnat))
    notes: list[str] = []
    if b.problem:
        notes.append(b.problem)
    if ingress_from is not None:
        notes.append(f"masqueraded to {ingress_from} after the source node's forward hook: "
                     f"{dst_name}'s ingress policy sees {ingress_from}, not {src.ip}")
    encapsulation = "none"
    path_mtu = b.pod_mtu
    to_node = states[to_name] if to_name is not None else None
    if to_node is not None and to_node.node == src.node:
        hops.append(Hop(f"node {a.node}", "local", None, "delivered to the node itself: it never "
                        "crosses forward, and traffic to a pod's own node is always allowed"))
        return Path(src.key, dst_name, port, tuple(hops), path_mtu, encapsulation, "delivered",
                    None, tuple(notes))
    hops.append(_policy_hop(a.node, verdict.egress, src.key, number, proto))
    if not verdict.egress.allowed.allows(proto, number) and not verdict.self_traffic:
        return Path(src.key, dst_name, port, tuple(hops), path_mtu, encapsulation, "dropped",
                    f"egress policy of {src.key}", tuple(notes))
    if to_node is not None:
        hops += [Hop(f"node {a.node}", "eth0", b.underlay_mtu, f"route to the node network, "
                     f"{a.ip} -> {to_node.ip}"),
                 Hop("underlay", "br0", b.underlay_mtu, f"{a.ip} -> {to_node.ip}"),
                 Hop(f"node {to_node.node}", "eth0", b.underlay_mtu,
                     "delivered to the node (no pod policy applies to a node's own address)")]
        return Path(src.key, dst_name, port, tuple(hops), min(b.pod_mtu, b.underlay_mtu),
                    encapsulation, "delivered", None, tuple(notes))
    if isinstance(dst, str):
        hops.append(Hop(f"node {a.node}", "eth0", b.underlay_mtu,
                        f"leaves the cluster towards {dst} (no route to it inside the model)"))
        return Path(src.key, dst_name, port, tuple(hops), min(b.pod_mtu, b.underlay_mtu),
                    encapsulation, "delivered", None, tuple(notes))
    z = states[dst.node]
    if dst.node != src.node:
        leg, encapsulation, leg_mtu = _cross_node(a, z, mode, b)
        hops += leg
        path_mtu = min(b.pod_mtu, leg_mtu)
        if b.problem and b.pod_mtu <= leg_mtu:  # a CrossSubnet native leg: no tunnel to outgrow
            notes.remove(b.problem)
    dropped = _into_pod(hops, z.node, dst, verdict.ingress, verdict.allowed.allows(proto, number),
                        b.pod_mtu, number, proto)
    return Path(src.key, dst_name, port, tuple(hops), path_mtu, encapsulation,
                "dropped" if dropped else "delivered", dropped, tuple(notes))


def _into_pod(hops: list[Hop], node: str, dst: Pod, ingress: DirectionResult, allowed: bool,
              pod_mtu: int, number: int, proto: str) -> str | None:
    """The last leg on the destination's node: its ingress policy, then its veth. Appends the
    hops; returns who dropped the packet, or None when it is delivered."""
    hops.append(_policy_hop(node, ingress, dst.key, number, proto))
    if not allowed:
        return f"ingress policy of {dst.key}"
    hops += [Hop(f"node {node}", names.pod_veth(dst.namespace, dst.name), pod_mtu,
                 f"route {dst.ip}/32 to the pod's veth"),
             Hop(f"pod {dst.key}", "eth0", pod_mtu, "delivered")]
    return None


def _cross_node(a: NodeState, z: NodeState, mode: str, b: MtuBudget
                ) -> tuple[list[Hop], str, int]:
    """From node ``a`` to a pod on node ``z``: the mode's tunnel or route, the underlay. Returns
    the hops, the encapsulation and the largest inner packet the node-to-node leg carries."""
    hops = []
    if not a.tunnels_to(z.pod_cidr):
        if mode in ("vxlan", "ipip"):
            how = f"CrossSubnet: {z.ip} is on {a.node}'s subnet, routed natively"
        else:
            how = "learned by BGP (proto bird)" if mode == "bgp" else "host-gw route"
        hops += [Hop(f"node {a.node}", "eth0", b.underlay_mtu,
                     f"route {z.pod_cidr} via {z.ip} ({how}), no encapsulation"),
                 Hop("underlay", "br0", b.underlay_mtu, f"{a.ip} -> {z.ip}")]
        return hops, "none", b.underlay_mtu
    enc = ENCAPSULATION[mode]
    dev = a.devices[0]
    if mode == "vxlan":
        hops.append(Hop(f"node {a.node}", dev.name, dev.mtu,
                        f"route {z.pod_cidr} via {z.pod_cidr.split('/')[0]} onlink; VXLAN "
                        f"VNI {VXLAN_VNI}, UDP {VXLAN_PORT}, outer {a.ip} -> {z.ip} "
                        f"(+{b.overhead} bytes)"))
    else:
        hops.append(Hop(f"node {a.node}", dev.name, dev.mtu,
                        f"{enc} encapsulation, outer {a.ip} -> {z.ip} (+{b.overhead} bytes)"))
    hops += [Hop("underlay", "br0", b.underlay_mtu, f"{a.ip} -> {z.ip}"),
             Hop(f"node {z.node}", z.devices[0].name, z.devices[0].mtu, f"{enc} decapsulation")]
    return hops, enc, b.tunnel_mtu


@dataclass(frozen=True, slots=True)
class Arrival:
    """How an outside packet reached its node and what that node's kube-proxy made of it."""

    node: str  # the node addressed, or the one that attracts the IP
    why_node: str
    shown: str  # the address and port as the client wrote them
    dnat: str  # kube-proxy's translation, or its DROP / REJECT
    dst: Pod | str | None  # the endpoint; None when kube-proxy refused the packet
    number: int  # the endpoint's port
    ingress_from: str | None = None  # the address the endpoint sees, when masqueraded


def trace_from_outside(cluster: Cluster, compiled: Compiled, client: str, proto: str,
                       arrival: Arrival, mode: str | None = None) -> Path:
    """A client outside the cluster to a NodePort, LoadBalancer or external IP: over the
    underlay to the arrival node, translated by its kube-proxy, then on to the endpoint like
    pod traffic. The endpoint's ingress policy sees the client, or ``ingress_from`` when
    masqueraded. No endpoint: kube-proxy refused the packet (``dnat`` says how)."""
    node, why_node, shown, dnat = arrival.node, arrival.why_node, arrival.shown, arrival.dnat
    dst, number, ingress_from = arrival.dst, arrival.number, arrival.ingress_from
    mode = mode or cluster.net.cni
    states = node_states(cluster, [node, *([dst.node] if isinstance(dst, Pod) else [])], mode)
    b = budget(cluster.net, mode)
    x = states[node]
    port = f"{number}/{proto}"
    dst_name = dst.key if isinstance(dst, Pod) else (dst or shown)
    hops = [Hop("outside", "eth0", b.underlay_mtu, f"{client} -> {shown}, {why_node}"),
            Hop("underlay", "br0", b.underlay_mtu, f"{client} -> {x.ip}"),
            Hop(f"node {node}", "eth0", b.underlay_mtu, "arrives on the node"),
            Hop(f"node {node}", "nat PREROUTING", None, dnat)]
    notes = [b.problem] if b.problem else []
    if dst is None:
        verdict = "rejected" if "REJECT" in dnat else "dropped"
        return Path(client, dst_name, port, tuple(hops), b.underlay_mtu, "none", verdict,
                    f"kube-proxy on {node}", tuple(notes))
    if not isinstance(dst, Pod):
        hops.append(Hop(f"node {node}", "local", None, "delivered to the node (a hostNetwork "
                        "endpoint: no pod policy applies)"))
        return Path(client, dst_name, port, tuple(hops), b.underlay_mtu, "none", "delivered",
                    None, tuple(notes))
    encapsulation, path_mtu = "none", min(b.underlay_mtu, b.pod_mtu)
    z = states[dst.node]
    if dst.node != node:
        leg, encapsulation, leg_mtu = _cross_node(x, z, mode, b)
        hops += leg
        inner = min(b.pod_mtu, leg_mtu)
        path_mtu = min(b.underlay_mtu, inner)
        if b.underlay_mtu > inner:
            notes.append(f"a full-size {b.underlay_mtu}-byte packet from outside does not fit "
                         f"the {inner}-byte path to the pod: {node} must send "
                         "ICMP fragmentation-needed back (or the client's MSS clamps it)")
    seen = ingress_from or client
    if ingress_from:
        notes.append(f"masqueraded to {ingress_from} on {node}: {dst.key}'s ingress policy "
                     f"sees {ingress_from}, not {client}")
    ingress = Evaluator(cluster, compiled).verdict(seen, dst).ingress
    dropped = _into_pod(hops, z.node, dst, ingress, ingress.allowed.allows(proto, number),
                        b.pod_mtu, number, proto)
    return Path(client, dst_name, port, tuple(hops), path_mtu, encapsulation,
                "dropped" if dropped else "delivered", dropped, tuple(notes))
