"""Ingress -> Gateway API migration: each annotation's mapping, and --verify routing the same
requests through both (ingress-nginx's semantics and the Gateway API's) with known
differences named by their cause."""

from __future__ import annotations

import pytest
from helpers import cluster_of
from ingress_kit import ECHO, controller, ingress, ingress_class, tls_secret

from podnet.analysis import Analysis
from podnet.gateway.attach import build
from podnet.gateway.migrate import migrate
from podnet.gateway.parse import read
from podnet.gateway.verify import verify
from podnet.ingress.controllers import find_controllers
from podnet.ingress.routes import build_all

A = "nginx.ingress.kubernetes.io/"


def run(*docs: str):
    cluster = cluster_of(ECHO + ingress_class() + controller() + "".join(docs))
    tables = build_all(cluster, find_controllers(cluster))
    m = migrate(tables)
    config = build(cluster, read(m.as_others()))
    total, diffs = verify(Analysis(cluster), tables, config)
    return m, config, total, diffs


def fate(m, annotation):
    return next(f for f in m.fates if f.annotation == A + annotation)


def test_plain_ingress_with_tls_migrates_without_difference():
    m, config, total, diffs = run(
        ingress("shop", "shop.example.com", (("/", "Prefix", "echo", 80),
                                             ("/api", "Prefix", "canary", 80),
                                             ("/exact", "Exact", "canary", 80)), tls="shop-tls"),
        tls_secret("shop-tls"))
    kinds = sorted(o["kind"] for o in m.objects)
    assert kinds == ["Gateway", "HTTPRoute", "HTTPRoute", "ReferenceGrant"]  # Secret in default
    (gw,) = [o for o in m.objects if o["kind"] == "Gateway"]
    names = [x["name"] for x in gw["spec"]["listeners"]]
    assert "http-shop-example-com" in names and "https-shop-example-com" in names
    assert all(p.accepted for r in config.routes for p in r.parents)
    # ingress-nginx strips one trailing slash from the HTTPS redirect (lua_ingress.lua, unless
    # preserve-trailing-slash); a RequestRedirect keeps the path as sent
    assert total > 20 and diffs
    for d in diffs:
        assert d.probe.request.path.endswith("/") and d.probe.request.path != "/"
        assert "ssl-redirect" in d.cause and d.gateway.location == d.ingress.location + "/"


def test_ssl_redirect_becomes_a_redirect_on_the_http_listener():
    m, _, _, diffs = run(ingress("shop", "shop.example.com", tls="shop-tls"),
                         tls_secret("shop-tls"))
    http_route = next(o for o in m.objects if o["metadata"]["name"].endswith("-http"))
    (rule,) = http_route["spec"]["rules"]
    assert rule["filters"][0]["requestRedirect"] == {"scheme": "https", "statusCode": 308}
    assert diffs == []


def test_canary_weight_and_header_map_to_weights_and_a_header_match():
    m, _, total, diffs = run(
        ingress("main", "shop.example.com"),
        ingress("main-canary", "shop.example.com", (("/", "Prefix", "canary", 80),),
                annotations={A + "canary": "true", A + "canary-weight": "30",
                             A + "canary-by-header": "X-Canary"}))
    assert fate(m, "canary-weight").status == "mapped"
    route = next(o for o in m.objects if o["kind"] == "HTTPRoute")
    weights = [b.get("weight") for r in route["spec"]["rules"] for b in r["backendRefs"]]
    assert sorted(w for w in weights if w is not None) == [30, 70]
    assert any(m_.get("headers") for r in route["spec"]["rules"] for m_ in r["matches"])
    assert diffs == [], [(d.probe.why, d.cause) for d in diffs]


def test_rewrite_target_prefix_idiom_maps_to_replace_prefix_match():
    m, _, _, diffs = run(ingress("app", "app.example.com", (("/app(/|$)(.*)", "Prefix", "echo",
                                                             80),),
                                 annotations={A + "rewrite-target": "/$2",
                                              A + "use-regex": "true"}))
    route = next(o for o in m.objects if o["kind"] == "HTTPRoute")
    (rule,) = route["spec"]["rules"]
    assert rule["matches"][0]["path"] == {"type": "PathPrefix", "value": "/app"}
    assert rule["filters"][0]["urlRewrite"]["path"] == {"type": "ReplacePrefixMatch",
                                                        "replacePrefixMatch": "/"}


@pytest.mark.parametrize(("annotation", "value", "status", "cause"), [
    ("proxy-body-size", "8m", "not-expressible", "proxy-body-size"),
    ("whitelist-source-range", "10.0.0.0/8", "not-expressible", "whitelist-source-range")])
def test_unexpressible_annotations_are_named_and_their_requests_differ(annotation, value,
                                                                       status, cause):
    m, _, total, diffs = run(ingress("app", "app.example.com",
                                     annotations={A + annotation: value}))
    assert fate(m, annotation).status == status
    assert diffs and all(cause in d.cause for d in diffs), [d.cause for d in diffs]


def test_permanent_redirect_and_app_root_map_to_request_redirects():
    m, _, _, diffs = run(
        ingress("old", "old.example.com", annotations={
            A + "permanent-redirect": "https://new.example.com/landing"}),
        ingress("root", "root.example.com", annotations={A + "app-root": "/app"}))
    assert fate(m, "permanent-redirect").status == "mapped"
    assert diffs == [], [(d.probe.why, d.ingress.location, d.gateway.location) for d in diffs]


def test_wildcard_host_depth_is_a_named_difference():
    m, _, _, diffs = run(ingress("wild", "*.example.com"))
    assert any("wildcard" in n for n in m.notes)


def test_generated_objects_parse_back():
    m, config, _, _ = run(ingress("a", "a.example.com"), ingress("b", "b.example.com", tls="b"),
                          tls_secret("b"))
    assert {r.route.key for r in config.routes} == {
        f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in m.objects
        if o["kind"] == "HTTPRoute"}
