"""``podnet trace``: the hop-by-hop path of one flow, with MTU on each hop."""

from __future__ import annotations

from typing import Annotated

import typer

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
from podnet.errors import UsageError


def _split_target(text: str) -> tuple[str, str]:
    """``NS/POD:80/TCP``, ``NS/SERVICE:80/TCP`` or ``IP:80/TCP`` → (endpoint, port)."""
    head, sep, port = text.rpartition(":")
    if not sep or "/" not in port and not port.isdigit():
        raise UsageError(f"--to {text!r}: write NS/POD:PORT/PROTO or IP:PORT/PROTO")
    return head, port


def register(app: typer.Typer) -> None:
    @app.command("trace")
    def trace_cmd(filename: FileOpt = [],  # noqa: B006
                  src: Annotated[str, typer.Option(
                      "--from", help="NS/POD, or an IP outside the cluster")] = "",
                  dst: Annotated[str, typer.Option(
                      "--to", help="NS/POD:PORT/PROTO, NS/SERVICE:PORT/PROTO, IP:PORT/PROTO, "
                      "or an http(s):// URL (through the ingress controller)")] = "",
                  cni: CniOpt = None,
                  underlay_mtu: Annotated[int | None, typer.Option("--underlay-mtu")] = None,
                  proxy: ProxyOpt = None,
                  cluster_cidr: ClusterCidrOpt = None, service_cidr: ServiceCidrOpt = None,
                  output: OutputOpt = "table",
                  nodes: NodesOpt = 3) -> None:
        """The path of one flow: veth, routing, tunnel and encapsulation, policy, MTU per hop."""
        from rich.table import Table

        from podnet.analysis import Analysis
        from podnet.policy.query import find_endpoint, parse_port
        from podnet.predict.ingress import trace_url
        from podnet.predict.translate import trace_flow

        check_format(output, ("table", "json"))
        if not src or not dst:
            raise UsageError("trace needs --from NS/POD|IP and --to TARGET:PORT/PROTO")
        cluster = load_cluster(filename, nodes, cluster_cidr=cluster_cidr, cni=cni,
                               underlay_mtu=underlay_mtu, service_cidr=service_cidr,
                               proxy_mode=proxy)
        source = find_endpoint(cluster, src)
        if dst.startswith(("http://", "https://")):
            path = trace_url(Analysis(cluster), source, dst)
        else:
            target, port = _split_target(dst)
            number, proto = parse_port(port)
            path = trace_flow(Analysis(cluster), source, target, port, number, proto)
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
