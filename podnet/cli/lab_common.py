"""What every `podnet lab` command shares: the typer group and the lab name option, beside
what needs no typer (podnet.cli.lab_state, re-exported here)."""

from __future__ import annotations

from typing import Annotated

import typer

from podnet.cli.lab_state import cluster_of, complete_lab

lab_app = typer.Typer(no_args_is_help=True, help="Build the cluster for real in network namespaces.")
NameOpt = Annotated[str, typer.Option("--name", help="Lab name (1-12 of a-z, 0-9, -).")]

__all__ = ["NameOpt", "cluster_of", "complete_lab", "lab_app"]
