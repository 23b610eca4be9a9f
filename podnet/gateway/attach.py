"""What a Gateway API controller makes of the input: which listeners are programmed, which
routes attach to which listeners, and the status conditions it would write, with the spec's
reasons (Accepted, ResolvedRefs, Conflicted, Programmed).

A route's backends resolve to the same upstreams as an Ingress backend's
(podnet/ingress/upstreams.py): a Service port, its ready endpoints.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from podnet.gateway.hostnames import effective
from podnet.gateway.index import Index
from podnet.gateway.objects import GROUP, Gateway, GatewayAPI, HTTPRoute, Listener, Ref, Rule
from podnet.gateway.parse import read
from podnet.ingress.secrets import index as secret_index
from podnet.ingress.secrets import tls_problem
from podnet.ingress.upstreams import Resolver, Upstream
from podnet.model.cluster import Cluster

HTTP_PROTOCOLS = ("HTTP", "HTTPS")


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: bool
    reason: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class ListenerState:
    listener: Listener
    conditions: tuple[Condition, ...]
    certificate: str = ""  # ns/name of the Secret serving TLS
    routes: tuple[str, ...] = ()  # routes attached (ns/name)
    programmed: bool = False  # the Programmed condition, kept for the request path


@dataclass(frozen=True, slots=True)
class GatewayState:
    gateway: Gateway
    listeners: tuple[ListenerState, ...]
    notes: tuple[str, ...] = ()

    def listener(self, name: str) -> ListenerState:
        return next(s for s in self.listeners if s.listener.name == name)


@dataclass(frozen=True, slots=True)
class Backend:
    ref: Ref
    upstream: Upstream | None  # None when the reference does not resolve
    problem: str = ""  # the ResolvedRefs reason and why


@dataclass(frozen=True, slots=True)
class ParentState:
    ref: Ref
    gateway: str  # ns/name
    listeners: tuple[str, ...]  # names of the listeners the route attached to
    conditions: tuple[Condition, ...]

    @property
    def accepted(self) -> bool:
        return any(c.type == "Accepted" and c.status for c in self.conditions)


@dataclass(frozen=True, slots=True)
class RouteState:
    route: HTTPRoute
    parents: tuple[ParentState, ...]
    backends: tuple[tuple[Backend, ...], ...]  # per rule
    invalid: str = ""  # why the route as a whole is refused (a regex that does not compile)


@dataclass(frozen=True)
class Config:
    api: GatewayAPI
    gateways: Mapping[str, GatewayState]
    routes: tuple[RouteState, ...]
    resolver: Resolver = field(repr=False)
    index: Index = field(init=False, repr=False)  # derived: lookups for the request path

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", Index(self))


def _conflicts(listeners: tuple[Listener, ...]) -> dict[str, Condition]:
    out: dict[str, Condition] = {}
    by_port: dict[int, list[Listener]] = {}
    for x in listeners:
        by_port.setdefault(x.port, []).append(x)
    for port, group in by_port.items():
        protocols = {x.protocol for x in group}
        if len(protocols - {"TLS"}) > 1 and not protocols <= {"HTTPS", "TLS"}:
            for x in group:
                out[x.name] = Condition("Conflicted", True, "ProtocolConflict",
                                        f"port {port} has listeners of protocols "
                                        f"{', '.join(sorted(protocols))}")
            continue
        for x in group:
            same = [y for y in group if y.protocol == x.protocol and y.hostname == x.hostname]
            if len(same) > 1:
                out[x.name] = Condition("Conflicted", True, "HostnameConflict",
                                        f"listeners {', '.join(y.name for y in same)} share "
                                        f"port {port}, protocol {x.protocol} and hostname "
                                        f"{x.hostname or '(any)'}")
    return out


def _listener(api: GatewayAPI, gw: Gateway, x: Listener, conflict: Condition | None,
              secrets: Mapping[str, object]) -> ListenerState:
    conds: list[Condition] = []
    cert = ""
    if x.protocol not in HTTP_PROTOCOLS:
        conds.append(Condition("Accepted", False, "UnsupportedProtocol",
                               f"podnet routes HTTP and HTTPS listeners; {x.protocol} carries "
                               "no HTTPRoute"))
    else:
        conds.append(Condition("Accepted", True, "Accepted"))
    bad_kinds = [k for k in x.kinds if k not in ((GROUP, "HTTPRoute"), (GROUP, "GRPCRoute"))]
    resolved = Condition("ResolvedRefs", True, "ResolvedRefs")
    if bad_kinds:
        resolved = Condition("ResolvedRefs", False, "InvalidRouteKinds",
                             f"{', '.join(k for _, k in bad_kinds)} cannot attach to an "
                             f"{x.protocol} listener")
    if x.protocol == "HTTPS" and x.tls_mode == "Terminate":
        for ref in x.certificates:
            key = f"{ref.namespace}/{ref.name}"
            if (ref.group, ref.kind) != ("", "Secret"):
                resolved = Condition("ResolvedRefs", False, "InvalidCertificateRef",
                                     f"certificateRef {ref.kind} {key} is not a Secret")
            elif not api.permitted(GROUP, "Gateway", gw.namespace, "", "Secret", ref.namespace,
                                   ref.name):
                resolved = Condition("ResolvedRefs", False, "RefNotPermitted",
                                     f"no ReferenceGrant in {ref.namespace} lets Gateways of "
                                     f"{gw.namespace} use Secret {key}")
            elif problem := tls_problem(secrets, key):  # type: ignore[arg-type]
                resolved = Condition("ResolvedRefs", False, "InvalidCertificateRef", problem)
            else:
                cert = cert or key
                continue
            break
    conds.append(resolved)
    if conflict is not None:
        conds.append(conflict)
    else:
        conds.append(Condition("Conflicted", False, "NoConflicts"))
    ok = all(c.status for c in conds if c.type != "Conflicted") and conflict is None
    conds.append(Condition("Programmed", ok, "Programmed" if ok else "Invalid"))
    return ListenerState(x, tuple(conds), cert, programmed=ok)


def _namespace_allows(cluster: Cluster, gw: Gateway, x: Listener, route_ns: str) -> bool:
    if x.namespaces_from == "All":
        return True
    if x.namespaces_from == "Same":
        return route_ns == gw.namespace
    if x.namespaces_from == "Selector" and x.namespace_selector is not None:
        ns = cluster.namespaces.get(route_ns)
        return x.namespace_selector.matches(ns.labels if ns is not None else {})
    return False


def _kind_allows(x: Listener) -> bool:
    if x.protocol not in HTTP_PROTOCOLS or (x.protocol == "HTTPS" and x.tls_mode != "Terminate"):
        return False
    return not x.kinds or (GROUP, "HTTPRoute") in x.kinds


def _attach(cluster: Cluster, gws: Mapping[str, GatewayState], route: HTTPRoute,
            ref: Ref, invalid: str) -> ParentState:
    key = f"{ref.namespace}/{ref.name}"

    def refused(reason: str, message: str) -> ParentState:
        return ParentState(ref, key, (), (Condition("Accepted", False, reason, message),))
    if (ref.group, ref.kind) != (GROUP, "Gateway"):
        return refused("NoMatchingParent", f"parentRef kind {ref.kind} is not a Gateway")
    state = gws.get(key)
    if state is None:
        return refused("NoMatchingParent", f"Gateway {key} is not in the input (no controller "
                       "would write this status: the route serves nothing)")
    gw = state.gateway
    listeners = [s.listener for s in state.listeners
                 if (not ref.section or s.listener.name == ref.section)
                 and (ref.port is None or s.listener.port == ref.port)]
    if not listeners:
        want = " and ".join(w for w in (f"sectionName {ref.section}" if ref.section else "",
                                         f"port {ref.port}" if ref.port else "") if w)
        return refused("NoMatchingParent", f"Gateway {key} has no listener with {want}")
    kinds = [x for x in listeners if _kind_allows(x)]
    allowed = [x for x in kinds if _namespace_allows(cluster, gw, x, route.namespace)]
    if not allowed:
        why = ("no listener accepts HTTPRoutes" if not kinds else
               f"no listener admits routes from namespace {route.namespace} "
               f"(allowedRoutes.namespaces.from: {', '.join(sorted({x.namespaces_from for x in kinds}))})")
        return refused("NotAllowedByListeners", f"Gateway {key}: {why}")
    fits = [x for x in allowed if effective(x.hostname, route.hostnames)]
    if not fits:
        return refused("NoMatchingListenerHostname",
                       f"the route's hostnames {', '.join(route.hostnames)} intersect no "
                       f"listener hostname ({', '.join(x.hostname or '(any)' for x in allowed)})")
    names = tuple(x.name for x in fits)
    if invalid:
        return ParentState(ref, key, (), (Condition("Accepted", False, "UnsupportedValue",
                                                    invalid),))
    return ParentState(ref, key, names, (Condition("Accepted", True, "Accepted",
                                                   f"attached to {', '.join(names)}"),))


def _backend(api: GatewayAPI, resolver: Resolver, route: HTTPRoute, ref: Ref) -> Backend:
    key = f"{ref.namespace}/{ref.name}"
    if (ref.group, ref.kind) != ("", "Service"):
        return Backend(ref, None, f"InvalidKind: backendRef {ref.group or 'core'}/{ref.kind} "
                                  f"{key} is not a Service")
    if not api.permitted(GROUP, "HTTPRoute", route.namespace, "", "Service", ref.namespace,
                         ref.name):
        return Backend(ref, None, f"RefNotPermitted: no ReferenceGrant in {ref.namespace} lets "
                                  f"HTTPRoutes of {route.namespace} use Service {key}")
    if key not in resolver.services:
        return Backend(ref, None, f"BackendNotFound: Service {key} is not in the input")
    up = resolver.upstream(ref.namespace, ref.name, ref.port)
    if up.problem and up.service_port is None:
        return Backend(ref, None, f"BackendNotFound: {up.problem}")
    return Backend(ref, up)


def _invalid_regex(rules: tuple[Rule, ...]) -> str:
    for i, rule in enumerate(rules):
        for m in rule.matches:
            patterns = [m.path] if m.path_type == "RegularExpression" else []
            patterns += [h.value for h in (*m.headers, *m.query) if h.type == "RegularExpression"]
            for p in patterns:
                try:
                    re.compile(p)
                except re.error as e:
                    return f"rules[{i}]: regular expression {p!r} does not compile ({e})"
    return ""


def _resolved(backends: tuple[tuple[Backend, ...], ...]) -> Condition:
    for rule in backends:
        for b in rule:
            if b.problem:
                reason, _, message = b.problem.partition(": ")
                return Condition("ResolvedRefs", False, reason, message)
    return Condition("ResolvedRefs", True, "ResolvedRefs")


def build(cluster: Cluster, api: GatewayAPI | None = None) -> Config:
    api = api or read((*cluster.configs, *cluster.ignored))
    resolver = Resolver(cluster)
    secrets = secret_index(cluster)
    classes = {c.name for c in api.classes}
    gws: dict[str, GatewayState] = {}
    for gw in api.gateways:
        conflicts = _conflicts(gw.listeners)
        notes = () if gw.class_name in classes or not api.classes else (
            f"GatewayClass {gw.class_name} is not in the input: podnet assumes a controller "
            "accepts the Gateway",)
        gws[gw.key] = GatewayState(gw, tuple(_listener(api, gw, x, conflicts.get(x.name), secrets)
                                             for x in gw.listeners), notes)
    routes: list[RouteState] = []
    attached: dict[tuple[str, str], list[str]] = {}
    for route in sorted(api.routes, key=lambda r: r.key):
        invalid = _invalid_regex(route.rules)
        backends = tuple(tuple(_backend(api, resolver, route, b) for b in rule.backends)
                         for rule in route.rules)
        resolved = _resolved(backends)
        parents = []
        for ref in route.parents:
            p = _attach(cluster, gws, route, ref, invalid)
            if p.accepted:
                p = ParentState(p.ref, p.gateway, p.listeners, (*p.conditions, resolved))
                for name in p.listeners:
                    attached.setdefault((p.gateway, name), []).append(route.key)
            parents.append(p)
        routes.append(RouteState(route, tuple(parents), backends, invalid))
    for key, state in gws.items():
        gws[key] = GatewayState(state.gateway, tuple(
            ListenerState(s.listener, s.conditions, s.certificate,
                          tuple(attached.get((key, s.listener.name), ())), s.programmed)
            for s in state.listeners), state.notes)
    return Config(api, gws, tuple(routes), resolver)
