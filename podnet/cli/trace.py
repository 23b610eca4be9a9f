"""``podnet trace``: the hop-by-hop path of one flow, with MTU on each hop."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, NamedTuple

import typer
from rich.table import Table

from podnet.cli.common import (
    ClusterCidrOpt,
    CniOpt,
    FileOpt,
    NodesOpt,
    OutputOpt,
    ProxyOpt,
    ServiceCidrOpt,
    check_format,
    load_cluster,
)
from podnet.cli.output import console, emit_json
from podnet.dataplane.path import Path, trace, trace_from_outside
from podnet.errors import UsageError
from podnet.model.cluster import Cluster
from podnet.model.objects import Node, Pod
from podnet.netfilter.walk import trace_rules
from podnet.policy import compile_policies
from podnet.policy.query import find_endpoint, parse_port
from podnet.services import ServicePlan, resolve
from podnet.services.metallb import external_addresses
from podnet.services.render import render_for_node


def _split_target(text: str) -> tuple[str, str]:
    """``NS/POD:80/TCP``, ``NS/SERVICE:80/TCP`` or ``IP:80/TCP`` → (endpoint, port)."""
    head, sep, port = text.rpartition(":")
    if not sep or "/" not in port and not port.isdigit():
        raise UsageError(f"--to {text!r}: write NS/POD:PORT/PROTO or IP:PORT/PROTO")
    return head, port


class Translation(NamedTuple):
    dnat: str | None  # the DNAT hop's text; None when the source's node does not translate
    endpoint: Pod | str | None  # where the packet goes on (None: the target itself)
    number: int
    notes: list[str]
    ingress_from: str | None = None  # the address the endpoint sees, when masqueraded


class _Walk(NamedTuple):
    verdict: str  # DNAT, DROP or REJECT
    text: str
    endpoint: Pod | str | None  # the first endpoint the rules may DNAT to
    number: int
    ingress_from: str | None


def _node_port_node(cluster: Cluster, plans: tuple[ServicePlan, ...], ip: str, number: int,
                    proto: str) -> Node | None:
    """The node whose address ``ip`` is, when ``number`` is one of the cluster's NodePorts."""
    if not any(p.node_port == number and p.protocol == proto for p in plans):
        return None
    return next((n for n in cluster.nodes if n.internal_ip == ip), None)


def _walk(cluster: Cluster, plans: tuple[ServicePlan, ...], node: Node, src_ip: str, ip: str,
          number: int, proto: str) -> _Walk:
    """kube-proxy's rules on ``node``, rendered and parsed back, walked by one packet."""
    mode = cluster.net.proxy_mode
    out = trace_rules(mode, render_for_node(mode, cluster, node.name, plans), src_ip, ip, number,
                      proto, (node.internal_ip or "",))
    where, via = f"kube-proxy ({mode}) on {node.name}", " -> ".join(out.chains)
    if out.verdict in ("REJECT", "DROP"):
        return _Walk(out.verdict, f"{where}: {out.verdict} (via {via})", None, number, None)
    first_ip, _, first_port = out.endpoints[0][0].partition(":")
    endpoint = cluster.pod_by_ip(first_ip) or first_ip
    # SNAT comes after the forward hook: only an endpoint on another node sees the node's IP
    seen = (node.internal_ip if out.masquerade and isinstance(endpoint, Pod)
            and endpoint.node != node.name else None)
    choices = ", ".join(f"{e} (p={pr:g})" for e, pr in out.endpoints)
    masq = "; marked for masquerade" if out.masquerade else ""
    return _Walk("DNAT", f"{where} DNAT {ip}:{number} via {via} to one of {choices}{masq}; "
                 f"following {out.endpoints[0][0]}", endpoint, int(first_port), seen)


def _through_service(cluster: Cluster, src: Pod, target: str, number: int, proto: str
                     ) -> Translation:
    """A Service name, or an address kube-proxy translates (cluster IP, LoadBalancer or
    external IP, a node's IP on a NodePort), from a pod: the node that translates it walks the
    packet through its rules. A NodePort on another node is translated there: the pod's packet
    goes to that node, and a note says what its kube-proxy does next."""
    ip = target
    svc = next((s for s in cluster.services if f"{s.namespace}/{s.name}" == target), None)
    if svc is not None:
        ip = svc.cluster_ip
    plans = resolve(cluster)
    translator = _node_port_node(cluster, plans, ip, number, proto)
    if translator is None and any(p.port == number and p.protocol == proto and ip in (
            p.cluster_ip, *p.load_balancer_ips, *p.external_ips) for p in plans):
        translator = cluster.node(src.node)
    if translator is None:
        if svc is not None:
            raise UsageError(f"{target} has no port {number}/{proto} that kube-proxy programs")
        return Translation(None, None, number, [])
    w = _walk(cluster, plans, translator, src.ip, ip, number, proto)
    if w.verdict != "DNAT":
        raise UsageError(f"{w.text}: {ip}:{number}/{proto} has no usable endpoint there")
    if translator.name != src.node:
        return Translation(None, ip, number, [f"then {w.text}"])
    return Translation(w.text, w.endpoint, w.number, [], w.ingress_from)


def _from_outside(cluster: Cluster, client: str, target: str, number: int, proto: str,
                  port: str) -> Path:
    """An outside client: to a node's IP on a NodePort, or to a LoadBalancer or external IP,
    which reaches the node that attracts it (MetalLB's layer-2 leader)."""
    plans = resolve(cluster)
    node = _node_port_node(cluster, plans, target, number, proto)
    attract = external_addresses(cluster, plans)
    if node is not None:
        why = f"addressed to node {node.name}"
    elif target in attract:
        node = cluster.node(attract[target])
        why = f"to node {attract[target]}, which answers ARP for {target} (MetalLB layer 2)"
    else:
        raise UsageError(f"--to {target}:{port}: from outside the cluster, trace a node's IP on a "
                         "NodePort, or a LoadBalancer or external IP that a node attracts")
    assert node is not None
    w = _walk(cluster, plans, node, client, target, number, proto)
    return trace_from_outside(cluster, compile_policies(cluster.policies), client, node.name,
                              w.endpoint, w.number, proto, w.text, f"{target} {port}", why,
                              ingress_from=w.ingress_from)


def register(app: typer.Typer) -> None:
    @app.command("trace")
    def trace_cmd(filename: FileOpt = [],  # noqa: B006
                  src: Annotated[str, typer.Option(
                      "--from", help="NS/POD, or an IP outside the cluster")] = "",
                  dst: Annotated[str, typer.Option(
                      "--to", help="NS/POD:PORT/PROTO, NS/SERVICE:PORT/PROTO or IP:PORT/PROTO")] = "",
                  cni: CniOpt = None,
                  underlay_mtu: Annotated[int | None, typer.Option("--underlay-mtu")] = None,
                  proxy: ProxyOpt = None,
                  cluster_cidr: ClusterCidrOpt = None, service_cidr: ServiceCidrOpt = None,
                  output: OutputOpt = "table",
                  nodes: NodesOpt = 3) -> None:
        """The path of one flow: veth, routing, tunnel and encapsulation, policy, MTU per hop."""
        check_format(output, ("table", "json"))
        if not src or not dst:
            raise UsageError("trace needs --from NS/POD|IP and --to TARGET:PORT/PROTO")
        cluster = load_cluster(filename, nodes, cluster_cidr=cluster_cidr, cni=cni,
                               underlay_mtu=underlay_mtu, service_cidr=service_cidr,
                               proxy_mode=proxy)
        source = find_endpoint(cluster, src)
        target, port = _split_target(dst)
        number, proto = parse_port(port)
        if not isinstance(source, Pod):
            path = _from_outside(cluster, source, target, number, proto, port)
        else:
            tr = _through_service(cluster, source, target, number, proto)
            path = trace(cluster, compile_policies(cluster.policies), source,
                         tr.endpoint if tr.endpoint is not None else find_endpoint(cluster, target),
                         tr.number, proto, dnat=tr.dnat,
                         original=f"{target} {port}" if tr.dnat else None,
                         ingress_from=tr.ingress_from)
            if path.verdict == "delivered":
                path = replace(path, notes=(*path.notes, *tr.notes))
        if output == "json":
            emit_json(path.as_dict())
            return
        t = Table(title=f"trace {path.src} -> {path.dst} {path.port}")
        for col in ("#", "where", "device", "MTU", "what happens"):
            t.add_column(col)
        for i, h in enumerate(path.hops, 1):
            t.add_row(str(i), h.at, h.device, str(h.mtu or ""), h.action)
        c = console()
        c.print(t)
        c.print(f"verdict: {path.verdict}" + (f" (by {path.dropped_by})" if path.dropped_by else "")
                + f"; path MTU {path.path_mtu}; encapsulation {path.encapsulation}")
        for n in path.notes:
            c.print(f"note: {n}")
