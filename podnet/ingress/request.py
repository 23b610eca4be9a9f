"""One HTTP request through one controller: the status it gets and where it goes.

The checks run in nginx's order for the config ingress-nginx writes
(``rootfs/etc/nginx/template/nginx.tmpl``, Lua under ``rootfs/etc/nginx/lua``):
1. TLS handshake: ``ssl_verify_client on`` and no client certificate -> 400.
2. server rewrite phase: an unusable ``auth-tls-secret`` -> ``return 403`` for the server;
   ``app-root`` -> ``if ($uri = /) { return 302 $scheme://$http_host<root>; }``.
3. find-config: the location; a Content-Length over its ``client_max_body_size`` -> 413.
4. location rewrite phase: a denied location ``return 503``; the CORS preflight ``return 204``;
   ``permanent-redirect``/``temporal-redirect`` ``return <code> <url>``; then Lua
   (``rewrite_by_lua``, after the rewrite module): ``ssl-redirect``/``force-ssl-redirect``
   (``lua_ingress.lua``, the ConfigMap's ``http-redirect-code``, 308 by default), and the
   balancer: an upstream without endpoints -> 503 (``balancer.lua``).
5. access phase: ``allow``/``deny all`` from the allowlist -> 403.
6. content: proxied to the upstream (the built-in default backend answers 404).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from podnet.errors import UsageError
from podnet.ingress.annotations import Canary
from podnet.ingress.match import choose, nginx_size, normalize
from podnet.ingress.routes import DEFAULT_SERVER, Location, Server, Table
from podnet.ingress.upstreams import Upstream

DEFAULT_SOURCE = "203.0.113.10"


@dataclass(frozen=True, slots=True)
class Request:
    scheme: str
    host: str  # the Host header's host (no port)
    port: int
    path: str  # raw, as sent (may be percent-encoded)
    query: str = ""
    method: str = "GET"
    headers: Mapping[str, str] = field(default_factory=dict)
    body_bytes: int = 0
    client_cert: str | None = None  # the certificate's CN, None when none is sent
    source: str = DEFAULT_SOURCE
    http_host: str = ""  # the Host header as sent (host[:port])

    def header(self, name: str) -> str | None:
        for k, value in self.headers.items():
            if k.lower() == name.lower():
                return value
        return None


def request(url: str, method: str = "GET", headers: Mapping[str, str] | None = None,
            body_bytes: int = 0, client_cert: str | None = None,
            source: str = DEFAULT_SOURCE) -> Request:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r}: give an http:// or https:// URL with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        ipaddress.ip_address(source)
    except ValueError as e:
        raise UsageError(f"{url!r} / --from {source}: {e}") from None
    hdrs = dict(headers or {})
    host_header = next((v for k, v in hdrs.items() if k.lower() == "host"), None)
    http_host = host_header if host_header is not None else parts.netloc.rpartition("@")[2]
    host = http_host.rsplit(":", 1)[0] if not http_host.startswith("[") else http_host
    return Request(parts.scheme, host.lower(), port, parts.path or "/", parts.query,
                   method.upper(), hdrs, body_bytes, client_cert, source, http_host)


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int
    reason: str
    controller: str
    location: str | None = None  # the redirect target
    via: Mapping[str, Any] | None = None
    backend: Upstream | None = None
    canary: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    server: str = ""
    unreachable: tuple[str, ...] = ()  # endpoints NetworkPolicy keeps the controller from


def _remote_addr(req: Request, table: Table) -> str:
    """With use-forwarded-headers the realip module trusts every proxy (proxy-real-ip-cidr
    0.0.0.0/0, real_ip_recursive on): the client is the leftmost X-Forwarded-For address."""
    xff = req.header("X-Forwarded-For")
    if table.controller.config.use_forwarded_headers and xff:
        for part in xff.split(","):
            try:
                return str(ipaddress.ip_address(part.strip()))
            except ValueError:
                continue
    return req.source


def _cert_configured(table: Table, host: str) -> bool:
    """certificate.lua ``configured_for_current_request``: the host, else ``*.`` + its parent,
    has a certificate (the Ingress's, or the fake one when its Secret is unusable)."""
    s = table.servers.get(host)
    if s is not None and s.host != DEFAULT_SERVER:
        return s.tls is not None
    wildcard = table.servers.get("*." + host.split(".", 1)[1]) if "." in host else None
    return wildcard is not None and wildcard.tls is not None


def _in(addr: str, cidrs: tuple[str, ...]) -> bool:
    ip = ipaddress.ip_address(addr)
    return any(ip in ipaddress.ip_network(c, strict=False) for c in cidrs)


def _via(loc: Location, server: Server) -> dict[str, Any] | None:
    if not loc.ingress:
        return None
    host = "" if server.host == DEFAULT_SERVER else server.host
    if loc.default:
        return {"kind": "Ingress", "name": loc.ingress, "host": host, "path": None,
                "pathType": None}
    return {"kind": "Ingress", "name": loc.ingress, "host": host, "path": loc.ingress_path,
            "pathType": loc.path_type}


def _canary(req: Request, c: Canary) -> tuple[float, str]:
    """balancer.lua ``route_to_alternative_balancer``: (chance of the canary, why)."""
    if c.header:
        value = req.header(c.header)
        if value is not None:
            if c.header_value:
                if value == c.header_value:
                    return 1.0, f"header {c.header}: {value}"
            elif c.header_pattern:
                try:
                    if re.match(c.header_pattern, value):
                        return 1.0, f"header {c.header} matches {c.header_pattern!r}"
                except re.error:
                    return 0.0, f"canary-by-header-pattern {c.header_pattern!r} is invalid"
            elif value == "always":
                return 1.0, f"header {c.header}: always"
            elif value == "never":
                return 0.0, f"header {c.header}: never"
    if c.cookie:
        for part in (req.header("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == c.cookie and value in ("always", "never"):
                return (1.0 if value == "always" else 0.0), f"cookie {c.cookie}={value}"
    total = c.weight_total if c.weight_total > 100 else 100
    share = min(max(c.weight, 0), total) / total
    return share, f"canary-weight {c.weight}/{total}"


def _headers(req: Request, table: Table, server: Server, scheme: str, host: str, port: int,
             remote: str) -> dict[str, str]:
    cfg = table.controller.config
    out = {k: v for k, v in req.headers.items()
           if k.lower() not in ("host", "connection", "upgrade", "proxy")}
    xff = req.header("X-Forwarded-For")
    set_ = {"Host": host, "X-Real-IP": remote, "X-Forwarded-Host": host,
            "X-Forwarded-Port": str(port), "X-Forwarded-Proto": scheme,
            "X-Forwarded-Scheme": scheme, "X-Scheme": scheme}
    if cfg.use_forwarded_headers and cfg.compute_full_forwarded_for:
        set_["X-Forwarded-For"] = f"{xff}, {req.source}" if xff else req.source
    else:
        set_["X-Forwarded-For"] = remote
    if xff:
        set_["X-Original-Forwarded-For"] = xff
    auth = server.auth_tls
    if auth is not None and req.scheme == "https":
        cert = req.client_cert
        set_["ssl-client-verify"] = "SUCCESS" if cert else "NONE"
        if cert:
            set_["ssl-client-subject-dn"] = f"CN={cert}"
            if auth.pass_cert:
                set_["ssl-client-cert"] = f"<URL-encoded PEM of the certificate CN={cert}>"
    lowered = {k.lower() for k in set_}
    out = {k: v for k, v in out.items() if k.lower() not in lowered}
    out.update(set_)
    return dict(sorted(out.items(), key=lambda kv: kv[0].lower()))


Reachable = Callable[[str], bool]  # may the controller's pod connect to this "ip:port"?


def handle(table: Table, req: Request, reachable: Reachable | None = None) -> Outcome:
    """``reachable``: NetworkPolicy between the controller's pod and each endpoint (None: no
    policy is known, every endpoint is reachable). nginx tries the next endpoint when a connect
    times out (``proxy_next_upstream error timeout``): some reachable endpoint is enough; none
    is a 504 after ``proxy_connect_timeout``."""
    ctl = table.controller.key
    cfg = table.controller.config
    server = table.server_for(req.host)
    name = server.host if server.host != DEFAULT_SERVER else "the default server"

    def out(status: int, reason: str, **kw: Any) -> Outcome:
        return Outcome(status, reason, ctl, server=server.host, **kw)

    auth = server.auth_tls
    if req.scheme == "https" and auth is not None and auth.verify_client == "on" \
            and not req.client_cert:
        return out(400, f"{name} requires a client certificate (auth-tls-verify-client: on, "
                   f"CA {auth.secret}) and none was sent: nginx answers 400 "
                   "\"No required SSL certificate was sent\"")
    if server.auth_tls_error:
        return out(403, f"{name}: {server.auth_tls_error} (from {server.auth_ingress}): the "
                   "server answers 403 to every request")
    uri = normalize(req.path)
    if uri == "/":
        for root in server.locations:
            if root.annotations.app_root:
                target = f"{req.scheme}://{req.http_host}{root.annotations.app_root}"
                return out(302, f"app-root {root.annotations.app_root} of {root.ingress}",
                           location=target, via=_via(root, server))
    found = choose(server, uri)
    if found is None:
        return out(404, f"no location of {name} matches {uri} (regex mode)")
    loc = found
    via = _via(loc, server)
    ann = loc.annotations
    limit = nginx_size(ann.proxy_body_size)
    limit = 1024 ** 2 if limit is None else limit
    if limit and req.body_bytes > limit:
        return out(413, f"body of {req.body_bytes} bytes is over client_max_body_size "
                   f"{ann.proxy_body_size} ({limit} bytes)", via=via)
    if ann.denied:
        return out(503, f"location denied: {ann.denied}", via=via)
    if ann.cors and req.method == "OPTIONS" and _origin_ok(req, ann.cors_origins):
        return out(204, "CORS preflight answered by the controller (enable-cors)", via=via)
    if ann.redirect_url:
        which = "temporal-redirect" if _is_temporal(table, loc) else "permanent-redirect"
        return out(ann.redirect_code, f"{which} of {loc.ingress}", location=ann.redirect_url,
                   via=via)
    scheme = req.scheme
    host = req.http_host
    port = 443 if req.port == 443 or req.scheme == "https" else 80
    if cfg.use_forwarded_headers:
        scheme = req.header("X-Forwarded-Proto") or scheme
        host = (req.header("X-Forwarded-Host") or host).split(",")[0].strip()
        fwd_port = req.header("X-Forwarded-Port")
        port = int(fwd_port) if fwd_port and fwd_port.isdigit() else port
    forced = ann.force_ssl_redirect and scheme == "http"
    if forced or (scheme == "http" and ann.ssl_redirect and _cert_configured(table, req.host)):
        uri_sent = req.path + (f"?{req.query}" if req.query else "")
        if not ann.preserve_trailing_slash and uri_sent.endswith("/"):
            uri_sent = uri_sent[:-1]
        target = f"https://{host.split(':')[0]}{uri_sent}"
        why = ("force-ssl-redirect" if forced else
               f"ssl-redirect: {server.host} has TLS ({server.tls.certificate if server.tls else ''})")
        return out(cfg.http_redirect_code, why, location=target, via=via)
    up = loc.upstream
    canary_info: dict[str, Any] | None = None
    if not up.builtin and not up.endpoints:
        return out(503, f"no endpoints: {up.problem}", via=via, backend=up)
    if loc.canary is not None and loc.canary.canary is not None:
        share, why = _canary(req, loc.canary.canary)
        alt = loc.canary
        if not alt.endpoints:
            share, why = 0.0, f"the canary has no endpoints ({alt.problem}): never chosen"
        canary_info = {"service": alt.service, "port": alt.service_port or alt.port,
                       "endpoints": list(alt.endpoints), "ingress": alt.canary_ingress,
                       "probability": round(share, 6), "reason": why}
        if reachable is not None:  # the canary's endpoints NetworkPolicy keeps the controller from
            canary_info["unreachable"] = [e for e in alt.endpoints if not reachable(e)]
        if share == 1.0:
            up = alt
    remote = _remote_addr(req, table)
    if ann.allowlist and not _in(remote, ann.allowlist):
        return out(403, f"{remote} is not in the allowlist {', '.join(ann.allowlist)}",
                   via=via, backend=up)
    headers = _headers(req, table, server, scheme, host, port, remote)
    if up.builtin:
        return out(404, "no rule matches: " + up.problem, via=via, headers=None)
    blocked: tuple[str, ...] = ()
    if reachable is not None:
        blocked = tuple(e for e in up.endpoints if not reachable(e))
        if blocked and len(blocked) == len(up.endpoints):
            return out(504, f"NetworkPolicy lets the controller reach no endpoint of "
                       f"{up.service} ({', '.join(up.endpoints)}): every connect times out "
                       f"after proxy_connect_timeout {ann.connect_timeout}s", via=via,
                       backend=up, unreachable=blocked)
    rewrite = ""
    if loc.rewrites:
        rewrite = f"; URI rewritten to {_rewrite(loc.path, ann.rewrite_target, uri)}"
    what = "the default backend " if loc.default or not loc.ingress else ""
    return out(200, f"proxied to {what}{up.service}:{up.service_port or up.port}"
               f" ({ann.backend_protocol}){rewrite}"
               + (f"; sticky by cookie {ann.affinity_cookie}" if ann.affinity else "")
               + (f"; NetworkPolicy keeps it from {', '.join(blocked)} (nginx moves on after "
                  f"{ann.connect_timeout}s)" if blocked else ""),
               via=via, backend=up, canary=canary_info, headers=headers, unreachable=blocked)


def _rewrite(path: str, target: str, uri: str) -> str:
    """``rewrite "(?i)<path>" <target> break;``: the whole URI becomes the target, with
    ``$1``.. the regex's captures (the query string is kept)."""
    try:
        m = re.search(path, uri, re.IGNORECASE)
    except re.error:
        return target
    if m is None:
        return uri
    groups = m.groups()
    return re.sub(r"\$(\d)", lambda g: (groups[int(g.group(1)) - 1] or "")
                  if 0 < int(g.group(1)) <= len(groups) else "", target)


def _origin_ok(req: Request, origins: tuple[str, ...]) -> bool:
    if "*" in origins:
        return True
    origin = req.header("Origin") or ""
    for o in origins:
        pattern = re.escape(o).replace(r"\*", "[A-Za-z0-9-]+", 1)
        if re.fullmatch(pattern, origin, re.IGNORECASE):
            return True
    return False


def _is_temporal(table: Table, loc: Location) -> bool:
    p = table.parsed.get(loc.ingress)
    key = table.controller.annotations_prefix + "/temporal-redirect"
    return p is not None and key in p.annotations.effective
