"""Route tables and request outcomes as plain data (the CLI's JSON, and its tables' rows)."""

from __future__ import annotations

from typing import Any

from podnet.ingress.request import Outcome
from podnet.ingress.routes import DEFAULT_SERVER, Location, Server, Table
from podnet.ingress.upstreams import Upstream


def backend(up: Upstream | None) -> dict[str, Any] | None:
    if up is None or up.builtin:
        return None
    return {"service": up.service, "port": up.service_port or up.port,
            "endpoints": list(up.endpoints)}


def outcome(o: Outcome) -> dict[str, Any]:
    back = backend(o.backend)
    if back is not None and o.unreachable:
        back["unreachable"] = list(o.unreachable)
    return {"status": o.status, "location": o.location, "controller": o.controller,
            "via": dict(o.via) if o.via is not None else None, "backend": back,
            "reason": o.reason, "headers": dict(o.headers) if o.headers is not None else None,
            "canary": dict(o.canary) if o.canary is not None else None}


def nginx_location(loc: Location) -> str:
    return f"{loc.modifier} {loc.path}".strip() if loc.modifier else loc.path


def _location(loc: Location) -> dict[str, Any]:
    up = loc.upstream
    alt = loc.canary
    return {
        "location": nginx_location(loc), "path": None if loc.default else loc.ingress_path,
        "pathType": loc.path_type or None, "ingress": loc.ingress or None,
        "default": loc.default,
        "backend": None if up.builtin else {**(backend(up) or {}), "problem": up.problem or None},
        "canary": None if alt is None or alt.canary is None else {
            "ingress": alt.canary_ingress, "service": alt.service,
            "port": alt.service_port or alt.port, "endpoints": list(alt.endpoints),
            "weight": alt.canary.weight, "header": alt.canary.header or None},
        "annotations": dict(loc.annotations.effective),
    }


def _server(s: Server) -> dict[str, Any]:
    tls = None if s.tls is None or s.host == DEFAULT_SERVER else {
        "secret": s.tls.secret or None, "certificate": s.tls.certificate,
        "problem": s.tls.problem or None}
    auth = None if s.auth_tls is None else {
        "secret": s.auth_tls.secret, "verifyClient": s.auth_tls.verify_client,
        "verifyDepth": s.auth_tls.depth, "passCertificateToUpstream": s.auth_tls.pass_cert}
    return {"host": s.host, "ingress": s.ingress or None, "aliases": list(s.aliases), "tls": tls,
            "clientCertificate": auth, "authTLSError": s.auth_tls_error or None,
            "regex": s.regex, "locations": [_location(loc) for loc in s.locations]}


def table(t: Table) -> dict[str, Any]:
    c = t.controller
    ingresses = []
    for key in sorted({*t.parsed, *t.ignored}):
        p = t.parsed.get(key)
        ingresses.append({
            "name": key, "accepted": key in t.accepted, "reason": t.ignored.get(key),
            "annotations": dict(p.annotations.effective) if p and not p.dropped else {},
            "ignoredAnnotations": [{"annotation": i.key, "value": i.value, "reason": i.reason}
                                   for i in (p.ignored if p else ())]})
    return {"controller": c.key, "declared": c.declared, "ingressClass": c.ingress_class,
            "controllerClass": c.controller_class, "annotationsPrefix": c.annotations_prefix,
            "watchIngressWithoutClass": c.watch_without_class,
            "defaultBackend": backend(t.default_upstream), "notes": list(t.notes),
            "servers": [_server(s) for s in t.servers.values()], "ingresses": ingresses}
