"""Gateway API request routing, case by case against the Gateway API conformance suite
(kubernetes-sigs/gateway-api, conformance/tests/<name>.go and .yaml): the same routes on the
same kind of base, the same requests, the backend or status the suite expects."""

from __future__ import annotations

import pytest
from gateway_kit import ask, backend, config, gateway, listener, route

V1, V2, V3 = "infra-backend-v1", "infra-backend-v2", "infra-backend-v3"


def rules(*items: tuple[str, str]) -> str:
    """Rules from (matches YAML, backend): one rule per item."""
    out = ""
    for matches, svc in items:
        out += "  - matches:\n" + "".join(f"    {ln}\n" for ln in matches.strip().splitlines())
        out += f"    backendRefs: [{{name: {svc}, port: 8080}}]\n"
    return out


MATCHING = route("matching", rules(
    ("- path: {type: PathPrefix, value: /}\n- headers: [{name: version, value: one}]", V1),
    ("- path: {type: PathPrefix, value: /v2}\n- headers: [{name: version, value: two}]", V2)))


# conformance/tests/httproute-matching.go HTTPRouteMatching
@pytest.mark.parametrize(("path", "headers", "want"), [
    ("/", {}, V1), ("/example", {}, V1), ("/", {"Version": "one"}, V1), ("/v2", {}, V2),
    ("/v2/example", {}, V2), ("/", {"Version": "two"}, V2), ("/v2/", {}, V2),
    ("/v2example", {}, V1), ("/foo/v2/example", {}, V1)])
def test_httproute_matching(path, headers, want):
    assert backend(ask(config(MATCHING), f"http://example.com{path}", headers=headers)) == want


# conformance/tests/httproute-matching-across-routes.go HTTPRouteMatchingAcrossRoutes
ACROSS = (route("matching-part1", rules(
    ("- path: {type: PathPrefix, value: /}\n- headers: [{name: version, value: one}]", V1)),
    hostnames=("example.com", "example.net"))
    + route("matching-part2", rules(
        ("- path: {type: PathPrefix, value: /v2}\n- headers: [{name: version, value: two}]", V2)),
        hostnames=("example.com",)))


@pytest.mark.parametrize(("host", "path", "headers", "want"), [
    ("example.com", "/", {}, V1), ("example.com", "/example", {}, V1),
    ("example.net", "/example", {}, V1), ("example.com", "/example", {"Version": "one"}, V1),
    ("example.com", "/v2", {}, V2), ("example.net", "/v2", {}, V1),
    ("example.com", "/v2/example", {}, V2), ("example.com", "/", {"Version": "two"}, V2)])
def test_matching_across_routes(host, path, headers, want):
    assert backend(ask(config(ACROSS), f"http://{host}{path}", headers=headers)) == want


# conformance/tests/httproute-path-match-order.go HTTPRoutePathMatchOrder
ORDER = route("path-matching-order", rules(
    ("- path: {type: Exact, value: /match}", V1),
    ("- path: {type: Exact, value: /match/exact}", V2),
    ("- path: {type: Exact, value: /match/exact/one}", V3),
    ("- path: {type: PathPrefix, value: /match/}", V3),
    ("- path: {type: PathPrefix, value: /match/prefix/}", V1),
    ("- path: {type: PathPrefix, value: /match/prefix/one}", V2)))


@pytest.mark.parametrize(("path", "want"), [
    ("/match/exact/one", V3), ("/match/exact", V2), ("/match", V1),
    ("/match/prefix/one/any", V2), ("/match/prefix/any", V1), ("/match/any", V3)])
def test_path_match_order(path, want):
    assert backend(ask(config(ORDER), f"http://example.com{path}")) == want


# conformance/tests/httproute-query-param-matching.go HTTPRouteQueryParamMatching
QUERY = route("query-param-matching", rules(
    ("- queryParams: [{name: animal, value: whale}]", V1),
    ("- queryParams: [{name: animal, value: dolphin}]", V2),
    ("- queryParams: [{name: animal, value: dolphin}, {name: color, value: blue}]\n"
     "- queryParams: [{name: ANIMAL, value: Whale}]", V3),
    ("- path: {type: PathPrefix, value: /path1}\n  queryParams: [{name: animal, value: whale}]",
     V1),
    ("- headers: [{name: version, value: one}]\n  queryParams: [{name: animal, value: whale}]",
     V2),
    ("- path: {type: PathPrefix, value: /path2}\n  headers: [{name: version, value: two}]\n"
     "  queryParams: [{name: animal, value: whale}]", V3),
    ("- path: {type: PathPrefix, value: /path3}\n  queryParams: [{name: animal, value: shark}]\n"
     "- path: {type: PathPrefix, value: /path4}\n  headers: [{name: version, value: three}]\n"
     "  queryParams: [{name: animal, value: kraken}]", V1),
    ("- path: {type: PathPrefix, value: /path5}", V1),
    ("- queryParams: [{name: animal, value: hydra}]", V2),
    ("- headers: [{name: version, value: four}]", V3)))


@pytest.mark.parametrize(("path", "headers", "want"), [
    ("/?animal=whale", {}, V1), ("/?animal=dolphin", {}, V2),
    ("/?animal=dolphin&color=blue", {}, V3), ("/?ANIMAL=Whale", {}, V3),
    ("/?animal=whale&otherparam=irrelevant", {}, V1), ("/?animal=dolphin&color=yellow", {}, V2),
    ("/?color=blue", {}, 404), ("/?animal=dog", {}, 404), ("/?animal=whaledolphin", {}, 404),
    ("/", {}, 404), ("/path1?animal=whale", {}, V1),
    ("/?animal=whale", {"version": "one"}, V2), ("/path2?animal=whale", {"version": "two"}, V3),
    ("/path3?animal=shark", {}, V1), ("/path4?animal=kraken", {"version": "three"}, V1),
    ("/?animal=shark", {}, 404), ("/path4?animal=kraken", {}, 404),
    ("/path5?animal=hydra", {}, V1), ("/?animal=hydra", {"version": "four"}, V3)])
def test_query_param_matching(path, headers, want):
    o = ask(config(QUERY), f"http://example.com{path}", headers=headers)
    assert (o.status if want == 404 else backend(o)) == want, o.reason


# conformance/tests/httproute-method-matching.go HTTPRouteMethodMatching
METHOD = route("method-matching", rules(
    ("- method: POST", V1), ("- method: GET", V2),
    ("- path: {type: PathPrefix, value: /path1}\n  method: GET", V1),
    ("- headers: [{name: version, value: one}]\n  method: PUT", V2),
    ("- path: {type: PathPrefix, value: /path2}\n  headers: [{name: version, value: two}]\n"
     "  method: POST", V3),
    ("- path: {type: PathPrefix, value: /path3}\n  method: PATCH\n"
     "- path: {type: PathPrefix, value: /path4}\n  headers: [{name: version, value: three}]\n"
     "  method: DELETE", V1),
    ("- path: {type: PathPrefix, value: /path5}", V1), ("- method: PATCH", V2),
    ("- headers: [{name: version, value: four}]", V3)))


@pytest.mark.parametrize(("method", "path", "headers", "want"), [
    ("POST", "/", {}, V1), ("GET", "/", {}, V2), ("HEAD", "/", {}, 404),
    ("GET", "/path1", {}, V1), ("PUT", "/", {"version": "one"}, V2),
    ("POST", "/path2", {"version": "two"}, V3), ("PATCH", "/path3", {}, V1),
    ("DELETE", "/path4", {"version": "three"}, V1), ("PUT", "/", {}, 404),
    ("DELETE", "/path4", {}, 404), ("PATCH", "/path5", {}, V1),
    ("PATCH", "/", {"version": "four"}, V2)])
def test_method_matching(method, path, headers, want):
    o = ask(config(METHOD), f"http://example.com{path}", method=method, headers=headers)
    assert (o.status if want == 404 else backend(o)) == want, o.reason


# conformance/tests/httproute-hostname-intersection.go HTTPRouteHostnameIntersection
INTERSECTION = (
    gateway("httproute-hostname-intersection",
            listener("listener-1", hostname="very.specific.com")
            + listener("listener-2", hostname="*.wildcard.io")
            + listener("listener-3", hostname="*.anotherwildcard.io"))
    + "".join(route(n, rules((f"- path: {{type: PathPrefix, value: {p}}}", b)),
                        parents="[{name: httproute-hostname-intersection}]", hostnames=h)
              for n, p, b, h in [
                  ("specific-host-matches-listener-specific-host", "/s1", V1,
                   ("non.matching.com", "*.nonmatchingwildcard.io", "very.specific.com")),
                  ("specific-host-matches-listener-wildcard-host", "/s2", V2,
                   ("non.matching.com", "wildcard.io", "foo.wildcard.io", "bar.wildcard.io",
                    "foo.bar.wildcard.io")),
                  ("wildcard-host-matches-listener-specific-host", "/s3", V3,
                   ("non.matching.com", "*.specific.com")),
                  ("wildcard-host-matches-listener-wildcard-host", "/s4", V1,
                   ("*.anotherwildcard.io",)),
                  ("no-intersecting-hosts", "/s5", V2, ("specific.but.wrong.com", "wildcard.io"))]))


@pytest.mark.parametrize(("host", "path", "want"), [
    ("very.specific.com", "/s1", V1), ("very.specific.com:1234", "/s1", V1),
    ("non.matching.com", "/s1", 404), ("foo.nonmatchingwildcard.io", "/s1", 404),
    ("foo.wildcard.io", "/s1", 404), ("very.specific.com", "/non-matching-prefix", 404),
    ("foo.wildcard.io", "/s2", V2), ("bar.wildcard.io", "/s2", V2),
    ("foo.bar.wildcard.io", "/s2", V2), ("non.matching.com", "/s2", 404),
    ("wildcard.io", "/s2", 404), ("very.specific.com", "/s2", 404),
    ("very.specific.com", "/s3", V3), ("foo.specific.com", "/s3", 404),
    ("foo.anotherwildcard.io", "/s4", V1), ("foo.bar.anotherwildcard.io", "/s4", V1),
    ("wildcard.io", "/s5", 404)])
def test_hostname_intersection(host, path, want):
    cfg = config(INTERSECTION)
    o = ask(cfg, "http://example.com" + path, gateway="httproute-hostname-intersection",
            headers={"Host": host})
    assert (o.status if want == 404 else backend(o)) == want, o.reason


def test_route_without_intersecting_hostname_is_refused():
    """HTTPRouteHostnameIntersection: no-intersecting-hosts is Accepted=False,
    NoMatchingListenerHostname."""
    cfg = config(INTERSECTION)
    state = next(r for r in cfg.routes if r.route.name == "no-intersecting-hosts")
    (parent,) = state.parents
    assert not parent.accepted
    assert parent.conditions[0].reason == "NoMatchingListenerHostname"


# conformance/tests/httproute-listener-hostname-matching.go HTTPRouteListenerHostnameMatching
LISTENER_HOSTS = (
    gateway("httproute-listener-hostname-matching",
            listener("listener-1", hostname="bar.com") + listener("listener-2", hostname="foo.bar.com")
            + listener("listener-3", hostname="*.bar.com") + listener("listener-4", hostname="*.foo.com"))
    + route("backend-v1", rules(("- path: {type: PathPrefix, value: /}", V1)),
                parents="[{name: httproute-listener-hostname-matching, sectionName: listener-1}]")
    + route("backend-v2", rules(("- path: {type: PathPrefix, value: /}", V2)),
                parents="[{name: httproute-listener-hostname-matching, sectionName: listener-2}]")
    + route("backend-v3", rules(("- path: {type: PathPrefix, value: /}", V3)),
                parents="[{name: httproute-listener-hostname-matching, sectionName: listener-3}, "
                        "{name: httproute-listener-hostname-matching, sectionName: listener-4}]"))


@pytest.mark.parametrize(("host", "want"), [
    ("bar.com", V1), ("foo.bar.com", V2), ("baz.bar.com", V3), ("boo.bar.com", V3),
    ("multiple.prefixes.bar.com", V3), ("multiple.prefixes.foo.com", V3), ("foo.com", 404)])
def test_listener_hostname_matching(host, want):
    o = ask(config(LISTENER_HOSTS), f"http://{host}/",
            gateway="httproute-listener-hostname-matching")
    assert (o.status if want == 404 else backend(o)) == want, o.reason
