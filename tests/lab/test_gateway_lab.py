"""A Gateway served by a real nginx in the lab (the data plane NGINX Gateway Fabric runs), real
HTTP(S) requests from the outside: every status, redirect, answering pod and forwarded path
the router predicts is what nginx does. The input's cases follow the Gateway API conformance
suite (kubernetes-sigs/gateway-api conformance/tests): httproute-exact-path-matching.go,
httproute-matching-across-routes.go (hostname intersection), httproute-request-redirect.go,
httproute-rewrite-path.go, httproute-weight.go,
httproute-invalid-cross-namespace-backend-ref.go (no ReferenceGrant: 500), and
httproute-method-matching.go, httproute-header-matching.go, httproute-query-param-matching.go
(requests that satisfy each match's conditions and that fail each one alone)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from podnet import names
from podnet.analysis import Analysis
from podnet.gateway import nginx
from podnet.gateway.attach import build
from podnet.lab.http import HttpAsk, fetch
from podnet.model import load
from podnet.predict import gateway as predict
from tests.conftest import ROOT
from tests.lab.conftest import netns_names
from tests.lab.nginx_kit import nginx_t
from tests.lab.test_lab import podnet

SCENARIO = str(ROOT / "tests" / "manifests" / "lab-gateway")


def test_gateway_agrees_with_real_nginx_and_tears_down(lab_name):
    r = podnet("lab", "up", "-f", SCENARIO, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    # nginx runs in the Gateway's data-plane pod, like an ingress controller's
    assert names.pod_netns(lab_name, "infra", "gw-nginx-0") in netns_names()
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json")
    data = json.loads(r.stdout)
    assert data["mismatches"] == [] and r.returncode == 0, data["mismatches"]
    rows = data["gateway"]
    assert len(rows) >= 150 and all(w["agrees"] for w in rows)
    statuses = {int(w["observed"].split()[0]) for w in rows}
    assert statuses >= {200, 301, 302, 307, 404, 500, 503, 504}, statuses
    by_url = {w["url"]: w for w in rows if w["method"] == "GET" and not w["headers"]}
    # method, header and query matches: real requests that meet and that miss each condition
    cond = [w for w in rows if "match.example.com" in w["url"]
            and (w["method"] != "GET" or w["headers"] or "?" in w["url"])]
    assert len(cond) >= 60 and {w["method"] for w in cond} >= {"POST", "PUT", "DELETE"}
    two = {w["why"].rpartition(": ")[2]: w["observed"] for w in cond
           if w["url"] == "http://match.example.com:80/api/v1" and "rule 2 " in w["why"]}
    assert two["every condition holds"] == "200 from web/api-0 path /api/v1", two
    # one header of two missing: the one-header rule, which rewrites the prefix
    assert two["without header x-user"].endswith(" path /canary"), two
    assert two["without header X-Env"].startswith("200 from web/web-"), two  # back to /api
    # Exact beats the prefix on the same path, the longest prefix wins below it
    assert by_url["https://shop.example.com:443/cart"]["observed"] == "200 from web/api-0 path /cart"
    assert by_url["http://shop.example.com:80/cart/checkoutx"]["observed"].startswith("200 from web/web-")
    # the more specific route hostname wins its host; the wildcard route serves the rest
    assert by_url["http://shop.example.com:80/"]["observed"] == "404"
    assert by_url["http://probe.example.com:80/"]["observed"].startswith("200 from web/web-")
    assert by_url["http://shop.example.com:8080/old/sub"]["observed"] == \
        "301 http://shop.example.com:8080/new/sub"
    assert by_url["http://shop.example.com:80/v1/sub"]["observed"] == \
        "200 from web/api-0 path /v2/sub"
    assert by_url["http://shop.example.com:80/cross"]["observed"] == "500"
    assert by_url["http://shop.example.com:80/zero"]["observed"] == "500"
    # NetworkPolicy keeps the Gateway's pod from locked/vault: nginx times out, 504
    assert by_url["http://vault.example.com:80/"]["observed"] == "504"
    assert "NetworkPolicy" in by_url["http://vault.example.com:80/"]["reason"]
    # the comparison can fail: /cart's prediction does not accept what /cart/sub got
    analysis = Analysis(load([SCENARIO], nodes=2))
    cfg = build(analysis.cluster)
    entry = predict.entries(analysis, cfg)["infra/gw"]
    probes = {p.url: p for p in predict.probes(cfg, "infra/gw", entry, "10.0.0.254")}
    assert not predict.agrees(probes["http://shop.example.com:80/cart"], 200, None, "web/web-0",
                              "/cart")
    # the request headers the route sets and adds reach the pod
    got = fetch(HttpAsk(names.external_netns(lab_name), *entry[443], "https",
                        "shop.example.com", "/v1/x?q=1", headers=(("X-Tag", "z"),)))
    assert got.status == 200 and got.pod == "web/api-0", got
    seen = got.seen["headers"]
    assert got.seen["path"] == "/v2/x?q=1"
    assert (seen["x-via"], seen["x-tag"], seen["host"]) == ("podnet", "z,a", "shop.example.com")
    r = podnet("lab", "down", "--name", lab_name)
    assert r.returncode == 0, r.stderr
    assert [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")] == []
    assert not any(f"pn-{lab_name}_" in n for n in netns_names())


def test_rendered_gateway_config_passes_nginx_t(tmp_path: Path):
    cfg = build(load([SCENARIO], nodes=2))
    r = nginx_t(tmp_path, nginx.render(cfg, "infra/gw", nginx.lab_files(cfg, "infra/gw")),
                nginx.cert_hosts(cfg, "infra/gw"))
    assert r.returncode == 0, r.stderr


@pytest.fixture(autouse=True)
def _nginx_present():
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: make install brings Debian's nginx")
