"""``podnet gateway``: each Gateway's listeners and the HTTPRoutes attached to them, with the
conditions a Gateway API controller would set (and why a route is refused)."""

from __future__ import annotations

from typing import Any

import typer

from podnet.cli.common import FileOpt, NodesOpt, OutputOpt, check_format, load_cluster
from podnet.cli.output import console, emit_json


def _show(cond: dict[str, str] | None) -> str:
    if cond is None:
        return "-"
    return cond["status"] + ("" if cond["status"] == "True" else
                             f" {cond['reason']}: {cond['message']}")


def _print(data: dict[str, Any]) -> None:
    from rich.table import Table as RichTable

    c = console()
    if not data["gateways"] and not data["routes"]:
        c.print("no Gateway and no HTTPRoute in the input")
        return
    for gw in data["gateways"]:
        t = RichTable(title=f"Gateway {gw['name']} (class {gw['gatewayClassName']})")
        for col in ("listener", "port", "protocol", "hostname", "programmed", "routes", "why"):
            t.add_column(col, overflow="fold")
        for x in gw["listeners"]:
            why = "; ".join(f"{k['type']}={k['status']} {k['reason']}: {k['message']}".rstrip(": ")
                            for k in x["conditions"]
                            if (k["status"] == "False") != (k["type"] == "Conflicted"))
            t.add_row(x["name"], str(x["port"]), x["protocol"], x["hostname"] or "*",
                      "yes" if x["programmed"] else "no", ", ".join(x["routes"]) or "-", why)
        c.print(t)
        for n in gw["notes"]:
            c.print(f"note: {n}")
    t = RichTable(title="HTTPRoutes")
    for col in ("route", "parent", "accepted", "resolvedRefs", "listeners"):
        t.add_column(col, overflow="fold")
    for r in data["routes"]:
        for p in r["parents"]:
            conds = {k["type"]: k for k in p["conditions"]}
            acc, res = conds.get("Accepted"), conds.get("ResolvedRefs")
            t.add_row(r["name"], p["gateway"] + (f"/{p['sectionName']}" if p["sectionName"]
                                                  else ""), _show(acc), _show(res),
                      ", ".join(p["listeners"]) or "-")
    c.print(t)


def register(app: typer.Typer) -> None:
    @app.command(name="gateway")
    def gateway_cmd(filename: FileOpt = [],  # noqa: B006
                    output: OutputOpt = "table", nodes: NodesOpt = 3) -> None:
        """Gateway API: listeners, attached and refused HTTPRoutes, and the conditions."""
        from podnet.gateway.attach import build
        from podnet.gateway.report import config

        check_format(output, ("table", "json"))
        data = config(build(load_cluster(filename, nodes)))
        if output == "json":
            emit_json(data)
        else:
            _print(data)
