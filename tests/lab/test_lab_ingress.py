"""A real nginx in the controller's pod, real HTTP(S) requests from outside: every status the
analyzer predicts (podnet http) is what nginx answers, and the pod that answers is one the
prediction names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from podnet.ingress import nginx
from podnet.ingress.controllers import find_controllers
from podnet.ingress.routes import build_all
from podnet.lab import apply, ledger
from podnet.lab.plan import build_plan
from podnet.model import load
from tests.conftest import EXAMPLES, ROOT
from tests.lab.nginx_kit import nginx_t
from tests.lab.test_lab import podnet

SCENARIO = str(ROOT / "tests" / "manifests" / "lab-ingress")
CANARY = str(ROOT / "tests" / "manifests" / "lab-ingress-canary")


def up_and_probe(lab_name: str, *up_args: str) -> dict:  # type: ignore[type-arg]
    """``lab up`` with these arguments, then ``lab probe -o json``: its data, with no mismatch."""
    r = podnet("lab", "up", *up_args, "--name", lab_name)
    assert r.returncode == 0, r.stderr
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json")
    data: dict = json.loads(r.stdout)  # type: ignore[type-arg]
    assert data["mismatches"] == [] and r.returncode == 0, data["mismatches"]
    return data


def test_every_annotation_agrees_with_real_nginx(lab_name):
    data = up_and_probe(lab_name, "-f", SCENARIO, "--nodes", "2")
    web = data["http"]
    statuses = {int(w["observed"].split()[0]) for w in web if w["from"] == "external"}
    # 200s, every redirect, the client certificate, the allowlist, no rule, the body limit, no
    # endpoints, and the backend policy keeps the controller from
    assert statuses >= {200, 301, 302, 308, 400, 403, 404, 413, 503, 504}, statuses
    assert all(w["agrees"] for w in web) and len(web) >= 25
    # one request by hand: the pod saw the client certificate and the forwarded headers
    r = podnet("lab", "curl", "--name", lab_name, "https://secure.example.com/x",
               "--client-cert", "alice", "-o", "json")
    got = json.loads(r.stdout)
    assert got["status"] == got["predicted"]["status"] == 200, got
    assert got["pod"] in ("shop/web-0", "shop/web-1")
    seen = got["seen"]["headers"]
    assert seen["ssl-client-verify"] == "SUCCESS" and seen["ssl-client-subject-dn"] == "CN=alice"
    assert (seen["x-forwarded-proto"], seen["x-real-ip"]) == ("https", "10.0.0.254")
    r = podnet("lab", "curl", "--name", lab_name, "https://secure.example.com/x", "-o", "json")
    assert json.loads(r.stdout)["status"] == 400
    # from a pod, to the controller's ClusterIP: the pod's address is the one nginx sees, and
    # a client whose egress policy keeps it from the controller gets no answer, as predicted
    r = podnet("lab", "curl", "--name", lab_name, "https://shop.example.com/", "--from",
               "shop/api-0", "-o", "json")
    got = json.loads(r.stdout)
    assert got["from"] == "shop/api-0" and got["status"] == got["predicted"]["status"] == 200, got
    assert got["seen"]["headers"]["x-real-ip"] == pod_ip(lab_name, "shop/api-0")
    r = podnet("lab", "curl", "--name", lab_name, "https://shop.example.com/", "--from",
               "locked/client", "-o", "json")
    got = json.loads(r.stdout)
    assert got["status"] is None and got["predicted"]["status"] == 0, got
    assert "locked/client" in got["predicted"]["reason"]
    assert any(w["from"] == "locked/client" and not w["observed"][0].isdigit() for w in web)
    r = podnet("lab", "curl", "--name", lab_name, "https://shop.example.com/", "--from",
               "shop/nobody")
    assert r.returncode == 2 and "no pod of that NAMESPACE/NAME runs in lab" in r.stderr


def pod_ip(lab: str, key: str) -> str:
    return next(p["ip"] for p in ledger.Ledger(lab).read_state("pods.json") if p["key"] == key)


def test_oslo_front_door_with_and_without_the_fix(lab_name):
    oslo, fixes = str(EXAMPLES / "oslo"), str(EXAMPLES / "oslo-fixes")
    data = up_and_probe(lab_name, "-f", oslo, "-f", fixes, "--cni", "host-gw")
    by_url = {w["url"]: w for w in data["http"]}
    assert by_url["https://api.coolvds-demo.no/"]["observed"].startswith("200 from production/")
    assert by_url["http://api.coolvds-demo.no/"]["observed"] == "308 https://api.coolvds-demo.no"


def test_without_nginx_the_ingress_part_is_skipped_with_the_reason(lab_name, monkeypatch):
    which = shutil.which
    monkeypatch.setattr(apply.shutil, "which", lambda cmd: None if cmd == "nginx" else which(cmd))
    plan = build_plan(load([SCENARIO], nodes=2), lab_name, "host-gw")
    apply.up(plan, {"docs": [], "nodes": 2})
    why = ledger.Ledger(lab_name).read_state("ingress-skipped.json")["reason"]
    assert "nginx is not installed" in why


@pytest.mark.parametrize("scenario", [SCENARIO, CANARY])
def test_rendered_config_passes_nginx_t(tmp_path: Path, scenario: str):
    cluster = load([scenario], nodes=2)
    (table,) = build_all(cluster, find_controllers(cluster))
    r = nginx_t(tmp_path, nginx.render(table, nginx.lab_files(table)), nginx.cert_hosts(table),
                client_ca=True)
    assert r.returncode == 0, r.stderr


@pytest.fixture(autouse=True)
def _nginx_present():
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: make install brings Debian's nginx")


@pytest.mark.parametrize("pool", [False, True], ids=["nodeport", "metallb"])
def test_a_stand_in_controller_runs_when_the_input_declares_none(lab_name, pool):
    files = ["-f", str(ROOT / "tests" / "manifests" / "lab-ingress-standin")]
    if pool:
        files += ["-f", str(ROOT / "tests" / "manifests" / "lab-ingress-standin-pool")]
    r = podnet("lab", "up", *files, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    kind = "LoadBalancer" if pool else "NodePort"
    assert f"a stand-in, Deployment ingress-nginx/ingress-nginx-controller behind a {kind}" \
        in r.stderr
    data = json.loads(podnet("lab", "probe", "--name", lab_name, "-o", "json").stdout)
    assert data["mismatches"] == [] and not any("declares no controller" in s
                                                for s in data["skipped"]), data
    assert {w["controller"] for w in data["http"]} == {"ingress-nginx/ingress-nginx-controller"}
    web = {w["url"]: w for w in data["http"] if w["from"] == "external"}  # not the pods' probes
    # reached the way the Service says: the pool's first address on 80, or a node's NodePort
    to = web["http://cafe.example.com/tea"]["to"]
    assert to == "192.0.2.96:80" if pool else (to.startswith("10.0.0.") and int(
        to.rpartition(":")[2]) >= 30000), to
    assert web["http://cafe.example.com/tea"]["observed"].startswith("200 from cafe/tea-")
    assert web["http://cafe.example.com/coffee"]["observed"].startswith("200 from cafe/coffee-")
    assert web["http://cafe.example.com/coffee/sub"]["observed"].startswith("404")


def test_canaries_split_as_predicted_and_pods_call_the_controller(lab_name):
    data = up_and_probe(lab_name, "-f", CANARY, "--nodes", "2")
    web = data["http"]
    assert all(w["agrees"] for w in web)
    # the weights, counted: 400 requests each, the canary's count inside the exact binomial
    # interval (P(outside) <= 1e-6 for a faithful split); 30 % and 50 % intervals are disjoint
    splits = {w["url"]: w for w in web if w["why"].startswith("canary-weight")}
    assert set(splits) == {"http://weight.example.com/", "http://mixed.example.com/"}
    assert splits["http://weight.example.com/"]["predicted"].startswith("77..166 of 400 ")
    assert splits["http://mixed.example.com/"]["predicted"].startswith("151..249 of 400 ")
    # the header canary, exactly: its value routes to the canary's pod, any other does not
    by_why = {w["why"]: w for w in web if w["from"] == "external"}
    assert by_why["header.example.com/: canary-by-header X-Canary: on"]["observed"] == \
        "200 from app/canary-0"
    assert by_why["header.example.com/: canary-by-header X-Canary: podnet-other"][
        "observed"].startswith("200 from app/stable-")
    assert by_why["mixed.example.com/: canary-by-header X-Mix: never"][
        "observed"].startswith("200 from app/stable-")
    assert by_why["mixed.example.com/: canary-by-header X-Mix: always"]["observed"] == \
        "200 from app/canary-0"
    # in-cluster clients through the controller's ClusterIP: policy lets one and not the other
    client = [w for w in web if w["from"] == "client/caller"]
    blocked = [w for w in web if w["from"] == "blocked/caller"]
    assert len(client) == len(blocked) == 4
    assert all(w["observed"].startswith(("200 from app/", "404")) for w in client), client
    assert all(w["predicted"] == "no answer" and not w["observed"][:1].isdigit()
               for w in blocked), blocked
    assert {w["to"].rpartition(":")[0] for w in client} == {
        w["to"].rpartition(":")[0] for w in blocked} and client[0]["to"].startswith("10.96.")
