"""``podnet dns``: the resolv.conf a pod gets, the queries a lookup sends, the answer."""

from __future__ import annotations

from typing import Annotated

import typer

from podnet.cli.common import FileOpt, LibcOpt, NodesOpt, OutputOpt, check_format, load_cluster
from podnet.cli.output import console, emit_json
from podnet.errors import UsageError


def register(app: typer.Typer) -> None:
    @app.command()
    def dns(name: Annotated[str, typer.Argument(help="the name the pod looks up")],
            filename: FileOpt = [],  # noqa: B006
            pod: Annotated[str, typer.Option("--pod", help="NS/POD doing the lookup")] = "",
            libc: LibcOpt = "glibc",
            missing: Annotated[list[str], typer.Option(
                "--missing", help="an external name that does not exist (repeatable)")] = [],  # noqa: B006
            output: OutputOpt = "table", nodes: NodesOpt = 3) -> None:
        """What a lookup from a pod does: resolv.conf, the queries in order, the answer."""
        from podnet.dns.records import build_zone
        from podnet.dns.resolvconf import resolv_conf
        from podnet.dns.resolver import lookup
        from podnet.dns.server import answer

        check_format(output, ("table", "json"))
        cluster = load_cluster(filename, nodes)
        the_pod = cluster.pod(pod)
        if the_pod is None:
            raise UsageError(f"--pod {pod!r} is not a pod of the input (NS/NAME)")
        rc = resolv_conf(cluster, the_pod)
        zone = build_zone(cluster)
        result = lookup(name, rc, lambda n, t: answer(zone, n, t, missing), libc)
        notes = [*rc.warnings, *result.notes]
        data = {"pod": the_pod.key, "name": name, "libc": libc, "resolv_conf": rc.text(),
                "queries": [{"name": q.name, "type": q.type, "rcode": q.rcode, "result": q.outcome}
                            for q in result.queries],
                "answer": [{"name": r.name, "type": r.type, "value": r.value} for r in result.answer],
                "notes": notes}
        if output == "json":
            emit_json(data)
            return
        from rich.table import Table

        c = console()
        c.print(f"resolv.conf of {the_pod.key}:")
        c.print(rc.text().rstrip())
        t = Table(title=f"{libc} lookup of {name!r}")
        for col in ("#", "query", "type", "result"):
            t.add_column(col)
        for i, q in enumerate(result.queries, 1):
            t.add_row(str(i), q.name, q.type, q.outcome)
        c.print(t)
        c.print("answer: " + (", ".join(f"{r.type} {r.value}" for r in result.answer) or "none"))
        for n in notes:
            c.print(f"note: {n}")
