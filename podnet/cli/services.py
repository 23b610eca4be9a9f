"""``podnet services``: the Service table, or the exact ruleset kube-proxy would load."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format, choices, load_cluster
from podnet.cli.output import console, emit_json, emit_text
from podnet.errors import UsageError
from podnet.model.vocabulary import DEFAULT_IPTABLES_FEATURES, IPTABLES_FEATURES, PROXY_MODES


def register(app: typer.Typer) -> None:
    @app.command()
    def services(filename: FileOpt = [],  # noqa: B006
                 render: Annotated[str | None, typer.Option(
                     "--render", help=f"{'|'.join(PROXY_MODES)}: the exact ruleset for --node",
                     callback=choices("--render", PROXY_MODES))] = None,
                 node: Annotated[str | None, typer.Option("--node", help="node to render for")] = None,
                 cluster_cidr: Annotated[str | None, typer.Option(
                     "--cluster-cidr", help="pod CIDR of kube-proxy's local-traffic detector")] = None,
                 iptables_features: Annotated[str, typer.Option(
                     "--iptables-features", help="comma-separated host facts that change "
                     f"the iptables text, of {', '.join(IPTABLES_FEATURES)} ('' for none); "
                     f"default {','.join(DEFAULT_IPTABLES_FEATURES)}, as on a current node (kernel "
                     "with nfnetlink_acct, iptables >= 1.6.2, nf_conntrack_tcp_be_liberal 0; "
                     "kube-proxy's conntrack.tcpBeLiberal sets it)")] = ",".join(DEFAULT_IPTABLES_FEATURES),
                 stats: Annotated[bool, typer.Option("--stats", help="cost of a new connection "
                                                     "per service, iptables vs nftables/IPVS")] = False,
                 output: OutputOpt = "table", nodes: NodesOpt = 3) -> None:
        """Services as kube-proxy programs them."""
        from rich.table import Table

        from podnet.analysis import Analysis
        from podnet.services.iptables import parse_features
        from podnet.services.metallb import external_addresses
        from podnet.services.render import render_for_node
        from podnet.services.stats import costs
        from podnet.services.table import endpoints_text, external_text, service_rows

        check_format(output, ("table", "json"))
        try:
            features = parse_features(iptables_features)
        except ValueError as e:
            raise UsageError(f"--iptables-features: {e}") from None
        cluster = load_cluster(filename, nodes, cluster_cidr=cluster_cidr)
        node_name = node or (cluster.nodes[0].name if cluster.nodes else "")
        if cluster.node(node_name) is None:
            raise UsageError(f"--node {node_name}: no such node "
                             f"({', '.join(n.name for n in cluster.nodes)})")
        plans = Analysis(cluster).plans
        if render is not None:
            emit_text(render_for_node(render, cluster, node_name, plans, features))
            return
        if stats:
            data: list[dict[str, Any]] = [{"service": c.service, "position": c.position,
                     "iptablesRules": c.iptables_rules, "nftablesLookups": c.nftables_lookups,
                     "ipvsLookups": c.ipvs_lookups}
                    for c in costs(render_for_node("iptables", cluster, node_name, plans), plans)]
            if output == "json":
                emit_json({"node": node_name, "services": data})
                return
            t = Table(title=f"new-connection cost on {node_name}")
            for col in ("service", "KUBE-SERVICES position", "iptables rules (expected)",
                        "nftables lookups", "IPVS lookups"):
                t.add_column(col)
            for d in data:
                t.add_row(d["service"], str(d["position"]), f"{d['iptablesRules']:.1f}",
                          str(d["nftablesLookups"]), str(d["ipvsLookups"]))
            console().print(t)
            return
        attract = external_addresses(cluster, plans)  # the node answering ARP for each address
        rows = service_rows(plans, attract, node_name)
        if output == "json":
            emit_json({"node": node_name, "services": rows})
            return
        t = Table(title=f"services (as kube-proxy on {node_name} sees them)")
        for col in ("service", "type", "cluster IP", "port", "node port", "external address",
                    "endpoints"):
            t.add_column(col)
        for r in rows:
            t.add_row(r["service"], r["type"], r["clusterIP"], r["port"], str(r["nodePort"] or ""),
                      external_text(r), endpoints_text(r))
        console().print(t)
        for p in plans:
            if p.type == "LoadBalancer" and not p.load_balancer_ips:
                console().print(f"note: {p.key}: no load-balancer address: "
                                f"{p.lb_origin or 'no status and no MetalLB pool in the input'}")
