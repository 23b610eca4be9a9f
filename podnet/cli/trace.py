"""``podnet trace``: the hop-by-hop path of one flow, with MTU on each hop."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from podnet.cli.common import (
    ClusterCidrOpt,
    FileOpt,
    NodesOpt,
    OutputOpt,
    ServiceCidrOpt,
    check_format,
    load_cluster,
)
from podnet.cli.output import console, emit_json
from podnet.dataplane.path import trace
from podnet.errors import UsageError
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.netfilter.walk import trace_rules
from podnet.policy import compile_policies
from podnet.policy.query import find_endpoint, parse_port
from podnet.services import resolve
from podnet.services.render import PROXY_MODES, render_for_node


def _split_target(text: str) -> tuple[str, str]:
    """``NS/POD:80/TCP``, ``NS/SERVICE:80/TCP`` or ``IP:80/TCP`` → (endpoint, port)."""
    head, sep, port = text.rpartition(":")
    if not sep or "/" not in port and not port.isdigit():
        raise UsageError(f"--to {text!r}: write NS/POD:PORT/PROTO or IP:PORT/PROTO")
    return head, port


def _through_service(cluster: Cluster, src: Pod, target: str, number: int, proto: str
                     ) -> tuple[str | None, Pod | str | None, int]:
    """A Service name or ClusterIP: walk kube-proxy's rules of the source's node (rendered, then
    parsed back) and continue to the first endpoint they may DNAT to."""
    ip = target
    svc = next((s for s in cluster.services if f"{s.namespace}/{s.name}" == target), None)
    if svc is not None:
        ip = svc.cluster_ip
    if not any(p.cluster_ip == ip and p.port == number and p.protocol == proto
               for p in resolve(cluster)):
        if svc is not None:
            raise UsageError(f"{target} has no port {number}/{proto} that kube-proxy programs")
        return None, None, number
    mode = cluster.net.proxy_mode
    rules = render_for_node(mode, cluster, src.node)
    node = cluster.node(src.node)
    out = trace_rules(mode, rules, src.ip, ip, number, proto, (node.internal_ip or "",) if node else ())
    if out.verdict in ("REJECT", "DROP"):
        raise UsageError(f"kube-proxy ({mode}) {out.verdict}s {ip}:{number}/{proto} on node {src.node} "
                         f"(via {' -> '.join(out.chains)}): the Service has no usable endpoint")
    choices = ", ".join(f"{e} (p={pr:g})" for e, pr in out.endpoints)
    first_ip, _, first_port = out.endpoints[0][0].partition(":")
    masq = "; marked for masquerade" if out.masquerade else ""
    text = (f"kube-proxy ({mode}) DNAT {ip}:{number} via {' -> '.join(out.chains)} to one of {choices}"
            f"{masq}; following {out.endpoints[0][0]}")
    return text, cluster.pod_by_ip(first_ip) or first_ip, int(first_port)


def register(app: typer.Typer) -> None:
    @app.command("trace")
    def trace_cmd(filename: FileOpt = [],  # noqa: B006
                  src: Annotated[str, typer.Option("--from", help="NS/POD")] = "",
                  dst: Annotated[str, typer.Option(
                      "--to", help="NS/POD:PORT/PROTO, NS/SERVICE:PORT/PROTO or IP:PORT/PROTO")] = "",
                  cni: Annotated[str | None, typer.Option("--cni", help="vxlan|host-gw|bgp|ipip|wireguard")
                                 ] = None,
                  underlay_mtu: Annotated[int | None, typer.Option("--underlay-mtu")] = None,
                  proxy: Annotated[str | None, typer.Option(
                      "--proxy", help="kube-proxy mode iptables|nftables|ipvs (default: from the "
                                      "KubeProxyConfiguration, else iptables)")] = None,
                  cluster_cidr: ClusterCidrOpt = None, service_cidr: ServiceCidrOpt = None,
                  output: OutputOpt = "table",
                  nodes: NodesOpt = 3) -> None:
        """The path of one flow: veth, routing, tunnel and encapsulation, policy, MTU per hop."""
        check_format(output, ("table", "json"))
        if not src or not dst:
            raise UsageError("trace needs --from NS/POD and --to TARGET:PORT/PROTO")
        if cni is not None and cni not in ("vxlan", "host-gw", "bgp", "ipip", "wireguard"):
            raise UsageError(f"--cni {cni}: choose vxlan, host-gw, bgp, ipip or wireguard")
        if proxy is not None and proxy not in PROXY_MODES:
            raise UsageError(f"--proxy {proxy}: choose one of {', '.join(PROXY_MODES)}")
        cluster = load_cluster(filename, nodes, cluster_cidr=cluster_cidr, cni=cni,
                               underlay_mtu=underlay_mtu, service_cidr=service_cidr,
                               proxy_mode=proxy)
        source = find_endpoint(cluster, src)
        if not isinstance(source, Pod):
            raise UsageError(f"--from {src!r} must be a pod of the input (NS/NAME)")
        target, port = _split_target(dst)
        number, proto = parse_port(port)
        dnat, endpoint, number = _through_service(cluster, source, target, number, proto)
        path = trace(cluster, compile_policies(cluster.policies), source,
                     endpoint if endpoint is not None else find_endpoint(cluster, target),
                     number, proto, dnat=dnat, original=f"{target} {port}" if dnat else None)
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
