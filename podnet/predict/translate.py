"""Where a flow that kube-proxy translates goes: the node whose rules see the packet, those
rules rendered and parsed back and walked, and the hop-by-hop path that follows (``trace``)."""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from podnet.analysis import Analysis
from podnet.dataplane.path import Arrival, Path, trace, trace_from_outside
from podnet.errors import UsageError
from podnet.model.objects import Node, Pod
from podnet.netfilter.walk import trace_rules
from podnet.policy.query import find_endpoint


class Translation(NamedTuple):
    dnat: str | None  # the DNAT hop's text; None when the source's node does not translate
    endpoint: Pod | str | None  # where the packet goes on (None: the target itself)
    number: int
    notes: list[str]
    ingress_from: str | None = None  # the address the endpoint sees, when masqueraded


class Walked(NamedTuple):
    verdict: str  # DNAT, DROP or REJECT
    text: str
    endpoint: Pod | str | None  # the first endpoint the rules may DNAT to
    number: int
    ingress_from: str | None


def node_port_node(a: Analysis, ip: str, number: int, proto: str) -> Node | None:
    """The node whose address ``ip`` is, when ``number`` is one of the cluster's NodePorts."""
    if not any(p.node_port == number and p.protocol == proto for p in a.addresses):
        return None
    return next((n for n in a.cluster.nodes if n.internal_ip == ip), None)


def walk(a: Analysis, node: Node, src_ip: str, ip: str, number: int, proto: str) -> Walked:
    """kube-proxy's rules on ``node``, rendered and parsed back, walked by one packet."""
    mode, cluster = a.proxy_mode, a.cluster
    out = trace_rules(mode, a.rules_to(node, ip), src_ip, ip, number, proto,
                      (node.internal_ip or "",))
    where, via = f"kube-proxy ({mode}) on {node.name}", " -> ".join(out.chains)
    if out.verdict in ("REJECT", "DROP"):
        return Walked(out.verdict, f"{where}: {out.verdict} (via {via})", None, number, None)
    first_ip, _, first_port = out.endpoints[0][0].partition(":")
    endpoint = cluster.pod_by_ip(first_ip) or first_ip
    # SNAT comes after the forward hook: only an endpoint on another node sees the node's IP
    seen = (node.internal_ip if out.masquerade and isinstance(endpoint, Pod)
            and endpoint.node != node.name else None)
    choices = ", ".join(f"{e} (p={pr:g})" for e, pr in out.endpoints)
    masq = "; marked for masquerade" if out.masquerade else ""
    return Walked("DNAT", f"{where} DNAT {ip}:{number} via {via} to one of {choices}{masq}; "
                  f"following {out.endpoints[0][0]}", endpoint, int(first_port), seen)


def through_service(a: Analysis, src: Pod, target: str, number: int, proto: str) -> Translation:
    """A Service name, or an address kube-proxy translates (cluster IP, LoadBalancer or
    external IP, a node's IP on a NodePort), from a pod: the node that translates it walks the
    packet through its rules. A NodePort on another node is translated there: the pod's packet
    goes to that node, and a note says what its kube-proxy does next."""
    cluster = a.cluster
    ip = target
    svc = next((s for s in cluster.services if f"{s.namespace}/{s.name}" == target), None)
    if svc is not None:
        ip = svc.cluster_ip
    translator = node_port_node(a, ip, number, proto)
    if translator is None and any(p.port == number and p.protocol == proto and ip in (
            p.cluster_ip, *p.load_balancer_ips, *p.external_ips) for p in a.addresses):
        translator = cluster.node(src.node)
    if translator is None:
        if svc is not None:
            raise UsageError(f"{target} has no port {number}/{proto} that kube-proxy programs")
        return Translation(None, None, number, [])
    w = walk(a, translator, src.ip, ip, number, proto)
    if w.verdict != "DNAT":
        raise UsageError(f"{w.text}: {ip}:{number}/{proto} has no usable endpoint there")
    if translator.name != src.node:
        return Translation(None, ip, number, [f"then {w.text}"])
    return Translation(w.text, w.endpoint, w.number, [], w.ingress_from)


def from_outside(a: Analysis, client: str, target: str, number: int, proto: str,
                 port: str) -> Path:
    """An outside client: to a node's IP on a NodePort, or to a LoadBalancer or external IP,
    which reaches the node that attracts it (MetalLB's layer-2 leader)."""
    cluster = a.cluster
    node = node_port_node(a, target, number, proto)
    if node is not None:
        why = f"addressed to node {node.name}"
    elif target in a.attracted:
        node = cluster.node(a.attracted[target])
        why = f"to node {a.attracted[target]}, which answers ARP for {target} (MetalLB layer 2)"
    if node is None:
        raise UsageError(f"--to {target}:{port}: from outside the cluster, trace a node's IP on a "
                         "NodePort, or a LoadBalancer or external IP that a node attracts")
    w = walk(a, node, client, target, number, proto)
    return trace_from_outside(cluster, a.compiled, client, proto, Arrival(
        node.name, why, f"{target} {port}", w.text, w.endpoint, w.number, w.ingress_from))


def trace_flow(a: Analysis, source: Pod | str, target: str, port: str, number: int,
               proto: str) -> Path:
    """The path of one flow from a pod or an outside address to ``target`` on ``port``."""
    if not isinstance(source, Pod):
        return from_outside(a, source, target, number, proto, port)
    tr = through_service(a, source, target, number, proto)
    path = trace(a.cluster, a.compiled, source,
                 tr.endpoint if tr.endpoint is not None else find_endpoint(a.cluster, target),
                 tr.number, proto, dnat=tr.dnat,
                 original=f"{target} {port}" if tr.dnat else None, ingress_from=tr.ingress_from)
    if path.verdict == "delivered":
        path = replace(path, notes=(*path.notes, *tr.notes))
    return path
