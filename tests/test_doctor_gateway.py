"""doctor's Gateway API checks: each trips on a manifest a controller would refuse, and stays
quiet on a clean one."""

from __future__ import annotations

import pytest
from gateway_kit import BASE, gateway, listener, route, rule
from helpers import cluster_of

from podnet.doctor import diagnose

CHECKS = ("gateway-route-refused", "gateway-backend-unresolved", "gateway-listener-not-programmed")


def findings(*docs: str):
    return diagnose(cluster_of(BASE + "".join(docs)), only=CHECKS)


def test_clean_gateway_has_no_findings():
    assert findings(route("ok", rule("infra-backend-v1", "/x"))) == []


@pytest.mark.parametrize(("doc", "check", "field"), [
    (route("r", rule("web-backend"), ns="gateway-conformance-web-backend",
           parents="[{name: same-namespace, namespace: gateway-conformance-infra}]"),
     "gateway-route-refused", "spec.parentRefs[0]"),
    (route("r", rule("no-such-service")), "gateway-backend-unresolved",
     "spec.rules[0].backendRefs[0]"),
    (gateway("dup", listener("a", hostname="x.example.com") + listener("b", hostname="x.example.com")),
     "gateway-listener-not-programmed", "spec.listeners[0]")])
def test_each_check_trips(doc, check, field):
    got = findings(doc)
    assert got and {f.check for f in got} == {check}
    assert got[0].field == field and got[0].severity == "error"
    assert got[0].file == "test.yaml"
