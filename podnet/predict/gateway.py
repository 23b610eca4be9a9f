"""What the analyzer expects of HTTP requests through a Gateway's data plane in the lab: the
request corpus (every hostname a listener or route serves, each path match and its boundary
cases, each scheme a listener speaks), predicted with ``podnet.gateway.router.handle``.

Matches on headers, query parameters and the method get requests of their own: one that
satisfies every condition of the match, and one per condition with just that one failing (the
header or parameter absent, another value, another method), so each condition is seen to
decide.

The lab serves each Gateway with nginx in its data-plane pod (``podnet.model.gateways``), which
the outside reaches through the pod's LoadBalancer Service (``entries``), and NetworkPolicy
judges the pod's hop to the backends (``reachability``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podnet.errors import SourceRef
from podnet.gateway.attach import Config
from podnet.gateway.nginx import blocks, concrete
from podnet.gateway.objects import Match
from podnet.gateway.router import MARKED_DOWN, handle
from podnet.ingress.request import Outcome, Reachable, request
from podnet.model.cluster import Cluster
from podnet.model.gateways import GATEWAY_NAME_LABEL, data_plane_pod
from podnet.model.objects import Pod
from podnet.predict.ingress import proxy_reachability

if TYPE_CHECKING:
    from podnet.analysis import Analysis


def data_plane(cluster: Cluster, gateway: str, source: SourceRef | None = None) -> Pod:
    """The pod serving a Gateway: the cluster's (synthesised from the input's Gateways, or
    given in a dump), else one made for a Gateway the input does not hold (a migrated one)."""
    ns, _, name = gateway.partition("/")
    for p in cluster.pods:
        if p.namespace == ns and p.labels.get(GATEWAY_NAME_LABEL) == name:
            return p
    return data_plane_pod(ns, name, source or SourceRef(file="<migrated>", kind="Gateway",
                                                        namespace=ns, name=name))


def reachability(a: Analysis, gateway: str) -> Reachable:
    """NetworkPolicy on the Gateway pod -> endpoint hop (replicas share labels, so one pod
    stands for them)."""
    return proxy_reachability(a, data_plane(a.cluster, gateway))


def served(config: Config) -> list[str]:
    """The Gateways the lab runs: those with an HTTP or HTTPS listener programmed."""
    return sorted(k for k, s in config.gateways.items()
                  if any(x.programmed and x.listener.protocol in ("HTTP", "HTTPS")
                         for x in s.listeners))


Entry = dict[int, tuple[str, int]]  # listener port -> where the outside connects


def entries(a: Analysis, config: Config) -> dict[str, Entry]:
    """Gateway -> per listener port, where the outside reaches its pod: the LoadBalancer
    Service's address, else a NodePort on the first node, else the pod itself (the outside
    routes to the pod networks), as for an ingress controller (``predict.ingress.entry``)."""
    out: dict[str, Entry] = {}
    for key in served(config):
        pod = data_plane(a.cluster, key)
        if not pod.ip:
            continue
        ports = sorted({x.listener.port for x in config.gateways[key].listeners})
        where: Entry = {}
        for port in ports:
            for plan in a.plans:
                if plan.protocol != "TCP" or not any(e.ip == pod.ip and e.port == port
                                                     for e in plan.endpoints):
                    continue
                if plan.load_balancer_ips:
                    where.setdefault(port, (plan.load_balancer_ips[0], plan.port))
                elif plan.node_port and a.cluster.nodes:
                    where.setdefault(port, (a.cluster.nodes[0].internal_ip or "", plan.node_port))
            where.setdefault(port, (pod.ip, port))
        out[key] = where
    return out


@dataclass(frozen=True, slots=True)
class GatewayProbe:
    gateway: str
    why: str
    url: str
    connect: tuple[str, int]
    expected: Outcome
    pods: frozenset[str] = frozenset()  # the pods that may answer a 200
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()

    def forwarded_path(self) -> str | None:
        via = self.expected.via or {}
        fwd = via.get("forwarded")
        return str(fwd["path"]) if fwd else None


Ask = tuple[str, str, str, tuple[tuple[str, str], ...]]  # why, path with query, method, headers


def _conditional(why: str, path: str, m: Match) -> list[Ask]:
    """A request that satisfies every method, header and query condition of ``m``, and one per
    condition that fails it alone."""
    def value(kind: str, v: str) -> str:
        return v if kind == "Exact" else value_sample(v)
    heads = [(h.name, value(h.type, h.value)) for h in m.headers]
    query = [(q.name, value(q.type, q.value)) for q in m.query]
    if "" in (v for _, v in (*heads, *query)):
        return []  # a regular expression podnet cannot fill in: not probed

    def ask(note: str, method: str, hs: list[tuple[str, str]], qs: list[tuple[str, str]]) -> Ask:
        qtext = "&".join(f"{k}={v}" for k, v in qs)
        return (f"{why}{note}", path + (f"?{qtext}" if qtext else ""), method, tuple(hs))
    method = m.method or "GET"
    out = [ask(": every condition holds", method, heads, query)]
    if m.method:
        other = "POST" if m.method == "GET" else "GET"
        out.append(ask(f": method {other}, not {m.method}", other, heads, query))
    for i, (k, v) in enumerate(heads):
        rest = heads[:i] + heads[i + 1:]
        out += [ask(f": without header {k}", method, rest, query),
                ask(f": header {k} another value", method, [*rest, (k, v + "-no")], query)]
    for i, (k, v) in enumerate(query):
        rest = query[:i] + query[i + 1:]
        out += [ask(f": without parameter {k}", method, heads, rest),
                ask(f": parameter {k} another value", method, heads, [*rest, (k, v + "-no")])]
    return out


def _paths(config: Config, gateway: str, name: str) -> list[Ask]:
    """(why, path, method, headers) for each path match of the routes serving ``name``, its
    boundary cases, and its method, header and query conditions."""
    out: list[Ask] = [("the root", "/", "GET", ())]
    for b in blocks(config, gateway):
        if b.name != name:
            continue
        for r in b.routes:
            for i, rule in enumerate(r.route.rules):
                for m in rule.matches:
                    what = f"{r.route.key} rule {i} {m.path_type} {m.path}"
                    if m.path_type == "RegularExpression":
                        sample = regex_sample(m.path)
                        if sample:
                            out += [(what, sample, "GET", ()),
                                    (f"{what}: not quite", sample + "~", "GET", ())]
                            out += _conditional(what, sample, m)
                        continue
                    p = m.path.rstrip("/") or "/"
                    out.append((what, p, "GET", ()))
                    if p != "/":
                        out += [(f"{what}: the path boundary", p + "x", "GET", ()),
                                (f"{what}: below it", p + "/sub", "GET", ()),
                                (f"{what}: with a trailing slash", p + "/", "GET", ())]
                    out += _conditional(what, p, m)
                    if p != "/" and m.path_type == "PathPrefix":
                        out += _conditional(f"{what}: below it", p + "/sub", m)
    return out


_CLASSES = (("[0-9]+", "7"), ("[0-9]*", "7"), ("\\d+", "7"), ("[a-z]+", "a"),
            ("[a-z0-9]+", "a"), (".*", "x"), (".+", "x"), ("[^/]+", "x"))


def value_sample(pattern: str) -> str:
    """A header or parameter value a simple RegularExpression accepts, or ""."""
    text = pattern
    for cls, fill in _CLASSES:
        text = text.replace(cls, fill)
    try:
        return text if text and re.fullmatch(pattern, text) else ""
    except re.error:
        return ""


def regex_sample(pattern: str) -> str:
    """A path a simple RegularExpression match accepts (its common classes filled in), or ""
    when podnet cannot make one: then the pattern is not probed."""
    text = pattern
    for cls, fill in _CLASSES:
        text = text.replace(cls, fill)
    try:
        return text if text.startswith("/") and re.fullmatch(pattern, text) else ""
    except re.error:
        return ""


def _pods(config: Config, o: Outcome, reach: Reachable | None = None) -> frozenset[str]:
    """Every pod of every backend with a share of the rule's traffic (a weighted split may
    send a request to any of them), less those NetworkPolicy keeps the Gateway's pod from:
    nginx never gets an answer from them."""
    via = o.via or {}
    route = next((r for r in config.routes if r.route.key == via.get("name")), None)
    if route is None or "rule" not in via:
        return frozenset()
    return frozenset(p for b in route.backends[int(via["rule"])]
                     if b.ref.weight > 0 and b.upstream is not None
                     for e, p in zip(b.upstream.endpoints, b.upstream.pods, strict=True)
                     if p and (reach is None or reach(e)))


def probes(config: Config, gateway: str, where: Entry, source: str,
           reach: Reachable | None = None) -> list[GatewayProbe]:
    """Per listener, per hostname it serves (its own and its routes'), per path: the request
    and the router's answer; plus a host no listener accepts on each port."""
    out: list[GatewayProbe] = []
    seen: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    ports: dict[int, str] = {}
    for b in blocks(config, gateway):
        x = b.listener.listener
        scheme = "https" if x.protocol == "HTTPS" else "http"
        ports.setdefault(x.port, scheme)
        host = concrete(b.name) if b.name else "any.podnet.invalid"
        paths = _paths(config, gateway, b.name)
        for why, path, method, headers in paths:
            url = f"{scheme}://{host}:{x.port}{path}"
            if (url, method, headers) in seen:
                continue
            seen.add((url, method, headers))
            o = handle(config, gateway, request(url, method, dict(headers), source=source),
                       reach)
            out.append(GatewayProbe(gateway, f"listener {x.name} host {b.name or '(any)'}: {why}",
                                    url, where[x.port], o, _pods(config, o, reach), method, headers))
    for port, scheme in sorted(ports.items()):
        url = f"{scheme}://unknown.podnet.invalid:{port}/"
        if (url, "GET", ()) not in seen:
            out.append(GatewayProbe(gateway, "a host no listener accepts", url, where[port],
                                    handle(config, gateway, request(url, source=source), reach)))
    return out


def agrees(p: GatewayProbe, status: int | None, location: str | None, pod: str | None,
           path: str | None) -> bool:
    o = p.expected
    if o.status == 0:  # no listener on the port: the connection is refused
        return status is None
    if o.status == 504 and status == 502 and MARKED_DOWN in o.reason:
        return True  # the endpoints were marked down by an earlier request's timeouts
    if status != o.status:
        return False
    if 300 <= o.status < 400:
        return location == o.location
    if o.status == 200:
        return pod in p.pods and (path is None or path == p.forwarded_path())
    return True
