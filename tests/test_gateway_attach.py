"""Gateway API attachment, references and filters, case by case against the Gateway API
conformance suite (kubernetes-sigs/gateway-api conformance/tests/<name>.go): the conditions a
controller must set and the responses it must give."""

from __future__ import annotations

import pytest
from gateway_kit import INFRA, ask, backend, config, gateway, listener, route, rule, tls_secret
from helpers import cluster_of

from podnet.errors import InputError
from podnet.gateway.attach import build

WEB = "gateway-conformance-web-backend"


def parent(cfg, name):
    state = next(r for r in cfg.routes if r.route.name == name)
    return state.parents[0]


def conditions(p):
    return {c.type: (c.status, c.reason) for c in p.conditions}


# conformance/tests/httproute-invalid-cross-namespace-parent-ref.go
# HTTPRouteInvalidCrossNamespaceParentRef
def test_route_from_another_namespace_is_not_allowed_by_a_same_namespace_listener():
    cfg = config(route("invalid-cross-namespace-parent-ref", rule("web-backend"), ns=WEB,
                       parents=f"[{{name: same-namespace, namespace: {INFRA}}}]"))
    p = parent(cfg, "invalid-cross-namespace-parent-ref")
    assert conditions(p)["Accepted"] == (False, "NotAllowedByListeners")
    assert ask(cfg, "http://example.com/").status == 404


# conformance/tests/httproute-cross-namespace.go HTTPRouteCrossNamespace
def test_route_from_a_selected_namespace_attaches():
    cfg = config(route("cross-namespace", rule("web-backend"), ns=WEB,
                       parents=f"[{{name: backend-namespaces, namespace: {INFRA}}}]"))
    assert conditions(parent(cfg, "cross-namespace"))["Accepted"] == (True, "Accepted")
    assert backend(ask(cfg, "http://example.com/", gateway="backend-namespaces")) == "web-backend"


# conformance/tests/httproute-invalid-parentref-not-matching-section-name.go and
# httproute-invalid-parentref-not-matching-listener-port.go
@pytest.mark.parametrize("ref", ["[{name: same-namespace, sectionName: unknown-section}]",
                                 "[{name: same-namespace, port: 81}]"])
def test_parent_ref_naming_no_listener_is_no_matching_parent(ref):
    cfg = config(route("bad-parent", rule(), parents=ref))
    assert conditions(parent(cfg, "bad-parent"))["Accepted"] == (False, "NoMatchingParent")


# conformance/tests/httproute-disallowed-kind.go HTTPRouteDisallowedKind
def test_listener_allowing_only_other_kinds_refuses_http_routes():
    gw = gateway("tcp-only", "  - name: http\n    port: 80\n    protocol: HTTP\n"
                 "    allowedRoutes:\n      namespaces: {from: Same}\n"
                 "      kinds: [{kind: TCPRoute}]\n")
    cfg = config(gw, route("disallowed-kind", rule(), parents="[{name: tcp-only}]"))
    assert conditions(parent(cfg, "disallowed-kind"))["Accepted"] == (False,
                                                                      "NotAllowedByListeners")
    assert cfg.gateways[f"{INFRA}/tcp-only"].listener("http").programmed is False


# conformance/tests/httproute-invalid-nonexistent-backendref.go,
# httproute-invalid-backendref-unknown-kind.go, httproute-invalid-cross-namespace-backend-ref.go
@pytest.mark.parametrize(("ref", "reason"), [
    ("{name: nonexistent-backend, port: 8080}", "BackendNotFound"),
    ("{group: unknown.example, kind: Unknown, name: infra-backend-v1, port: 8080}", "InvalidKind"),
    (f"{{name: web-backend, namespace: {WEB}, port: 8080}}", "RefNotPermitted")])
def test_unresolvable_backend_answers_500_with_resolved_refs_false(ref, reason):
    rules = f"    -\n      backendRefs: [{ref}]\n"
    cfg = config(route("invalid-backend", rules))
    p = parent(cfg, "invalid-backend")
    assert conditions(p) == {"Accepted": (True, "Accepted"), "ResolvedRefs": (False, reason)}
    o = ask(cfg, "http://example.com/")
    assert o.status == 500, o.reason


# conformance/tests/httproute-reference-grant.go HTTPRouteReferenceGrant and
# httproute-partially-invalid-via-invalid-reference-grant.go
GRANT = (f"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: "
         f"{{name: grant, namespace: {WEB}}}\nspec:\n  from: [{{group: gateway.networking.k8s.io, "
         f"kind: HTTPRoute, namespace: {INFRA}}}]\n  to: [{{group: '', kind: Service, "
         "name: NAME}]\n---\n")


def test_reference_grant_permits_the_named_service_only():
    rules = (f"    - matches: [{{path: {{type: PathPrefix, value: /v2}}}}]\n"
             f"      backendRefs: [{{name: web-backend, namespace: {WEB}, port: 8080}}]\n"
             f"    - backendRefs: [{{name: infra-backend-v1, port: 8080}}]\n")
    good = config(route("reference-grant", rules), GRANT.replace("NAME", "web-backend"))
    assert backend(ask(good, "http://example.com/v2")) == "web-backend"
    bad = config(route("reference-grant", rules), GRANT.replace("NAME", "not-the-backend"))
    assert conditions(parent(bad, "reference-grant"))["ResolvedRefs"] == (False,
                                                                          "RefNotPermitted")
    assert ask(bad, "http://example.com/v2").status == 500
    assert backend(ask(bad, "http://example.com/other")) == "infra-backend-v1"


# conformance/tests/httproute-weight.go HTTPRouteWeight (70/30/0)
def test_weights_split_and_all_zero_is_500():
    rules = ("    - backendRefs:\n      - {name: infra-backend-v1, port: 8080, weight: 70}\n"
             "      - {name: infra-backend-v2, port: 8080, weight: 30}\n"
             "      - {name: infra-backend-v3, port: 8080, weight: 0}\n")
    o = ask(config(route("weighted", rules)), "http://example.com/")
    assert backend(o) == "infra-backend-v1"
    assert [b["probability"] for b in o.via["backends"]] == [0.7, 0.3, 0]
    zero = rules.replace("weight: 70", "weight: 0").replace("weight: 30", "weight: 0")
    assert ask(config(route("weighted", zero)), "http://example.com/").status == 500


# conformance/tests/httproute-redirect-path.go HTTPRouteRedirectPath
REDIRECTS = [("/original-prefix", "type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix",
              "", None),
             ("/full", "type: ReplaceFullPath, replaceFullPath: /full-path-replacement", "", None),
             ("/path-and-host", "type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix",
              "example.org", None),
             ("/path-and-status", "type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix",
              "", 301)]


@pytest.mark.parametrize(("path", "want_code", "want"), [
    ("/original-prefix/lemon", 302, "http://example.com/replacement-prefix/lemon"),
    ("/full/path/original", 302, "http://example.com/full-path-replacement"),
    ("/path-and-host", 302, "http://example.org/replacement-prefix"),
    ("/path-and-status", 301, "http://example.com/replacement-prefix")])
def test_redirect_path(path, want_code, want):
    rules = ""
    for prefix, mod, host, code in REDIRECTS:
        extra = (f", hostname: {host}" if host else "") + (f", statusCode: {code}" if code else "")
        rules += (f"    - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]\n"
                  f"      filters: [{{type: RequestRedirect, requestRedirect: {{path: {{{mod}}}"
                  f"{extra}}}}}]\n")
    o = ask(config(route("redirect-path", rules)), f"http://example.com{path}")
    assert (o.status, o.location) == (want_code, want)


# conformance/tests/httproute-redirect-port-and-scheme.go HTTPRouteRedirectPortAndScheme
@pytest.mark.parametrize(("fields", "url", "want"), [
    ("hostname: example.org", "http://example.com/", "http://example.org/"),
    ("port: 80, hostname: example.org", "http://example.com/", "http://example.org/"),
    ("hostname: example.org", "http://example.com:8080/", "http://example.org:8080/"),
    ("scheme: https, hostname: example.org", "http://example.com/", "https://example.org/"),
    ("scheme: https, port: 443, hostname: example.org", "http://example.com/",
     "https://example.org/"),
    ("scheme: https, port: 8443, hostname: example.org", "http://example.com/",
     "https://example.org:8443/"),
    ("scheme: https, hostname: example.org", "http://example.com:8080/", "https://example.org/")])
def test_redirect_port_and_scheme(fields, url, want):
    gw = gateway("same-namespace-with-http-listener-on-8080", listener(port=8080))
    rules = f"    - filters: [{{type: RequestRedirect, requestRedirect: {{{fields}}}}}]\n"
    parents = "[{name: same-namespace}, {name: same-namespace-with-http-listener-on-8080}]"
    cfg = config(gw, route("redirect", rules, parents=parents))
    name = "same-namespace-with-http-listener-on-8080" if ":8080" in url else "same-namespace"
    o = ask(cfg, url, gateway=name)
    assert (o.status, o.location) == (302, want)


# conformance/tests/httproute-rewrite-path.go HTTPRouteRewritePath
@pytest.mark.parametrize(("prefix", "mod", "path", "want"), [
    ("/prefix/one", "type: ReplacePrefixMatch, replacePrefixMatch: /one", "/prefix/one/two",
     "/one/two"),
    ("/strip-prefix", "type: ReplacePrefixMatch, replacePrefixMatch: /", "/strip-prefix/three",
     "/three"),
    ("/strip-prefix", "type: ReplacePrefixMatch, replacePrefixMatch: /", "/strip-prefix", "/"),
    ("/full/one", "type: ReplaceFullPath, replaceFullPath: /one", "/full/one/two", "/one")])
def test_rewrite_path(prefix, mod, path, want):
    rules = (f"    - matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}]\n"
             f"      filters: [{{type: URLRewrite, urlRewrite: {{path: {{{mod}}}}}}}]\n"
             "      backendRefs: [{name: infra-backend-v1, port: 8080}]\n")
    o = ask(config(route("rewrite-path", rules)), f"http://example.com{path}")
    assert o.status == 200 and o.via["forwarded"]["path"] == want, o.reason


# conformance/tests/httproute-request-header-modifier.go HTTPRouteRequestHeaderModifier
def test_request_header_modifier_sets_adds_and_removes():
    rules = ("    - filters:\n      - type: RequestHeaderModifier\n        requestHeaderModifier:\n"
             "          set: [{name: X-Header-Set, value: set-overwrites-values}]\n"
             "          add: [{name: X-Header-Add, value: add-appends-values}]\n"
             "          remove: [X-Header-Remove]\n"
             "      backendRefs: [{name: infra-backend-v1, port: 8080}]\n")
    o = ask(config(route("request-header-modifier", rules)), "http://example.com/",
            headers={"X-Header-Set": "some-other-value", "X-Header-Add": "something",
                     "X-Header-Remove": "val"})
    assert o.headers is not None
    assert o.headers["X-Header-Set"] == "set-overwrites-values"
    assert o.headers["X-Header-Add"] == "something,add-appends-values"
    assert "X-Header-Remove" not in o.headers


# conformance/tests/gateway-invalid-tls-configuration.go GatewayInvalidTLSConfiguration
@pytest.mark.parametrize(("secret", "reason"), [("", "InvalidCertificateRef"),
                                                ("tls-cert", "ResolvedRefs")])
def test_https_listener_needs_its_certificate(secret, reason):
    gw = gateway("https", listener("https", 443, protocol="HTTPS", cert="tls-cert"))
    docs = [gw, route("r", rule(), parents="[{name: https}]")]
    if secret:
        docs.append(tls_secret(secret))
    cfg = config(*docs)
    state = cfg.gateways[f"{INFRA}/https"].listener("https")
    got = {c.type: (c.status, c.reason) for c in state.conditions}
    assert got["ResolvedRefs"][1] == reason
    assert state.programmed == (reason == "ResolvedRefs")
    o = ask(cfg, "https://example.com/", gateway="https")
    assert (o.status == 200) == bool(secret), o.reason


# conformance/tests/gateway-http-listener-isolation.go GatewayHTTPListenerIsolation
def test_listener_isolation():
    gw = gateway("isolation", listener("empty-hostname") + listener("wildcard-example-com",
                                                                      hostname="*.example.com")
                 + listener("foo-example-com", hostname="foo.example.com"))
    docs = [gw] + [route(n, rule(b), parents=f"[{{name: isolation, sectionName: {s}}}]")
                   for n, b, s in [("attaches-to-empty", "infra-backend-v1", "empty-hostname"),
                                   ("attaches-to-wildcard", "infra-backend-v2",
                                    "wildcard-example-com"),
                                   ("attaches-to-foo", "infra-backend-v3", "foo-example-com")]]
    cfg = config(*docs)
    assert backend(ask(cfg, "http://bar.com/", gateway="isolation")) == "infra-backend-v1"
    assert backend(ask(cfg, "http://bar.example.com/", gateway="isolation")) == "infra-backend-v2"
    assert backend(ask(cfg, "http://foo.example.com/", gateway="isolation")) == "infra-backend-v3"


def test_conflicting_listeners_are_not_programmed():
    gw = gateway("conflict", listener("a", hostname="x.example.com")
                 + listener("b", hostname="x.example.com"))
    cfg = config(gw)
    for name in ("a", "b"):
        s = cfg.gateways[f"{INFRA}/conflict"].listener(name)
        assert not s.programmed
        assert any(c.type == "Conflicted" and c.reason == "HostnameConflict" for c in s.conditions)


def test_invalid_regex_refuses_the_route_without_a_traceback():
    rules = ("    - matches: [{path: {type: RegularExpression, value: '/(unclosed'}}]\n"
             "      backendRefs: [{name: infra-backend-v1, port: 8080}]\n")
    cfg = config(route("bad-regex", rules))
    assert conditions(parent(cfg, "bad-regex"))["Accepted"] == (False, "UnsupportedValue")


def test_missing_gateway_is_reported():
    cfg = config(route("orphan", rule(), parents="[{name: no-such-gateway}]"))
    p = parent(cfg, "orphan")
    assert conditions(p)["Accepted"][1] == "NoMatchingParent" and "not in the input" in \
        p.conditions[0].message


@pytest.mark.parametrize(("doc", "field"), [
    (gateway("g", "  - name: Bad_Name\n    port: 80\n    protocol: HTTP\n"), "listeners[0].name"),
    (gateway("g", "  - name: http\n    port: 0\n    protocol: HTTP\n"), "listeners[0].port"),
    (gateway("g", "  - name: http\n    port: 80\n    protocol: HTTP\n    hostname: Foo.com\n"),
     "listeners[0].hostname"),
    (route("r", "    - matches: [{path: {type: Glob, value: /x}}]\n"), "path.type"),
    (route("r", "    - backendRefs: [{name: svc}]\n"), "port"),
    (route("r", "    - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 305}}]\n"),
     "statusCode")])
def test_bad_input_names_the_field(doc, field):
    with pytest.raises(InputError) as e:
        build(cluster_of(doc))
    assert field in str(e.value)
    assert "test.yaml" in str(e.value)
