"""The migrated Gateway in the lab (issue 14): `lab up --migrated-gateway` serves what
`podnet ingress migrate` writes with a second real nginx beside the ingress controller, and
`lab probe` sends `migrate --verify`'s corpus to both fronts. Each front answers as predicted,
and the differences observed between the fronts are the ones verify predicts: on
examples/oslo (auth-tls-secret and the unprogrammed HTTPS listener) and on a set verify calls
identical."""

from __future__ import annotations

import json

import pytest

from podnet import names
from tests.conftest import ROOT
from tests.lab.conftest import netns_names
from tests.lab.test_lab import podnet

OSLO = str(ROOT / "examples" / "oslo")
SAME = str(ROOT / "tests" / "manifests" / "lab-migrate")


def _verify(path: str) -> dict:
    r = podnet("ingress", "migrate", "-f", path, "--verify", "-o", "json")
    return json.loads(r.stdout)["verify"]


@pytest.mark.parametrize("scenario", [OSLO, SAME], ids=["oslo", "zero-difference"])
def test_both_fronts_answer_as_predicted_and_differ_as_verify_says(lab_name, scenario):
    want = _verify(scenario)
    r = podnet("lab", "up", "-f", scenario, "--name", lab_name, "--cni", "host-gw",
               "--migrated-gateway")
    assert r.returncode == 0, r.stderr
    # the migrated Gateway's nginx runs in its data-plane pod beside the controller's
    netns = names.pod_netns(lab_name, "ingress-nginx", "ingress-nginx-controller-nginx-0")
    assert netns in netns_names()
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json")
    data = json.loads(r.stdout)
    fronts = data["migration"]
    s = fronts["summary"]
    rows = fronts["requests"]
    assert s["requests"] == want["requests"] == len(rows) > 0
    bad = [x for x in rows if not (x["ingress"]["agrees"] and x["gateway"]["agrees"]
                                   and x["agrees"])]
    assert bad == [], [(x["request"], x["ingress"], x["gateway"], x["agrees"]) for x in bad]
    assert (s["ingress_mismatches"], s["gateway_mismatches"], s["disagreements"]) == (0, 0, 0)
    assert s["predicted_differ"] == s["observed_differ"] == want["differ"]
    if scenario == OSLO:
        assert want["differ"] > 0
        # ingress-nginx refuses the cross-namespace CA with 403; the migrated Gateway's pod
        # takes the request, but oslo's default-deny keeps it from upload-service: nginx
        # times out (504), or refuses the body first (413)
        forbidden = [x for x in rows if x["ingress"]["observed"] == "403"]
        assert forbidden and all(x["gateway"]["observed"].startswith(("504", "413"))
                                 for x in forbidden), forbidden
        assert any(x["gateway"]["observed"] == "504" for x in forbidden)
        # no certificate for the HTTPS listener: nothing listens on 443 of the Gateway
        assert any(x["gateway"]["predicted"] == "no answer" for x in rows)
    else:
        assert want["differ"] == 0 and {x["ingress"]["observed"].split()[0] for x in rows} \
            >= {"200", "301", "404"}
    assert data["mismatches"] == [] and r.returncode == 0, data["mismatches"]
    r = podnet("lab", "down", "--name", lab_name)
    assert r.returncode == 0, r.stderr
    assert not any(n.startswith(f"pn-{lab_name}_") for n in netns_names())
