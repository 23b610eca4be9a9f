"""``podnet ingress migrate``: Gateway API objects that serve what the Ingresses serve, the
fate of every annotation, and with ``--verify`` the requests whose answer would change."""

from __future__ import annotations

import sys
from collections import Counter
from typing import Annotated, Any

import typer

from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format, load_cluster
from podnet.cli.output import emit_json


def _verify_data(total: int, diffs: list[Any]) -> dict[str, Any]:
    from podnet.ingress.report import outcome as outcome_data

    causes = Counter(d.cause for d in diffs)
    return {"requests": total, "identical": total - len(diffs), "differ": len(diffs),
            "causes": [{"cause": c, "requests": n} for c, n in causes.most_common()],
            "differences": [{"request": d.probe.why, "cause": d.cause,
                             "ingress": outcome_data(d.ingress), "gateway": outcome_data(d.gateway)}
                            for d in diffs]}


def _show(o: dict[str, Any]) -> str:
    return (f"{o['status']}" + (f" -> {o['location']}" if o["location"] else "")
            + (f" {o['backend']['service']}" if o["backend"] else ""))


def _print_verify(data: dict[str, Any]) -> None:
    out = sys.stderr
    for group in data["causes"]:
        print(f"# {group['requests']} differ: {group['cause']}", file=out)
        for d in data["differences"]:
            if d["cause"] != group["cause"]:
                continue
            a, b = d["ingress"], d["gateway"]
            print(f"  {d['request']}: Ingress {_show(a)}, Gateway {_show(b)}", file=out)
    print(f"{data['requests']:,} requests: {data['identical']:,} identical, "
          f"{data['differ']:,} differ", file=out)


def register(group: typer.Typer) -> None:
    @group.command()
    def migrate(filename: FileOpt = [],  # noqa: B006
                gateway_class: Annotated[str, typer.Option(
                    "--gateway-class", help="gatewayClassName of the generated Gateways")
                ] = "nginx",
                verify: Annotated[bool, typer.Option(
                    "--verify", help="route a request corpus through both and list what "
                    "differs (exit 1 when anything does)")] = False,
                output: OutputOpt = "yaml", nodes: NodesOpt = 3) -> None:
        """Gateway API objects for the Ingresses (one Gateway per controller, HTTPRoutes per
        Ingress and host) and the fate of every annotation: mapped, mapped with a difference,
        or not expressible in core Gateway API (and what covers it)."""
        import yaml

        from podnet.analysis import Analysis
        from podnet.gateway.attach import build
        from podnet.gateway.migrate import migrate as run
        from podnet.gateway.parse import read
        from podnet.gateway.verify import policy_actions
        from podnet.gateway.verify import verify as run_verify
        from podnet.ingress.controllers import find_controllers
        from podnet.ingress.routes import build_all

        check_format(output, ("yaml", "json"))
        cluster = load_cluster(filename, nodes)
        tables = build_all(cluster, find_controllers(cluster))
        m = run(tables, gateway_class)
        fates = [{"ingress": f.ingress, "annotation": f.annotation, "value": f.value,
                  "status": f.status, "how": f.how} for f in m.fates]
        data: dict[str, Any] = {"objects": m.objects, "annotations": fates, "notes": m.notes}
        differ = 0
        config = build(cluster, read(m.as_others()))
        actions = policy_actions(Analysis(cluster), tables, config)
        data["actions"] = actions
        if verify:
            total, diffs = run_verify(Analysis(cluster), tables, config)
            data["verify"] = _verify_data(total, diffs)
            differ = len(diffs)
        if output == "json":
            emit_json(data)
        else:
            comments = [f"# {f['status']}: {f['ingress']} {f['annotation']}={f['value']!r}: "
                        f"{f['how']}" for f in fates] + [f"# note: {n}" for n in m.notes] \
                + [f"# not-expressible: {a}" for a in actions]
            sys.stdout.write("\n".join(comments) + ("\n" if comments else ""))
            sys.stdout.write(yaml.safe_dump_all(m.objects, sort_keys=False))
            if verify:
                _print_verify(data["verify"])
        if differ:
            raise typer.Exit(1)
