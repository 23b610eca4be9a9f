"""``podnet reach`` and ``podnet explain``: NetworkPolicy answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer

from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format
from podnet.cli.output import console, emit_json, emit_lines

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from podnet.model.objects import Pod

REACH_FORMATS = ("table", "json", "json-classes", "csv", "dot", "connlist", "summary")
NoIpblockOpt = Annotated[bool, typer.Option(
    "--no-ipblock-matches-pods", help="ipBlocks select only IPs outside the cluster "
    "(netpol-analyzer's and Cilium's reading); by default they also select pod IPs, as the "
    "upstream e2e suite expects.")]


def _label(pod: Pod | str) -> str:
    return pod if isinstance(pod, str) else pod.key


def _csv(mats: dict[str, NDArray[np.bool_]], names: list[str], rows: NDArray[np.int64],
         cols: NDArray[np.int64]) -> Iterator[str]:
    yield "port,from,to,allowed"
    for k, m in mats.items():
        for a, i in enumerate(rows):
            for b, j in enumerate(cols):
                yield f"{k},{names[i]},{names[j]},{str(bool(m[a, b])).lower()}"


def register(app: typer.Typer) -> None:
    @app.command()
    def reach(filename: FileOpt = [],  # noqa: B006
              ports: Annotated[str | None, typer.Option(
                  "--ports", help="e.g. 80/TCP,53/UDP; default: every declared container port")
              ] = None,
              src: Annotated[str | None, typer.Option(
                  "--from", help="sources: NS/POD, NS/, NS/LABELS or LABELS")] = None,
              dst: Annotated[str | None, typer.Option("--to", help="destinations, as --from")
                             ] = None,
              output: Annotated[str, typer.Option(
                  "-o", "--output", help="|".join(REACH_FORMATS) + "; json-classes: the "
                  "matrix per class of pods that policy treats alike (size follows the "
                  "classes, not pods squared)")] = "table",
              nodes: NodesOpt = 3,
              no_ipblock_matches_pods: NoIpblockOpt = False) -> None:
        """Who may open a connection to whom, on each port (NetworkPolicy)."""
        import numpy as np

        from podnet.cli import reach_out
        from podnet.cli.loading import load_keyed
        from podnet.cli.reach_cache import derived
        from podnet.policy import class_matrix, count_allowed, pod_matrix
        from podnet.policy.query import parse_ports, select_pods

        check_format(output, REACH_FORMATS)
        cluster, key = load_keyed(filename, nodes)
        if output == "connlist":
            from podnet.analysis import Analysis
            from podnet.policy.connlist import connlist

            analysis = Analysis(cluster, ipblock_matches_pods=not no_ipblock_matches_pods)
            emit_lines(connlist(cluster, analysis.compiled))
            return
        # compiled policies and classes, cached beside the model: a summary reads no pod
        found = derived(cluster, key, not no_ipblock_matches_pods)
        port_list = parse_ports(ports, cluster)
        classes = found.classes
        cm = class_matrix(cluster, found.compiled, port_list, classes, found.namespaces)
        if output == "summary":
            n = found.pods
            data: dict[str, object] = {
                "pods": n, "classes": len(classes), "policies": found.policies,
                "ports": {f"{p}/{proto}": {"allowed": count_allowed(cm, (p, proto)),
                                           "pairs": n * (n - 1)} for p, proto in port_list}}
            emit_json(data)
            return
        rows = np.array(select_pods(cluster, src), dtype=np.int64)
        cols = np.array(select_pods(cluster, dst), dtype=np.int64)
        names = [p.key for p in cluster.pods]
        if output in ("json", "json-classes"):
            write = reach_out.write_matrix if output == "json" else reach_out.write_classes
            write(cm, port_list, names, rows, cols, bool(src or dst))
            return
        mats = {f"{p}/{proto}": pod_matrix(cm, (p, proto), rows, cols) for p, proto in port_list}
        if output == "csv":
            emit_lines(_csv(mats, names, rows, cols))
        elif output == "dot":
            lines = ["digraph reach {", "  rankdir=LR;", "  node [shape=box];"]
            for i in sorted(set(rows.tolist()) | set(cols.tolist())):
                lines.append(f'  "{names[i]}";')
            edges: dict[tuple[int, int], list[str]] = {}
            for k, m in mats.items():
                for a, b in zip(*np.nonzero(m), strict=True):
                    if rows[a] != cols[b]:
                        edges.setdefault((int(rows[a]), int(cols[b])), []).append(k)
            for (i, j), ks in sorted(edges.items()):
                lines.append(f'  "{names[i]}" -> "{names[j]}" [label="{",".join(ks)}"];')
            lines.append("}")
            emit_lines(lines)
        else:
            from rich.table import Table

            c = console()
            for k, m in mats.items():
                t = Table(title=f"reach {k}  (row may connect to column)")
                t.add_column("from \\ to")
                for j in range(len(cols)):
                    t.add_column(str(j), justify="center")
                for a, i in enumerate(rows):
                    t.add_row(names[i], *("✓" if m[a, b] else "·" for b in range(len(cols))))
                c.print(t)
            c.print("columns: " + ", ".join(f"{j}={names[i]}" for j, i in enumerate(cols)))

    @app.command()
    def explain(filename: FileOpt = [],  # noqa: B006
                src: Annotated[str, typer.Option("--from", help="NS/POD or IP")] = "",
                dst: Annotated[str, typer.Option("--to", help="NS/POD or IP")] = "",
                port: Annotated[str, typer.Option("--port", help="e.g. 8080/TCP")] = "",
                output: OutputOpt = "table", nodes: NodesOpt = 3,
                no_ipblock_matches_pods: NoIpblockOpt = False) -> None:
        """Why one flow is allowed or denied: per side, the selecting policies and rules."""
        from podnet.cli.quick import explain as run

        run(filename, src, dst, port, output, nodes, no_ipblock_matches_pods)
