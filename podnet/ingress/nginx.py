"""One controller's route table as an ``nginx.conf`` the lab's nginx runs.

Not ingress-nginx's Lua template: a plain configuration with the same observable behaviour
for what ``request.handle`` predicts, phase for phase (request.py's docstring):
- the TLS handshake: ``ssl_verify_client`` with the lab CA -> 400 without a certificate;
- server rewrite phase: ``return 403`` (unusable auth-tls-secret), the ``app-root`` redirect;
- find-config: ingress-nginx's own locations (``=`` exact, prefix ``/foo/`` + ``= /foo``, or
  ``~* "^..."`` in regex mode) and ``client_max_body_size`` -> 413;
- location rewrite phase: denied ``return 503``, the CORS preflight 204, permanent/temporal
  redirects, the ssl redirect (ingress-nginx does it in Lua; ``if ($scheme = http)`` here, to
  ``https://$host`` and the request URI without a trailing slash), no endpoints 503, the
  ``rewrite-target``;
- access phase: the allowlist's ``allow``/``deny all`` -> 403;
- content: ``proxy_pass`` to an upstream of the endpoint addresses, with the headers
  ingress-nginx sets (X-Real-IP, X-Forwarded-*, the client certificate's).

Canaries as balancer.lua ``route_to_alternative_balancer`` decides, later ``set`` winning: the
weight first (``split_clients`` on ``$request_id``, random per request; the share rounded to
nginx's 0.01 %), then ``canary-by-cookie`` always/never, then ``canary-by-header`` (its value,
its pattern anchored at the start as ``request.handle`` reads it, or always/never). Only
``http`` backends are proxied (the lab's workloads speak HTTP).
Pure: paths come in, text goes out, sorted so the text is byte-stable."""

from __future__ import annotations

from dataclasses import dataclass

from podnet.ingress.match import nginx_size
from podnet.ingress.routes import DEFAULT_SERVER, Location, Server, Table
from podnet.ingress.upstreams import Upstream
from podnet.names import short_tag


@dataclass(frozen=True, slots=True)
class Files:
    """Where the lab keeps this controller's files (all under one private directory)."""

    prefix: str  # nginx's -p: temp directories, logs, the pid file
    cert: dict[str, tuple[str, str]]  # server host -> (certificate, key) PEM paths
    fake: tuple[str, str]  # the controller's fake certificate, for hosts without a usable one
    client_ca: str  # the CA client certificates are checked against


def lab_files(table: Table) -> Files:
    """The lab's layout, relative to the controller's own directory: a certificate per TLS host
    whose Secret gives one, the fake one for the rest, the lab CA for client certificates."""
    certs = {s.host: (f"certs/{short_tag(s.host)}.crt", f"certs/{short_tag(s.host)}.key")
             for s in table.servers.values() if s.tls is not None and not s.tls.problem}
    return Files(".", certs, ("certs/fake.crt", "certs/fake.key"), "certs/client-ca.crt")


def cert_hosts(table: Table) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(file stem, the names its certificate covers) for each certificate ``lab_files`` names."""
    return tuple(sorted((f"certs/{short_tag(s.host)}", (s.host, *s.aliases))
                        for s in table.servers.values()
                        if s.tls is not None and not s.tls.problem))


def _q(text: str) -> str:
    """An nginx string literal: names reaching here are validated (DNS-1123), paths are the
    Ingress's, which the API server checks; quote anyway so a space cannot split a directive."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _upstreams(table: Table) -> dict[str, Upstream]:
    ups: dict[str, Upstream] = {}
    for s in table.servers.values():
        for loc in s.locations:
            for up in (loc.upstream, loc.canary):
                if up is not None and not up.builtin and up.endpoints:
                    ups[up.name] = up
    return dict(sorted(ups.items()))


def _location_head(loc: Location) -> str:
    if loc.modifier == "~*":
        return f"location ~* {_q('^' + loc.path)}"
    if loc.modifier == "=":
        return f"location = {_q(loc.path)}"
    return f"location {_q(loc.path)}"


def _proxy_headers(server: Server) -> list[str]:
    out = ["proxy_set_header Host $http_host;",
           "proxy_set_header X-Real-IP $remote_addr;",
           "proxy_set_header X-Forwarded-For $remote_addr;",
           "proxy_set_header X-Forwarded-Host $http_host;",
           "proxy_set_header X-Forwarded-Port $pn_port;",
           "proxy_set_header X-Forwarded-Proto $scheme;",
           "proxy_set_header X-Forwarded-Scheme $scheme;",
           "proxy_set_header X-Scheme $scheme;",
           "proxy_set_header X-Original-Forwarded-For $http_x_forwarded_for;"]
    auth = server.auth_tls
    if auth is not None:
        out += ["proxy_set_header ssl-client-verify $pn_client_verify;",
                "proxy_set_header ssl-client-subject-dn $ssl_client_s_dn;"]
        if auth.pass_cert:
            out.append("proxy_set_header ssl-client-cert $ssl_client_escaped_cert;")
    return out


def _location(loc: Location, server: Server, table: Table, tls_host: bool) -> list[str]:
    ann = loc.annotations
    size = nginx_size(ann.proxy_body_size)
    body = [f"client_max_body_size {size if size is not None else 1024 ** 2};"]
    if ann.denied:
        return [*body, "return 503;"]
    if ann.cors:
        body.append("if ($request_method = OPTIONS) { return 204; }")
    if ann.redirect_url:
        return [*body, f"return {ann.redirect_code} {_q(ann.redirect_url)};"]
    code = table.controller.config.http_redirect_code
    if ann.force_ssl_redirect or (ann.ssl_redirect and tls_host):
        target = "$pn_redirect_uri" if not ann.preserve_trailing_slash else "$request_uri"
        body.append(f"if ($scheme = http) {{ return {code} https://$host{target}; }}")
    up = loc.upstream
    if not up.builtin and not up.endpoints:
        return [*body, "return 503;"]
    if ann.allowlist:
        body += [f"allow {c};" for c in ann.allowlist] + ["deny all;"]
    if up.builtin:
        # the controller's default backend answers in the content phase, after the allowlist
        # (a `return` would answer in the rewrite phase, before it); no such file exists
        return [*body, "try_files /.podnet-default-backend =404;"]
    if loc.rewrites:
        body.append(f"rewrite {_q('(?i)' + loc.path)} {_q(ann.rewrite_target)} break;")
    body += [f"proxy_connect_timeout {ann.connect_timeout}s;",
             f"proxy_read_timeout {ann.read_timeout}s;",
             f"proxy_send_timeout {ann.send_timeout}s;",
             f"proxy_buffer_size {ann.proxy_buffer_size};",
             *_proxy_headers(server)]
    routing = _canary(loc, server)
    body += routing
    body.append(f"proxy_pass http://{'$pn_upstream' if routing else up.name};")
    return body


def _weight(loc: Location) -> float:
    """The canary's share of requests no header or cookie decides (request.py's ``_canary``)."""
    c = loc.canary.canary if loc.canary is not None else None
    if c is None:
        return 0.0
    total = c.weight_total if c.weight_total > 100 else 100
    return min(max(c.weight, 0), total) / total


def _split_var(server: Server, loc: Location) -> str:
    return "$pn_w_" + short_tag(f"{server.host} {loc.modifier} {loc.path}")


def _splits(table: Table) -> list[str]:
    """``split_clients`` blocks (http level) for the locations whose canary takes a share
    strictly between none and all."""
    out = []
    for s in sorted(table.servers.values(), key=lambda s: s.host):
        for loc in s.locations:
            alt, share = loc.canary, _weight(loc)
            if alt is None or not alt.endpoints or not 0 < share < 1 or not loc.upstream.endpoints:
                continue
            out += [f"\tsplit_clients \"${{request_id}}\" {_split_var(s, loc)} {{",
                    f"\t\t{round(share * 100, 2):g}% {alt.name};",
                    f"\t\t* {loc.upstream.name};", "\t}"]
    return out


def _canary(loc: Location, server: Server) -> list[str]:
    alt = loc.canary
    if alt is None or alt.canary is None or not alt.endpoints:
        return []
    c, main, share = alt.canary, loc.upstream.name, _weight(loc)
    first = (_split_var(server, loc) if 0 < share < 1 else alt.name if share >= 1 else main)
    out = [f"set $pn_upstream {first};"]
    if c.cookie:
        var = "$cookie_" + c.cookie
        out += [f'if ({var} = "always") {{ set $pn_upstream {alt.name}; }}',
                f'if ({var} = "never") {{ set $pn_upstream {main}; }}']
    if c.header:
        var = "$http_" + c.header.lower().replace("-", "_")
        if c.header_value:
            out.append(f"if ({var} = {_q(c.header_value)}) {{ set $pn_upstream {alt.name}; }}")
        elif c.header_pattern:
            out.append(f"if ({var} ~ {_q('^(?:' + c.header_pattern + ')')}) "
                       f"{{ set $pn_upstream {alt.name}; }}")
        else:
            out += [f'if ({var} = "always") {{ set $pn_upstream {alt.name}; }}',
                    f'if ({var} = "never") {{ set $pn_upstream {main}; }}']
    return out if len(out) > 1 or first != main else []


def _server_name(host: str) -> str:
    """ingress-nginx's ``buildServerName``: ``*.foo.com`` is one label deep, where nginx's own
    ``*.foo.com`` would match any depth."""
    if not host.startswith("*."):
        return host
    return "~^[\\w-]+" + host[1:].replace(".", "\\.") + "$"


def _server(s: Server, table: Table, files: Files) -> list[str]:
    default = s.host == DEFAULT_SERVER
    names = " ".join([_server_name(s.host), *s.aliases]) if not default else "_"
    flag = " default_server" if default else ""
    cert, key = files.cert.get(s.host, files.fake)
    lines = [f"server_name {names};", f"listen 80{flag};", f"listen 443 ssl{flag};",
             f"ssl_certificate {_q(cert)};", f"ssl_certificate_key {_q(key)};",
             "set $pn_port 80;", "if ($scheme = https) { set $pn_port 443; }"]
    auth = s.auth_tls
    if auth is not None and auth.verify_client != "off" and not s.auth_tls_error:
        lines += [f"ssl_client_certificate {_q(files.client_ca)};",
                  f"ssl_verify_client {auth.verify_client};",
                  f"ssl_verify_depth {auth.depth};",
                  "set $pn_client_verify $ssl_client_verify;"]
    elif auth is not None:
        lines.append("set $pn_client_verify NONE;")
    if s.auth_tls_error:
        lines.append("return 403;")
    roots = [loc.annotations.app_root for loc in s.locations if loc.annotations.app_root]
    if roots:
        lines.append(f"if ($uri = /) {{ return 302 $scheme://$http_host{roots[0]}; }}")
    tls_host = s.tls is not None and not default  # an unknown host has no certificate
    for loc in s.locations:
        lines.append(_location_head(loc) + " {")
        lines += ["\t" + x for x in _location(loc, s, table, tls_host)]
        lines.append("}")
    return lines


def preamble(what: str, p: str) -> list[str]:
    """The start of every nginx.conf the lab runs, up to inside ``http {``: one worker, every
    file under the lab's directory ``p``."""
    return [f"# nginx.conf for {what} (podnet)",
            # the lab's files are root's alone (0700), and workers write temp files among them
            "daemon off;", "worker_processes 1;", "user root;", f"pid {_q(p + '/nginx.pid')};",
            f"error_log {_q(p + '/error.log')} warn;", "events { worker_connections 1024; }",
            "http {", "\taccess_log off;", "\tserver_tokens off;",
            f"\tclient_body_temp_path {_q(p + '/body')};",
            f"\tproxy_temp_path {_q(p + '/proxy')};",
            f"\tfastcgi_temp_path {_q(p + '/fastcgi')};",
            f"\tuwsgi_temp_path {_q(p + '/uwsgi')};",
            f"\tscgi_temp_path {_q(p + '/scgi')};"]


def render(table: Table, files: Files) -> str:
    """The whole ``nginx.conf`` for one controller."""
    out = [*preamble("controller " + table.controller.key, files.prefix),
           "\tmap $request_uri $pn_redirect_uri { ~^(?<pn_u>.*)/$ $pn_u; default $request_uri; }"]
    for name, up in _upstreams(table).items():
        out.append(f"\tupstream {name} {{")
        # ingress-nginx picks endpoints in Lua (balancer_by_lua behind one placeholder server),
        # so nginx never marks an endpoint down: every request tries them anew and times out
        # to 504. A plain upstream's max_fails=1 would answer 502 ("no live upstreams") to the
        # requests that follow a failed one for fail_timeout.
        out += [f"\t\tserver {e} max_fails=0;" for e in up.endpoints]
        out.append("\t}")
    out += _splits(table)
    servers = sorted(table.servers.values(), key=lambda s: (s.host != DEFAULT_SERVER, s.host))
    for s in servers:
        out.append("\tserver {")
        out += ["\t\t" + x for x in _server(s, table, files)]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"
