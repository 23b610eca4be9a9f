"""``podnet doctor``: findings a user can act on, for people (table), programs (json) and
GitHub code scanning (sarif); exit 1 when one is at or above ``--fail-on``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import quote

import typer

from podnet import __version__
from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format, warn
from podnet.cli.output import console, emit_json, emit_lines
from podnet.errors import FindingsError, UsageError

if TYPE_CHECKING:
    from podnet.doctor.finding import Finding
    from podnet.doctor.sarif import Locate
    from podnet.errors import SourceRef
    from podnet.model.lines import Lines

TABLE_LINES_LIMIT = 4_000_000  # characters of input


def _uri(file: str) -> str:
    """A path as a SARIF URI: relative to the working directory when it is inside it (GitHub
    resolves results against the repository's root), else an absolute file:// URI."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return quote(path.as_posix(), safe="/")


def _read(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise UsageError(f"{option} {path}: cannot read it ({why})") from None


def _locator(texts: dict[str, str], fallback: str) -> Locate:
    from podnet.model.lines import Lines

    cache: dict[str, Lines] = {}

    def locate(src: SourceRef) -> tuple[str, int, int]:
        if src.file not in texts:
            if not src.file.startswith("<") and src.file != "-":  # --disk-report, --sysctl
                return _uri(src.file), 1, 1
            return _uri(fallback), 1, 1  # an implicit object or a default: point at the input
        if src.file not in cache:
            cache[src.file] = Lines(texts[src.file])
        line, column = cache[src.file].position(src.doc, src.kind, src.namespace, src.name)
        return _uri(src.file), line, column
    return locate


def _table(findings: list[Finding], locate: Locate | None) -> None:
    from podnet.doctor import summary

    c = console()
    for f in findings:
        c.print(f"{f.severity.upper():8} {f.check}  {f.object}", markup=False, highlight=False)
        where = f.file
        if locate is not None and not f.file.startswith("<"):
            where = f"{f.file}:{locate(f.source)[1]}"
        c.print(f"         {where}" + (f" ({f.field})" if f.field else ""), markup=False,
                highlight=False)
        c.print(f"         {f.message}", markup=False, highlight=False)
        if f.evidence:
            shown = json.dumps(dict(f.evidence), separators=(", ", ": "))
            c.print(f"         evidence: {shown[:400]}{'...' if len(shown) > 400 else ''}",
                    markup=False, highlight=False)
        if f.fix:
            c.print("         fix: " + f.fix.rstrip().replace("\n", "\n              "),
                    markup=False, highlight=False)
        c.print("")
    counts = summary(findings)
    c.print(", ".join(f"{n} {s}{'s' if n != 1 and s != 'info' else ''}"
                      for s, n in counts.items()), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(filename: FileOpt = [],  # noqa: B006
               output: OutputOpt = "table",
               fail_on: Annotated[str, typer.Option(
                   "--fail-on", help="exit 1 when a finding is at or above: info|warning|error")
               ] = "error",
               check: Annotated[list[str], typer.Option(
                   "--check", help="run only this check (repeatable)")] = [],  # noqa: B006
               skip: Annotated[list[str], typer.Option(
                   "--skip", help="do not run this check (repeatable)")] = [],  # noqa: B006
               conns_per_pod: Annotated[int, typer.Option(
                   "--conns-per-pod", help="connections each pod keeps open, for the conntrack "
                   "estimate")] = 100,
               disk_report: Annotated[Path | None, typer.Option(
                   "--disk-report", help="a control-plane node's 'podnet disk -o json' output "
                   "(etcd-disk-slow)")] = None,
               sysctl: Annotated[list[Path], typer.Option(
                   "--sysctl", help="a node's 'sysctl -a' output or sysctl.conf, for the "
                   "conntrack checks (repeatable; later files win)")] = [],  # noqa: B006
               list_checks: Annotated[bool, typer.Option(
                   "--list", help="list the checks and exit")] = False,
               nodes: NodesOpt = 3) -> None:
        """The seeds' production checklists as findings: what goes wrong on the wire, the
        evidence, and the fix."""
        from podnet.doctor import SEVERITIES, diagnose, select, summary
        from podnet.doctor.etcd import read_disk_report
        from podnet.doctor.finding import RANK
        from podnet.doctor.sarif import sarif
        from podnet.doctor.sysctls import parse_sysctls
        from podnet.model.cluster import build
        from podnet.model.load import read_paths, read_texts

        check_format(output, ("table", "json", "sarif"))
        if fail_on not in SEVERITIES:
            raise UsageError(f"--fail-on {fail_on}: choose one of {', '.join(SEVERITIES)}")
        if conns_per_pod < 0:
            raise UsageError("--conns-per-pod must be zero or more")
        checks = select(check, skip)
        if list_checks:
            emit_lines(f"{c.name:32} {c.concern:12} {c.summary}" for c in checks)
            return
        if not filename and disk_report is None and not sysctl:
            raise UsageError("no input: give manifests with -f PATH (a file, a directory, or -), "
                             "or a node's --disk-report or --sysctl")
        report = (read_disk_report(_read(disk_report, "--disk-report"), str(disk_report))
                  if disk_report is not None else None)
        node = parse_sysctls((str(p), _read(p, "--sysctl")) for p in sysctl) if sysctl else None
        docs = read_paths(filename) if filename else read_texts([])
        cluster = build(docs, nodes=nodes)
        warn(cluster)
        findings = diagnose(cluster, docs, only=check, skip=skip, conns_per_pod=conns_per_pod,
                            disk_report=report, node_sysctls=node)
        if output == "json":
            emit_json({"findings": [f.to_json() for f in findings], "summary": summary(findings)})
        elif output == "sarif":
            first = next(iter(docs.texts), "-")
            emit_json(sarif(findings, checks, _locator(docs.texts, first), __version__))
        else:
            # line numbers compose the YAML again: worth it for files a person reads
            small = sum(len(t) for t in docs.texts.values()) < TABLE_LINES_LIMIT
            _table(findings, _locator(docs.texts, "-") if small else None)
        failing = [f for f in findings if RANK[f.severity] >= RANK[fail_on]]
        if failing:
            raise FindingsError(f"{len(failing)} finding{'s' if len(failing) != 1 else ''} at "
                                f"or above {fail_on} (--fail-on {fail_on})")
