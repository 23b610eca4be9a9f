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
    # the header match is named, not rendered
    assert "rule 12 match 0: matches on headers" in shop


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
    probes = predict.probes(cfg, "infra/gw", "10.0.0.253", "10.0.0.254")
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
