"""One Gateway as the ``nginx.conf`` the lab runs, the way NGINX Gateway Fabric serves it: a
``server`` per listener and hostname, a ``location`` per path match, with the precedence
``podnet.gateway.router`` predicts.

- Servers: per programmed HTTP/HTTPS listener, one for the listener's hostname (404 for what
  no route serves) and one per effective hostname its routes serve that this listener owns
  (the most specific listener for that name). nginx's own server_name choice (exact name,
  longest ``*.`` wildcard, then the port's default server) is the spec's listener and route
  hostname precedence; ``*.`` matches any depth in both. A port without a listener for every
  host gets a default server that answers 404.
- Locations: Exact ``location =``; PathPrefix element-wise as ``location ^~ /p/`` plus
  ``location = /p`` (``^~``: a prefix beats every regular expression, as the router orders
  them); RegularExpression ``location ~ "^(?:re)$"`` in the router's order; ``location /``
  answers 404 where no route has the prefix ``/``. Of several matches with the same path the
  router's first wins the location.
- Matches on headers, query parameters or the method, as NGINX Gateway Fabric does in spirit
  (it evaluates them in njs and redirects to an internal location per match): where a
  location's first match has conditions, each condition is a ``map`` to 1 or 0 (``$http_*``,
  the first value of a query parameter from ``$args``, ``$request_method``, ``$uri`` for a
  regular expression), a dispatch ``map`` over those digits names the first match that holds,
  in the router's precedence, and ``error_page 599 = $dispatch; return 599`` enters that
  match's named location (``@pn_...``), which keeps the URI and the method. The chain of a
  location also holds the shorter prefixes and the regular expressions behind it, so a
  request whose conditions fail falls back as the spec says. Values compare case-sensitively
  and whole (Exact, or RegularExpression anchored as the router does); query values are not
  percent-decoded; a request body does not survive the ``return`` (the lab sends none).
- Filters in order: RequestRedirect ``return`` (the Location built from the listener's
  scheme and port, the request's host and path), URLRewrite ``rewrite ... break`` and the Host,
  Request/ResponseHeaderModifier ``proxy_set_header``/``add_header``; an unknown filter 500.
- Backends: an upstream per Service port; a split by weight through ``split_clients``, where
  an unresolved backend's share answers 500; no backend or all weights zero 500; a Service
  without endpoints 503.
Pure: config in, text out, sorted where the order is not the spec's."""

from __future__ import annotations

from dataclasses import dataclass

from podnet.gateway.attach import Backend, Config, ListenerState, RouteState
from podnet.gateway.hostnames import specificity
from podnet.gateway.objects import Filter, Match
from podnet.gateway.router import WELL_KNOWN, Candidate
from podnet.ingress.nginx import preamble
from podnet.names import short_tag

PROXY_HEADERS = ("X-Forwarded-For $remote_addr", "X-Real-IP $remote_addr",
                 "X-Forwarded-Proto $scheme")


@dataclass(frozen=True, slots=True)
class Files:
    """Where the lab keeps this Gateway's files, relative to its own directory."""

    prefix: str
    cert: dict[str, tuple[str, str]]  # listener name -> (certificate, key)
    fake: tuple[str, str]  # for the default server of an HTTPS port


def _served(config: Config, gateway: str) -> list[ListenerState]:
    state = config.gateways[gateway]
    return sorted((s for s in state.listeners if s.programmed
                   and s.listener.protocol in ("HTTP", "HTTPS")
                   and (s.listener.protocol == "HTTP" or s.listener.tls_mode == "Terminate")),
                  key=lambda s: (s.listener.port, s.listener.name))


def lab_files(config: Config, gateway: str) -> Files:
    certs = {s.listener.name: (f"certs/{short_tag(s.listener.name)}.crt",
                               f"certs/{short_tag(s.listener.name)}.key")
             for s in _served(config, gateway) if s.listener.protocol == "HTTPS"}
    return Files(".", certs, ("certs/fake.crt", "certs/fake.key"))


def cert_hosts(config: Config, gateway: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(file stem, names the certificate covers) per HTTPS listener: the lab's CA issues them,
    as it does for an Ingress's TLS hosts."""
    return tuple(sorted((f"certs/{short_tag(s.listener.name)}", (s.listener.hostname or "podnet",))
                        for s in _served(config, gateway) if s.listener.protocol == "HTTPS"))


def concrete(pattern: str) -> str:
    """A host a hostname pattern accepts (what the probes send for it)."""
    return "probe" + pattern[1:] if pattern.startswith("*.") else pattern


@dataclass(frozen=True, slots=True)
class Block:
    """One nginx server: a listener and one hostname it serves, with the routes that compete
    for it (the router's ``routes_for``)."""

    listener: ListenerState
    name: str  # "" for every host
    routes: tuple[RouteState, ...]


def blocks(config: Config, gateway: str) -> list[Block]:
    out: list[Block] = []
    taken: set[tuple[int, str]] = set()
    for s in _served(config, gateway):
        x = s.listener
        by = config.index.routes.get((gateway, x.name))
        names: dict[str, list[RouteState]] = {x.hostname: []}
        if by is not None:
            for pattern, routes in (*by.exact.items(), *by.wild.items(), ("", by.every)):
                if routes or pattern == "":
                    names.setdefault(pattern, [])
                    names[pattern] += routes
        for name in sorted(names, key=lambda n: (-specificity(n)[0], -specificity(n)[1], n)):
            if name == "" and x.hostname:
                continue  # the listener's own hostname bounds what it serves
            owner = config.index.listener(gateway, x.port, x.protocol, concrete(name)) \
                if name else s
            if owner is None or owner.listener.name != x.name or (x.port, name) in taken:
                continue  # a more specific listener owns that name (listener isolation)
            taken.add((x.port, name))
            by_key = {r.route.key: r for r in names[name]}
            out.append(Block(s, name, tuple(by_key[k] for k in sorted(by_key))))
    return out


def _q(text: str) -> str:
    """A quoted nginx string where variables are not expanded (paths, names, files)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _v(text: str) -> str:
    """Literal text inside a quoted string where nginx expands variables (nginx has no escape
    for ``$``: the ``$pn_dollar`` variable holds one)."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "${pn_dollar}")


def _re(text: str) -> str:
    """A literal path inside a PCRE pattern."""
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


def _var_name(header: str) -> str:
    """nginx's variable for a request header (lower case, ``-`` as ``_``)."""
    return "$http_" + "".join(c if c.isalnum() else "_" for c in header.lower())


def _anchored(kind: str, value: str) -> str:
    """A whole-value PCRE for an Exact or RegularExpression match (the router's fullmatch)."""
    return "^(?:" + (_re(value) if kind == "Exact" else value) + ")$"


def _prefix_covers(prefix: str, path: str) -> bool:
    """PathPrefix ``prefix`` (trailing slash dropped) accepts ``path`` element-wise."""
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _location_heads(m: Match, exact_paths: set[str]) -> list[str]:
    if m.path_type == "Exact":
        return [f"location = {_q(m.path)}"]
    if m.path_type == "PathPrefix":
        p = m.path.rstrip("/")
        if not p:
            return ["location ^~ /"]
        heads = [f"location ^~ {_q(p + '/')}"]
        return heads if p in exact_paths else [*heads, f"location = {_q(p)}"]
    return [f"location ~ {_q('^(?:' + m.path + ')$')}"]


def named(c: Candidate) -> str:
    """The internal location of one match (as NGINX Gateway Fabric has one per match)."""
    return "@pn_" + short_tag(f"{c.route.route.key}\0{c.rule}\0{c.match}")


def _upstream_name(b: Backend) -> str:
    up = b.upstream
    assert up is not None
    return "pn-" + up.name


class _Render:
    def __init__(self, config: Config, gateway: str, files: Files) -> None:
        self.config, self.gateway, self.files = config, gateway, files
        self.maps: dict[str, list[str]] = {}  # variable -> the map's lines
        self.upstreams: dict[str, tuple[str, ...]] = {}

    def _path_var(self, m: Match, replacement: str) -> str:
        """The path with the matched prefix replaced (HTTPPathModifier.ReplacePrefixMatch)."""
        var = f"$pn_path_{short_tag(m.path + chr(0) + replacement)}"
        p = m.path.rstrip("/")
        repl = replacement.rstrip("/")
        self.maps[var] = [f"map $uri {var} {{",
                          f"\t{_q(p or '/')} \"{_v(repl or '/') if p else _v(repl) + '$uri'}\";",
                          f"\t\"~^{_re(p)}(?<pn_rest>/.*)$\" \"{_v(repl)}$pn_rest\";",
                          "\tdefault $uri;", "}"]
        return var

    def _redirect(self, f: Filter, m: Match, x: ListenerState) -> str:
        scheme = str(f.get("scheme") or ("https" if x.listener.protocol == "HTTPS" else "http"))
        port = f.get("port")
        if port is None:
            port = WELL_KNOWN.get(scheme, x.listener.port) if f.get("scheme") else x.listener.port
        shown = "" if WELL_KNOWN.get(scheme) == port else f":{port}"
        host = _v(str(f.get("hostname"))) if f.get("hostname") else "$host"
        path = "$uri"
        spec = f.get("path")
        if spec and spec.get("type") == "ReplaceFullPath":
            path = _v(str(spec.get("replaceFullPath") or "/"))
        elif spec:
            path = self._path_var(m, str(spec.get("replacePrefixMatch") or ""))
        code = f.get("statusCode", 302)
        code = int(code if isinstance(code, int) else 302)
        return f"return {code} \"{_v(scheme + '://')}{host}{_v(shown)}{path}$is_args$args\";"

    def _headers(self, f: Filter) -> list[str]:
        out = []
        for kv in f.get("set") or ():
            out.append(f"proxy_set_header {_q(str(kv['name']))} \"{_v(str(kv.get('value', '')))}\";")
        for kv in f.get("add") or ():
            name, value = str(kv["name"]), str(kv.get("value", ""))
            var = f"$pn_add_{short_tag(name.lower() + chr(0) + value)}"
            src = "$http_" + name.lower().replace("-", "_")
            self.maps[var] = [f"map {src} {var} {{", f"\t\"\" \"{_v(value)}\";",
                              f"\tdefault \"{src},{_v(value)}\";", "}"]
            out.append(f"proxy_set_header {_q(name)} {var};")
        for name in f.get("remove") or ():
            out.append(f"proxy_set_header {_q(str(name))} \"\";")
        return out

    def _response_headers(self, f: Filter) -> list[str]:
        out = []
        for kv in f.get("set") or ():
            out += [f"proxy_hide_header {_q(str(kv['name']))};",
                    f"add_header {_q(str(kv['name']))} \"{_v(str(kv.get('value', '')))}\" always;"]
        for kv in f.get("add") or ():
            out.append(f"add_header {_q(str(kv['name']))} \"{_v(str(kv.get('value', '')))}\" always;")
        for name in f.get("remove") or ():
            out.append(f"proxy_hide_header {_q(str(name))};")
        return out

    def _target(self, backends: tuple[Backend, ...]) -> list[str]:
        """Where the rule's traffic goes: 500 without a usable backend, else an upstream or a
        weighted split; an unresolved share answers 500, one without endpoints 503."""
        live = [b for b in backends if b.ref.weight > 0]
        if not live or (all(b.upstream is None for b in live)):
            return ["return 500;"]
        for b in live:
            if b.upstream is not None and b.upstream.endpoints:
                self.upstreams[_upstream_name(b)] = b.upstream.endpoints

        def dest(b: Backend) -> str:
            if b.upstream is None:
                return "pn-status-500"
            return _upstream_name(b) if b.upstream.endpoints else "pn-status-503"
        if len(live) == 1:
            d = dest(live[0])
            return [f"return {d[-3:]};"] if d.startswith("pn-status-") else \
                [f"proxy_pass http://{d};"]
        total = sum(b.ref.weight for b in live)
        parts = [f"{b.ref.weight * 100 / total:.2f}% {dest(b)};" for b in live[:-1]]
        ident = chr(0).join(f"{b.ref.namespace}/{b.ref.name}:{b.ref.port}:{b.ref.weight}"
                            for b in live)
        var = f"$pn_split_{short_tag(ident)}"
        self.maps[var] = [f"split_clients \"$request_id\" {var} {{", *("\t" + x for x in parts),
                          f"\t* {dest(live[-1])};", "}"]
        return [f"if ({var} = pn-status-500) {{ return 500; }}",
                f"if ({var} = pn-status-503) {{ return 503; }}",
                f"proxy_pass http://{var};"]

    def _flag(self, var: str, source: str, pattern: str, extra: tuple[str, ...] = ()) -> str:
        """A map that is 1 when ``source`` matches ``pattern`` (case-sensitive), else 0."""
        self.maps[var] = [f"map {source} {var} {{", *extra, f"\t{_q('~' + pattern)} 1;",
                          "\tdefault 0;", "}"]
        return var

    def conditions(self, m: Match, own_path: bool) -> list[str]:
        """The variables (each 1 or 0) that must all be 1 for the match to hold beyond the
        path the location already matched (``own_path``: else a regular expression path is
        checked against ``$uri`` too)."""
        out = []
        if m.path_type == "RegularExpression" and not own_path:
            pat = "^(?:" + m.path + ")$"
            out.append(self._flag(f"$pn_uri_{short_tag(pat)}", "$uri", pat))
        if m.method:
            out.append(self._flag(f"$pn_method_{short_tag(m.method)}", "$request_method",
                                  _anchored("Exact", m.method)))
        for h in m.headers:
            pat = _anchored(h.type, h.value)
            out.append(self._flag(f"$pn_hdr_{short_tag(h.name.lower() + chr(0) + pat)}",
                                  _var_name(h.name), pat))
        for q in m.query:
            # the first value of the parameter, as the router takes it (names case-sensitive,
            # unlike nginx's $arg_*)
            arg = f"$pn_arg_{short_tag(q.name)}"
            self.maps[arg] = [f"map $args {arg} {{",
                              f"\t{_q('~(?:^|&)' + _re(q.name) + '=(?<pn_arg_v>[^&]*)')} "
                              "$pn_arg_v;", "\tdefault \"\";", "}"]
            pat = _anchored(q.type, q.value)
            out.append(self._flag(f"$pn_qry_{short_tag(q.name + chr(0) + pat)}", arg, pat))
        return sorted(set(out), key=out.index)

    def dispatch(self, chain: list[tuple[Candidate, list[str]]]) -> str:
        """The map naming the first match of ``chain`` whose conditions hold (the chain ends
        at the first match without any: the default), or @pn_404."""
        flags = sorted({v for _, conds in chain for v in conds})
        lines, default = [], "@pn_404"
        for c, conds in chain:
            if not conds:
                default = named(c)
                break
            pat = "^" + "".join("1" if v in conds else "." for v in flags) + "$"
            lines.append(f"\t{_q('~' + pat)} {named(c)};")
        key = "".join(flags)
        var = f"$pn_match_{short_tag(key + chr(0) + chr(0).join(lines) + default)}"
        self.maps[var] = [f"map \"{key}\" {var} {{", *lines, f"\tdefault {default};", "}"]
        return var

    def location(self, c: Candidate, x: ListenerState) -> list[str]:
        rule = c.route.route.rules[c.rule]
        m = rule.matches[c.match]
        body = [f"# {c.route.route.key} rule {c.rule} match {c.match}"]
        host = "$host"
        headers: list[str] = []
        for f in rule.filters:
            if f.type == "RequestRedirect":
                return [*body, self._redirect(f, m, x)]
            if f.type == "URLRewrite":
                if f.get("hostname"):
                    host = f'"{_v(str(f.get("hostname")))}"'
                spec = f.get("path")
                if spec and spec.get("type") == "ReplaceFullPath":
                    body.append(f"rewrite ^ \"{_v(str(spec.get('replaceFullPath') or '/'))}\" break;")
                elif spec:
                    var = self._path_var(m, str(spec.get("replacePrefixMatch") or ""))
                    body.append(f"rewrite ^ {var} break;")
            elif f.type == "RequestHeaderModifier":
                headers += self._headers(f)
            elif f.type == "ResponseHeaderModifier":
                body += self._response_headers(f)
            elif f.type == "RequestMirror":
                body.append("# RequestMirror: not rendered (responses of a mirror are ignored)")
            else:
                return [*body, f"# {f.type}: an unresolved filter answers 500", "return 500;"]
        target = self._target(c.route.backends[c.rule])
        if target[-1].startswith("return"):
            return [*body, *target]
        return [*body, f"proxy_set_header Host {host};",
                *(f"proxy_set_header {h};" for h in PROXY_HEADERS), *headers, *target]

    def server(self, b: Block, default: bool) -> list[str]:
        x = b.listener.listener
        ssl = x.protocol == "HTTPS"
        flag = " default_server" if default else ""
        lines = [f"# listener {x.name}" + (f", routes {', '.join(r.route.key for r in b.routes)}"
                                           if b.routes else ", no route"),
                 f"listen {x.port}{' ssl' if ssl else ''}{flag};",
                 f"server_name {b.name or '_'};"]
        if ssl:
            cert, key = self.files.cert[x.name]
            lines += [f"ssl_certificate {_q(cert)};", f"ssl_certificate_key {_q(key)};"]
        cands: list[Candidate] = []
        for r in b.routes:
            for i, rule in enumerate(r.route.rules):
                for j in range(len(rule.matches)):
                    cands.append(Candidate(r, i, j, b.name))
        cands.sort(key=Candidate.key)
        kept: dict[tuple[str, str], Candidate] = {}
        for c in cands:
            m = c.route.route.rules[c.rule].matches[c.match]
            kept.setdefault((m.path_type, m.path.rstrip("/") if m.path_type == "PathPrefix"
                             else m.path), c)
        exact = {p for t, p in kept if t == "Exact"}
        internal: dict[str, Candidate] = {}
        to_404 = False
        for (kind, path), first in kept.items():
            m = first.route.route.rules[first.rule].matches[first.match]
            chain: list[tuple[Candidate, list[str]]] = []
            for c in cands:
                n = c.route.route.rules[c.rule].matches[c.match]
                if ((n.path_type == "Exact" and kind == "Exact" and n.path == path)
                        or (n.path_type == "PathPrefix" and kind != "RegularExpression"
                            and _prefix_covers(n.path.rstrip("/"), path))
                        or n.path_type == "RegularExpression"):
                    conds = self.conditions(n, n.path_type == kind == "RegularExpression"
                                            and n.path == path)
                    chain.append((c, conds))
                    if not conds:
                        break
            if chain and not chain[0][1]:
                body = self.location(first, b.listener)
            else:
                var = self.dispatch(chain)
                to_404 = to_404 or self.maps[var][-2] == "\tdefault @pn_404;"
                body = ["# the first of " + ", ".join(f"{c.route.route.key} rule {c.rule} "
                                                      f"match {c.match}" for c, _ in chain)
                        + " whose method, headers and query hold",
                        f"error_page 599 = {var};", "return 599;"]
                for c, _ in chain:
                    internal[named(c)] = c
            for head in _location_heads(m, exact):
                lines.append(head + " {")
                lines += ["\t" + y for y in body]
                lines.append("}")
        for name, c in sorted(internal.items()):
            lines.append(f"location {name} {{")
            lines += ["\t" + y for y in self.location(c, b.listener)]
            lines.append("}")
        if to_404:
            lines.append("location @pn_404 { return 404; }")
        if ("PathPrefix", "") not in kept:
            lines.append("location / { return 404; }")
        return lines


def render(config: Config, gateway: str, files: Files) -> str:
    """The whole ``nginx.conf`` of one Gateway."""
    r = _Render(config, gateway, files)
    p = files.prefix
    servers: list[list[str]] = []
    ports: dict[int, str] = {}
    defaults = set()
    for b in blocks(config, gateway):
        x = b.listener.listener
        ports.setdefault(x.port, x.protocol)
        default = b.name == ""
        if default:
            defaults.add(x.port)
        servers.append(r.server(b, default))
    for port, proto in sorted(ports.items()):
        if port in defaults:
            continue
        ssl = proto == "HTTPS"
        lines = ["# no listener accepts the host: 404",
                 f"listen {port}{' ssl' if ssl else ''} default_server;", "server_name _;"]
        if ssl:
            lines += [f"ssl_certificate {_q(files.fake[0])};",
                      f"ssl_certificate_key {_q(files.fake[1])};"]
        servers.append([*lines, "return 404;"])
    out = [*preamble(f"Gateway {gateway}", p),
           # a literal $ in a quoted string (nginx has no escape for it)
           "\tgeo $pn_dollar { default \"$\"; }"]
    for name, eps in sorted(r.upstreams.items()):
        out.append(f"\tupstream {name} {{")
        out += [f"\t\tserver {e};" for e in eps]
        out.append("\t}")
    for _, lines in sorted(r.maps.items()):
        out += ["\t" + y for y in lines]
    for s in servers:
        out.append("\tserver {")
        out += ["\t\t" + y for y in s]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"
