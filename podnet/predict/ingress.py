"""What the analyzer expects of one HTTP request through an ingress controller in the cluster:
ingress-nginx's routing (podnet/ingress) with NetworkPolicy judged on the controller -> endpoint
hop, as the controller's pod is a pod like any other."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from podnet.analysis import Analysis
from podnet.errors import UsageError
from podnet.ingress.controllers import Controller, controller_pods, find_controllers
from podnet.ingress.match import nginx_size
from podnet.ingress.request import Outcome, Reachable, Request, handle, request
from podnet.ingress.routes import DEFAULT_SERVER, Location, Table, build_all, hosts_for
from podnet.model.objects import Pod

if TYPE_CHECKING:
    from podnet.dataplane.path import Path
    from podnet.services import ServicePlan


def reachability(a: Analysis, controller: Controller) -> Reachable | None:
    """None for a controller with no pod in the input (the stand-in): no policy to judge."""
    pods = controller_pods(a.cluster, controller)
    # replicas share labels and namespace, so policy treats them alike
    return proxy_reachability(a, pods[0]) if pods else None


def proxy_reachability(a: Analysis, src: Pod) -> Reachable:
    """Whether NetworkPolicy lets a proxy's pod (a controller's, a Gateway's) connect to an
    endpoint ``ip:port``."""
    @cache  # a corpus asks about the same few endpoints thousands of times
    def ok(endpoint: str) -> bool:
        ip, _, port = endpoint.rpartition(":")
        dst = a.cluster.pod_by_ip(ip) or ip
        return a.evaluator.allowed(src, dst).allows("TCP", int(port))
    return ok


# curl's %{http_code} for a request that got no HTTP answer: what an in-cluster client sees
# when NetworkPolicy drops its connection to the controller
NO_ANSWER = 0


def client_hop(a: Analysis, controller: Controller, req: Request) -> Outcome | None:
    """The client -> controller hop, when the client is a pod of the cluster (``--from`` a pod
    IP, as in-cluster clients call the controller's Service): None when policy lets it connect
    to the controller's pod on the scheme's port, else the outcome of a connection that gets
    no answer. Clients outside the cluster reach the controller through its Service and are
    not judged here (their policy is the controller's ingress side: ``trace``)."""
    src = a.cluster.pod_by_ip(req.source)
    pods = controller_pods(a.cluster, controller)
    if src is None or src.host_network or not pods or src.key in {p.key for p in pods}:
        return None
    port = 443 if req.scheme == "https" else 80
    dst = pods[0]  # replicas share labels and namespace, so policy treats them alike
    if a.evaluator.allowed(src, dst).allows("TCP", port):
        return None
    return Outcome(NO_ANSWER, f"NetworkPolicy keeps {src.key} from the controller's pod "
                   f"{dst.key} on {port}/TCP: the connection gets no answer", controller.key)


def outcome(a: Analysis, table: Table, req: Request) -> Outcome:
    return client_hop(a, table.controller, req) or handle(table, req,
                                                          reachability(a, table.controller))


@dataclass(frozen=True, slots=True)
class HttpProbe:
    """One request a lab sends to a controller, and what the analyzer says it gets."""

    controller: str
    why: str  # what the probe is for
    url: str  # as the client writes it (the Host is the URL's)
    connect: tuple[str, int]  # the address the request really goes to
    method: str = "GET"
    body_bytes: int = 0
    send_body: bool = True
    client_cert: str | None = None  # a CN the lab's CA signs, or None
    expected: Outcome | None = None
    headers: tuple[tuple[str, str], ...] = ()

    def allowed_pods(self, a: Analysis) -> set[str]:
        """The pods that may answer a 200 (the backend's, less those policy keeps out; and the
        canary's open ones when it takes a share of requests, not all: ``canary_split`` counts
        them)."""
        o = self.expected
        if o is None or o.backend is None:
            return set()
        eps = [e for e in o.backend.endpoints if e not in o.unreachable]
        if o.canary is not None and 0 < o.canary["probability"] < 1:
            closed = set(o.canary.get("unreachable", ()))
            eps += [e for e in o.canary["endpoints"] if e not in closed]
        return {p.key for e in eps if (p := a.cluster.pod_by_ip(e.rpartition(":")[0]))}


def entry(a: Analysis, controller: Controller) -> dict[str, tuple[str, int]] | None:
    """Where the outside reaches a controller, per scheme: its Service's LoadBalancer IP, else
    a NodePort on the first node, else its pod (the outside routes to pod networks)."""
    def outside(plan: ServicePlan) -> tuple[str, int] | None:
        if plan.load_balancer_ips:
            return plan.load_balancer_ips[0], plan.port
        if plan.node_port and a.cluster.nodes:
            return a.cluster.nodes[0].internal_ip or "", plan.node_port
        return None
    return _entries(a, controller, outside)


def cluster_entry(a: Analysis, controller: Controller) -> dict[str, tuple[str, int]] | None:
    """Where a pod reaches a controller, per scheme: its Service's ClusterIP, else its pod."""
    def inside(plan: ServicePlan) -> tuple[str, int] | None:
        return (plan.cluster_ip, plan.port) if plan.cluster_ip not in ("", "None") else None
    return _entries(a, controller, inside)


def _entries(a: Analysis, controller: Controller,
             via: Callable[[ServicePlan], tuple[str, int] | None]
             ) -> dict[str, tuple[str, int]] | None:
    """Per scheme, the first address ``via`` finds on a Service fronting the controller's pods
    on 80/443, else the first pod; None for a controller with no pod in the input."""
    pods = controller_pods(a.cluster, controller)
    if not pods:
        return None
    out: dict[str, tuple[str, int]] = {}
    for scheme, target in (("http", 80), ("https", 443)):
        for plan in _fronting(a, pods, target):
            found = via(plan)
            if found is not None:
                out.setdefault(scheme, found)
        out.setdefault(scheme, (pods[0].ip, target))
    return out


def _fronting(a: Analysis, pods: list[Pod], target: int) -> list[ServicePlan]:
    """The TCP Service ports whose endpoints are these pods on ``target``."""
    ips = {p.ip for p in pods}
    return [plan for plan in a.plans if plan.protocol == "TCP"
            and any(e.ip in ips and e.port == target for e in plan.endpoints)]


def _concrete(host: str) -> str:
    return "probe" + host[1:] if host.startswith("*.") else host


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")


def http_probes(a: Analysis, table: Table, source: str, *, from_pod: bool = False
                ) -> list[HttpProbe]:
    """Per Ingress rule a request per host x path, and the edges users meet: the path boundary,
    plain HTTP where TLS is configured, an oversized body where proxy-body-size is set, with and
    without a client certificate where auth-tls is on, another host.

    ``from_pod``: ``source`` is a pod's IP, calling the controller's Service as in-cluster
    clients do; the requests per host x path and the other host, with the client -> controller
    hop judged (``client_hop``)."""
    where = cluster_entry(a, table.controller) if from_pod else entry(a, table.controller)
    if where is None:
        return []
    reach = reachability(a, table.controller)
    asks: list[tuple[str, str, str, int, bool, str | None, tuple[tuple[str, str], ...]]] = []
    for s in table.servers.values():
        if s.host == DEFAULT_SERVER:
            continue
        host = _concrete(s.host)
        scheme = "https" if s.tls is not None else "http"
        cert = "probe-client" if s.auth_tls is not None else None
        paths = sorted({loc.ingress_path for loc in s.locations
                        if loc.ingress_path and _PLAIN_PATH.fullmatch(loc.ingress_path)})
        for path in paths:
            asks.append((f"{s.host} {path}", scheme, f"{host}{path}", 0, True, cert, ()))
            if from_pod:
                continue
            if path != "/":
                asks.append((f"{s.host} {path}: the path boundary", scheme,
                             f"{host}{path.rstrip('/')}x", 0, True, cert, ()))
                asks.append((f"{s.host} {path}: below it", scheme,
                             f"{host}{path.rstrip('/')}/sub", 0, True, cert, ()))
        if from_pod:
            continue
        if s.tls is not None:
            asks.append((f"{s.host}: plain HTTP where TLS is configured", "http", f"{host}/", 0,
                         True, None, ()))
        if s.auth_tls is not None:
            asks.append((f"{s.host}: no client certificate", "https", f"{host}/", 0, True, None, ()))
        for loc in s.locations:
            asks += _canary_asks(host, scheme, loc, cert)
        for loc in s.locations:
            size = nginx_size(loc.annotations.proxy_body_size)
            if loc.annotations.proxy_body_size != "1m" and size and paths:
                asks.append((f"{s.host}: a body over {loc.annotations.proxy_body_size}", scheme,
                             f"{host}{paths[0]}", size + 1, False, cert, ()))
                break
    asks.append(("a host no Ingress names", "http", "unknown.podnet.invalid/", 0, True, None, ()))
    out = []
    for why, scheme, rest, body, send, cert, hdrs in asks:
        url = f"{scheme}://{rest}"
        req = request(url, "POST" if body else "GET", dict(hdrs), body, cert, source)
        out.append(HttpProbe(table.controller.key, why, url, where[scheme],
                             "POST" if body else "GET", body, send, cert,
                             client_hop(a, table.controller, req) or handle(table, req, reach),
                             hdrs))
    return out


def _canary_asks(host: str, scheme: str, loc: Location, cert: str | None
                 ) -> list[tuple[str, str, str, int, bool, str | None, tuple[tuple[str, str], ...]]]:
    """canary-by-header's requests: the value that routes to the canary (its value, or always),
    never, and one the canary ignores (the weight decides)."""
    c = loc.canary.canary if loc.canary is not None else None
    if c is None or not c.header or not loc.ingress_path \
            or not _PLAIN_PATH.fullmatch(loc.ingress_path):
        return []
    values = ([c.header_value] if c.header_value else ["always", "never"]) if not \
        c.header_pattern else []
    return [(f"{host}{loc.ingress_path}: canary-by-header {c.header}: {v}", scheme,
             f"{host}{loc.ingress_path}", 0, True, cert, ((c.header, v),))
            for v in [*values, "podnet-other"]]


def http_agrees(a: Analysis, probe: HttpProbe, status: int | None, location: str | None,
                pod: str | None) -> bool:
    o = probe.expected
    if o is not None and o.status == NO_ANSWER:
        return status is None
    if o is None or status != o.status:
        return False
    if 300 <= o.status < 400:
        return location == o.location
    if o.status == 200 and o.backend is not None:
        return pod in probe.allowed_pods(a)
    return True


def trace_url(a: Analysis, source: Pod | str, url: str) -> Path:
    """The path of one HTTP(S) request: the client to the controller's address (MetalLB's
    leader or a NodePort, kube-proxy to the controller's pod), nginx's decision, then the
    controller's own connection to the endpoint, with NetworkPolicy judged on that hop."""
    from podnet.dataplane.path import Hop, Path, trace
    from podnet.predict.translate import trace_flow

    tables = build_all(a.cluster, find_controllers(a.cluster), hosts_for(_host_of(url)))
    if not tables:
        raise UsageError("no Ingress and no ingress-nginx controller in the input")
    src_ip = source.ip if isinstance(source, Pod) else source
    req = request(url, source=src_ip)
    table = next((t for t in tables if t.server_for(req.host).host != DEFAULT_SERVER), tables[0])
    where = entry(a, table.controller)
    pods = controller_pods(a.cluster, table.controller)
    if where is None or not pods:
        raise UsageError(f"{table.controller.key} has no pod in the input to trace through")
    ip, port = where[req.scheme]
    first = trace_flow(a, source, ip, f"{port}/TCP", port, "TCP")
    o = handle(table, req, reachability(a, table.controller))
    decision = Hop(f"pod {first.dst}", "nginx", None,
                   f"{table.controller.key} answers {o.status}: {o.reason}"
                   + (f" (Location: {o.location})" if o.location else ""))
    hops = (*first.hops, decision)
    notes = (*first.notes, f"the request {req.method} {url} from {src_ip}")
    if first.verdict != "delivered":
        return replace(first, dst=url, notes=notes)
    up = o.backend
    if o.status not in (200, 504) or up is None or not up.endpoints:
        return Path(first.src, url, first.port, hops, first.path_mtu, first.encapsulation,
                    "delivered", None, notes)
    # nginx's own connection: to an endpoint policy admits (200), or the first it times out on
    ok = [e for e in up.endpoints if e not in o.unreachable] or list(up.endpoints)
    ep_ip, _, ep_port = ok[0].rpartition(":")
    ctl = next((p for p in pods if p.key == first.dst), pods[0])
    second = trace(a.cluster, a.compiled, ctl, a.cluster.pod_by_ip(ep_ip) or ep_ip,
                   int(ep_port), "TCP")
    return Path(first.src, url, first.port, (*hops, *second.hops),
                min(first.path_mtu, second.path_mtu),
                first.encapsulation if second.encapsulation == "none" else second.encapsulation,
                second.verdict, second.dropped_by, (*notes, *second.notes))


def _host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
