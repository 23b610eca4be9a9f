"""``podnet lab``: build the cluster in network namespaces, probe it, compare, tear it down."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from podnet.cli.common import (
    CniOpt,
    FileOpt,
    NodesOpt,
    OutputOpt,
    check_format,
    choices,
    load_docs,
)
from podnet.cli.output import console, emit_json
from podnet.errors import LabPrerequisiteError, UsageError
from podnet.model import build
from podnet.model.load import RawDoc
from podnet.model.vocabulary import LAB_PROXY_MODES, PROTOCOLS, PROXY_MODES
from podnet.policy import class_matrix, compile_policies, pod_matrix
from podnet.policy.query import parse_ports

lab_app = typer.Typer(no_args_is_help=True, help="Build the cluster for real in network namespaces.")
NameOpt = Annotated[str, typer.Option("--name", help="Lab name (1-12 of a-z, 0-9, -).")]


def _lab_modules() -> Any:
    # Imported lazily: the analyzer commands must work where pyroute2 or root are missing.
    from podnet.lab import apply, ledger, plan, teardown

    return apply, ledger, plan, teardown


def _cluster_of(state: dict[str, Any]) -> Any:
    docs = [RawDoc(d["file"], d["doc"], d["body"]) for d in state["docs"]]
    return build(docs, nodes=state["nodes"], overrides=state.get("overrides") or {})


def register(app: typer.Typer) -> None:
    app.add_typer(lab_app, name="lab")


@lab_app.command("up")
def up(filename: FileOpt = [], name: NameOpt = "",  # noqa: B006
       cni: CniOpt = None, nodes: NodesOpt = 3,
       proxy: Annotated[str | None, typer.Option("--proxy", help="|".join(LAB_PROXY_MODES),
                                                 callback=choices("--proxy", PROXY_MODES))] = None,
       dry_run: Annotated[bool, typer.Option("--dry-run", help="print the steps only")] = False
       ) -> None:
    """Build the cluster's network: fabric, nodes, pods, routes, workloads."""
    if not name:
        raise UsageError("lab up needs --name")
    docs = load_docs(filename)  # once: the state below keeps these documents, and stdin reads once
    cluster = build(docs, nodes=nodes)
    apply, _, plan_mod, _ = _lab_modules()
    plan = plan_mod.build_plan(cluster, name, cni or cluster.net.cni, proxy)
    for note in plan.notes:
        sys.stderr.write(f"note: {note}\n")
    if dry_run:
        sys.stdout.write(plan.text())
        return
    state = {"docs": [{"file": d.file, "doc": d.doc, "body": d.body} for d in docs],
             "nodes": nodes, "overrides": {}, "created": time.time()}
    took = apply.up(plan, state)
    console().print(f"lab {name} up: {len(cluster.nodes)} nodes, {len(plan.pods)} pods, "
                    f"cni {plan.cni}, kube-proxy {plan.proxy}, in {took:.2f} s")


@lab_app.command("probe")
def probe_cmd(name: NameOpt = "",
              ports: Annotated[str | None, typer.Option("--ports")] = None,
              output: OutputOpt = "table",
              timeout: Annotated[float, typer.Option("--timeout", help="seconds per probe")] = 1.0
              ) -> None:
    """Probe every pod to every pod on every port; compare with the analyzer's prediction."""
    check_format(output, ("table", "json"))
    apply, ledger_mod, _, _ = _lab_modules()
    from podnet.lab.probe import Target, probe, sctp_supported

    apply.check_prerequisites()  # probing enters the lab's namespaces: root, as for lab up
    if not ledger_mod.exists(name):
        raise LabPrerequisiteError(f"no lab named {name!r} is up")
    led = ledger_mod.Ledger(name)
    cluster = _cluster_of(led.read_state("lab.json"))
    places = {p["key"]: p for p in led.read_state("pods.json")}
    port_list = parse_ports(ports, cluster)
    sctp = sctp_supported()
    probed = [(p, proto) for p, proto in port_list if proto != "SCTP" or sctp]
    skipped = [f"{p}/{proto}: this kernel has no SCTP" for p, proto in port_list
               if proto == "SCTP" and not sctp]
    # hostNetwork pods live in their node's namespace; traffic between a node and its own pods
    # is always allowed and never crosses the forward hook, so they are not probed here.
    pods = [p for p in cluster.pods if not p.host_network]
    index = {p.key: i for i, p in enumerate(cluster.pods)}
    keys = [p.key for p in pods]
    groups: dict[str, list[Any]] = {}
    for i, src in enumerate(pods):
        for j, dst in enumerate(pods):
            if i == j:
                continue
            for port, proto in probed:
                t = Target(i, j, dst.ip, port, proto)
                groups.setdefault(places[src.key]["netns"], []).append(t)
    start = time.monotonic()
    results = probe(groups, timeout=timeout)
    compiled = compile_policies(cluster.policies)
    cm = class_matrix(cluster, compiled, probed)
    idx = np.array([index[p.key] for p in pods], dtype=np.int64)
    observed: dict[str, list[list[bool]]] = {}
    mismatches: list[dict[str, Any]] = []
    for port, proto in probed:
        k = f"{port}/{proto}"
        want = pod_matrix(cm, (port, proto), idx, idx)
        m = [[i == j for j in range(len(pods))] for i in range(len(pods))]
        for t, ok in results.items():
            if (t.port, t.proto) == (port, proto):
                m[t.src][t.dst] = ok
                if ok != bool(want[t.src, t.dst]):
                    mismatches.append({"from": keys[t.src], "to": keys[t.dst], "port": k,
                                       "predicted": bool(want[t.src, t.dst]), "observed": ok})
        observed[k] = m
    lab = led.read_state("lab.json")
    services = _probe_services(cluster, pods, places, timeout, name, lab.get("proxy", "iptables"),
                               lab.get("external_ip", ""))
    mismatches += [{"from": s["from"], "to": f"{s['service']} at {s['to']}", "port": s["port"],
                    "predicted": s["predicted"], "observed": s["observed"]}
                   for s in services if not s["agrees"]]
    data = {"pods": keys, "ports": list(observed), "matrix": observed, "services": services,
            "mismatches": mismatches, "skipped": skipped, "probes": len(results) + len(services),
            "seconds": round(time.monotonic() - start, 2)}
    if output == "json":
        emit_json(data)
    else:
        c = console()
        served = sum(1 for s in services if s["observed"] not in ("dropped", "rejected"))
        c.print(f"{data['probes']} probes ({len(services)} to Service IPs, {served} answered) in "
                f"{data['seconds']:.2f} s; {len(mismatches)} mismatches")
        for why in skipped:
            c.print(f"  not probed: {why}")
        for mm in mismatches:
            pred, obs = mm["predicted"], mm["observed"]
            if isinstance(pred, bool):
                pred, obs = ("allowed" if pred else "denied"), ("reachable" if obs else "dropped")
            c.print(f"  {mm['from']} -> {mm['to']} {mm['port']}: predicted {pred}, observed {obs}")
    if mismatches:
        raise typer.Exit(1)


def _probe_services(cluster: Any, pods: list[Any], places: dict[str, Any], timeout: float,
                    lab: str, mode: str, external_ip: str) -> list[dict[str, Any]]:
    """Every pod, and the outside (the ``external`` namespace), to every Service address: cluster
    IPs (pods only), every NodePort on every node, LoadBalancer and external IPs. Which endpoint
    answered, against what kube-proxy's rules for the node that translates the packet and
    NetworkPolicy predict."""
    from podnet.lab.probe import ServiceTarget, probe_services, sctp_supported
    from podnet.names import external_netns
    from podnet.policy.verdict import Evaluator
    from podnet.services import resolve
    from podnet.services.metallb import external_addresses
    from podnet.services.reach import expect
    from podnet.services.render import render_for_node

    protos = PROTOCOLS if sctp_supported() else tuple(p for p in PROTOCOLS if p != "SCTP")
    plans = tuple(p for p in resolve(cluster) if p.protocol in protos)
    ev = Evaluator(cluster, compile_policies(cluster.policies))
    rules = {n.name: render_for_node(mode, cluster, n.name, plans) for n in cluster.nodes}
    groups: dict[str, list[Any]] = {}
    where: dict[Any, tuple[Any, str]] = {}  # target -> (source, node whose rules see it)
    for i, src in enumerate(pods):
        for p in plans:
            # the cluster IP, LoadBalancer and external IPs are translated by the pod's own node;
            # a NodePort by the node addressed
            dests = [(ip, p.port, src.node)
                     for ip in (p.cluster_ip, *p.load_balancer_ips, *p.external_ips)]
            dests += [(n.internal_ip, p.node_port, n.name) for n in cluster.nodes if p.node_port]
            for ip, port, node in dests:
                t = ServiceTarget(i, p.key, ip, port, p.protocol)
                groups.setdefault(places[src.key]["netns"], []).append(t)
                where[t] = (src, node)
    ext_ns, attract = external_netns(lab), external_addresses(cluster, plans)
    for p in plans:
        dests = [(n.internal_ip, p.node_port, n.name) for n in cluster.nodes if p.node_port]
        dests += [(ip, p.port, attract[ip]) for ip in (*p.load_balancer_ips, *p.external_ips)
                  if ip in attract]
        for ip, port, node in dests:
            t = ServiceTarget(-1, p.key, ip, port, p.protocol)
            groups.setdefault(ext_ns, []).append(t)
            where[t] = (external_ip, node)
    answers = probe_services(groups, timeout=timeout)
    # ClientIP affinity: once the first connections are in, the same client asks again and
    # must land on the same endpoint every time
    sticky = {p.key for p in plans if p.affinity_timeout is not None}
    again: dict[str, list[Any]] = {}
    for ns, targets in groups.items():
        again[ns] = [replace(t, attempt=k) for t in targets if t.service in sticky
                     and answers[t] not in ("dropped", "rejected") for k in (1, 2, 3)]
    repeats = probe_services({ns: ts for ns, ts in again.items() if ts}, timeout=timeout)
    out = []
    for t, answer in sorted(answers.items(), key=lambda kv: (kv[0].src, kv[0].service, kv[0].ip)):
        src, node = where[t]
        e = expect(cluster, ev, mode, rules[node], node, src, t.ip, t.port, t.proto)
        row: dict[str, Any] = {
            "from": src.key if t.src >= 0 else f"external ({src})", "service": t.service,
            "to": f"{t.ip}:{t.port}", "port": f"{t.port}/{t.proto}",
            "predicted": e.summary(), "observed": answer, "agrees": e.agrees(answer)}
        if t.service in sticky and answer not in ("dropped", "rejected"):
            seen = [repeats[replace(t, attempt=k)] for k in (1, 2, 3)]
            row["repeats"] = seen
            if any(a != answer for a in seen):
                row["agrees"] = False
                row["predicted"] = f"{e.summary()}, the same endpoint every time (ClientIP affinity)"
                row["observed"] = f"{answer}, then {', '.join(seen)}"
        out.append(row)
    return out


@lab_app.command("status")
def status(output: OutputOpt = "table") -> None:
    """The labs that are up, and what each holds."""
    _, ledger_mod, _, _ = _lab_modules()
    data = []
    for lab in ledger_mod.labs():
        led = ledger_mod.Ledger(lab)
        entries = list(led.entries())
        try:
            info = led.read_state("lab.json")
        except (OSError, ValueError):  # a lab killed before it wrote its state
            info = {}
        data.append({"name": lab, "netns": sum(e["kind"] == "netns" for e in entries),
                     "processes": sum(e["kind"] == "process" for e in entries),
                     "cni": info.get("cni"), "proxy": info.get("proxy")})
    if output == "json":
        emit_json(data)
        return
    c = console()
    if not data:
        c.print("no lab is up")
    for d in data:
        how = f", cni {d['cni']}, kube-proxy {d['proxy']}" if d["cni"] else ""
        c.print(f"{d['name']}: {d['netns']} namespaces, {d['processes']} processes{how}")


@lab_app.command("exec", context_settings={"allow_extra_args": True,
                                           "ignore_unknown_options": True})
def exec_cmd(ctx: typer.Context, name: NameOpt = "",
             pod: Annotated[str, typer.Argument(help="NS/POD")] = "") -> None:
    """Run a command inside a pod's namespace: podnet lab exec --name N NS/POD -- CMD..."""
    _, ledger_mod, _, _ = _lab_modules()
    if not ledger_mod.exists(name):
        raise LabPrerequisiteError(f"no lab named {name!r} is up")
    places = {p["key"]: p for p in ledger_mod.Ledger(name).read_state("pods.json")}
    if pod not in places:
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
    apply, _, _, teardown = _lab_modules()
    apply.check_prerequisites()
    removed = teardown.down(name)
    console().print(f"lab {name}: removed {len(removed)} objects")


@lab_app.command("clean")
def clean() -> None:
    """Tear down every lab podnet knows of."""
    apply, _, _, teardown = _lab_modules()
    apply.check_prerequisites()
    for lab, removed in teardown.clean().items():
        console().print(f"lab {lab}: removed {len(removed)} objects")




@lab_app.command("bgp")
def bgp(name: NameOpt = "", output: OutputOpt = "table") -> None:
    """BGP peers of every node, like `calicoctl node status` (bgp mode)."""
    check_format(output, ("table", "json"))
    _, ledger_mod, _, _ = _lab_modules()
    from podnet.lab.bgp import peers

    if not ledger_mod.exists(name):
        raise LabPrerequisiteError(f"no lab named {name!r} is up")
    data = peers(ledger_mod.Ledger(name))
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
