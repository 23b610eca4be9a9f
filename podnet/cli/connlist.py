"""``podnet connlist``: workload connectivity in netpol-analyzer's formats (its ``list``)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from podnet.cli.common import FileOpt, check_format, load_cluster
from podnet.model.vocabulary import CONNLIST_FORMATS

WorkloadsOpt = Annotated[str | None, typer.Option(
    "--focus-workload", help="Only connections of these workloads: a comma list of NAME or NS/NAME.")]
PeersOpt = Annotated[str | None, typer.Option(
    "--focus-workload-peer", help="With --focus-workload: only connections whose other end is "
    "one of these (a comma list, as --focus-workload).")]
DirectionOpt = Annotated[str | None, typer.Option(
    "--focus-direction", help="With --focus-workload: ingress (the focus workload is the "
    "destination) or egress (it is the source).")]
ConnOpt = Annotated[str | None, typer.Option(
    "--focus-conn", help="Only pairs that allow this one connection, PROTOCOL-PORT (e.g. tcp-80).")]


def register(app: typer.Typer) -> None:
    @app.command(name="connlist")
    def connlist_cmd(filename: FileOpt = [],  # noqa: B006
                     output: Annotated[str, typer.Option(
                         "-o", "--output", help="|".join(CONNLIST_FORMATS))] = "txt",
                     focus_workload: WorkloadsOpt = None, focus_workload_peer: PeersOpt = None,
                     focus_direction: DirectionOpt = None, focus_conn: ConnOpt = None,
                     ipblock_matches_pods: Annotated[bool, typer.Option(
                         "--ipblock-matches-pods", help="ipBlocks also select pod IPs (the "
                         "upstream e2e reading); by default they select only addresses outside "
                         "the cluster, as netpol-analyzer reads them.")] = False,
                     exposure: Annotated[bool, typer.Option(
                         "--exposure", help="Also report what each workload is open to beyond "
                         "the input's pods (netpol-analyzer's exposure analysis).")] = False,
                     explain: Annotated[bool, typer.Option(
                         "--explain", help="For every pair, the allowed and denied connections "
                         "and the policies and rules behind them.")] = False,
                     explain_only: Annotated[str | None, typer.Option(
                         "--explain-only", help="With --explain: only the allowed (allow) or "
                         "denied (deny) connections.")] = None) -> None:
        """Which workload may connect to which, in netpol-analyzer's formats."""
        from podnet.policy import focus as focusing
        from podnet.policy.compile import compile_cluster
        from podnet.policy.connlist import connections, has_ingress_controller, workload_peers
        from podnet.policy.connlist_formats import render
        from podnet.policy.exposure_report import EXPOSURE_FORMATS, report_of

        check_format(output, CONNLIST_FORMATS)
        focus = focusing.Focus(workloads=focusing.parse_workloads(focus_workload),
                               peers=focusing.parse_workloads(focus_workload_peer),
                               direction=focusing.parse_direction(focus_direction),
                               conn=focusing.parse_conn(focus_conn))
        # netpol-analyzer reads a directory's YAML file up to a broken document and goes on.
        cluster = load_cluster(filename, keep_prefix=True)
        compiled = compile_cluster(cluster, ipblock_matches_pods=ipblock_matches_pods)
        workloads = workload_peers(cluster)
        for name in focusing.missing(focus, workloads, has_ingress_controller(cluster)):
            print(f"podnet: warning: focus workload {name} does not exist in the input",
                  file=sys.stderr)
        if explain or explain_only:
            from podnet.policy.explain_report import explain_report

            if explain_only not in (None, "allow", "deny"):
                raise typer.BadParameter("allow or deny", param_hint="--explain-only")
            text = explain_report(cluster, compiled, explain_only,
                                  lambda s, d: focusing.keeps(focus, s, d), focus.conn)
            if exposure:
                from podnet.policy.exposure import exposure as exposed
                from podnet.policy.exposure import split_line
                from podnet.policy.exposure_txt import exposure_lines

                lines = [split_line(c.line()) for c in focusing.apply(
                    focus, connections(cluster, compiled))]
                text += "\n" + "\n".join(exposure_lines(exposed(
                    cluster, compiled, lines, focus=focus.workloads,
                    direction=focus.direction or None, conn=focus.conn), focus.conn_text())) + "\n"
            sys.stdout.write(text)
            return
        if output == "txt" and focus == focusing.Focus():
            # At scale (millions of pairs) the lines are made from numpy columns, streamed.
            from podnet.cli.output import emit_pieces
            from podnet.policy.conntable import conn_table, exposure_txt_pieces, txt_pieces

            table = conn_table(cluster, compiled)
            emit_pieces(exposure_txt_pieces(cluster, compiled, table) if exposure
                        else txt_pieces(table))
            return
        conns = focusing.apply(focus, connections(cluster, compiled))
        if exposure:
            check_format(output, EXPOSURE_FORMATS)
            triples = [(c.src.text, c.dst.text, c.text) for c in conns]
            sys.stdout.write(report_of(cluster, compiled, triples, output, focus=focus.workloads,
                                       direction=focus.direction or None, conn=focus.conn))
            return
        text = render(output, conns, focusing.graph_workloads(focus, workloads), focus.conn_text())
        # netpol-analyzer ends json and dot without a newline; a terminal wants one.
        sys.stdout.write(text + "\n" if text and not text.endswith("\n") else text)
