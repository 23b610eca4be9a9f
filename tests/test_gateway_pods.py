"""The Gateway API data plane as pods (issue 14): one nginx pod per Gateway with NGINX Gateway
Fabric's labels, addressed from a node's podCIDR and fronted by a LoadBalancer Service;
NetworkPolicy judged on its hop to the backends (`podnet http`, `migrate --verify`), as for an
ingress controller's pods."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from podnet.cli.app import app
from podnet.model.gateways import GATEWAY_NAME_LABEL

ROOT = Path(__file__).resolve().parent.parent
GW = str(ROOT / "tests" / "manifests" / "lab-gateway")
OSLO = str(ROOT / "examples" / "oslo")
SHOP = str(ROOT / "tests" / "manifests" / "lab-migrate")

DENY_WEB = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: nobody, namespace: web}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: none}}}]}]
"""

ADMIT_CONTROLLER = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: from-ingress-controller, namespace: {ns}}}
spec:
  podSelector: {{}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ingress-nginx}}}}
      podSelector: {{matchLabels: {{app.kubernetes.io/name: ingress-nginx}}}}
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def _gateway_probes(tmp_path, extra: str, judged: bool = True) -> dict:  # type: ignore[type-arg]
    """infra/gw's lab probes by URL on lab-gateway plus ``extra``, with the Gateway pod's hops
    judged by NetworkPolicy (or not)."""
    from podnet.analysis import Analysis
    from podnet.gateway.attach import build
    from podnet.model import load
    from podnet.predict import gateway as predict

    more = tmp_path / "extra.yaml"
    more.write_text(extra)
    a = Analysis(load([GW, str(more)], nodes=2))
    cfg = build(a.cluster)
    entry = predict.entries(a, cfg)["infra/gw"]
    reach = predict.reachability(a, "infra/gw") if judged else None
    return {p.url: p for p in predict.probes(cfg, "infra/gw", entry, "10.0.0.254", reach)}


def test_each_gateway_gets_a_labelled_pod_and_a_loadbalancer_service():
    r = run("reach", "-f", GW, "-o", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert "infra/gw-nginx-0" in data["pods"]
    # its listeners' ports are container ports, so reach asks about them
    assert {"80/TCP", "443/TCP", "8080/TCP"} <= set(data["ports"])
    r = run("services", "-f", GW)
    assert "infra/gw-nginx:port-80" in r.stdout and "LoadBalancer" in r.stdout


def test_gateway_pod_is_judged_by_networkpolicy_in_explain_and_http(tmp_path):
    deny = tmp_path / "deny.yaml"
    deny.write_text(DENY_WEB)
    r = run("explain", "-f", GW, "-f", str(deny), "--from", "infra/gw-nginx-0",
            "--to", "web/web-0", "--port", "8080/TCP")
    assert "DENIED" in r.stdout and "web/nobody" in r.stdout
    ok = json.loads(run("http", "-f", GW, "http://www.example.com/", "-o", "json").stdout)
    assert ok["status"] == 200
    r = run("http", "-f", GW, "-f", str(deny), "http://www.example.com/", "-o", "json")
    o = json.loads(r.stdout)
    # nginx waits out its connect timeout on every endpoint, then answers 504, as the
    # ingress path predicts for its controller's pod
    assert o["status"] == 504 and "NetworkPolicy" in o["reason"], o


def test_migrate_names_the_policy_that_admits_only_the_controller(tmp_path):
    admit = tmp_path / "admit.yaml"
    admit.write_text(ADMIT_CONTROLLER.format(ns="production"))
    r = run("ingress", "migrate", "-f", OSLO, "-f", str(admit), "-o", "json")
    actions = json.loads(r.stdout)["actions"]
    assert actions and all("production/from-ingress-controller" in a for a in actions)
    assert f"{GATEWAY_NAME_LABEL}: ingress-nginx-controller" in actions[0]
    # oslo as shipped admits neither front: no change to name
    assert json.loads(run("ingress", "migrate", "-f", OSLO, "-o", "json").stdout)["actions"] == []


def test_verify_groups_the_policy_difference_under_its_own_cause(tmp_path):
    admit = tmp_path / "admit.yaml"
    admit.write_text(ADMIT_CONTROLLER.format(ns="shop"))
    same = json.loads(run("ingress", "migrate", "-f", SHOP, "--verify", "-o", "json").stdout)
    assert same["verify"]["differ"] == 0
    r = run("ingress", "migrate", "-f", SHOP, "-f", str(admit), "--verify", "-o", "json")
    assert r.exit_code == 1
    v = json.loads(r.stdout)["verify"]
    want = ("NetworkPolicy: shop/from-ingress-controller admits the ingress controller's pods "
            "but not Gateway ingress-nginx/ingress-nginx-controller's")
    assert [c["cause"] for c in v["causes"]] == [want]
    assert all(d["ingress"]["status"] == 200 and d["gateway"]["status"] == 504
               for d in v["differences"])


def test_several_denied_endpoints_may_be_marked_down(tmp_path):
    """NGINX Gateway Fabric's upstreams keep nginx's max_fails=1 (nginx's docs,
    ngx_http_upstream_module "server ... max_fails"): after every endpoint timed out, a request
    within fail_timeout gets 502 at once; the lab accepts either, nothing else."""
    from podnet.predict import gateway as predict

    probes = _gateway_probes(tmp_path, DENY_WEB)
    web = probes["http://probe.example.com:80/"]  # two endpoints, both denied
    assert web.expected.status == 504 and len(web.expected.unreachable) == 2
    assert predict.agrees(web, 504, None, None, None) and predict.agrees(web, 502, None, None, None)
    assert not predict.agrees(web, 500, None, None, None)
    vault = probes["http://vault.example.com:80/"]  # a lone server is never marked down
    assert vault.expected.status == 504
    assert not predict.agrees(vault, 502, None, None, None)


EXTRA_WEB = """apiVersion: v1
kind: Pod
metadata: {name: web-extra, namespace: web, labels: {app: web, tier: extra}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: no-extra, namespace: web}
spec:
  podSelector: {matchLabels: {tier: extra}}
  policyTypes: [Ingress]
"""


def test_a_denied_endpoint_is_not_among_the_pods_that_may_answer(tmp_path):
    """One of the web Service's three endpoints is closed to the Gateway's pod: nginx moves on
    after its connect timeout, so a 200 comes from web-0 or web-1, never from web-extra."""
    from podnet.predict import gateway as predict

    probes = _gateway_probes(tmp_path, EXTRA_WEB)
    web = probes["http://probe.example.com:80/"]
    assert web.expected.status == 200 and len(web.expected.unreachable) == 1
    assert web.pods == {"web/web-0", "web/web-1"}
    assert predict.agrees(web, 200, None, "web/web-0", None)
    assert not predict.agrees(web, 200, None, "web/web-extra", None)
    # without the policy's judgement every endpoint may answer
    plain = _gateway_probes(tmp_path, EXTRA_WEB, judged=False)
    assert plain["http://probe.example.com:80/"].pods == {"web/web-0", "web/web-1", "web/web-extra"}
