"""Ingress -> Gateway API: the objects that serve the same requests, and every annotation's
fate (mapped, mapped with a difference, or not expressible in core Gateway API).

Built from the controller's route table (podnet/ingress/routes.py), not from the Ingresses as
written: the table is ingress-nginx's merged view (the first Ingress owns a path, canaries are
attached, regex mode is per host), so the Gateway API objects reproduce what the controller
serves. The layout follows ingress2gateway's: one Gateway per controller with an HTTP listener
per host and an HTTPS listener per TLS host, one HTTPRoute per Ingress and host (two when the
host redirects HTTP to HTTPS: the redirect is the HTTP listener's route).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from podnet.errors import SourceRef
from podnet.gateway.objects import GROUP
from podnet.ingress.routes import DEFAULT_SERVER, Location, Server, Table
from podnet.model.objects import Other

V1 = f"{GROUP}/v1"
GRANT_VERSION = f"{GROUP}/v1beta1"
PREFIX_REWRITE = re.compile(r"(?P<prefix>/.*?)\(/\|\$\)\(\.\*\)")


@dataclass(frozen=True, slots=True)
class Fate:
    ingress: str
    annotation: str
    value: str
    status: str  # mapped | difference | not-expressible | ignored
    how: str


# annotation (after the prefix) -> (status, what covers it). "mapped" ones are written into
# the HTTPRoute; the others are reported, naming the standard or implementation field.
COVERAGE: dict[str, tuple[str, str]] = {
    "ssl-redirect": ("mapped", "an HTTPRoute on the HTTP listener with a RequestRedirect "
                     "(scheme https) for each path"),
    "force-ssl-redirect": ("mapped", "a RequestRedirect (scheme https) on the HTTP listener"),
    "rewrite-target": ("mapped", "URLRewrite (ReplaceFullPath, or ReplacePrefixMatch for the "
                       "'/prefix(/|$)(.*)' -> '/$2' idiom)"),
    "use-regex": ("difference", "RegularExpression path matches: their precedence is "
                  "implementation-specific (nginx takes the first regex in its order)"),
    "canary": ("mapped", "backendRefs weights / a rule with a header match"),
    "canary-weight": ("mapped", "backendRefs weights"),
    "canary-weight-total": ("mapped", "backendRefs weights"),
    "canary-by-header": ("mapped", "a rule with a header match"),
    "canary-by-header-value": ("mapped", "a rule with an Exact header match"),
    "canary-by-header-pattern": ("mapped", "a rule with a RegularExpression header match"),
    "canary-by-cookie": ("not-expressible", "no cookie match in core Gateway API (a "
                         "RegularExpression match on the Cookie header comes close)"),
    "permanent-redirect": ("mapped", "RequestRedirect"),
    "permanent-redirect-code": ("mapped", "RequestRedirect statusCode"),
    "temporal-redirect": ("mapped", "RequestRedirect statusCode 302"),
    "app-root": ("mapped", "an Exact / rule with a RequestRedirect (ReplaceFullPath)"),
    "server-alias": ("mapped", "extra HTTPRoute hostnames and listeners"),
    "preserve-trailing-slash": ("difference", "RequestRedirect keeps the path as sent"),
    "proxy-body-size": ("not-expressible", "implementation-specific (NGINX Gateway Fabric: "
                        "ClientSettingsPolicy body.maxSize)"),
    "proxy-connect-timeout": ("not-expressible", "HTTPRoute rules[].timeouts.backendRequest "
                              "bounds the whole backend request, not the connect"),
    "proxy-read-timeout": ("difference", "HTTPRoute rules[].timeouts.backendRequest (the "
                           "whole response, not between two reads)"),
    "proxy-send-timeout": ("difference", "HTTPRoute rules[].timeouts.backendRequest"),
    "auth-tls-secret": ("not-expressible", "Gateway spec.tls.frontend (frontendValidation "
                        "caCertificateRefs), not in core HTTPRoute"),
    "auth-tls-verify-client": ("not-expressible", "Gateway spec.tls.frontend "
                               "(frontendValidation mode)"),
    "auth-tls-verify-depth": ("not-expressible", "no field"),
    "auth-tls-pass-certificate-to-upstream": ("not-expressible", "no field"),
    "whitelist-source-range": ("not-expressible", "implementation-specific source policies"),
    "allowlist-source-range": ("not-expressible", "implementation-specific source policies"),
    "backend-protocol": ("not-expressible", "BackendTLSPolicy (HTTPS) or GRPCRoute (GRPC)"),
    "affinity": ("not-expressible", "HTTPRoute sessionPersistence (experimental channel)"),
    "session-cookie-name": ("not-expressible", "HTTPRoute sessionPersistence (experimental)"),
    "enable-cors": ("not-expressible", "the HTTPRoute CORS filter (experimental channel)"),
    "cors-allow-origin": ("not-expressible", "the HTTPRoute CORS filter (experimental)"),
    "proxy-buffer-size": ("not-expressible", "implementation-specific"),
}


def _label(host: str) -> str:
    """A listener or route name part for a host: a DNS label, hashed when long."""
    text = host.replace("*", "wildcard").replace(".", "-").strip("-") or "default"
    if len(text) > 40:
        text = text[:31] + "-" + hashlib.sha256(host.encode()).hexdigest()[:8]
    return text


def _name(*parts: str) -> str:
    name = "-".join(p for p in parts if p)
    if len(name) > 200:
        name = name[:191] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def _path_match(loc: Location, server: Server) -> dict[str, Any]:
    if server.regex:
        return {"type": "RegularExpression", "value": f"(?i){loc.ingress_path}.*"}
    kind = "Exact" if loc.path_type == "Exact" else "PathPrefix"
    return {"type": kind, "value": loc.ingress_path or "/"}


def _backend(service: str, port: int | None, weight: int | None = None) -> dict[str, Any]:
    ns, _, name = service.partition("/")
    ref: dict[str, Any] = {"name": name, "port": port}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _redirect_filter(url: str, code: int) -> dict[str, Any] | None:
    parts = urlsplit(url)
    if code not in (301, 302, 303, 307, 308) or parts.scheme not in ("http", "https"):
        return None
    redirect: dict[str, Any] = {"scheme": parts.scheme, "statusCode": code}
    if parts.hostname:
        redirect["hostname"] = parts.hostname
    if parts.port:
        redirect["port"] = parts.port
    if parts.path:
        redirect["path"] = {"type": "ReplaceFullPath", "replaceFullPath": parts.path}
    return {"type": "RequestRedirect", "requestRedirect": redirect}


def _rewrite(loc: Location, match: dict[str, Any]) -> dict[str, Any] | None:
    target = loc.annotations.rewrite_target
    if not loc.rewrites:
        return None
    if "$" not in target:
        return {"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplaceFullPath", "replaceFullPath": target}}}
    m = PREFIX_REWRITE.fullmatch(loc.ingress_path)
    if m and target == "/$2":
        match.clear()
        match.update({"type": "PathPrefix", "value": m.group("prefix")})
        return {"type": "URLRewrite", "urlRewrite": {
            "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
    return None


def _rules(server: Server, locs: list[Location], redirect_code: int | None
           ) -> list[dict[str, Any]]:
    """The rules for one Ingress's locations on one server; with ``redirect_code``, the HTTP
    listener's redirects to HTTPS for the locations that redirect."""
    rules: list[dict[str, Any]] = []
    for loc in locs:
        match = _path_match(loc, server)
        ann = loc.annotations
        if redirect_code is not None:
            if ann.force_ssl_redirect or (ann.ssl_redirect and server.tls is not None):
                rules.append({"matches": [{"path": match}], "filters": [{
                    "type": "RequestRedirect",
                    "requestRedirect": {"scheme": "https", "statusCode": redirect_code}}]})
                continue
        if ann.app_root:
            rules.append({"matches": [{"path": {"type": "Exact", "value": "/"}}], "filters": [{
                "type": "RequestRedirect", "requestRedirect": {"statusCode": 302, "path": {
                    "type": "ReplaceFullPath", "replaceFullPath": ann.app_root}}}]})
        if ann.redirect_url:
            f = _redirect_filter(ann.redirect_url, ann.redirect_code)
            if f is not None:
                rules.append({"matches": [{"path": match}], "filters": [f]})
                continue
        up = loc.upstream
        if up.builtin:
            continue
        rule: dict[str, Any] = {"matches": [{"path": match}]}
        if up.service_port is None:  # a port the Service lacks: no backend (500, not 503)
            rules.append(rule)
            continue
        rewrite = _rewrite(loc, match)
        if rewrite is not None:
            rule["filters"] = [rewrite]
        alt = loc.canary
        refs = [_backend(up.service, up.service_port)]
        if alt is not None and alt.canary is not None:
            c = alt.canary
            total = c.weight_total if c.weight_total > 100 else 100
            if c.weight > 0:
                refs = [_backend(up.service, up.service_port, total - min(c.weight, total)),
                        _backend(alt.service, alt.service_port, min(c.weight, total))]
            if c.header:
                kind, value = "Exact", c.header_value or "always"
                if c.header_pattern and not c.header_value:
                    kind, value = "RegularExpression", c.header_pattern
                canary_rule = {"matches": [{"path": dict(match), "headers": [
                    {"name": c.header, "type": kind, "value": value}]}],
                    "backendRefs": [_backend(alt.service, alt.service_port)]}
                if rewrite is not None:
                    canary_rule["filters"] = [rewrite]
                rules.append(canary_rule)
        rule["backendRefs"] = refs
        rules.append(rule)
    return rules


@dataclass
class Migration:
    objects: list[dict[str, Any]]
    fates: list[Fate]
    notes: list[str]

    def as_others(self) -> tuple[Other, ...]:
        """The generated objects as podnet's model holds input objects."""
        out = []
        for i, o in enumerate(self.objects):
            meta = o["metadata"]
            src = SourceRef(file="<migrated>", doc=i, kind=o["kind"],
                            namespace=meta.get("namespace", ""), name=meta["name"])
            out.append(Other(o["kind"], o["apiVersion"], meta.get("namespace", ""),
                             meta["name"], src, o))
        return tuple(out)


def _owned(server: Server) -> dict[str, list[Location]]:
    """Each Ingress's locations on a server, once per written path (nginx's two locations
    for a Prefix path are one Ingress path)."""
    out: dict[str, list[Location]] = {}
    seen: set[tuple[str, str, str]] = set()
    for loc in server.locations:
        if not loc.ingress:
            continue
        key = (loc.ingress, loc.ingress_path, loc.path_type)
        if key in seen:
            continue
        seen.add(key)
        out.setdefault(loc.ingress, []).append(loc)
    return out


def _fates(table: Table) -> list[Fate]:
    fates = []
    prefix = table.controller.annotations_prefix + "/"
    for key in table.accepted:
        p = table.parsed[key]
        for ann, value in sorted(p.annotations.effective.items()):
            short = ann.removeprefix(prefix)
            status, how = COVERAGE.get(short, ("not-expressible", "no Gateway API field"))
            fates.append(Fate(key, ann, value, status, how))
        for ig in p.ignored:
            if "403" in ig.reason or "503" in ig.reason:
                fates.append(Fate(key, ig.key, ig.value, "difference",
                                  f"ingress-nginx refuses the requests ({ig.reason}); the "
                                  "Gateway API objects serve them"))
                continue
            fates.append(Fate(key, ig.key, ig.value, "ignored",
                              f"ingress-nginx ignores it ({ig.reason}): nothing to migrate"))
    return fates


def migrate(tables: tuple[Table, ...], gateway_class: str = "nginx") -> Migration:
    objects: list[dict[str, Any]] = []
    notes: list[str] = []
    fates: list[Fate] = []
    grants: dict[str, set[str]] = {}
    for table in tables:
        ctl = table.controller
        gw_ns, gw_name = ctl.namespace, ctl.name
        listeners: list[dict[str, Any]] = []
        routes: list[dict[str, Any]] = []
        fates += _fates(table)
        for host, server in table.servers.items():
            hosts = [host] if host != DEFAULT_SERVER else []
            hosts += [a for a in server.aliases if a != host]
            label = _label(host if host != DEFAULT_SERVER else "")
            if host.startswith("*."):
                notes.append(f"{host}: nginx's wildcard matches one label, the Gateway API's "
                             "any number of labels")
            sections_http, sections_https = [], []
            for i, h in enumerate(hosts or [""]):
                suffix = label if i == 0 else _label(h)
                listeners.append({"name": f"http-{suffix}", "port": 80, "protocol": "HTTP",
                                  **({"hostname": h} if h else {}),
                                  "allowedRoutes": {"namespaces": {"from": "All"}}})
                sections_http.append(f"http-{suffix}")
                if server.tls is not None and host != DEFAULT_SERVER:
                    secret = server.tls.secret
                    if not secret:
                        notes.append(f"{host}: no TLS Secret (ingress-nginx serves its fake "
                                     "certificate); the HTTPS listener is left out")
                        continue
                    s_ns, _, s_name = secret.partition("/")
                    if s_ns != gw_ns:
                        grants.setdefault(s_ns, set()).add(s_name)
                    listeners.append({"name": f"https-{suffix}", "port": 443,
                                      "protocol": "HTTPS", **({"hostname": h} if h else {}),
                                      "tls": {"mode": "Terminate", "certificateRefs": [
                                          {"kind": "Secret", "name": s_name, "namespace": s_ns}]},
                                      "allowedRoutes": {"namespaces": {"from": "All"}}})
                    sections_https.append(f"https-{suffix}")
            for ing, locs in _owned(server).items():
                ns, _, name = ing.partition("/")
                base = _name(name, label) if host != DEFAULT_SERVER else _name(name, "default")
                parents_http = [{"name": gw_name, "namespace": gw_ns, "sectionName": s}
                                for s in sections_http]
                parents_https = [{"name": gw_name, "namespace": gw_ns, "sectionName": s}
                                 for s in sections_https]
                route_hosts = {"hostnames": hosts} if hosts else {}
                if parents_https:
                    routes.append(_route(base, ns, parents_https, route_hosts,
                                         _rules(server, locs, None)))
                    http_rules = _rules(server, locs, ctl.config.http_redirect_code)
                    routes.append(_route(_name(base, "http"), ns, parents_http, route_hosts,
                                         http_rules))
                else:
                    routes.append(_route(base, ns, parents_http, route_hosts,
                                         _rules(server, locs, ctl.config.http_redirect_code)))
        if not listeners:
            continue
        objects.append({"apiVersion": V1, "kind": "Gateway",
                        "metadata": {"name": gw_name, "namespace": gw_ns},
                        "spec": {"gatewayClassName": gateway_class, "listeners": listeners}})
        objects += [r for r in routes if r["spec"]["rules"]]
        for ns, names in sorted(grants.items()):
            objects.append({"apiVersion": GRANT_VERSION, "kind": "ReferenceGrant",
                            "metadata": {"name": _name(gw_name, "tls"), "namespace": ns},
                            "spec": {"from": [{"group": GROUP, "kind": "Gateway",
                                               "namespace": gw_ns}],
                                     "to": [{"group": "", "kind": "Secret", "name": n}
                                            for n in sorted(names)]}})
        grants.clear()
    return Migration(objects, fates, notes)


def _route(name: str, ns: str, parents: list[dict[str, Any]], hosts: dict[str, Any],
           rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": V1, "kind": "HTTPRoute", "metadata": {"name": name, "namespace": ns},
            "spec": {"parentRefs": parents, **hosts, "rules": rules}}
