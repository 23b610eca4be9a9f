"""``podnet lab``: build the cluster in network namespaces, probe it, compare, tear it down."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from podnet.cli import (
    lab_curl,  # noqa: F401  (registers curl, first in `podnet lab --help`)
    lab_run,
)
from podnet.cli.common import CniOpt, FileOpt, NodesOpt, OutputOpt, check_format, choices
from podnet.cli.lab_common import NameOpt, complete_lab, lab_app
from podnet.cli.output import console, emit_json
from podnet.errors import UsageError
from podnet.model.vocabulary import LAB_PROXY_MODES, PROXY_MODES


def register(app: typer.Typer) -> None:
    from podnet.cli import lab_doctor  # noqa: F401  (registers doctor, capture, conntrack)

    app.add_typer(lab_app, name="lab")


@lab_app.command("up")
def up(filename: FileOpt = [], name: NameOpt = "",  # noqa: B006
       cni: CniOpt = None, nodes: NodesOpt = 3,
       proxy: Annotated[str | None, typer.Option("--proxy", help="|".join(LAB_PROXY_MODES),
                                                 callback=choices("--proxy", PROXY_MODES))] = None,
       dry_run: Annotated[bool, typer.Option("--dry-run", help="print the steps only")] = False,
       migrated_gateway: Annotated[bool, typer.Option(
           "--migrated-gateway", help="also serve what `podnet ingress migrate` writes for the "
           "Ingresses, with its own nginx and address; `lab probe` sends migrate --verify's "
           "requests to both fronts")] = False
       ) -> None:
    """Build the cluster's network: fabric, nodes, pods, routes, workloads."""
    lab_run.up(filename, name, cni, nodes, proxy, dry_run, migrated_gateway)


@lab_app.command("probe")
def probe_cmd(name: NameOpt = "",
              ports: Annotated[str | None, typer.Option("--ports")] = None,
              output: OutputOpt = "table",
              timeout: Annotated[float, typer.Option("--timeout", help="seconds per probe")] = 1.0
              ) -> None:
    """Probe every pod to every pod on every port; compare with the analyzer's prediction."""
    lab_run.probe(name, ports, output, timeout)


@lab_app.command("status")
def status(output: OutputOpt = "table") -> None:
    """The labs that are up, and what each holds; a lab whose `lab up` was interrupted says so."""
    check_format(output, ("table", "json"))
    from podnet.lab import ledger as ledger_mod

    data = []
    for lab in ledger_mod.labs():
        led = ledger_mod.Ledger(lab)
        try:
            entries = list(led.entries())
            st = led.state(entries)
        except ledger_mod.UntrustedLedger as e:
            data.append({"name": lab, "state": "refused", "reason": str(e)})
            continue
        try:
            info = led.read_state("lab.json")
        except (OSError, ValueError):  # a lab killed before it wrote its state
            info = {}
        if st["complete"]:
            state = "up"
        elif st["building"]:
            state = f"building (step {st['done']} of {st['total']})"
        else:
            state = f"incomplete (interrupted at step {st['done']} of {st['total']}: {st['step']})"
        data.append({"name": lab, "state": state, "complete": st["complete"],
                     "netns": sum(e["kind"] == "netns" for e in entries),
                     "processes": sum(e["kind"] == "process" for e in entries),
                     "cni": info.get("cni"), "proxy": info.get("proxy")})
    if output == "json":
        emit_json(data)
        return
    c = console()
    if not data:
        c.print("no lab is up")
    for d in data:
        if d["state"] == "refused":
            c.print(f"{d['name']}: {d['reason']}", markup=False)
            continue
        how = f", cni {d['cni']}, kube-proxy {d['proxy']}" if d["cni"] else ""
        c.print(f"{d['name']}: {d['state']}; {d['netns']} namespaces, {d['processes']} "
                f"processes{how}", markup=False)


@lab_app.command("exec", context_settings={"allow_extra_args": True,
                                           "ignore_unknown_options": True})
def exec_cmd(ctx: typer.Context, name: NameOpt = "",
             pod: Annotated[str, typer.Argument(help="NS/POD")] = "") -> None:
    """Run a command inside a pod's namespace: podnet lab exec --name N NS/POD -- CMD..."""
    led = complete_lab(name)
    places = {p["key"]: p for p in led.read_state("pods.json")}
    if pod not in places or not led.owns_netns(places[pod]["netns"]):
        raise UsageError(f"{pod!r} is not a pod of lab {name!r}")
    cmd = [a for a in ctx.args if a != "--"]
    if not cmd:
        raise UsageError("give a command after --")
    os.execvp("ip", ["ip", "netns", "exec", places[pod]["netns"], *cmd])


@lab_app.command("down")
def down(name: NameOpt = "") -> None:
    """Tear a lab down: exactly what its ledger recorded. Idempotent."""
    if not name:
        raise UsageError("lab down needs --name")
    from podnet.lab import ledger as ledger_mod
    from podnet.lab import teardown
    from podnet.lab.prereq import check_prerequisites

    ledger_mod.check_name(name)
    check_prerequisites()
    removed = teardown.down(name)
    console().print(f"lab {name}: removed {len(removed)} objects")


@lab_app.command("clean")
def clean(names: Annotated[list[str] | None, typer.Argument(help="labs to remove (default: all)")]
          = None,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask")] = False) -> None:
    """Tear down the labs named, or every lab podnet knows of (after asking)."""
    from podnet.lab import ledger as ledger_mod
    from podnet.lab import teardown
    from podnet.lab.prereq import check_prerequisites

    chosen = [ledger_mod.check_name(n) for n in names] if names else ledger_mod.labs()
    if not chosen:
        console().print("no lab to clean")
        return
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"lab clean would remove {', '.join(chosen)}: confirm with --yes")
        if not typer.confirm(f"remove labs {', '.join(chosen)}?"):
            raise typer.Exit(1)
    check_prerequisites()
    for lab, removed in teardown.clean(chosen).items():
        console().print(f"lab {lab}: removed {len(removed)} objects")


@lab_app.command("bgp")
def bgp(name: NameOpt = "", output: OutputOpt = "table") -> None:
    """BGP peers of every node, like `calicoctl node status` (bgp mode)."""
    check_format(output, ("table", "json"))
    from rich.table import Table

    from podnet.lab.bgp import peers

    data = peers(complete_lab(name))
    if output == "json":
        emit_json(data)
        return
    c = console()
    for node, rows in data.items():
        c.print(f"node {node}\nIPv4 BGP status")
        t = Table("PEER ADDRESS", "PEER TYPE", "STATE", "SINCE", "INFO")
        for r in rows:
            t.add_row(r["peer"], "node-to-node mesh", r["state"], r["since"], r["info"])
        c.print(t)
