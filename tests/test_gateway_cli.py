"""``podnet gateway`` and ``podnet http`` through a Gateway on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from test_ingress_cli import KEYS, podnet

sys.path.insert(0, str(Path(__file__).parent))
from gateway_kit import BASE, route, rule  # noqa: E402

REFUSED = route("refused", rule("web-backend"), ns="gateway-conformance-web-backend",
                parents="[{name: same-namespace, namespace: gateway-conformance-infra}]")


def write(tmp_path: Path, text: str) -> str:
    f = tmp_path / "gw.yaml"
    f.write_text(text)
    return str(f)


def test_gateway_json_shows_attached_and_refused_routes(tmp_path):
    f = write(tmp_path, BASE + route("r1", rule("infra-backend-v1", "/x")) + REFUSED)
    r = podnet("gateway", "-f", f, "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    same = next(g for g in data["gateways"] if g["name"].endswith("/same-namespace"))
    assert same["listeners"][0]["routes"] == ["gateway-conformance-infra/r1"]
    refused = next(x for x in data["routes"] if x["name"].endswith("/refused"))
    (acc,) = refused["parents"][0]["conditions"]
    assert (acc["type"], acc["status"], acc["reason"]) == ("Accepted", "False",
                                                           "NotAllowedByListeners")
    table = podnet("gateway", "-f", f)
    assert "NotAllowedByListeners" in table.stdout


def test_http_goes_through_the_gateway_that_routes_the_host(tmp_path):
    f = write(tmp_path, BASE + route("r1", rule("infra-backend-v2", "/x"),
                                     hostnames=("shop.example.com",)))
    r = podnet("http", "-f", f, "http://shop.example.com/x/1", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == KEYS
    assert data["status"] == 200
    assert data["via"]["kind"] == "HTTPRoute" and data["via"]["name"].endswith("/r1")
    assert data["backend"]["service"] == "gateway-conformance-infra/infra-backend-v2"
    text = podnet("http", "-f", f, "http://shop.example.com/y")
    assert text.stdout.startswith("404 via Gateway"), text.stdout


def test_unknown_gateway_and_bad_input_are_one_line_errors(tmp_path):
    f = write(tmp_path, BASE)
    r = podnet("http", "-f", f, "http://a.example/", "--gateway", "x/y")
    assert r.returncode == 2 and "--gateway x/y" in r.stderr
    bad = write(tmp_path, BASE + route("r", "    - backendRefs: [{name: svc}]\n"))
    r = podnet("gateway", "-f", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "HTTPRoute gateway-conformance-infra/r" in r.stderr and "backendRefs[0].port" in r.stderr


def test_oslo_migrates_and_verify_names_what_gateway_api_cannot_express():
    from test_ingress_cli import OSLO
    r = podnet("ingress", "migrate", "-f", OSLO, "--verify", "-o", "json")
    assert r.returncode == 1, r.stderr  # some requests differ
    data = json.loads(r.stdout)
    kinds = sorted({o["kind"] for o in data["objects"]})
    assert kinds == ["Gateway", "HTTPRoute", "ReferenceGrant"]
    fates = {f["annotation"]: f["status"] for f in data["annotations"]}
    assert fates["nginx.ingress.kubernetes.io/proxy-body-size"] == "not-expressible"
    assert fates["ingress.kubernetes.io/ssl-redirect"] == "ignored"  # the seeds' wrong prefix
    v = data["verify"]
    assert v["requests"] == v["identical"] + v["differ"] and v["differ"] > 0
    causes = " ".join(c["cause"] for c in v["causes"])
    assert "auth-tls-secret" in causes and "HTTPS listener is not programmed" in causes
    text = podnet("ingress", "migrate", "-f", OSLO, "--verify")
    assert text.returncode == 1
    assert f"{v['requests']} requests: {v['identical']} identical, {v['differ']} differ" in \
        text.stderr
    assert text.stdout.startswith("# ") and "kind: Gateway" in text.stdout
