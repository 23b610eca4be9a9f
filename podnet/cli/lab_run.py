"""`podnet lab up` and `podnet lab probe` as plain functions: the typer commands
(podnet.cli.lab) and ``podnet.cli.quick`` call them, so a plain command line runs without
importing typer (and pydantic with it). Nothing here imports typer."""

from __future__ import annotations

import base64
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from podnet.cli.lab_state import cluster_of, complete_lab
from podnet.cli.loading import check_format, load_docs, warn
from podnet.cli.output import console, emit_json, emit_text
from podnet.errors import UsageError
from podnet.model.vocabulary import PROTOCOLS

if TYPE_CHECKING:
    from podnet.analysis import Analysis
    from podnet.lab.daemons import Begun
    from podnet.lab.probe import Apart

PUBLIC_SECRET_KEYS = ("tls.crt", "ca.crt")  # certificates: what the model reads, none secret
REDACTED = base64.b64encode(b"<redacted by podnet>").decode()


def _with_migrated(docs: Any, cluster: Any) -> Any:
    """The input and what ``podnet ingress migrate`` writes for it: the migrated Gateways are
    then the lab's Gateways like any other (data-plane pods, LoadBalancer Services, nginx)."""
    from podnet.model.load import read_texts
    from podnet.predict.migration import _tables, documents

    if not _tables(cluster):
        raise UsageError("--migrated-gateway: the input has no Ingress served by a declared "
                         "ingress-nginx controller, so there is nothing to migrate")
    extra = read_texts([("<podnet ingress migrate>", documents(cluster))])
    docs.extend(extra)
    return docs


def _kept_docs(docs: Any) -> list[dict[str, Any]]:
    """What the lab's state keeps of the input: every document, but a Secret's values only where
    they are certificates (the model reads those: which hosts get TLS, which CA auth-tls uses);
    every other value, keys above all, is replaced, so the state file holds no key material."""
    kept = []
    for d in docs:
        body = d.body
        if body.get("kind") == "Secret":
            body = dict(body)
            for field in ("data", "stringData"):
                values = body.get(field)
                if isinstance(values, dict):
                    body[field] = {k: (v if k in PUBLIC_SECRET_KEYS else
                                       REDACTED if field == "data" else "<redacted by podnet>")
                                   for k, v in values.items()}
        kept.append({"file": d.file, "doc": d.doc, "body": body})
    return kept


def _with_standin(docs: Any, cluster: Any) -> tuple[Any, str]:
    """The documents with the stand-in ingress controller added when the input has Ingresses
    and no controller (kept in the lab's state like the input's, so every later prediction
    sees its pod), and a note saying so ("" when none is added)."""
    from podnet.ingress import standin
    from podnet.model.load import Docs, RawDoc

    extra = standin.documents(cluster)
    if not extra:
        return docs, ""
    added = Docs()
    added.warnings, added.texts = docs.warnings, docs.texts
    added += docs
    added += [RawDoc(standin.FILE, i, body) for i, body in enumerate(extra)]
    svc = next((b["spec"]["type"] for b in extra if b["kind"] == "Service"), "the input's")
    return added, (f"no ingress controller in the input: the lab runs a stand-in, Deployment "
                   f"{standin.NAMESPACE}/{standin.NAME} behind a {svc} Service")


def up(filename: list[str], name: str = "", cni: str | None = None, nodes: int = 3,
       proxy: str | None = None, dry_run: bool = False, migrated_gateway: bool = False) -> None:
    """Build the cluster's network: fabric, nodes, pods, routes, workloads."""
    if not name:
        raise UsageError("lab up needs --name")
    begun = None
    if not dry_run:
        # the lab's daemons start now, on the core left idle while the input is read
        from podnet.lab import daemons

        begun = daemons.begin(name)
    try:
        return _up(begun, filename, name, cni, nodes, proxy, migrated_gateway)
    except BaseException:
        if begun is not None:
            begun.abandon()
        raise


def _up(begun: Begun | None, filename: list[str], name: str, cni: str | None, nodes: int,
        proxy: str | None, migrated_gateway: bool) -> None:
    from podnet.model.cluster import build

    docs = load_docs(filename)  # once: the state below keeps these documents, and stdin reads once
    cluster = build(docs, nodes=nodes)
    docs, standin = _with_standin(docs, cluster)
    if standin:
        cluster = build(docs, nodes=nodes)
    if migrated_gateway:  # after the stand-in: migration needs a controller
        docs = _with_migrated(docs, cluster)
        cluster = build(docs, nodes=nodes)
    warn(cluster)
    if begun is not None:
        # the namespaces are made while the plan's modules load and the plan is built
        from podnet.lab import layout

        layout.check_cni(cni or cluster.net.cni)
        begun.make(layout.namespaces(cluster, name))
    from podnet.lab.plan import build_plan

    plan = build_plan(cluster, name, cni or cluster.net.cni, proxy)
    if standin:
        sys.stderr.write(f"note: {standin}\n")
    for note in plan.notes:
        sys.stderr.write(f"note: {note}\n")
    if begun is None:
        emit_text(plan.text())
        return
    state = {"docs": _kept_docs(docs), "nodes": nodes, "overrides": {}, "created": time.time(),
             "migrated_gateway": migrated_gateway, "probe": probe_layout(cluster)}
    from podnet.lab import apply

    took = apply.up(plan, state, begun)
    console().print(f"lab {name} up: {len(cluster.nodes)} nodes, {len(plan.pods)} pods, "
                    f"cni {plan.cni}, kube-proxy {plan.proxy}, in {took:.2f} s")


def probe_layout(cluster: Any) -> dict[str, Any]:
    """What `lab probe` probes unless told which ports: every pod not on its node's network in
    the model's order, on every port the pods declare, with the nodes whose drops it hears. Kept
    in the lab's state by `lab up`, so the probe forks the pods' probes before it rebuilds the
    model (the fork came 0.06 s after the state was read, with a core idle; now 0.02-0.04 s),
    and checks the layout against the model after."""
    from podnet.policy.query import parse_ports

    return {"pods": [p.key for p in cluster.pods if not p.host_network],
            "ports": [list(p) for p in parse_ports(None, cluster)],
            "nodes": [n.name for n in cluster.nodes]}


Layout = tuple[list[str], list[tuple[int, str]], list[str]]  # pods, probed ports, nodes


def _kept_layout(kept: Any, places: dict[str, Any], sctp: bool) -> Layout | None:
    """``probe_layout`` as `lab up` kept it, its ports without SCTP on a kernel without it; None
    when the lab predates it or it is not what podnet writes (pods the lab did not place, a
    node name that is none)."""
    from podnet.model.validate import dns_subdomain_error

    try:
        keys, nodes = list(kept["pods"]), list(kept["nodes"])
        ports = [(int(p), str(proto)) for p, proto in kept["ports"]]
    except (TypeError, KeyError, ValueError):
        return None
    if (not all(isinstance(k, str) and k in places for k in keys)
            or not all(isinstance(n, str) and dns_subdomain_error(n) is None for n in nodes)
            or not all(1 <= p <= 65535 and proto in PROTOCOLS for p, proto in ports)):
        return None
    return keys, [(p, proto) for p, proto in ports if proto != "SCTP" or sctp], nodes


def _pod_probe(name: str, keys: list[str], places: dict[str, Any], probed: list[tuple[int, str]],
               nodes: list[str], timeout: float) -> Apart:
    """Every pod (``keys``) to every other on every port in ``probed``, in a child process."""
    from podnet import names
    from podnet.lab.probe import Apart, Target

    groups: dict[str, list[Any]] = {}
    ips = [places[k]["ip"] for k in keys]
    for i, key in enumerate(keys):
        targets = groups.setdefault(places[key]["netns"], [])
        targets += [Target(i, j, ip, port, proto) for j, ip in enumerate(ips) if i != j
                    for port, proto in probed]
    own = {pl["netns"]: pl["ip"] for pl in places.values()
           if pl["netns"] != names.node_netns(name, pl["node"])}  # not hostNetwork
    return Apart(groups, timeout, own, [names.node_netns(name, n) for n in nodes])


def probe(name: str = "", ports: str | None = None, output: str = "table",
          timeout: float = 1.0) -> None:
    """Probe every pod to every pod on every port; compare with the analyzer's prediction."""
    check_format(output, ("table", "json"))
    from podnet.lab.features import LAB_IPTABLES_FEATURES
    from podnet.lab.prereq import check_prerequisites
    from podnet.lab.sockets import sctp_supported

    check_prerequisites()  # probing enters the lab's namespaces: root
    led = complete_lab(name)
    lab = led.read_state("lab.json")
    places = {p["key"]: p for p in led.read_state("pods.json")}
    sctp = sctp_supported()
    start = time.monotonic()
    # The pods probe in a child process while the prediction is made (the analysis and its
    # imports, numpy, were a third of a 200-pod probe's time) and while the Service and HTTP
    # probes run; from the layout `lab up` kept, before the model is rebuilt.
    early = None if ports else _kept_layout(lab.get("probe"), places, sctp)
    pod_probe = (_pod_probe(name, early[0], places, early[1], early[2], timeout)
                 if early is not None else None)
    try:
        from podnet.policy.query import parse_ports

        cluster = cluster_of(lab)
        port_list = parse_ports(ports, cluster)
        probed = [(p, proto) for p, proto in port_list if proto != "SCTP" or sctp]
        skipped = [f"{p}/{proto}: this kernel has no SCTP" for p, proto in port_list
                   if proto == "SCTP" and not sctp]
        pods = [p for p in cluster.pods if not p.host_network]  # predict.probed_pods, checked below
        wanted: Layout = ([p.key for p in pods], probed, [n.name for n in cluster.nodes])
    except BaseException:
        if pod_probe is not None:
            pod_probe.cancel()
        raise
    if pod_probe is not None and early != wanted:  # the state disagrees with itself: redo it
        pod_probe.cancel()
        pod_probe = None
    if pod_probe is None:
        pod_probe = _pod_probe(name, wanted[0], places, probed, wanted[2], timeout)
    try:
        from podnet.analysis import Analysis
        from podnet.cli.lab_http import front_mismatches, probe_fronts, probe_gateways, probe_http
        from podnet.predict import probe as predict

        analysis = Analysis(cluster, iptables_features=LAB_IPTABLES_FEATURES)
        if [p.key for p in predict.probed_pods(analysis)] != [p.key for p in pods]:
            raise AssertionError("lab probe: the probed pods are not the predicted ones")
        expected = predict.expected_pods(analysis, pods, probed)
        protos = PROTOCOLS if sctp else tuple(p for p in PROTOCOLS if p != "SCTP")
        services = _probe_services(analysis, pods, places, timeout, name,
                                   lab.get("proxy", "iptables"), lab.get("external_ip", ""), protos)
        web, web_skipped = probe_http(analysis, led, lab.get("external_ip", ""))
        skipped += web_skipped
        gws, gw_skipped = probe_gateways(analysis, led, lab.get("external_ip", ""))
        skipped += gw_skipped
        fronts = (probe_fronts(analysis, led, lab.get("external_ip", ""))
                  if lab.get("migrated_gateway") else None)
    except BaseException:
        pod_probe.cancel()
        raise
    results = pod_probe.result()
    pod_cmp = predict.compare_pods(analysis, pods, probed, {
        (t.src, t.dst, t.port, t.proto): ok for t, ok in results.items()}, expected)
    mismatches = (pod_cmp.mismatches + predict.service_mismatches(services)
                  + [{"from": w["from"], "to": f"{w['url']} ({w['why']})", "port": "http",
                      "predicted": w["predicted"], "observed": w["observed"]}
                     for w in web if not w["agrees"]]
                  + [{"from": "external", "to": f"{w['url']} ({w['why']})", "port": "http",
                      "predicted": w["predicted"], "observed": w["observed"]}
                     for w in gws if not w["agrees"]]
                  + (front_mismatches(fronts) if fronts is not None else []))
    data = {"pods": pod_cmp.pods, "ports": list(pod_cmp.observed), "matrix": pod_cmp.observed,
            "services": services, "http": web, "gateway": gws,
            **({"migration": fronts} if fronts is not None else {}),
            "mismatches": mismatches, "skipped": skipped,
            "probes": len(results) + len(services) + len(web) + len(gws)
            + 2 * len(fronts["requests"] if fronts else ()),
            "seconds": round(time.monotonic() - start, 2)}
    if output == "json":
        emit_json(data)
    else:
        c = console()
        served = sum(1 for s in services if s["observed"] not in ("dropped", "rejected"))
        c.print(f"{data['probes']} probes ({len(services)} to Service IPs, {served} answered; "
                f"{len(web)} HTTP requests through ingress controllers, {len(gws)} through "
                f"Gateways) in "
                f"{data['seconds']:.2f} s; {len(mismatches)} mismatches")
        if fronts is not None:
            s = fronts["summary"]
            c.print(f"migration: {s['requests']} requests to both fronts; predicted "
                    f"{s['predicted_differ']} differ, observed {s['observed_differ']} differ; "
                    f"mismatches: ingress {s['ingress_mismatches']}, gateway "
                    f"{s['gateway_mismatches']}, differences {s['disagreements']}")
        for why in skipped:
            c.print(f"  not probed: {why}")
        for mm in mismatches:
            pred, obs = mm["predicted"], mm["observed"]
            if isinstance(pred, bool):
                pred, obs = ("allowed" if pred else "denied"), ("reachable" if obs else "dropped")
            c.print(f"  {mm['from']} -> {mm['to']} {mm['port']}: predicted {pred}, observed {obs}",
                    markup=False)
    if mismatches:
        sys.exit(1)  # what typer.Exit(1) did: guarded lets a failing exit through


def _probe_services(analysis: Analysis, pods: list[Any], places: dict[str, Any], timeout: float,
                    lab: str, mode: str, external_ip: str, protos: tuple[str, ...]
                    ) -> list[dict[str, Any]]:
    """Send predict's Service probes from the pods' and the outside's namespaces, repeat the
    sticky ones, and let predict compare."""
    from podnet.lab.probe import ServiceTarget, probe_services
    from podnet.names import external_netns
    from podnet.predict import probe as predict

    asks = predict.service_probes(analysis, pods, external_ip, protos)
    sent: dict[ServiceTarget, predict.ServiceProbe] = {}
    groups: dict[str, list[ServiceTarget]] = {}
    for q in asks:
        t = ServiceTarget(q.src, q.service, q.ip, q.port, q.proto)
        ns = places[pods[q.src].key]["netns"] if q.src >= 0 else external_netns(lab)
        groups.setdefault(ns, []).append(t)
        sent[t] = q
    answers = probe_services(groups, timeout=timeout)
    # ClientIP affinity: once the first connections are in, the same client asks again and
    # must land on the same endpoint every time
    again = {ns: [replace(t, attempt=k) for t in ts for k in (1, 2, 3)
                  if sent[t].sticky and answers[t] not in ("dropped", "rejected")]
             for ns, ts in groups.items()}
    more = probe_services({ns: ts for ns, ts in again.items() if ts}, timeout=timeout)
    repeats = {sent[t]: [more[replace(t, attempt=k)] for k in (1, 2, 3)]
               for t in answers if replace(t, attempt=1) in more}
    return predict.compare_services(analysis, mode, {sent[t]: a for t, a in answers.items()},
                                    repeats)
