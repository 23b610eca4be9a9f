"""Options every command shares, and loading the cluster from them."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from podnet.errors import UsageError
from podnet.model import Cluster, build, read_paths

FileOpt = Annotated[list[str], typer.Option(
    "-f", "--filename", help="Manifest file, directory (read recursively) or - for stdin; "
    "repeatable.")]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="Output format.")]
NodesOpt = Annotated[int, typer.Option("--nodes", help="Nodes to synthesise when the input "
                                       "names none.")]
ClusterCidrOpt = Annotated[str | None, typer.Option("--cluster-cidr", help="Pod CIDR override.")]
ServiceCidrOpt = Annotated[str | None, typer.Option("--service-cidr",
                                                     help="Service CIDR override.")]
CniOpt = Annotated[str | None, typer.Option("--cni", help="vxlan|host-gw|bgp|ipip|wireguard")]


def load_cluster(files: list[str], nodes: int = 3, **overrides: object) -> Cluster:
    if not files:
        raise UsageError("no input: give manifests with -f PATH (a file, a directory, or -)")
    cluster = build(read_paths(files), nodes=nodes,
                    overrides={k: v for k, v in overrides.items() if v is not None})
    # stderr, so every command's stdout (json, csv, connlist) stays parseable and the warning
    # still reaches whoever reads the answer: files skipped, fields the API server would
    # refuse, addresses that bend routes, policy kinds the answer leaves out.
    for w in cluster.warnings:
        print(f"podnet: warning: {w}", file=sys.stderr)
    return cluster


def check_format(output: str, allowed: tuple[str, ...]) -> None:
    if output not in allowed:
        raise UsageError(f"-o {output}: choose one of {', '.join(allowed)}")
