"""The nginx.conf the lab runs for a Gateway, golden-tested, and its shape against the router's
precedence (tests/lab/test_gateway_lab.py runs it and sends real requests)."""

from __future__ import annotations

import re

from gateway_kit import INFRA, config, route

from podnet.gateway import nginx
from podnet.gateway.attach import Config, build
from podnet.model import load
from podnet.predict import gateway as predict
from tests.conftest import ROOT

LAB = ROOT / "tests" / "manifests" / "lab-gateway"
# where the probes connect does not change what they predict
ANY_ENTRY = {port: ("10.0.0.253", port) for port in (80, 443, 8080)}


def _lab() -> tuple[Config, str]:
    cfg = build(load([str(LAB)], nodes=2))
    return cfg, nginx.render(cfg, "infra/gw", nginx.lab_files(cfg, "infra/gw"))


def _server(text: str, port: int, name: str) -> str:
    start = text.index(f"listen {port}")
    start = text.index(f"server_name {name};", start)
    return text[start:text.index("\n\t}\n", start)]


def test_lab_gateway_golden(golden):
    _, text = _lab()
    golden("gateway/lab-gateway.nginx.conf", text)
    assert text.count("{") == text.count("}")
    assert text == _lab()[1]  # byte-stable


def test_servers_follow_listener_and_route_hostnames():
    _, text = _lab()
    # the route's exact hostname and the wildcard route each get a server on every listener
    # whose hostname they intersect; shop.other.org only on the listener without a hostname
    for port in (80, 443, 8080):
        assert "location = \"/cart\"" in _server(text, port, "shop.example.com")
        assert "location ^~ / {" in _server(text, port, "*.example.com")
    assert text.count("server_name shop.other.org;") == 1
    assert "listen 8080 default_server;" in text  # the listener for every host
    assert "listen 80 default_server;" in text and "listen 443 ssl default_server;" in text


def test_locations_encode_the_spec_precedence():
    _, text = _lab()
    shop = _server(text, 80, "shop.example.com")
    # Exact /cart keeps `= /cart` for itself; the prefix /cart is element-wise from /cart/
    assert shop.count('location = "/cart" {') == 1
    cart = shop[shop.index('location = "/cart" {'):]
    assert "pn-web-api-80" in cart[:cart.index("}")]
    assert 'location ^~ "/cart/" {' in shop and 'location = "/cart/checkout" {' in shop
    # a regular expression anchored to the whole path, after the prefixes (^~ beats it)
    assert 'location ~ "^(?:/item/[0-9]+)$" {' in shop
    # no route has the prefix /: nginx's fallback answers 404
    assert shop.endswith("location / { return 404; }")
    # /beta: the header match is tried first, the plain prefix is the map's default
    _, lines = _dispatch(text, shop, 'location ^~ "/beta/"')
    assert lines[0].startswith('"~^1$" @pn_') and lines[1].startswith("default @pn_")
    assert 'map $http_x_beta $pn_hdr_' in text and '"~^(?:yes)$" 1;' in text


def _dispatch(text: str, server: str, head: str) -> tuple[str, list[str]]:
    """The comment naming a location's chain of matches, and its dispatch map's lines."""
    block = server[server.index(head + " {"):]
    block = block[:block.index("\n\t\t}")]
    var = re.search(r"error_page 599 = (\$pn_match_\w+);", block)
    assert var is not None, block
    body = text[text.index(f" {var.group(1)} {{"):]
    return block.splitlines()[1], [x.strip() for x in body[:body.index("}")].splitlines()[1:]
                                   if x.strip()]


def test_method_header_query_matches_dispatch_in_precedence_order():
    # conformance/tests/httproute-method-matching.go, httproute-header-matching.go,
    # httproute-query-param-matching.go and httproute-matching.go's precedence: under the
    # same prefix a method beats headers, more headers beat fewer, headers beat query
    # parameters; a shorter prefix behind them catches what fails every condition
    _, text = _lab()
    match = _server(text, 80, "match.example.com")
    chain, lines = _dispatch(text, match, 'location ^~ "/api/v1/"')
    order = [int(n) for n in re.findall(r"web/match rule (\d+) match 0", chain)]
    assert order == [5, 2, 3, 4, 1, 0], chain
    assert len(lines) == 6 and lines[-1].startswith("default @pn_")  # /api: no condition
    # two headers need both digits, one header one of them
    assert [ln.split()[0].count("1") for ln in lines[:5]] == [1, 2, 1, 2, 1]
    # an Exact path whose matches all need a condition: nothing else behind it but the root
    # prefix's header match and the regular expressions, then 404
    chain, lines = _dispatch(text, match, 'location = "/only"')
    assert lines[-1] == "default @pn_404;" and "location @pn_404 { return 404; }" in match
    # the root prefix's header match comes before the regular expressions, checked on $uri
    chain, lines = _dispatch(text, match, "location ^~ /")
    assert re.findall(r"rule (\d+)", chain) == ["7", "9", "8"]
    assert 'map $uri $pn_uri_' in text and '"~^(?:/r/[a-z]+)$" 1;' in text
    # a query parameter's first value, its name case-sensitive (nginx's $arg_ is not)
    assert '"~(?:^|&)Mode=(?<pn_arg_v>[^&]*)" $pn_arg_v;' in text
    assert "map $request_method $pn_method_" in text and '"~^(?:DELETE)$" 1;' in text
    # each match has its own internal location, as NGINX Gateway Fabric's
    assert len(re.findall(r"location @pn_[0-9a-f]{12} \{", match)) == 11


def test_probes_exercise_every_match_and_each_condition():
    cfg, _ = _lab()
    probes = [p for p in predict.probes(cfg, "infra/gw", ANY_ENTRY, "10.0.0.254")
              if "match.example.com" in p.url]
    chosen = {(str((p.expected.via or {}).get("rule")), (p.expected.via or {}).get("match") and
               tuple(sorted((p.expected.via or {})["match"])))
              for p in probes if p.expected.via}
    rules = {r for r, _ in chosen}
    assert rules == {str(i) for i in range(10)}, rules  # every rule wins some request
    assert {p.method for p in probes} >= {"GET", "POST", "PUT", "DELETE"}
    assert any(p.headers for p in probes) and any("?" in p.url for p in probes)
    # a condition failing alone changes the answer: the header variant falls back
    both = [p for p in probes if p.why.endswith("rule 2 PathPrefix /api/v1: every condition holds")]
    one = [p for p in probes if p.why.endswith("rule 2 PathPrefix /api/v1: without header x-user")]
    assert both and one
    assert (both[0].expected.via or {})["rule"] == 2 and (one[0].expected.via or {})["rule"] == 3
    only = [p for p in probes if p.url.endswith(":80/only") and p.method == "GET"
            and not p.headers]
    assert only and only[0].expected.status == 404


def test_filters_and_backends():
    _, text = _lab()
    shop = _server(text, 8080, "shop.example.com")
    # RequestRedirect: the listener's port stays in the Location, the prefix is replaced
    assert 'return 301 "http://$host:8080$pn_path_' in shop
    assert 'return 302 "https://$host$uri$is_args$args";' in shop
    assert re.search(r'"~\^/old\(\?<pn_rest>/\.\*\)\$" "/new\$pn_rest";', text)
    assert 'rewrite ^ "/index.html" break;' in shop
    assert 'proxy_set_header "X-Via" "podnet";' in shop
    assert 'add_header "X-Served" "gw" always;' in shop
    zero = shop[shop.index('location = "/zero" {'):]
    cross = shop[shop.index('location = "/cross" {'):]
    empty = shop[shop.index('location = "/empty" {'):]
    assert "return 500;" in zero[:zero.index("}")] and "return 500;" in cross[:cross.index("}")]
    assert "return 503;" in empty[:empty.index("}")]
    # the weight-0 backend is not an upstream target
    split = shop[shop.index('location = "/split" {'):]
    assert "proxy_pass http://pn-web-web-80;" in split[:split.index("}")]


def _render(cfg: Config) -> str:
    key = f"{INFRA}/same-namespace"
    return nginx.render(cfg, key, nginx.lab_files(cfg, key))


def test_weighted_split_renders_split_clients():
    # conformance/tests/httproute-weight.go HTTPRouteWeight (70/30/0), plus a backend that
    # does not resolve: its share of the traffic answers 500
    cfg = config(route("weighted", "  - backendRefs:\n"
                       "    - {name: infra-backend-v1, port: 8080, weight: 70}\n"
                       "    - {name: infra-backend-v2, port: 8080, weight: 30}\n"
                       "    - {name: infra-backend-v3, port: 8080, weight: 0}\n"
                       "    - {name: nope, port: 8080, weight: 10}\n"))
    text = _render(cfg)
    block = text[text.index("split_clients"):]
    block = block[:block.index("}")]
    assert "\t63.64% pn-gateway-conformance-infra-infra-backend-v1-8080;" in block
    assert "\t27.27% pn-gateway-conformance-infra-infra-backend-v2-8080;" in block
    assert "\t* pn-status-500;" in block and "v3" not in block
    assert "upstream pn-gateway-conformance-infra-infra-backend-v1-8080 {" in text
    assert "proxy_pass http://$pn_split_" in text


def test_unknown_filter_and_no_backends_answer_500():
    cfg = config(route("odd", "  - filters: [{type: ExtensionRef, extensionRef: "
                              "{group: x.example, kind: F, name: f}}]\n"
                              "    backendRefs: [{name: infra-backend-v1, port: 8080}]\n"
                              "  - matches: [{path: {type: Exact, value: /none}}]\n"))
    text = _render(cfg)
    assert "# ExtensionRef: an unresolved filter answers 500" in text
    none = text[text.index('location = "/none" {'):]
    assert "return 500;" in none[:none.index("}")]


def test_probe_corpus_covers_every_hostname_and_scheme():
    cfg, _ = _lab()
    probes = predict.probes(cfg, "infra/gw", ANY_ENTRY, "10.0.0.254")
    urls = {p.url for p in probes}
    assert {"https://shop.example.com:443/cart", "http://shop.other.org:8080/cart",
            "http://probe.example.com:80/", "http://shop.example.com:80/item/7",
            "http://unknown.podnet.invalid:80/"} <= urls
    statuses = {p.expected.status for p in probes}
    assert statuses >= {200, 301, 302, 404, 500, 503}
    cart = next(p for p in probes if p.url == "http://shop.example.com:80/cart")
    assert cart.pods == {"web/api-0"}
    assert predict.regex_sample("/item/[0-9]+") == "/item/7"
    assert predict.regex_sample("/a(b|c)") == ""
