"""``podnet lab doctor``, ``lab capture`` and ``lab conntrack``: the seeds' operational
checklists run for real inside a lab, each against what the analyzer predicts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from podnet.cli.common import OutputOpt, check_format
from podnet.cli.lab_common import NameOpt, cluster_of, complete_lab, lab_app
from podnet.cli.output import console, emit_json
from podnet.errors import UsageError

if TYPE_CHECKING:
    from podnet.model.objects import Pod

PodOpt = Annotated[str | None, typer.Option("--pod", help="NS/POD the checklist runs from "
                                                          "(default: the first pod with a peer)")]


def _lab(name: str) -> tuple[Any, dict[str, Any], dict[str, Any], Any]:
    """The lab's ledger, state, pod places and analysis (as `lab probe` builds them)."""
    from podnet.analysis import Analysis
    from podnet.lab.features import LAB_IPTABLES_FEATURES
    from podnet.lab.prereq import check_prerequisites

    check_prerequisites()  # entering the lab's namespaces needs root
    led = complete_lab(name)
    lab = led.read_state("lab.json")
    places = {p["key"]: p for p in led.read_state("pods.json")}
    return led, lab, places, Analysis(cluster_of(lab), iptables_features=LAB_IPTABLES_FEATURES)


def _source(analysis: Any, places: dict[str, Any], pod: str | None, name: str) -> Pod:
    from podnet.predict.probe import probed_pods

    pods = [p for p in probed_pods(analysis) if p.key in places]
    if pod is not None:
        found = [p for p in pods if p.key == pod]
        if not found:
            raise UsageError(f"{pod!r} is not a pod of lab {name!r} (hostNetwork pods share "
                             "their node's namespace: give a pod with its own)")
        return found[0]
    if not pods:
        raise UsageError(f"lab {name!r} has no pod of its own namespace to run the checklist from")
    return pods[0]


@lab_app.command("doctor")
def doctor_cmd(name: NameOpt = "", pod: PodOpt = None, output: OutputOpt = "table",
               timeout: Annotated[float, typer.Option("--timeout", help="seconds per connect")]
               = 2.0) -> None:
    """`node check` inside every node, and the seeds' debug checklist (DNS, routes, pod to
    pod, a Service) from a pod, each against the analyzer. Exit 1 on a disagreement or an
    error finding."""
    from concurrent.futures import ThreadPoolExecutor

    from podnet.lab.doctor import ask, node_check
    from podnet.names import node_netns
    from podnet.predict.checklist import questions
    from podnet.predict.probe import probed_pods

    check_format(output, ("table", "json"))
    led, lab, places, analysis = _lab(name)
    src = _source(analysis, places, pod, name)
    # one `node check` process per node, side by side: each is mostly interpreter start-up
    with ThreadPoolExecutor(max_workers=4) as pool:
        nodes = list(pool.map(lambda n: node_check(node_netns(name, n.name), n.name, lab["cni"]),
                              sorted(analysis.cluster.nodes, key=lambda n: n.name)))
    pods = [p for p in probed_pods(analysis) if p.key in places]
    rows = [ask(q, places[src.key]["netns"], timeout)
            for q in questions(analysis, lab.get("proxy", "iptables"), src, pods)]
    findings = [f for n in nodes for f in n["findings"]]
    counts = {s: sum(n["summary"][s] for n in nodes) for s in ("error", "warning", "info")}
    disagree = [r for r in rows if not r["agrees"]]
    if output == "json":
        emit_json({"lab": name, "nodes": [{"node": n["node"], "findings": n["findings"],
                                           "summary": n["summary"]} for n in nodes],
                   "checklist": rows, "summary": {**counts, "disagreements": len(disagree)}})
    else:
        from rich.table import Table

        con = console()
        shown = [f for f in findings if f["severity"] != "info"]
        if shown:
            t = Table(title=f"lab {name}: node checks", expand=True)
            for col in ("severity", "check", "object / field", "finding"):
                t.add_column(col, overflow="fold")
            for f in shown:
                t.add_row(f["severity"], f["check"], f"{f['object']}\n{f['field']}", f["message"])
            con.print(t)
        con.print(f"{len(nodes)} nodes: " + ", ".join(f"{n} {s}" for s, n in counts.items())
                  + " (info findings: -o json)")
        c = Table(title=f"debug checklist from {src.key}", expand=True)
        for col in ("step", "to", "predicted", "observed", ""):
            c.add_column(col, overflow="fold")
        for r in rows:
            c.add_row(r["step"], r["to"], r["predicted"], r["observed"],
                      "agree" if r["agrees"] else "DISAGREE")
        con.print(c)
    if disagree or counts["error"]:
        raise typer.Exit(1)


@lab_app.command("capture")
def capture_cmd(target: Annotated[str, typer.Argument(help="NS/POD whose eth0 to capture")] = "",
                name: NameOpt = "",
                node: Annotated[str | None, typer.Option(
                    "--node", help="also capture on this node's underlay eth0 (VXLAN, routed "
                                   "packets)")] = None,
                port: Annotated[int | None, typer.Option(
                    "--port", help="only frames with this TCP/UDP port, outer or inside VXLAN "
                                   "(with --probe, also the probe's own flow after DNAT)")]
                = None,
                count: Annotated[int, typer.Option("--count", help="stop after this many frames")]
                = 20,
                timeout: Annotated[float, typer.Option("--timeout", help="stop after seconds")]
                = 10.0,
                probe: Annotated[str | None, typer.Option(
                    "--probe", help="connect from the pod to IP, NS/POD or NS/SERVICE on --port "
                                    "while capturing")] = None,
                output: OutputOpt = "table") -> None:
    """Capture frames on a pod's eth0 (and a node's underlay) with a packet socket; print
    tcpdump-style lines: the handshake, VXLAN on the underlay, DNAT."""
    from podnet.dataplane.packet import line
    from podnet.lab.capture import Point, capture, connect_probe, probe_socket
    from podnet.names import node_netns

    check_format(output, ("table", "json"))
    if not 1 <= count <= 100_000 or not 0 < timeout <= 3600:
        raise UsageError("--count 1..100000, --timeout up to 3600 seconds")
    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port {port}: give 1..65535")
    led, _, places, analysis = _lab(name)
    if target not in places or not led.owns_netns(places[target]["netns"]):
        raise UsageError(f"{target!r} is not a pod of lab {name!r}")
    points = [Point(target, places[target]["netns"], "eth0")]
    if node is not None:
        if node not in {n.name for n in analysis.cluster.nodes}:
            raise UsageError(f"--node {node}: not a node of lab {name!r}")
        points.append(Point(f"node {node}", node_netns(name, node), "eth0"))
    wanted = {port} if port is not None else set()
    run = None
    if probe is not None:
        if port is None:
            raise UsageError("--probe needs --port")
        ip, dport = _probe_ip(analysis, probe), port
        sock = probe_socket(places[target]["netns"])
        wanted.add(sock.getsockname()[1])  # the flow's own port survives the DNAT
        wait = min(timeout, 3.0)

        def run() -> str:
            return connect_probe(sock, ip, dport, wait)
    frames, outcome = capture(points, wanted, count, timeout, run)
    shown = [(f.point.label, line(f.timestamp, "eth0", f.pkttype, f.data)) for f in frames]
    if output == "json":
        emit_json({"points": [p.label for p in points], "probe": outcome,
                   "frames": [{"at": label, "line": text} for label, text in shown]})
        return
    con = console()
    for label, text in shown:
        con.print(f"[{label}] {text}", markup=False, soft_wrap=True)
    con.print(f"{len(frames)} frames" + (f"; probe: {outcome}" if outcome else ""), markup=False)


def _probe_ip(analysis: Any, what: str) -> str:
    import ipaddress

    try:
        return str(ipaddress.IPv4Address(what))
    except ValueError:
        pass
    for p in analysis.cluster.pods:
        if p.key == what and p.ip:
            return str(p.ip)
    for s in analysis.cluster.services:
        if f"{s.namespace}/{s.name}" == what and s.cluster_ip not in ("", "None"):
            return str(s.cluster_ip)
    raise UsageError(f"--probe {what}: not an IPv4 address, a pod or a ClusterIP Service")


@lab_app.command("conntrack")
def conntrack_cmd(name: NameOpt = "", pod: PodOpt = None,
                  connections: Annotated[int, typer.Option(
                      "--connections", help="TCP connections to open and hold")] = 2000,
                  output: OutputOpt = "table") -> None:
    """Hold a flood of real connections open from a pod and read its node's conntrack table:
    entries per connection, fill against the limit and against the seeds' sizing, drops. The
    overflow itself needs a per-namespace limit; the command says when the kernel has none."""
    from podnet.doctor.ctflood import lines, report, settable
    from podnet.lab.conntrack import flood, kernel, max_mode
    from podnet.names import node_netns
    from podnet.predict.checklist import pick_target
    from podnet.predict.probe import probed_pods

    check_format(output, ("table", "json"))
    if not 1 <= connections <= 60000:
        raise UsageError(f"--connections {connections}: give 1..60000 (one source port each)")
    _, _, places, analysis = _lab(name)
    src = _source(analysis, places, pod, name)
    pods = [p for p in probed_pods(analysis) if p.key in places]
    picked = pick_target(analysis, src, pods)
    if picked is None or not analysis.evaluator.allowed(src, picked[0]).allows("TCP", picked[1]):
        raise UsageError(f"{src.key} has no pod with a TCP port it may connect to: give --pod")
    dst, port = picked
    ns = node_netns(name, src.node or "")
    f = flood(places[src.key]["netns"], ns, src.node or "", str(dst.ip), port, connections)
    data = report(f, settable(max_mode(ns), kernel()))
    data.update({"from": src.key, "to": f"{dst.key} {dst.ip}:{port}"})
    if output == "json":
        emit_json(data)
        return
    con = console()
    con.print(f"{src.key} -> {dst.key} {dst.ip}:{port}", markup=False)
    for text in lines(data):
        con.print(text, markup=False)
