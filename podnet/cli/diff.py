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
    from podnet.model.cluster import Cluster
    from podnet.policy.compile import Compiled
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


def _load(files: list[str], ipblock_matches_pods: bool) -> tuple[Cluster, Compiled]:
    from podnet.policy.compile import compile_cluster

    cluster = load_cluster(files)
    return cluster, compile_cluster(cluster, ipblock_matches_pods=ipblock_matches_pods)


def _sides(old: tuple[Cluster, Compiled], new: tuple[Cluster, Compiled],
           unchanged: bool) -> tuple[Side, Side]:
    from podnet.policy.connlist import representatives
    from podnet.policy.conntable import changed_sides, conn_table
    from podnet.policy.diff import side

    if unchanged:  # the dot graph draws every pair
        return side(*old), side(*new)
    # Only what changed: at 150,000 pods the pairs are millions, compared as numpy columns.
    return changed_sides(conn_table(*old), frozenset(representatives(old[0])),
                         conn_table(*new), frozenset(representatives(new[0])))


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
        before, after = _load(against, ipblock_matches_pods), _load(filename, ipblock_matches_pods)
        result = None
        if output != "dot":  # the dot graph draws unchanged pairs too: every pair is needed
            from podnet.policy.incremental import files_diff

            result = files_diff(before, after)
        if result is None:
            old, new = _sides(before, after, unchanged=output == "dot")
            result = diff(old, new, unchanged=output == "dot")
        text = render(result, output)
        sys.stdout.write(_colour(text) if output == "txt" and sys.stdout.isatty() else text)
        if fail_on_change and result.differs:
            raise typer.Exit(1)
