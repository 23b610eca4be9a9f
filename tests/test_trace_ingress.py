"""trace through the front door: outside -> the controller's address -> its pod -> nginx's
decision -> the controller's own connection to the backend, policy judged on that hop."""

from __future__ import annotations

import json

from tests.conftest import EXAMPLES
from tests.test_cli import podnet

OSLO, FIXES = str(EXAMPLES / "oslo"), str(EXAMPLES / "oslo-fixes")


def trace(*files: str, url: str) -> dict:  # type: ignore[type-arg]
    args = [a for f in files for a in ("-f", f)]
    r = podnet("trace", *args, "--from", "192.0.2.10", "--to", url, "-o", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_seeds_front_door_drops_at_the_backends_ingress_policy():
    data = trace(OSLO, url="https://api.coolvds-demo.no/")
    assert data["verdict"] == "dropped" and "production/backend" in data["dropped_by"]
    actions = [h["action"] for h in data["hops"]]
    # MetalLB's leader, kube-proxy, the controller's pod, then nginx's decision
    assert any("answers ARP for 192.168.1.240" in a for a in actions)
    nginx = next(h for h in data["hops"] if h["device"] == "nginx")
    assert "answers 504" in nginx["action"]
    assert data["hops"].index(nginx) < len(data["hops"]) - 1  # the controller's own hop follows


def test_with_the_fix_the_request_reaches_a_backend_pod():
    data = trace(OSLO, FIXES, url="https://api.coolvds-demo.no/")
    assert data["verdict"] == "delivered"
    assert data["hops"][-1]["at"].startswith("pod production/backend-")


def test_a_redirect_ends_at_nginx():
    data = trace(OSLO, url="http://api.coolvds-demo.no/x")
    assert data["verdict"] == "delivered" and data["hops"][-1]["device"] == "nginx"
    assert "308" in data["hops"][-1]["action"] and "https://api.coolvds-demo.no/x" in \
        data["hops"][-1]["action"]
