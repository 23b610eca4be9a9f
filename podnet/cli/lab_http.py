"""`podnet lab` over HTTP: requests through each ingress controller's real nginx and each
Gateway's, predicted by `podnet http` (`lab probe`'s HTTP part; `lab curl` is in
podnet.cli.lab_curl). No typer here: ``podnet.cli.quick`` runs `lab probe` without it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podnet import names

if TYPE_CHECKING:
    from podnet.analysis import Analysis


def _client_cert(led: Any, cn: str) -> tuple[str, str]:
    """A client certificate for ``cn`` signed by the lab's CA (what auth-tls checks against)."""
    from podnet.lab import tls

    ca = tls.Pair(led.file("ca.crt").read_bytes(), led.file("ca.key").read_bytes())
    pair = tls.client_cert(ca, cn)
    tag = names.short_tag(cn)
    return (str(led.write_text(f"client-{tag}.crt", pair.cert.decode())),
            str(led.write_text(f"client-{tag}.key", pair.key.decode())))


def _http_tables(analysis: Analysis, led: Any) -> tuple[list[Any], list[str]]:
    from podnet.ingress.controllers import find_controllers
    from podnet.ingress.routes import build_all

    try:
        why = led.read_state("ingress-skipped.json")["reason"]
    except (OSError, ValueError):
        why = ""
    tables = list(build_all(analysis.cluster, find_controllers(analysis.cluster)))
    if tables and why:
        return [], [f"HTTP through ingress controllers: {why}"]
    undeclared = [t.controller.key for t in tables if not t.controller.declared]
    skipped = [f"HTTP through {k}: the input declares no controller pod to run it in"
               for k in undeclared]
    return [t for t in tables if t.controller.declared], skipped


def _client_pods(analysis: Analysis, led: Any, controller_pods: set[str]) -> list[tuple[Any, str]]:
    """The in-cluster clients of the HTTP probes: the first pod (by name) of each namespace
    the lab runs, not a controller's nor on the host's network, with its namespace."""
    places = {p["key"]: p["netns"] for p in led.read_state("pods.json")}
    chosen: dict[str, tuple[Any, str]] = {}
    for pod in sorted(analysis.cluster.pods, key=lambda p: p.key):
        if pod.key in places and pod.key not in controller_pods and not pod.host_network:
            chosen.setdefault(pod.namespace, (pod, places[pod.key]))
    return [chosen[ns] for ns in sorted(chosen)]


def probe_http(analysis: Analysis, led: Any, external_ip: str
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """Every Ingress rule's requests, sent for real to each controller from the outside (to its
    LoadBalancer address or NodePort) and from a pod of each namespace (to its ClusterIP, the
    client -> controller hop judged by NetworkPolicy), and compared with `podnet http`
    (`--from` the client's IP): status, redirect, the pod that answered."""
    from podnet.ingress.controllers import controller_pods, find_controllers

    if not find_controllers(analysis.cluster):
        return [], []  # no controller and no Ingress: nothing to send, no HTTP modules to load
    from podnet.lab.http import HttpAsk, fetch_all
    from podnet.predict import ingress as predict
    from podnet.predict.canary import ALPHA, canary_splits

    tables, skipped = _http_tables(analysis, led)
    outside = names.external_netns(led.lab)
    sent = [("external", outside, p) for t in tables
            for p in predict.http_probes(analysis, t, external_ip)]
    for t in tables:
        ctl = {p.key for p in controller_pods(analysis.cluster, t.controller)}
        for pod, netns in _client_pods(analysis, led, ctl):
            sent += [(pod.key, netns, p)
                     for p in predict.http_probes(analysis, t, pod.ip, from_pod=True)]
    splits = [c for t in tables for c in canary_splits(analysis, t, external_ip)]
    probes = [p for _, _, p in sent]
    wanted = {p.client_cert for p in probes} | {c.client_cert for c in splits}
    certs = {cn: _client_cert(led, cn) for cn in wanted if cn}
    asks = []
    for _, netns, p in sent:
        scheme, _, rest = p.url.partition("://")
        host, _, path = rest.partition("/")
        ends = len(p.expected.backend.endpoints) if p.expected and p.expected.backend else 1
        no_answer = p.expected is not None and p.expected.status == predict.NO_ANSWER
        asks.append(HttpAsk(netns, *p.connect, scheme, host, "/" + path,
                            p.method, p.headers, p.body_bytes, p.send_body,
                            certs.get(p.client_cert or ""),
                            # a dropped connection is waited for briefly; nginx tries every
                            # endpoint a connect timeout long before its 504
                            timeout=3.0 if no_answer else 5.0 + 5.0 * ends))
    rows = []
    for (client, _, p), got in zip(sent, fetch_all(asks), strict=True):
        o = p.expected
        assert o is not None
        predicted = ("no answer" if o.status == predict.NO_ANSWER else f"{o.status}"
                     + (f" {o.location}" if o.location else "")
                     + (f" from {', '.join(sorted(p.allowed_pods(analysis)))}"
                        if o.status == 200 else ""))
        rows.append({"controller": p.controller, "from": client, "why": p.why, "url": p.url,
                     "to": f"{p.connect[0]}:{p.connect[1]}",
                     "predicted": predicted,
                     "observed": (f"{got.status}" + (f" {got.location}" if got.location else "")
                                  + (f" from {got.pod}" if got.pod else "")) if got.status
                     else got.error,
                     "agrees": predict.http_agrees(analysis, p, got.status, got.location, got.pod),
                     "reason": o.reason})
    for c in splits:
        scheme, _, rest = c.url.partition("://")
        host, _, path = rest.partition("/")
        ask = HttpAsk(outside, *c.connect, scheme, host, "/" + path,
                      client_cert=certs.get(c.client_cert or ""), timeout=10.0)
        answered = [got.pod for got in fetch_all([ask] * c.requests)]
        hits = sum(p in c.canary_pods for p in answered)
        rows.append({"controller": c.controller, "from": "external",
                     "why": f"canary-weight: {c.requests} requests", "url": c.url,
                     "to": f"{c.connect[0]}:{c.connect[1]}",
                     "predicted": f"{c.low}..{c.high} of {c.requests} from "
                                  f"{', '.join(sorted(c.canary_pods))} (share {c.share:g})",
                     "observed": f"{hits} of {c.requests}" + (
                         "" if all(p in c.canary_pods | c.main_pods for p in answered) else
                         f"; answered by {sorted({str(p) for p in answered})}"),
                     "agrees": c.agrees(answered),
                     "reason": f"binomial bound: P(outside) <= {ALPHA:g} for a faithful split"})
    return rows, skipped


def _gateway_timeout(o: Any) -> float:
    """Long enough for nginx to wait out its connect timeout on every endpoint NetworkPolicy
    drops before it answers."""
    from podnet.gateway.router import CONNECT_TIMEOUT

    return 10.0 + CONNECT_TIMEOUT * len(o.unreachable)


def probe_gateways(analysis: Analysis, led: Any, external_ip: str
                   ) -> tuple[list[dict[str, Any]], list[str]]:
    """Each Gateway's request corpus, sent for real from the outside to the Gateway's nginx
    and compared with `podnet.gateway.router`: status, redirect, the pod that answered and
    the path it was sent."""
    from podnet.model import gateways

    c = analysis.cluster
    if not gateways.declared((*c.configs, *c.ignored)):
        return [], []  # the Gateway API's modules are for inputs that have Gateways
    from podnet.gateway.attach import build
    from podnet.lab.http import HttpAsk, fetch_all
    from podnet.predict import gateway as predict

    config = build(analysis.cluster)
    where = predict.entries(analysis, config)
    if not where:
        return [], []
    try:
        return [], [f"HTTP through Gateways: {led.read_state('gateway-skipped.json')['reason']}"]
    except (OSError, ValueError):
        pass
    probes = [p for key, entry in where.items()
              for p in predict.probes(config, key, entry, external_ip,
                                      predict.reachability(analysis, key))]
    asks = []
    for p in probes:
        scheme, _, rest = p.url.partition("://")
        netloc, _, path = rest.partition("/")
        asks.append(HttpAsk(names.external_netns(led.lab), *p.connect, scheme,
                            netloc.rpartition(":")[0], "/" + path, p.method, p.headers,
                            timeout=_gateway_timeout(p.expected)))
    rows = []
    for p, got in zip(probes, fetch_all(asks), strict=True):
        o = p.expected
        seen = got.seen.get("path") if got.pod else None
        rows.append({"gateway": p.gateway, "why": p.why, "url": p.url, "method": p.method,
                     "headers": [f"{k}: {v}" for k, v in p.headers],
                     "to": f"{p.connect[0]}:{p.connect[1]}",
                     "predicted": f"{o.status}" + (f" {o.location}" if o.location else "")
                     + (f" from {', '.join(sorted(p.pods))} path {p.forwarded_path()}"
                        if o.status == 200 else ""),
                     "observed": (f"{got.status}" + (f" {got.location}" if got.location else "")
                                  + (f" from {got.pod} path {seen}" if got.pod else ""))
                     if got.status else got.error,
                     "agrees": predict.agrees(p, got.status, got.location, got.pod,
                                              str(seen) if seen is not None else None),
                     "reason": o.reason})
    return rows, []


def _shown(o: tuple[int, str | None, tuple[str, ...]]) -> str:
    status, location, services = o
    return (f"{status}" if status else "no answer") + (f" {location}" if location else "") \
        + (f" from {', '.join(services)}" if services else "")


def probe_fronts(analysis: Analysis, led: Any, external_ip: str) -> dict[str, Any]:
    """``migrate --verify``'s corpus sent for real to the ingress controller and to the
    migrated Gateway's nginx: each front against its prediction, and the difference between
    the fronts as observed against the difference verify predicts."""
    from podnet.lab.http import HttpAsk, fetch_all
    from podnet.predict import gateway as gw_predict
    from podnet.predict import ingress as in_predict
    from podnet.predict import migration

    m = migration.migrated(analysis)
    probes = migration.probes(analysis, m)
    entries = {t.controller.key: in_predict.entry(analysis, t.controller) for t in m.tables}
    certs = {cn: _client_cert(led, cn) for cn in {f.probe.request.client_cert for f in probes}
             if cn}
    asks = []
    for f in probes:
        r = f.probe.request
        where = entries[f.controller]
        assert where is not None
        wait = _gateway_timeout(f.gateway) + _gateway_timeout(f.ingress)
        for ip, port in (where[r.scheme], m.where[f.controller][r.port]):
            # a body nginx must read (up to 2 MiB) is sent; a larger one only announced, as
            # nginx refuses it from its Content-Length
            asks.append(HttpAsk(names.external_netns(led.lab), ip, port, r.scheme, r.http_host,
                                r.path + (f"?{r.query}" if r.query else ""), r.method,
                                tuple(r.headers.items()), r.body_bytes,
                                r.body_bytes <= 2 * 1024 ** 2,
                                certs.get(r.client_cert or ""), timeout=wait))
    got = fetch_all(asks)
    rows: list[dict[str, Any]] = []
    for i, f in enumerate(probes):
        a, b = got[2 * i], got[2 * i + 1]
        r = f.probe.request
        url = f"{r.scheme}://{r.http_host}{r.path}" + (f"?{r.query}" if r.query else "")
        hp = in_predict.HttpProbe(f.controller, f.probe.why, url, (a.pod or "", 0), r.method,
                                  r.body_bytes, True, r.client_cert, f.ingress)
        gp = gw_predict.GatewayProbe(f.controller, f.probe.why, url,
                                     m.where[f.controller][r.port],
                                     f.gateway, gw_predict._pods(m.config, f.gateway), r.method)
        services: dict[str, set[str]] = {}
        for o in (f.ingress, f.gateway):
            if o.backend is not None:
                services.setdefault(o.backend.service, set()).update(
                    p.key for e in o.backend.endpoints
                    if (p := analysis.cluster.pod_by_ip(e.rpartition(":")[0])))
        seen_a = migration.observed(a.status, a.location, a.pod, services)
        seen_b = migration.observed(b.status, b.location, b.pod, services)
        predicted, observed = f.predicted_differ(), seen_a != seen_b
        rows.append({
            "controller": f.controller, "request": f.probe.why, "method": r.method,
            "headers": [f"{k}: {v}" for k, v in r.headers.items()],
            "body_bytes": r.body_bytes, "client_cert": r.client_cert,
            "ingress": {"predicted": _shown(migration.answer(f.ingress)),
                        "observed": _shown(seen_a) if a.status else a.error,
                        "agrees": in_predict.http_agrees(analysis, hp, a.status, a.location,
                                                         a.pod)},
            "gateway": {"predicted": _shown(migration.answer(f.gateway)),
                        "observed": _shown(seen_b) if b.status else b.error,
                        "agrees": gw_predict.agrees(gp, b.status, b.location, b.pod, None)},
            "predicted_differ": predicted, "observed_differ": observed,
            "agrees": predicted == observed})
    summary = {"requests": len(rows),
               "predicted_differ": sum(r["predicted_differ"] for r in rows),
               "observed_differ": sum(r["observed_differ"] for r in rows),
               "ingress_mismatches": sum(not r["ingress"]["agrees"] for r in rows),
               "gateway_mismatches": sum(not r["gateway"]["agrees"] for r in rows),
               "disagreements": sum(not r["agrees"] for r in rows)}
    return {"gateways": {k: {str(port): f"{ip}:{p}" for port, (ip, p) in v.items()}
                         for k, v in m.where.items()},
            "summary": summary, "requests": rows}


def front_mismatches(fronts: dict[str, Any]) -> list[dict[str, Any]]:
    """``lab probe``'s mismatches from the two fronts: a front that did not answer as
    predicted, or a difference between the fronts that verify did not predict (or the other
    way round)."""
    out = []
    for r in fronts["requests"]:
        for front in ("ingress", "gateway"):
            if not r[front]["agrees"]:
                out.append({"from": "external", "to": f"{r['request']} ({front} front)",
                            "port": "http", "predicted": r[front]["predicted"],
                            "observed": r[front]["observed"]})
        if not r["agrees"]:
            out.append({"from": "external", "to": f"{r['request']} (ingress vs migrated Gateway)",
                        "port": "http",
                        "predicted": "differ" if r["predicted_differ"] else "identical",
                        "observed": "differ" if r["observed_differ"] else "identical"})
    return out
