"""Host and path routing of ingress-nginx: the route table and nginx's location choice.

Cases from kubernetes/ingress-nginx's e2e suite are named after their file and test."""

from __future__ import annotations

from ingress_kit import http, ingress, service, table

from podnet.ingress.match import normalize

REGEX = {"nginx.ingress.kubernetes.io/use-regex": "true"}


def via(o):  # type: ignore[no-untyped-def]
    return None if o.via is None else o.via["name"]


def test_pathtype_prefix_is_element_wise():
    # test/e2e/ingress/pathtype_prefix.go: "should return 404 when prefix /aaa does not match
    # request /aaaccc"
    t = table(ingress("aaa", "prefix.path", paths=(("/aaa", "Prefix", "echo", 80),)))
    assert http(t, "http://prefix.path/aaa").status == 200
    assert http(t, "http://prefix.path/aaacccc").status == 404
    assert http(t, "http://prefix.path/aaa/cccc").status == 200
    assert http(t, "http://prefix.path/aaa/").status == 200
    locs = [(loc.modifier, loc.path) for loc in t.servers["prefix.path"].locations]
    assert locs == [("", "/aaa/"), ("=", "/aaa"), ("", "/")]  # location.go updateServerLocations


def test_pathtype_exact_and_prefix_on_one_path():
    # test/e2e/ingress/pathtype_exact.go: "should choose exact location for /exact"; the
    # later "duplicated-prefix" Ingress loses the path to "exact-suffix"
    t = table(ingress("exact", "exact.path", paths=(("/exact", "Exact", "echo", 80),),
                      created="2024-01-01T00:00:00Z"),
              ingress("exact-suffix", "exact.path", paths=(("/exact", "Prefix", "echo", 80),),
                      created="2024-01-01T00:00:01Z"),
              ingress("duplicated-prefix", "exact.path",
                      paths=(("/exact", "Prefix", "canary", 80),),
                      created="2024-01-01T00:00:02Z"))
    assert via(http(t, "http://exact.path/exact")) == "default/exact"
    assert via(http(t, "http://exact.path/exact/suffix")) == "default/exact-suffix"
    assert http(t, "http://exact.path/exact/suffix").backend.service == "default/echo"
    locs = [(loc.modifier, loc.path) for loc in t.servers["exact.path"].locations]
    assert ("=", "/exact") in locs and ("", "/exact/") in locs and len(locs) == 3


def test_exact_does_not_match_a_trailing_slash():
    t = table(ingress("e", paths=(("/api", "Exact", "echo", 80),)))
    assert http(t, "http://foo.bar/api").status == 200
    assert http(t, "http://foo.bar/api/").status == 404


def test_prefix_written_with_a_trailing_slash_misses_the_bare_path():
    # ingress-nginx keeps "/foo/" as location /foo/ plus = /foo/: unlike the Kubernetes
    # spec, GET /foo is not matched
    t = table(ingress("s", paths=(("/foo/", "Prefix", "echo", 80),)))
    assert http(t, "http://foo.bar/foo/x").status == 200
    assert http(t, "http://foo.bar/foo").status == 404


def test_implementation_specific_reads_as_prefix():
    # internal/k8s/main.go SetDefaultNGINXPathType: ImplementationSpecific becomes Prefix
    t = table(ingress("i", paths=(("/app", "ImplementationSpecific", "echo", 80),)))
    assert http(t, "http://foo.bar/app/x").status == 200
    assert http(t, "http://foo.bar/application").status == 404
    o = http(t, "http://foo.bar/app")
    assert o.via["pathType"] == "ImplementationSpecific"  # reported as the Ingress wrote it


def test_longest_prefix_wins_and_uri_is_normalised():
    t = table(ingress("two", paths=(("/foo", "Prefix", "echo", 80),
                                    ("/foo/bar", "Prefix", "canary", 80))))
    assert http(t, "http://foo.bar/foo/bar/baz").backend.service == "default/canary"
    assert http(t, "http://foo.bar/foo/baz").backend.service == "default/echo"
    assert http(t, "http://foo.bar//foo/./bar/../bar").backend.service == "default/canary"
    assert http(t, "http://foo.bar/foo%2Fbar").backend.service == "default/canary"
    assert normalize("/a//b/../c/") == "/a/c/"


def test_prefix_matching_is_case_sensitive_outside_regex_mode():
    t = table(ingress("c", paths=(("/Foo", "Prefix", "echo", 80),)))
    assert http(t, "http://foo.bar/Foo").status == 200
    assert http(t, "http://foo.bar/foo").status == 404


def test_hosts_exact_wildcard_and_case():
    t = table(ingress("w", "*.bar.com"), ingress("x", "exact.bar.com", paths=(
        ("/", "Prefix", "canary", 80),)))
    assert http(t, "http://a.bar.com/").backend.service == "default/echo"
    assert http(t, "http://A.Bar.COM:8080/").backend.service == "default/echo"
    assert http(t, "http://exact.bar.com/").backend.service == "default/canary"
    assert http(t, "http://a.b.bar.com/").status == 404  # one label deep (buildServerName)
    assert http(t, "http://bar.com/").status == 404
    o = http(t, "http://bar.com/")
    assert o.via is None and "default backend" in o.reason


def test_host_header_overrides_the_url():
    t = table(ingress("h", "foo.bar"))
    assert http(t, "http://10.0.0.1/", headers={"Host": "foo.bar"}).status == 200
    assert http(t, "http://foo.bar/", headers={"Host": "other"}).status == 404


def test_regex_mode_keeps_non_rewritten_location_reachable():
    # test/e2e/annotations/rewrite.go: "should use correct longest path match"
    t = table(ingress("kube-lego", "rewrite.bar.com",
                      paths=(("/.well-known/acme/challenge", "Prefix", "echo", 80),)),
              ingress("rewrite-index", "rewrite.bar.com", paths=(("/", "Prefix", "canary", 80),),
                      annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/new/backend"}))
    server = t.servers["rewrite.bar.com"]
    assert server.regex
    assert {(loc.modifier, loc.path) for loc in server.locations} >= {
        ("~*", "/"), ("~*", "/.well-known/acme/challenge")}
    o = http(t, "http://rewrite.bar.com/.well-known/acme/challenge")
    assert via(o) == "default/kube-lego" and "rewritten" not in o.reason
    o = http(t, "http://rewrite.bar.com/other")
    assert via(o) == "default/rewrite-index" and "rewritten to /new/backend" in o.reason


def test_regex_mode_first_match_in_order():
    # rewrite.go: "should use ~* location modifier if regex annotation is present"
    anns = {**REGEX, "nginx.ingress.kubernetes.io/rewrite-target": "/new/backend"}
    t = table(ingress("foo", "rewrite.bar.com", paths=(("/foo", "Prefix", "echo", 80),)),
              ingress("regex", "rewrite.bar.com", paths=(("/foo.+", "Prefix", "canary", 80),),
                      annotations=anns))
    assert via(http(t, "http://rewrite.bar.com/foo")) == "default/foo"
    o = http(t, "http://rewrite.bar.com/foo/bar")
    assert via(o) == "default/regex" and "rewritten to /new/backend" in o.reason


def test_regex_mode_defeats_longest_match():
    # rewrite.go: "should fail to use longest match for documented warning"
    anns = {**REGEX, "nginx.ingress.kubernetes.io/rewrite-target": "/new/backend"}
    t = table(ingress("foo", "rewrite.bar.com", paths=(("/foo/bar/bar", "Prefix", "echo", 80),)),
              ingress("regex", "rewrite.bar.com",
                      paths=(("/foo/bar/[a-z]{3}", "Prefix", "canary", 80),), annotations=anns))
    assert via(http(t, "http://rewrite.bar.com/foo/bar/bar")) == "default/regex"


def test_regex_mode_spreads_to_other_ingresses_of_the_host():
    # one use-regex Ingress turns the neighbour's Exact /exact into ~* "^/exact" and makes
    # matching case-insensitive: the surprise the ingress-path-matching docs warn about
    plain = ingress("plain", "r.bar", paths=(("/exact", "Exact", "echo", 80),))
    assert http(table(plain), "http://r.bar/exactly").status == 404
    t = table(plain, ingress("re", "r.bar", paths=(("/other", "Prefix", "canary", 80),),
                             annotations=REGEX))
    assert via(http(t, "http://r.bar/exactly")) == "default/plain"
    assert via(http(t, "http://r.bar/EXACT")) == "default/plain"


def test_use_regex_prefix_paths():
    # pathtype_prefix.go: "should test prefix path using simple regex pattern for /id/{int}"
    # and "... ignoring non-digits characters at end of string"
    t = table(ingress("id", "echo.com.br", paths=(("/id/[0-9]+", "Prefix", "echo", 80),),
                      annotations=REGEX))
    for path, status in (("/id/1", 200), ("/id/12", 200), ("/id/aaa", 404), ("/id/123a", 200)):
        assert http(t, f"http://echo.com.br{path}").status == status, path
    t = table(ingress("id", "echo.regex.br", paths=(("/id/[0-9]+$", "Prefix", "echo", 80),),
                      annotations=REGEX))
    assert http(t, "http://echo.regex.br/id/1").status == 200
    assert http(t, "http://echo.regex.br/id/123a").status == 404
    # "should test prefix path using fixed path size regex pattern /id/{int}{3}"
    t = table(ingress("id", "s.br", paths=(("/id/[0-9]{3}$", "Prefix", "echo", 80),),
                      annotations=REGEX))
    assert [http(t, f"http://s.br/id/{n}").status for n in ("99", "123", "9999")] == [
        404, 200, 404]


def test_merge_across_ingresses_and_creation_order():
    a = ingress("a", paths=(("/a", "Prefix", "echo", 80),))
    b = ingress("b", paths=(("/b", "Prefix", "canary", 80),))
    t = table(a, b)
    assert http(t, "http://foo.bar/a").backend.service == "default/echo"
    assert http(t, "http://foo.bar/b").backend.service == "default/canary"
    # a conflict: the first created keeps the path
    old = ingress("zz-old", paths=(("/x", "Prefix", "echo", 80),), created="2020-01-01T00:00:00Z")
    new = ingress("aa-new", paths=(("/x", "Prefix", "canary", 80),), created="2021-01-01T00:00:00Z")
    assert via(http(table(old, new), "http://foo.bar/x")) == "default/zz-old"
    # equal creation times: namespace/name descending (store.go sortIngressSlice)
    one = ingress("aa", paths=(("/x", "Prefix", "echo", 80),))
    two = ingress("zz", paths=(("/x", "Prefix", "canary", 80),))
    t = table(one, two)
    assert via(http(t, "http://foo.bar/x")) == "default/zz"
    assert t.accepted == ("default/zz", "default/aa")


def test_root_fallback_and_default_backends():
    # an Ingress's defaultBackend serves the paths of its hosts that nothing claims
    t = table(ingress("d", paths=(("/api", "Prefix", "echo", 80),), default_backend="canary"))
    o = http(t, "http://foo.bar/elsewhere")
    assert o.backend.service == "default/canary" and o.via["path"] is None
    # an Ingress with only a defaultBackend is the catch-all for every unknown host
    t = table(ingress("catch", paths=None, default_backend="echo"))
    assert http(t, "http://anything.example/").backend.service == "default/echo"
    # else the controller's --default-backend-service, else its built-in 404
    from ingress_kit import controller
    t = table(ingress("r"), controller("--default-backend-service=default/canary"))
    assert http(t, "http://unknown/").backend.service == "default/canary"
    assert http(table(ingress("r")), "http://unknown/").status == 404


def test_missing_default_backend_service_falls_back_to_404():
    from ingress_kit import controller
    t = table(ingress("r"), controller("--default-backend-service=default/nope"))
    assert http(t, "http://unknown/").status == 404
    assert any("default/nope" in n for n in t.notes)


def test_rules_without_host_join_the_default_server():
    t = table(ingress("nohost", host="", paths=(("/shop", "Prefix", "echo", 80),)),
              service("x", "x"))
    assert http(t, "http://whatever.example/shop").backend.service == "default/echo"
    assert http(t, "http://whatever.example/").status == 404


def test_rewrite_target_equal_to_a_prefix_path_still_means_regex():
    # updateServerLocations splits /foo into /foo/ and = /foo; enforceRegexModifier then finds
    # a rewrite-target (/foo) that differs from the /foo/ location's path
    t = table(ingress("r", paths=(("/foo", "Prefix", "echo", 80),),
                      annotations={"nginx.ingress.kubernetes.io/rewrite-target": "/foo"}))
    assert t.servers["foo.bar"].regex
    assert http(t, "http://foo.bar/foobar").status == 200  # ~* "^/foo" now matches it


def test_tables_for_one_host_equal_the_full_table():
    from helpers import cluster_of
    from ingress_kit import ECHO, ingress_class

    from podnet.ingress.controllers import find_controllers
    from podnet.ingress.routes import build_all, hosts_for
    docs = ECHO + ingress_class() + "".join(
        ingress(f"i{n}", f"h{n % 3}.example", paths=((f"/p{n}", "Prefix", "echo", 80),))
        for n in range(9)) + ingress("w", "*.example", annotations=REGEX) + ingress(
        "al", "other", annotations={"nginx.ingress.kubernetes.io/server-alias": "h1.example"})
    cluster = cluster_of(docs)
    (full,) = build_all(cluster, find_controllers(cluster))
    for host in ("h1.example", "zz.example", "nowhere"):
        (part,) = build_all(cluster, find_controllers(cluster), hosts_for(host))
        assert part.server_for(host) == full.server_for(host), host
        for path in ("/p1", "/p4/x", "/", "/nope"):
            assert http(part, f"http://{host}{path}") == http(full, f"http://{host}{path}")
