"""``podnet diff``: the connectivity added, removed or changed between two versions of a
cluster, in netpol-analyzer's diff formats."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from podnet.cli.common import FileOpt, check_format, load_cluster
from podnet.errors import UsageError
from podnet.model.vocabulary import DIFF_FORMATS

if TYPE_CHECKING:
    from podnet.policy.diff import Side


# ANSI colours for a person reading txt on a terminal; a pipe or a file gets the plain bytes.
COLOURS = {"diff-type: added": "\033[32m", "diff-type: removed": "\033[31m",
           "diff-type: changed": "\033[33m"}


def _colour(text: str) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        start = next((c for p, c in COLOURS.items() if line.startswith(p)), "")
        out.append(f"{start}{line.rstrip(chr(10))}\033[0m\n" if start else line)
    return "".join(out)


def _side(files: list[str], ipblock_matches_pods: bool) -> Side:
    from podnet.policy.compile import compile_cluster
    from podnet.policy.diff import side

    cluster = load_cluster(files)
    return side(cluster, compile_cluster(cluster, ipblock_matches_pods=ipblock_matches_pods))


def register(app: typer.Typer) -> None:
    @app.command(name="diff")
    def diff_cmd(filename: FileOpt = [],  # noqa: B006
                 against: Annotated[list[str], typer.Option(
                     "--against", help="The version to compare with (ref1): file, directory or "
                     "-; repeatable. -f is the new version (ref2).")] = [],  # noqa: B006
                 output: Annotated[str, typer.Option(
                     "-o", "--output", help="|".join(DIFF_FORMATS))] = "txt",
                 fail_on_change: Annotated[bool, typer.Option(
                     "--fail-on-change", help="Exit 1 when the connectivity differs.")] = False,
                 ipblock_matches_pods: Annotated[bool, typer.Option(
                     "--ipblock-matches-pods", help="ipBlocks also select pod IPs (as in "
                     "podnet connlist).")] = False) -> None:
        """What connectivity the new version (-f) adds, removes or changes against the old one
        (--against), new and removed workloads included."""
        from podnet.policy.diff import diff
        from podnet.policy.diff_formats import render

        check_format(output, DIFF_FORMATS)
        if not against:
            raise UsageError("no old version: give it with --against PATH (a file, a directory, or -)")
        old = _side(against, ipblock_matches_pods)
        new = _side(filename, ipblock_matches_pods)
        result = diff(old, new, unchanged=output == "dot")
        text = render(result, output)
        sys.stdout.write(_colour(text) if output == "txt" and sys.stdout.isatty() else text)
        if fail_on_change and result.differs:
            raise typer.Exit(1)
