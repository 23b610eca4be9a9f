"""Reading Gateway API objects from the input, refusing what the CRDs' validation refuses.

The CRDs' OpenAPI and CEL rules run in the API server: a listener name that is not a DNS
label, a hostname with capitals or a wildcard past the first label, a port outside 1-65535 or an
unknown path match type never reach a controller, so they are input errors here, naming the
field. What the API server stores but a controller refuses (a missing Gateway, a backend not
permitted, a regular expression the data plane cannot compile) is not an error: it becomes the
condition the controller would set (podnet/gateway/attach.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from podnet.gateway.objects import (
    GROUP,
    Filter,
    Gateway,
    GatewayAPI,
    GatewayClass,
    Grant,
    HeaderMatch,
    HTTPRoute,
    Listener,
    Match,
    Ref,
    Rule,
)
from podnet.model.fields import Fields
from podnet.model.objects import Other
from podnet.model.parse.common import _timestamp, label_selector
from podnet.model.unmodelled import group

VERSIONS = ("v1", "v1beta1", "v1alpha2")
_SECTION = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HOSTNAME = re.compile(r"(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HEADER = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
PATH_TYPES = ("Exact", "PathPrefix", "RegularExpression")
VALUE_TYPES = ("Exact", "RegularExpression")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
FILTERS = {"RequestHeaderModifier": "requestHeaderModifier",
           "ResponseHeaderModifier": "responseHeaderModifier", "RequestMirror": "requestMirror",
           "RequestRedirect": "requestRedirect", "URLRewrite": "urlRewrite",
           "ExtensionRef": "extensionRef", "CORS": "cors"}


def _objects(objects: Iterable[Other], kind: str) -> list[Other]:
    return [o for o in objects if o.kind == kind and group(o.api_version) == GROUP
            and o.api_version.rpartition("/")[2] in VERSIONS]


def _fields(o: Other) -> Fields:
    return Fields(o.body.get("spec"), o.source, "spec")


def _hostname(f: Fields, key: str, value: str) -> str:
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise f.error(key, f"{value!r} is not a hostname: lower-case DNS labels, optionally "
                      "after one leading '*.'")
    return value


def _port(f: Fields, key: str, required: bool = True) -> int | None:
    port = f.int(key)
    if port is None:
        if required:
            raise f.error(key, "is required")
        return None
    if not 1 <= port <= 65535:
        raise f.error(key, f"{port} is outside 1-65535")
    return port


def _name(f: Fields, key: str, required: bool = True) -> str:
    value = f.str(key)
    if not value and required:
        raise f.error(key, "is required")
    if value and (len(value) > 253 or "\n" in value or "/" in value):
        raise f.error(key, f"{value!r} is not an object name")
    return value


def _ref(f: Fields, namespace: str, default_group: str, default_kind: str) -> Ref:
    return Ref(group=f.str("group", default_group), kind=f.str("kind", default_kind),
               namespace=_name(f, "namespace", required=False) or namespace,
               name=_name(f, "name"), section=_section(f, "sectionName"),
               port=_port(f, "port", required=False), weight=_weight(f))


def _weight(f: Fields) -> int:
    w = f.int("weight", 1)
    if w is None or not 0 <= w <= 1_000_000:
        raise f.error("weight", f"{w} is outside 0-1000000")
    return w


def _section(f: Fields, key: str, required: bool = False) -> str:
    value = f.str(key)
    if not value:
        if required:
            raise f.error(key, "is required")
        return ""
    if len(value) > 253 or not _SECTION.fullmatch(value):
        raise f.error(key, f"{value!r} is not a section name (a lower-case DNS label)")
    return value


def _listener(f: Fields, namespace: str) -> Listener:
    protocol = f.str("protocol")
    if not protocol:
        raise f.error("protocol", "is required")
    hostname = f.str("hostname")
    if hostname:
        _hostname(f, "hostname", hostname)
    tls = f.opt_sub("tls")
    certs: tuple[Ref, ...] = ()
    mode = ""
    if tls is not None:
        mode = tls.str("mode", "Terminate")
        if mode not in ("Terminate", "Passthrough"):
            raise tls.error("mode", f"{mode!r}: choose Terminate or Passthrough")
        certs = tuple(_ref(c, namespace, "", "Secret") for c in tls.items("certificateRefs"))
    if protocol == "HTTPS" and mode != "Passthrough" and not certs:
        raise f.error("tls.certificateRefs", "an HTTPS listener terminating TLS needs at "
                      "least one certificateRef")
    allowed = f.sub("allowedRoutes")
    ns = allowed.sub("namespaces")
    frm = ns.str("from", "Same")
    if frm not in ("All", "Same", "Selector", "None"):
        raise ns.error("from", f"{frm!r}: choose All, Same, Selector or None")
    sel = label_selector(ns.opt_sub("selector"))
    if frm == "Selector" and sel is None:
        raise ns.error("selector", "is required when from is Selector")
    kinds = tuple((k.str("group", GROUP), k.str("kind")) for k in allowed.items("kinds"))
    return Listener(name=_section(f, "name", required=True), port=_port(f, "port") or 0,
                    protocol=protocol, hostname=hostname, tls_mode=mode, certificates=certs,
                    namespaces_from=frm, namespace_selector=sel, kinds=kinds)


def _gateway(o: Other) -> Gateway:
    f = _fields(o)
    cls = f.str("gatewayClassName")
    if not cls:
        raise f.error("gatewayClassName", "is required")
    listeners = tuple(_listener(x, o.namespace) for x in f.items("listeners"))
    if not listeners:
        raise f.error("listeners", "needs at least one listener")
    names = [x.name for x in listeners]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise f.error("listeners", f"listener name {dup!r} is used twice (names must be unique)")
    meta = Fields(o.body.get("metadata"), o.source, "metadata")
    return Gateway(o.namespace, o.name, cls, listeners, o.source, _timestamp(meta,
                                                                             "creationTimestamp"))


def _value_match(f: Fields, what: str) -> HeaderMatch:
    kind = f.str("type", "Exact")
    if kind not in VALUE_TYPES:
        raise f.error("type", f"{kind!r}: choose {' or '.join(VALUE_TYPES)}")
    name = f.str("name")
    if not name or (what == "header" and not _HEADER.fullmatch(name)):
        raise f.error("name", f"{name!r} is not a {what} name")
    return HeaderMatch(name, f.str("value"), kind)


def _match(f: Fields) -> Match:
    path = f.opt_sub("path")
    ptype, pvalue = "PathPrefix", "/"
    if path is not None:
        ptype = path.str("type", "PathPrefix")
        pvalue = path.str("value", "/")
        if ptype not in PATH_TYPES:
            raise path.error("type", f"{ptype!r}: choose {', '.join(PATH_TYPES)}")
        if ptype != "RegularExpression" and not pvalue.startswith("/"):
            raise path.error("value", f"{pvalue!r} must start with '/'")
        if ptype != "RegularExpression" and ("//" in pvalue or "/./" in pvalue
                                              or "/../" in pvalue or "#" in pvalue):
            raise path.error("value", f"{pvalue!r}: '//', '/./', '/../' and '#' are not allowed")
    method = f.str("method")
    if method and method not in METHODS:
        raise f.error("method", f"{method!r} is not one of {', '.join(METHODS)}")
    headers = tuple(_value_match(h, "header") for h in f.items("headers"))
    query = tuple(_value_match(q, "query parameter") for q in f.items("queryParams"))
    for what, items in (("headers", headers), ("queryParams", query)):
        names = [h.name.lower() if what == "headers" else h.name for h in items]
        if len(set(names)) != len(names):
            raise f.error(what, "names must be unique within a match")
    return Match(ptype, pvalue, headers, query, method)


def _filter(f: Fields) -> Filter:
    kind = f.str("type")
    if kind not in FILTERS:
        raise f.error("type", f"{kind!r} is not one of {', '.join(FILTERS)}")
    body = f.sub(FILTERS[kind])
    if kind == "RequestRedirect":
        code = body.int("statusCode", 302)
        if code not in (301, 302, 303, 307, 308):
            raise body.error("statusCode", f"{code}: choose 301, 302, 303, 307 or 308")
        scheme = body.str("scheme")
        if scheme and scheme not in ("http", "https"):
            raise body.error("scheme", f"{scheme!r}: choose http or https")
        if body.str("hostname"):
            _hostname(body, "hostname", body.str("hostname"))
        _port(body, "port", required=False)
    if kind == "URLRewrite" and body.str("hostname"):
        _hostname(body, "hostname", body.str("hostname"))
    for key in ("path",):
        p = body.opt_sub(key)
        if p is not None and p.str("type") not in ("ReplaceFullPath", "ReplacePrefixMatch"):
            raise p.error("type", f"{p.str('type')!r}: choose ReplaceFullPath or "
                          "ReplacePrefixMatch")
    return Filter(kind, body.data)


def _rule(f: Fields, namespace: str) -> Rule:
    matches = tuple(_match(m) for m in f.items("matches")) or (Match(),)
    filters = tuple(_filter(x) for x in f.items("filters"))
    kinds = [x.type for x in filters]
    for once in ("RequestRedirect", "URLRewrite", "RequestHeaderModifier",
                 "ResponseHeaderModifier"):
        if kinds.count(once) > 1:
            raise f.error("filters", f"{once} may appear only once per rule")
    if "RequestRedirect" in kinds and "URLRewrite" in kinds:
        raise f.error("filters", "RequestRedirect and URLRewrite cannot be used together")
    backends = tuple(_ref(b, namespace, "", "Service") for b in f.items("backendRefs"))
    if "RequestRedirect" in kinds and backends:
        raise f.error("filters", "RequestRedirect filter must not be used together with "
                      "backendRefs")
    for b, raw in zip(backends, f.items("backendRefs"), strict=True):
        if b.group == "" and b.kind == "Service" and b.port is None:
            raise raw.error("port", "is required for a Service backendRef")
    return Rule(matches, filters, backends, _section(f, "name"))


def _route(o: Other) -> HTTPRoute:
    f = _fields(o)
    hostnames = f.str_list("hostnames")
    for i, h in enumerate(hostnames):
        _hostname(f, f"hostnames[{i}]", h)
    parents = tuple(_ref(p, o.namespace, GROUP, "Gateway") for p in f.items("parentRefs"))
    rules = tuple(_rule(r, o.namespace) for r in f.items("rules")) or (Rule((Match(),), (), ()),)
    meta = Fields(o.body.get("metadata"), o.source, "metadata")
    return HTTPRoute(o.namespace, o.name, parents, hostnames, rules, o.source,
                     _timestamp(meta, "creationTimestamp"))


def _grant(o: Other) -> Grant:
    f = _fields(o)
    sources = tuple((x.str("group"), x.str("kind"), _name(x, "namespace"))
                    for x in f.items("from"))
    targets = tuple((x.str("group"), x.str("kind"), _name(x, "name", required=False))
                    for x in f.items("to"))
    if not sources or not targets:
        raise f.error("from" if not sources else "to", "needs at least one entry")
    return Grant(o.namespace, o.name, sources, targets)


def _class(o: Other) -> GatewayClass:
    f = _fields(o)
    ctl = f.str("controllerName")
    if not ctl:
        raise f.error("controllerName", "is required")
    return GatewayClass(o.name, ctl, o.source)


def read(objects: Iterable[Other]) -> GatewayAPI:
    objs = list(objects)
    return GatewayAPI(classes=tuple(_class(o) for o in _objects(objs, "GatewayClass")),
                      gateways=tuple(_gateway(o) for o in _objects(objs, "Gateway")),
                      routes=tuple(_route(o) for o in _objects(objs, "HTTPRoute")),
                      grants=tuple(_grant(o) for o in _objects(objs, "ReferenceGrant")))
