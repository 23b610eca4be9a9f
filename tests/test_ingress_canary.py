"""Canaries in the rendered nginx.conf, the binomial bound the lab counts a weighted split
against, and `podnet http --from` a pod: the client -> controller hop under NetworkPolicy."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from podnet.analysis import Analysis
from podnet.cli.app import app
from podnet.ingress import nginx
from podnet.ingress.controllers import find_controllers
from podnet.ingress.routes import build_all
from podnet.model import load
from podnet.predict.canary import ALPHA, binomial_bounds, canary_splits
from tests.conftest import ROOT

CANARY = str(ROOT / "tests" / "manifests" / "lab-ingress-canary")


def _conf() -> str:
    cluster = load([CANARY], nodes=2)
    (table,) = build_all(cluster, find_controllers(cluster))
    return nginx.render(table, nginx.lab_files(table))


def _location(conf: str, host: str) -> list[str]:
    server = conf.split(f"server_name {host};", 1)[1].split("\n\t}", 1)[0]
    body = server.split("location \"/\" {", 1)[1].splitlines()
    return [x.strip() for x in body[:[x.strip() for x in body].index("}")] if x.strip()]


def test_weights_become_split_clients_on_a_per_request_random_key():
    conf = _conf()
    splits = conf.split("split_clients \"${request_id}\" ")[1:]
    shares = sorted(tuple(x.strip() for x in s.splitlines()[1:3]) for s in splits)
    assert shares == [("30% app-canary-80;", "* app-stable-80;"),
                      ("50% app-canary-80;", "* app-stable-mixed-80;")]
    loc = _location(conf, "weight.example.com")
    assert loc[-2].startswith("set $pn_upstream $pn_w_") and loc[-1] == "proxy_pass http://$pn_upstream;"


def test_header_decides_after_the_weight_and_only_its_values_route():
    mixed = _location(_conf(), "mixed.example.com")
    i = mixed.index('if ($http_x_mix = "always") { set $pn_upstream app-canary-80; }')
    # the later `set` wins: the header (balancer.lua checks it first) overrides the weight
    assert mixed[i - 1].startswith("set $pn_upstream $pn_w_")
    assert mixed[i + 1] == 'if ($http_x_mix = "never") { set $pn_upstream app-stable-mixed-80; }'
    header = _location(_conf(), "header.example.com")
    assert header[-3:] == ["set $pn_upstream app-stable-header-80;",
                           'if ($http_x_canary = "on") { set $pn_upstream app-canary-80; }',
                           "proxy_pass http://$pn_upstream;"]
    assert not any("always" in x or "never" in x for x in header)  # a value replaces them


@pytest.mark.parametrize(("n", "p"), [(400, 0.3), (400, 0.5), (50, 0.01), (400, 0.999)])
def test_binomial_bounds_are_the_tightest_with_tails_under_alpha(n, p):
    low, high = binomial_bounds(n, p)

    def pmf(k: int) -> float:
        return math.comb(n, k) * p ** k * (1 - p) ** (n - k)
    below = sum(pmf(k) for k in range(low))
    above = sum(pmf(k) for k in range(high + 1, n + 1))
    assert below <= ALPHA / 2 and above <= ALPHA / 2
    # one step tighter on either side would put more than alpha/2 in that tail
    assert low == 0 or below + pmf(low) > ALPHA / 2
    assert high == n or above + pmf(high) > ALPHA / 2
    assert low <= n * p <= high


def test_splits_are_predicted_for_weighted_locations_only():
    cluster = load([CANARY], nodes=2)
    a = Analysis(cluster)
    (table,) = build_all(cluster, find_controllers(cluster))
    got = {c.url: (c.share, c.low, c.high, sorted(c.canary_pods)) for c in
           canary_splits(a, table, "10.0.0.254")}
    assert got == {"http://mixed.example.com/": (0.5, 151, 249, ["app/canary-0"]),
                   "http://weight.example.com/": (0.3, 77, 166, ["app/canary-0"])}


def _http(url: str, source: str) -> dict[str, object]:
    r = CliRunner().invoke(app, ["--no-cache", "http", "-f", CANARY, url, "--from", source,
                                 "-o", "json", "--nodes", "2"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_http_from_a_pod_judges_the_client_to_controller_hop():
    ips = {p.key: p.ip for p in load([CANARY], nodes=2).pods}
    blocked = _http("http://weight.example.com/", ips["blocked/caller"])
    assert blocked["status"] == 0 and blocked["backend"] is None
    assert "NetworkPolicy keeps blocked/caller from the controller's pod " \
        "ingress-nginx/ingress-nginx-controller-0 on 80/TCP" in str(blocked["reason"])
    assert _http("https://weight.example.com/", ips["client/caller"])["status"] == 200
    assert _http("http://weight.example.com/", "203.0.113.7")["status"] == 200


CLOSED_CANARY = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: canary-closed, namespace: app}
spec:
  podSelector: {matchLabels: {app: canary}}
  policyTypes: [Ingress]
"""


def test_a_canary_closed_to_the_controller_is_not_among_the_pods_that_may_answer(tmp_path):
    """weight.example.com splits 30 % to the canary; a policy closes the canary's pod to the
    controller, so nginx never gets its answer there: a 200 comes from a stable pod only,
    and `podnet http` names the closed endpoint."""
    from podnet.predict import ingress as predict

    closed = tmp_path / "closed.yaml"
    closed.write_text(CLOSED_CANARY)
    for extra, canary_may_answer in (([], True), ([str(closed)], False)):
        analysis = Analysis(load([CANARY, *extra], nodes=2))
        (table,) = build_all(analysis.cluster, find_controllers(analysis.cluster))
        probes = {p.url: p for p in predict.http_probes(analysis, table, "10.0.0.254")}
        weight = probes["http://weight.example.com/"]
        assert weight.expected is not None and weight.expected.canary is not None
        pods = weight.allowed_pods(analysis)
        assert {p for p in pods if p.startswith("app/stable-")} and len(pods) == 2 + canary_may_answer
        assert any(p.startswith("app/canary-") for p in pods) is canary_may_answer
        assert bool(weight.expected.canary["unreachable"]) is not canary_may_answer
