"""The admin tiers enforced for real (issue #16): tests/manifests/lab-admin's AdminNetworkPolicies
(Allow, Deny, Pass at two priorities), BaselineAdminNetworkPolicy, NetworkPolicy and v1alpha2
ClusterNetworkPolicy, loaded as each node's nft ruleset and probed pod to pod on every declared
port; the analyzer's prediction must match every observation."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import ROOT
from tests.lab.test_lab import podnet

ADMIN = str(ROOT / "tests" / "manifests" / "lab-admin")


def test_admin_tier_policies_probe_agrees_with_the_analyzer(lab_name):
    r = podnet("lab", "up", "-f", ADMIN, "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    ruleset = subprocess.run(["ip", "netns", "exec", f"pn-{lab_name}_n_node-1", "nft", "list",
                              "table", "inet", "podnet-policy"], capture_output=True, text=True,
                             check=True).stdout
    assert "goto" in ruleset and "-np" in ruleset  # the admin tier's chains are loaded
    r = podnet("lab", "probe", "--name", lab_name, "-o", "json", "--timeout", "0.5")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["mismatches"] == [], data["mismatches"]
    assert data["ports"] == ["80/TCP", "8080/TCP", "53/UDP"]
    pods = data["pods"]

    def seen(src: str, dst: str, port: str) -> bool:
        return bool(data["matrix"][port][pods.index(src)][pods.index(dst)])

    # observed, not only predicted: each tier decided something
    assert seen("ops/tool-0", "back/api-1", "80/TCP")         # ANP Allow over back's NetworkPolicy
    assert not seen("ops/tool-0", "back/api-1", "8080/TCP")   # ANP Deny
    assert seen("front/web-0", "back/api-1", "80/TCP")        # ANP Pass, then the NetworkPolicy
    assert not seen("front/web-0", "back/api-1", "8080/TCP")  # ... which isolates back
    assert not seen("front/web-0", "ops/tool-1", "80/TCP")    # ClusterNetworkPolicy Deny
    assert seen("back/api-0", "ops/tool-1", "80/TCP")         # ClusterNetworkPolicy Accept
    assert not seen("ops/tool-0", "ops/tool-1", "8080/TCP")   # BaselineAdminNetworkPolicy Deny
    assert seen("front/web-0", "front/web-1", "53/UDP")       # BaselineAdminNetworkPolicy Allow
    assert seen("ops/tool-0", "front/web-1", "80/TCP")        # nothing decides: allowed
    denied = sum(not v for m in data["matrix"].values() for row in m for v in row)
    assert denied > 40
