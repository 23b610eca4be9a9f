"""``podnet connlist``: workload connectivity in netpol-analyzer's formats (its ``list``)."""

from __future__ import annotations

from typing import Annotated

import typer

from podnet.cli.common import FileOpt, check_format, load_cluster
from podnet.cli.output import emit_lines

CONNLIST_FORMATS = ("txt",)


def register(app: typer.Typer) -> None:
    @app.command(name="connlist")
    def connlist_cmd(filename: FileOpt = [],  # noqa: B006
                     output: Annotated[str, typer.Option(
                         "-o", "--output", help="|".join(CONNLIST_FORMATS))] = "txt",
                     ipblock_matches_pods: Annotated[bool, typer.Option(
                         "--ipblock-matches-pods", help="ipBlocks also select pod IPs (the "
                         "upstream e2e reading); by default they select only addresses outside "
                         "the cluster, as netpol-analyzer reads them.")] = False) -> None:
        """Which workload may connect to which, in netpol-analyzer's formats."""
        from podnet.policy.compile import compile_policies
        from podnet.policy.connlist import connlist

        check_format(output, CONNLIST_FORMATS)
        cluster = load_cluster(filename)
        compiled = compile_policies(cluster.policies, ipblock_matches_pods=ipblock_matches_pods)
        emit_lines(connlist(cluster, compiled))
