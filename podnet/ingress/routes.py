"""One controller's route table: servers by host, their locations in nginx's order.

Built as ingress-nginx's ``createServers`` and ``getBackendServers``
(``internal/ingress/controller/controller.go``) build theirs:
- Ingresses are taken in creationTimestamp order; equal times (an Ingress without one counts
  as created with the others) fall back to namespace/name *descending* (``sortIngressSlice``,
  store.go). The first Ingress to name a host creates its server, with a root location ``/``
  on its default backend and its annotations; the first to give a path and pathType owns it.
- ``ImplementationSpecific`` is read as ``Prefix`` (``SetDefaultNGINXPathType``, k8s/main.go).
- Locations are sorted by path length, longest first (ties: path descending); then each
  Prefix path ``/foo`` becomes ``location /foo/`` plus ``location = /foo`` (location.go,
  ``updateServerLocations``), hence element-wise matching.
- When any location of a server has ``use-regex`` or a ``rewrite-target`` other than its path,
  every location of that server becomes ``location ~* "^path"`` (``enforceRegexModifier``,
  template.go), and nginx takes the first regex that matches, in this order.
- Canary Ingresses add no location: they attach to the upstream of the matching path.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from podnet.ingress.annotations import Annotations, AuthTLS, Parsed, parse
from podnet.ingress.classes import admit, decide, read_classes, stand_in_class
from podnet.ingress.controllers import Controller
from podnet.ingress.secrets import FAKE_CERT, tls_problem
from podnet.ingress.secrets import index as secret_index
from podnet.ingress.upstreams import Resolver, Upstream
from podnet.model.cluster import Cluster
from podnet.model.ingress_hosts import shaped_hosts
from podnet.model.objects import Ingress, IngressBackend

DEFAULT_SERVER = "_"
DEFAULT_UPSTREAM = "upstream-default-backend"


@dataclass(frozen=True, slots=True)
class Location:
    path: str  # the nginx location's path
    modifier: str  # "=" exact, "" prefix, "~*" case-insensitive regex
    ingress_path: str  # the path as the Ingress wrote it
    path_type: str  # as the Ingress wrote it ("" for a server's root fallback)
    ingress: str  # ns/name of the Ingress that owns it ("" for the controller's)
    upstream: Upstream
    annotations: Annotations
    default: bool = False  # the root fallback: no Ingress path claimed "/"
    canary: Upstream | None = None
    pattern: re.Pattern[str] | None = None  # compiled when modifier is "~*"

    @property
    def rewrites(self) -> bool:
        t = self.annotations.rewrite_target
        return bool(t) and t != self.path


@dataclass(frozen=True, slots=True)
class TLS:
    secret: str  # ns/name, "" when the Ingress names none for this host
    problem: str  # "" when the Secret gives the certificate

    @property
    def certificate(self) -> str:
        return f"Secret {self.secret}" if not self.problem else FAKE_CERT


@dataclass(frozen=True, slots=True)
class Server:
    host: str
    ingress: str  # the Ingress that created it
    locations: tuple[Location, ...]
    aliases: tuple[str, ...] = ()
    tls: TLS | None = None
    auth_tls: AuthTLS | None = None  # client certificates, from the first Ingress with a CA
    auth_tls_error: str = ""  # an unusable auth-tls-secret: every request gets 403
    auth_ingress: str = ""  # the Ingress the two above come from
    regex: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    controller: Controller
    servers: Mapping[str, Server]  # by host, sorted; "_" is the default server
    accepted: tuple[str, ...]  # Ingresses in the controller's order
    ignored: Mapping[str, str]  # Ingress -> why the controller ignores it
    parsed: Mapping[str, Parsed]
    default_upstream: Upstream
    notes: tuple[str, ...] = ()
    wildcards: tuple[tuple[str, re.Pattern[str]], ...] = field(default=())

    def server_for(self, host: str) -> Server:
        """nginx's server_name choice: exact names and aliases, then the wildcard regexes in
        order (``buildServerName``: ``*.foo.com`` is one label deep), else the default."""
        h = host.lower().rstrip(".")
        if h in self.servers and h != DEFAULT_SERVER:
            return self.servers[h]
        for name, s in self.servers.items():
            if h in s.aliases and name != DEFAULT_SERVER:
                return s
        for name, pattern in self.wildcards:
            if pattern.fullmatch(h):
                return self.servers[name]
        return self.servers[DEFAULT_SERVER]


def _created(ing: Ingress) -> tuple[int, datetime.datetime]:
    try:
        return 0, datetime.datetime.fromisoformat(ing.created)
    except ValueError:
        return 1, datetime.datetime.min.replace(tzinfo=datetime.UTC)


def order(ingresses: list[Ingress]) -> list[Ingress]:
    by_name = sorted(ingresses, key=lambda i: (i.namespace, i.name), reverse=True)
    return sorted(by_name, key=_created)


def _nginx_path_type(t: str) -> str:
    return "Prefix" if t == "ImplementationSpecific" else t


@dataclass
class _Loc:  # a location while the server is assembled
    path: str
    path_type: str
    ingress_path: str
    ing: str
    upstream: Upstream
    ann: Annotations
    default: bool
    written: str  # the pathType as the Ingress wrote it


@dataclass
class _Srv:
    host: str
    ingress: str
    locs: list[_Loc]
    aliases: tuple[str, ...] = ()
    tls: TLS | None = None
    auth_error: str = ""
    auth: AuthTLS | None = None
    auth_ingress: str = ""
    notes: list[str] = field(default_factory=list)


def _tls_for(ing: Ingress, host: str, secrets: Mapping[str, object]) -> TLS:
    """``extractTLSSecretName``: the TLS entry listing the host; none listing it leaves the
    host on the default certificate (podnet does not read certificates' SANs)."""
    for t in ing.tls:
        if host.lower() in (h.lower() for h in t.hosts):
            if not t.secret_name:
                return TLS("", "the TLS entry names no secretName")
            key = f"{ing.namespace}/{t.secret_name}"
            return TLS(key, tls_problem(secrets, key))  # type: ignore[arg-type]
    return TLS("", f"no TLS entry of {ing.namespace}/{ing.name} lists {host}")


def _relevant(hosts: frozenset[str]) -> Callable[[Ingress], bool]:
    """Whether an Ingress can shape the servers of these hosts: a rule for one of them or for
    no host (the default server), a catch-all backend, or a server-alias naming one."""
    def check(ing: Ingress) -> bool:
        shaped = shaped_hosts(ing)
        return shaped is None or not shaped.isdisjoint(hosts)
    return check


def build(cluster: Cluster, controller: Controller, resolver: Resolver | None = None,
          hosts: frozenset[str] | None = None) -> Table:
    """The controller's route table; with ``hosts``, only the servers a request to those hosts
    can reach (each server depends only on the Ingresses that name its host)."""
    resolver = resolver or Resolver(cluster)
    classes = {c.name: c for c in read_classes(cluster)}
    notes = list(controller.notes)
    if not controller.declared and controller.ingress_class not in classes:
        classes[controller.ingress_class] = stand_in_class(controller)
        notes.append(f"IngressClass {controller.ingress_class} (controller "
                     f"{controller.controller_class}) stands in, as ingress-nginx's install "
                     "manifests create it")
    ignored: dict[str, str] = {}
    taken: list[Ingress] = []
    candidates = cluster.ingresses
    if hosts is not None:
        candidates = tuple(filter(_relevant(hosts), candidates))
    for adm in admit(candidates, tuple(classes.values())):
        why = decide(controller, adm, classes)
        key = f"{adm.ingress.namespace}/{adm.ingress.name}"
        if why:
            ignored[key] = why
        else:
            taken.append(adm.ingress)
    secrets = secret_index(cluster)
    parsed: dict[str, Parsed] = {}
    ingresses: list[Ingress] = []
    for ing in order(taken):
        key = f"{ing.namespace}/{ing.name}"
        p = parse(ing, controller, secrets)
        parsed[key] = p
        if p.dropped:
            ignored[key] = p.dropped
        else:
            ingresses.append(ing)
    du, why = resolver.default_backend(controller.default_backend)
    if why:
        notes.append(why)
    table = _assemble(controller, ingresses, parsed, resolver, du, secrets, notes)
    return Table(controller, table, tuple(f"{i.namespace}/{i.name}" for i in ingresses),
                 dict(sorted(ignored.items())), parsed, du, tuple(notes),
                 tuple((h, _wildcard(h)) for h in table if h.startswith("*.")))


def _wildcard(host: str) -> re.Pattern[str]:
    rest = host[2:]
    return re.compile(r"[A-Za-z0-9_-]+\." + re.escape(rest))


def _base(controller: Controller) -> Annotations:
    c = controller.config
    return Annotations(ssl_redirect=c.ssl_redirect, force_ssl_redirect=c.force_ssl_redirect,
                       preserve_trailing_slash=c.preserve_trailing_slash,
                       proxy_body_size=c.proxy_body_size, connect_timeout=c.proxy_connect_timeout,
                       read_timeout=c.proxy_read_timeout, send_timeout=c.proxy_send_timeout,
                       proxy_buffer_size=c.proxy_buffer_size,
                       allowlist=tuple(c.whitelist_source_range))


def _upstream(resolver: Resolver, ns: str, b: IngressBackend) -> Upstream | None:
    if not b.service:
        return None  # a resource backend: ingress-nginx skips it
    return resolver.upstream(ns, b.service, b.port_number if b.port_number is not None
                             else b.port_name)


def _assemble(controller: Controller, ingresses: list[Ingress], parsed: Mapping[str, Parsed],
              resolver: Resolver, du: Upstream, secrets: Mapping[str, object], notes: list[str]
              ) -> dict[str, Server]:
    base = _base(controller)
    servers: dict[str, _Srv] = {DEFAULT_SERVER: _Srv(DEFAULT_SERVER, "", [
        _Loc("/", "Prefix", "/", "", du, base, True, "")], tls=TLS("", "default server"))}
    main = [i for i in ingresses if parsed[f"{i.namespace}/{i.name}"].annotations.canary is None]
    canaries = [i for i in ingresses
                if parsed[f"{i.namespace}/{i.name}"].annotations.canary is not None]
    for ing in main:  # createServers, first pass: servers and their root locations
        key = f"{ing.namespace}/{ing.name}"
        ann = parsed[key].annotations
        un = du
        if ing.default_backend is not None:
            up = _upstream(resolver, ing.namespace, ing.default_backend)
            if up is not None:
                un = up
                root = servers[DEFAULT_SERVER].locs[0]
                if root.default and not ing.rules:  # the catch-all Ingress
                    servers[DEFAULT_SERVER].locs[0] = _Loc(
                        "/", "Prefix", "/", key, up, replace(
                            ann, redirect_url=root.ann.redirect_url,
                            redirect_code=root.ann.redirect_code, app_root=root.ann.app_root,
                            rewrite_target=root.ann.rewrite_target, use_regex=root.ann.use_regex),
                        False, "")
        for rule in ing.rules:
            host = rule.host or DEFAULT_SERVER
            if host not in servers:
                servers[host] = _Srv(host, key, [_Loc("/", "Prefix", "/", key, un, ann, True,
                                                      "")])
    for ing in main:  # second pass: aliases and certificates
        key = f"{ing.namespace}/{ing.name}"
        ann = parsed[key].annotations
        for rule in ing.rules:
            srv = servers[rule.host or DEFAULT_SERVER]
            if not srv.aliases:
                srv.aliases = ann.aliases
            if srv.tls is None and ing.tls:
                srv.tls = _tls_for(ing, srv.host, secrets)
    for ing in main:  # getBackendServers: locations, client certificates
        key = f"{ing.namespace}/{ing.name}"
        ann = parsed[key].annotations
        for rule in ing.rules:
            srv = servers.get(rule.host or DEFAULT_SERVER) or servers[DEFAULT_SERVER]
            if not srv.auth_error and ann.auth_tls_error:
                srv.auth_error = ann.auth_tls_error
                srv.auth_ingress = srv.auth_ingress or key
            if srv.auth is None and ann.auth_tls is not None and not ann.auth_tls.ca_missing:
                srv.auth = ann.auth_tls
                srv.auth_ingress = srv.auth_ingress or key
            for p in rule.paths:
                up = _upstream(resolver, ing.namespace, p.backend)
                if up is None:
                    continue
                _add(srv, _Loc(p.path or "/", _nginx_path_type(p.path_type), p.path or "/", key,
                               up, ann, False, p.path_type))
    alt = _canaries(canaries, parsed, servers, resolver) if main else {}
    notes += [n for h in sorted(servers) for n in servers[h].notes]
    return {h: _finish(servers[h], alt) for h in sorted(servers)}


def _add(srv: _Srv, new: _Loc) -> None:
    """Same path and type: the first Ingress keeps it (the root fallback gives way). Same path,
    another type: both are kept."""
    other_type = False
    for loc in srv.locs:
        if loc.path != new.path:
            continue
        if loc.path_type != new.path_type:
            other_type = True
            continue
        if loc.default:
            loc.upstream, loc.ing, loc.ann, loc.default = new.upstream, new.ing, new.ann, False
            loc.ingress_path, loc.written = new.ingress_path, new.written
        elif other_type:
            # ingress-nginx stops its search at the other type and appends a second location
            # for the path: nginx rejects the duplicate and keeps its previous configuration
            srv.notes.append(f"{new.ing}: {new.path_type} {new.path} on {srv.host} duplicates "
                             f"{loc.ing}'s; ingress-nginx writes it twice and nginx refuses the "
                             "new configuration (podnet keeps the first)")
        return
    srv.locs.append(new)


def _canaries(canaries: list[Ingress], parsed: Mapping[str, Parsed], servers: dict[str, _Srv],
              resolver: Resolver) -> dict[str, Upstream]:
    """``mergeAlternativeBackends``: primary upstream name -> its canary upstream."""
    alt: dict[str, Upstream] = {}
    for ing in canaries:
        key = f"{ing.namespace}/{ing.name}"
        canary = parsed[key].annotations.canary
        for rule in ing.rules:
            srv = servers.get(rule.host or DEFAULT_SERVER)
            if srv is None:
                continue
            for p in rule.paths:
                up = _upstream(resolver, ing.namespace, p.backend)
                if up is None:
                    continue
                for loc in srv.locs:
                    if loc.upstream.name == up.name:
                        break  # the canary's service is a primary here: not merged
                    if (loc.ingress_path == (p.path or "/") and loc.upstream.name != DEFAULT_UPSTREAM
                            and loc.path_type == _nginx_path_type(p.path_type)):
                        alt.setdefault(loc.upstream.name, replace(
                            up, canary=canary, canary_ingress=key))
    return alt


def _finish(srv: _Srv, alt: Mapping[str, Upstream]) -> Server:
    locs = sorted(srv.locs, key=lambda loc: loc.path, reverse=True)
    locs.sort(key=lambda loc: len(loc.path), reverse=True)
    exact_paths = {loc.path for loc in locs if loc.path_type == "Exact"}
    entries: list[tuple[str, str, _Loc]] = []
    for loc in locs:
        rewrites = bool(loc.ann.rewrite_target) and loc.ann.rewrite_target != loc.path
        if loc.path == "/" or loc.path_type != "Prefix" or rewrites or loc.ann.use_regex:
            entries.append((loc.path, "=" if loc.path_type == "Exact" else "", loc))
            continue
        entries.append((_prefix(loc.path), "", loc))
        if loc.path not in exact_paths:
            entries.append((loc.path, "=", loc))
    # enforceRegexModifier looks at the final paths: a rewrite-target equal to "/foo" still
    # differs from the "/foo/" location the Prefix path became
    regex = any(loc.ann.use_regex or (bool(loc.ann.rewrite_target)
                                      and loc.ann.rewrite_target != path)
                for path, _, loc in entries)
    out = tuple(Location(path, "~*" if regex else modifier, loc.ingress_path, loc.written,
                         loc.ing, loc.upstream, loc.ann, loc.default, alt.get(loc.upstream.name),
                         _compile(path) if regex else None)
                for path, modifier, loc in entries)
    return Server(srv.host, srv.ingress, out, srv.aliases, srv.tls, srv.auth,
                  srv.auth_error, srv.auth_ingress, regex)


def _prefix(path: str) -> str:
    """``normalizePrefixPath``: a Prefix location's path ends in "/"."""
    return path if path.endswith("/") else path + "/"


def _compile(path: str) -> re.Pattern[str] | None:
    try:
        return re.compile("^" + path, re.IGNORECASE)
    except re.error:
        return None


def build_all(cluster: Cluster, controllers: tuple[Controller, ...],
              hosts: frozenset[str] | None = None) -> tuple[Table, ...]:
    resolver = Resolver(cluster)
    return tuple(build(cluster, c, resolver, hosts) for c in controllers)


def hosts_for(host: str) -> frozenset[str]:
    """The server names a request for ``host`` can select: itself and its one-label wildcard."""
    h = host.lower().rstrip(".")
    return frozenset({h, "*." + h.split(".", 1)[1]} if "." in h else {h})


