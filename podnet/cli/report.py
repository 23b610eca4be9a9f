"""``podnet report``: one self-contained HTML file (overview, connectivity matrix with
explanations, map, Services, DNS, paths, doctor's findings with ``--doctor`` and the lab's
observations with ``--probe``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from podnet.cli.common import FileOpt, NodesOpt, load_docs, warn
from podnet.errors import UsageError
from podnet.report import MAX_MATRIX_WORKLOADS


def register(app: typer.Typer) -> None:
    @app.command()
    def report(filename: FileOpt = [],  # noqa: B006
               output: Annotated[str, typer.Option(
                   "-o", "--output", help="HTML file to write ('-' for stdout)")] = "report.html",
               doctor: Annotated[bool, typer.Option(
                   "--doctor", help="run doctor's checks: top findings in the overview and a "
                   "Findings section with fixes")] = False,
               max_workloads: Annotated[int, typer.Option(
                   "--max-workloads", help="largest workload-by-workload matrix embedded; past it "
                   "the matrix is namespace by namespace")] = MAX_MATRIX_WORKLOADS,
               probe: Annotated[Path | None, typer.Option(
                   "--probe", help="what 'podnet lab probe --name N -o json' wrote: the matrix "
                   "shows where the lab disagrees, and a Lab section the Service probes")] = None,
               nodes: NodesOpt = 3) -> None:
        """Write a self-contained HTML report (opens from file://, loads nothing)."""
        from podnet.analysis import Analysis
        from podnet.cli.output import emit_text
        from podnet.doctor import diagnose
        from podnet.model.cluster import build
        from podnet.report.data import report_data
        from podnet.report.lab import read_probe
        from podnet.report.render import render_html

        if max_workloads < 1:
            raise UsageError("--max-workloads must be 1 or more")
        observed = read_probe(_read(probe), str(probe)) if probe is not None else None
        docs = load_docs(filename)
        cluster = build(docs, nodes=nodes)
        warn(cluster)
        analysis = Analysis(cluster)
        findings = diagnose(cluster, docs, analysis=analysis) if doctor else None
        html = render_html(report_data(cluster, findings, analysis=analysis,
                                       max_workloads=max_workloads, probe=observed))
        if output == "-":
            emit_text(html)
            return
        try:
            Path(output).write_text(html, encoding="utf-8")
        except OSError as e:
            raise UsageError(f"-o {output}: cannot write: {e.strerror}") from None
        print(f"podnet: wrote {output} ({len(html.encode()):,} bytes)", file=sys.stderr)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UsageError(f"--probe {path}: cannot read it ({why})") from None
