"""Options every command shares, and loading the cluster from them.

The command modules import only this, typer and the vocabulary at start-up; everything that
computes (the model, numpy, rich, the lab) is imported inside the command that runs, so
``podnet --help`` does not pay for it (tests/test_startup.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated

import typer

from podnet.cli.loading import CACHE, check_choice, check_format, load_cluster, load_docs, warn
from podnet.model.vocabulary import CNI_MODES, LIBCS, PROXY_MODES

__all__ = ["CACHE", "check_choice", "check_format", "load_cluster", "load_docs", "warn"]


def choices(flag: str, allowed: Sequence[str]) -> Callable[[str | None], str | None]:
    """An option callback: the value is checked while the command line is parsed, before any
    input is read."""
    def check(value: str | None) -> str | None:
        check_choice(flag, value, allowed)
        return value
    return check


FileOpt = Annotated[list[str], typer.Option(
    "-f", "--filename", help="Manifest file, directory (read recursively) or - for stdin; "
    "repeatable.")]
OutputOpt = Annotated[str, typer.Option("-o", "--output", help="Output format.")]
NodesOpt = Annotated[int, typer.Option("--nodes", help="Nodes to synthesise when the input "
                                       "names none.")]
ClusterCidrOpt = Annotated[str | None, typer.Option("--cluster-cidr", help="Pod CIDR override.")]
ServiceCidrOpt = Annotated[str | None, typer.Option("--service-cidr",
                                                     help="Service CIDR override.")]
CniOpt = Annotated[str | None, typer.Option("--cni", help="|".join(CNI_MODES),
                                            callback=choices("--cni", CNI_MODES))]
ProxyOpt = Annotated[str | None, typer.Option(
    "--proxy", help=f"kube-proxy mode {'|'.join(PROXY_MODES)} (default: from the "
                    "KubeProxyConfiguration, else iptables)", callback=choices("--proxy", PROXY_MODES))]
LibcOpt = Annotated[str, typer.Option("--libc", help="|".join(LIBCS), callback=choices("--libc", LIBCS))]
