"""One HTTP request through one Gateway, as the spec says a conformant data plane routes it.

1. The listener: the programmed listeners on the request's port whose protocol is the
   request's (HTTP, or HTTPS terminating TLS); among those whose hostname accepts the host,
   the most specific (an exact name, then the longest wildcard, then none). Requests are
   routed only by the routes attached to that listener (listener isolation,
   GatewayHTTPListenerIsolation).
2. The routes: among attached and accepted routes, those whose effective hostnames (route
   hostnames intersected with the listener's) accept the host; only the routes with the most
   specific matching hostname compete (HTTPRouteSpec.Hostnames).
3. The match: across every rule of those routes, the match with, in order, an Exact path, the
   longest PathPrefix, a method, the most headers, the most query parameters; then the oldest
   route, then namespace/name, then the first rule and match in list order
   (HTTPRouteRule.Matches). RegularExpression paths are implementation-specific: podnet puts
   them after every prefix and matches them against the whole path.
4. A body over the data plane's 1m limit is refused (413) before any route answers.
5. Filters, then the backendRefs by weight: none, or every weight zero, is a 500, as is the
   share of the traffic whose backend does not resolve.
Paths are matched as nginx does (percent-decoded, merged slashes, dot segments resolved),
because the lab's data plane for Gateways is nginx, as in NGINX Gateway Fabric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from podnet.gateway.attach import Backend, Config, GatewayState, ListenerState, RouteState
from podnet.gateway.objects import Filter, Match
from podnet.ingress.match import normalize
from podnet.ingress.request import Outcome, Reachable, Request

WELL_KNOWN = {"http": 80, "https": 443}
# The data plane's own limit on a request body (nginx's client_max_body_size, which NGINX
# Gateway Fabric leaves at 1m unless a ClientSettingsPolicy says otherwise); the Gateway API
# has no field for it.
DEFAULT_BODY_LIMIT = 1024 ** 2
# NGINX Gateway Fabric sets no proxy_connect_timeout: nginx's own default holds. A connect
# that NetworkPolicy drops waits that long per endpoint before nginx answers 504.
CONNECT_TIMEOUT = 60
# NGINX Gateway Fabric's upstreams are plain server lines, so nginx's passive health check
# holds (max_fails=1, fail_timeout=10s; a lone server is never marked down): once every
# endpoint has failed, a request within those 10s is answered 502 at once.
MARKED_DOWN = ("nginx then marks the endpoints down (max_fails=1): for fail_timeout 10s "
               "requests get 502 \"no live upstreams\"")


@dataclass(frozen=True, slots=True)
class Candidate:
    route: RouteState
    rule: int
    match: int
    hostname: str

    def key(self) -> tuple[Any, ...]:
        m = self.route.route.rules[self.rule].matches[self.match]
        kind = {"Exact": 0, "PathPrefix": 1}.get(m.path_type, 2)
        created = self.route.route.created
        return (kind, -len(m.path.rstrip("/") or "/") if kind == 1 else 0, 0 if m.method else 1,
                -len(m.headers), -len(m.query), (0, created) if created else (1, ""),
                self.route.route.key, self.rule, self.match)


def _path_matches(m: Match, path: str) -> bool:
    if m.path_type == "Exact":
        return path == m.path
    if m.path_type == "PathPrefix":
        prefix = m.path.rstrip("/")
        return not prefix or path == prefix or path.startswith(prefix + "/")
    return re.fullmatch(m.path, path) is not None


def _value_matches(kind: str, want: str, got: str | None) -> bool:
    if got is None:
        return False
    return got == want if kind == "Exact" else re.fullmatch(want, got) is not None


def matches_request(m: Match, req: Request, path: str) -> bool:
    if not _path_matches(m, path) or (m.method and m.method != req.method):
        return False
    if not all(_value_matches(h.type, h.value, req.header(h.name)) for h in m.headers):
        return False
    params: dict[str, str] = {}
    for k, v in parse_qsl(req.query, keep_blank_values=True):
        params.setdefault(k, v)  # the first of repeated names counts
    return all(_value_matches(q.type, q.value, params.get(q.name)) for q in m.query)


def listener_for(config: Config, state: GatewayState, req: Request) -> ListenerState | None:
    proto = "HTTPS" if req.scheme == "https" else "HTTP"
    return config.index.listener(state.gateway.key, req.port, proto, req.host)


def candidates(config: Config, state: GatewayState, listener: ListenerState,
               req: Request) -> list[Candidate]:
    path = normalize(req.path)
    out = []
    for r, host in config.index.routes_for(state.gateway.key, listener.listener.name, req.host):
        for i, rule in enumerate(r.route.rules):
            for j, m in enumerate(rule.matches):
                if matches_request(m, req, path):
                    out.append(Candidate(r, i, j, host))
    return sorted(out, key=Candidate.key)


def _replace_prefix(path: str, prefix: str, replacement: str) -> str:
    """HTTPPathModifier.ReplacePrefixMatch: whole path elements, trailing slashes ignored."""
    p = prefix.rstrip("/")
    rest = path[len(p):] if path.startswith(p) else path
    out = replacement.rstrip("/") + rest
    return out or "/"


def _new_path(f: Filter, m: Match, path: str) -> str:
    spec = f.get("path")
    if not spec:
        return path
    mod = spec
    if mod.get("type") == "ReplaceFullPath":
        return str(mod.get("replaceFullPath") or "/")
    return _replace_prefix(path, m.path, str(mod.get("replacePrefixMatch") or ""))


def _redirect(f: Filter, m: Match, req: Request, path: str) -> tuple[int, str]:
    scheme = str(f.get("scheme") or req.scheme)
    host = str(f.get("hostname") or req.host)
    port = f.get("port")
    if port is None:
        port = WELL_KNOWN.get(scheme, req.port) if f.get("scheme") else req.port
    shown = "" if WELL_KNOWN.get(scheme) == port else f":{port}"
    target = f"{scheme}://{host}{shown}{_new_path(f, m, path)}"
    code = f.get("statusCode", 302)
    return int(code if isinstance(code, int) else 302), target + (f"?{req.query}" if req.query
                                                                  else "")


def _modify_headers(f: Filter, headers: dict[str, str]) -> None:
    for entry in f.get("set") or ():
        kv = entry
        for k in [k for k in headers if k.lower() == str(kv["name"]).lower()]:
            del headers[k]
        headers[str(kv["name"])] = str(kv.get("value", ""))
    for entry in f.get("add") or ():
        kv = entry
        old = next((k for k in headers if k.lower() == str(kv["name"]).lower()), None)
        if old is not None:
            headers[old] = f"{headers[old]},{kv.get('value', '')}"
        else:
            headers[str(kv["name"])] = str(kv.get("value", ""))
    for name in f.get("remove") or ():
        for k in [k for k in headers if k.lower() == str(name).lower()]:
            del headers[k]


def _via(c: Candidate, state: GatewayState, listener: ListenerState) -> dict[str, Any]:
    m = c.route.route.rules[c.rule].matches[c.match]
    match: dict[str, Any] = {"path": {"type": m.path_type, "value": m.path}}
    if m.method:
        match["method"] = m.method
    if m.headers:
        match["headers"] = [{"name": h.name, "value": h.value, "type": h.type} for h in m.headers]
    if m.query:
        match["queryParams"] = [{"name": q.name, "value": q.value, "type": q.type}
                                for q in m.query]
    rule = c.route.route.rules[c.rule]
    return {"kind": "HTTPRoute", "name": c.route.route.key, "gateway": state.gateway.key,
            "listener": listener.listener.name, "host": c.hostname, "rule": c.rule,
            "ruleName": rule.name or None, "match": match}


def _split(backends: tuple[Backend, ...]) -> list[dict[str, Any]]:
    total = sum(b.ref.weight for b in backends)
    return [{"service": f"{b.ref.namespace}/{b.ref.name}", "port": b.ref.port,
             "weight": b.ref.weight, "probability": round(b.ref.weight / total, 6) if total else 0,
             "problem": b.problem or None} for b in backends]


def handle(config: Config, gateway: str, req: Request, reachable: Reachable | None = None
           ) -> Outcome:
    """``reachable``: NetworkPolicy between the Gateway's data-plane pod and each endpoint
    (None: every endpoint is reachable), judged as for an ingress controller's pod
    (``podnet.ingress.request.handle``): nginx moves to the next endpoint after a connect
    timeout, so one reachable endpoint is enough; none is a 504."""
    state = config.gateways[gateway]
    ctl = f"Gateway {gateway}"
    listener = listener_for(config, state, req)
    if listener is None:
        served = config.index.serves(gateway, req.port)
        why = (f"no programmed listener on port {req.port}: the connection is refused"
               if not served else f"no listener on port {req.port} accepts host {req.host}")
        return Outcome(0 if not served else 404, why, ctl)
    if req.body_bytes > DEFAULT_BODY_LIMIT:
        return Outcome(413, f"body of {req.body_bytes} bytes is over NGINX Gateway Fabric's "
                       "default client_max_body_size of 1m (ClientSettingsPolicy body.maxSize "
                       "raises it; nginx checks it before any route answers)", ctl,
                       server=listener.listener.hostname)
    found = candidates(config, state, listener, req)
    if not found:
        return Outcome(404, f"no HTTPRoute rule attached to listener {listener.listener.name} "
                       f"matches {req.host}{normalize(req.path)}", ctl,
                       server=listener.listener.hostname)
    c = found[0]
    via = _via(c, state, listener)
    rule = c.route.route.rules[c.rule]
    m = rule.matches[c.match]
    path = normalize(req.path)
    headers = {k: v for k, v in req.headers.items() if k.lower() != "host"}
    response: dict[str, str] = {}
    host = req.host
    notes: list[str] = []

    def out(status: int, reason: str, **kw: Any) -> Outcome:
        return Outcome(status, reason, ctl, via=via, server=listener.listener.hostname, **kw)
    for f in rule.filters:
        if f.type == "RequestRedirect":
            code, target = _redirect(f, m, req, path)
            return out(code, f"RequestRedirect of {c.route.route.key} rule {c.rule}",
                       location=target)
        if f.type == "URLRewrite":
            host = str(f.get("hostname") or host)
            new = _new_path(f, m, path)
            if new != path:
                notes.append(f"path rewritten to {new}")
            path = new
        elif f.type == "RequestHeaderModifier":
            _modify_headers(f, headers)
        elif f.type == "ResponseHeaderModifier":
            _modify_headers(f, response)
        elif f.type == "RequestMirror":
            ref = f.get("backendRef", {})
            notes.append(f"mirrored to Service {ref.get('namespace') or c.route.route.namespace}/"
                         f"{ref.get('name')}:{ref.get('port')} (responses ignored)")
        else:
            return out(500, f"{f.type} filter of {c.route.route.key} rule {c.rule}: podnet "
                       "cannot resolve it, and an unresolved filter must answer 500 (spec: "
                       "filters are never skipped)")
    backends = c.route.backends[c.rule]
    if not backends:
        return out(500, f"rule {c.rule} of {c.route.route.key} has no backendRefs")
    split = _split(backends)
    via["backends"] = split
    total = sum(b.ref.weight for b in backends)
    if total == 0:
        return out(500, f"every backendRef of rule {c.rule} of {c.route.route.key} has weight 0")
    valid = [b for b in backends if b.upstream is not None and b.ref.weight > 0]
    bad = sum(b.ref.weight for b in backends if b.upstream is None)
    if not valid:
        problems = "; ".join(b.problem for b in backends if b.problem)
        return out(500, f"no backendRef of rule {c.rule} resolves: {problems}")
    chosen = max(valid, key=lambda b: b.ref.weight)
    up = chosen.upstream
    assert up is not None
    if bad:
        notes.append(f"{bad / total:.0%} of requests get 500: a backendRef does not resolve")
    if len(valid) > 1:
        notes.append("weighted: " + ", ".join(f"{s['service']} {s['probability']:.0%}"
                                              for s in split))
    headers["Host"] = host
    via["forwarded"] = {"host": host, "path": path + (f"?{req.query}" if req.query else "")}
    if response:
        via["responseHeaders"] = response
    extra = f"; {'; '.join(notes)}" if notes else ""
    if not up.endpoints:
        return out(503, f"no endpoints: {up.problem}{extra}", backend=up)
    blocked: tuple[str, ...] = ()
    if reachable is not None:
        blocked = tuple(e for e in up.endpoints if not reachable(e))
        if len(blocked) == len(up.endpoints):
            return out(504, f"NetworkPolicy lets Gateway {gateway}'s pods reach no endpoint of "
                       f"{up.service} ({', '.join(up.endpoints)}): every connect times out "
                       f"after nginx's default proxy_connect_timeout {CONNECT_TIMEOUT}s"
                       + (f"; {MARKED_DOWN}" if len(up.endpoints) > 1 else "") + extra,
                       backend=up, unreachable=blocked)
        if blocked:
            extra += (f"; NetworkPolicy keeps it from {', '.join(blocked)} (nginx moves on "
                      f"after {CONNECT_TIMEOUT}s)")
    return out(200, f"proxied to {up.service}:{up.service_port or up.port}{extra}", backend=up,
               unreachable=blocked, headers=dict(sorted(headers.items(), key=lambda kv: kv[0].lower())))
