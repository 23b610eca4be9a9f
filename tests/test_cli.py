"""The command line: contracts from DESIGN.md, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CONFORMANCE, EXAMPLES, ROOT, needs_corpus

OSLO = str(EXAMPLES / "oslo")


def podnet(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, input=stdin, timeout=120)


def test_reach_json_contract():
    r = podnet("reach", "-f", OSLO, "--ports", "8080/TCP,80/TCP", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == ["pods", "ports", "matrix"]
    assert data["pods"] == sorted(data["pods"])
    assert data["ports"] == ["80/TCP", "8080/TCP"]
    pods = data["pods"]
    m = data["matrix"]["8080/TCP"]
    fe, be, db = (pods.index(p) for p in ("production/frontend-0", "production/backend-0",
                                          "production/database-0"))
    assert m[fe][be] is True
    assert m[db][be] is False
    assert m[be][fe] is False  # default-deny on ingress
    assert all(m[i][i] for i in range(len(pods)))


def test_reach_golden_outputs(golden):
    for fmt in ("json", "csv", "dot", "connlist", "summary"):
        r = podnet("reach", "-f", OSLO, "--ports", "8080/TCP,80/TCP", "-o", fmt)
        assert r.returncode == 0, r.stderr
        golden(f"cli/oslo-reach.{fmt}", r.stdout)


def test_reach_from_to_filters():
    r = podnet("reach", "-f", OSLO, "--ports", "8080/TCP", "--from", "production/app=frontend",
               "--to", "production/backend-1", "-o", "json")
    data = json.loads(r.stdout)
    assert data["pods"] == ["production/frontend-0", "production/frontend-1"]
    assert data["destinations"] == ["production/backend-1"]
    assert data["matrix"]["8080/TCP"] == [[True], [True]]


def test_explain_names_policy_and_rule():
    r = podnet("explain", "-f", OSLO, "--from", "production/frontend-0", "--to",
               "production/backend-1", "--port", "8080/TCP", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["allowed"] is True
    pols = {p["policy"]: p for p in data["ingress"]["policies"]}
    assert pols["production/allow-frontend-to-backend"]["allowedBy"] == [
        "production/allow-frontend-to-backend ingress[0].from[0]"]
    assert pols["production/default-deny"]["allows"] is False
    assert data["egress"]["isolated"] is False


def test_explain_denied_table():
    r = podnet("explain", "-f", OSLO, "--from", "production/database-0", "--to",
               "production/backend-0", "--port", "8080/TCP")
    assert r.returncode == 0
    assert "DENIED" in r.stdout and "no policy allows this flow" in r.stdout


def test_analyze_reads_network_config_from_the_seeds():
    r = podnet("analyze", "-f", OSLO, "-o", "json")
    data = json.loads(r.stdout)
    assert data["network"]["proxyMode"] == "ipvs"
    assert data["network"]["podMTU"] == 1440
    assert data["network"]["cni"] == "bgp"
    assert data["isolatedForIngress"] == 6


def test_stdin_and_list_dump():
    text = Path(OSLO, "policies.yaml").read_text()
    dump = "apiVersion: v1\nkind: List\nitems:\n" + "".join(
        "- " + doc.strip().replace("\n", "\n  ") + "\n" for doc in text.split("---"))
    r = podnet("analyze", "-f", "-", "-o", "json", stdin=dump)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["networkPolicies"] == 2


BAD = [
    ("bad_netpols/subdir1", "spec.ingress[2].from[0].ipBlock.cidr"),
    ("bad_netpols/subdir2", "spec.podSelector.matchLabels.app@b"),
    ("bad_netpols/subdir3", "spec.ingress[0].from[0].ipBlock"),
    ("bad_netpols/subdir4", "spec.ingress[0].from[0]"),
    ("np_bad_path_test_2", "endPort"),
]


@needs_corpus
@pytest.mark.parametrize("case,field", BAD)
def test_bad_input_is_one_clear_message(case, field):
    path = CONFORMANCE / "tests" / case
    assert path.exists(), f"case {case} missing from the corpus at {CONFORMANCE}"
    r = podnet("reach", "-f", str(path), "-o", "json")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert field in r.stderr and str(path) in r.stderr
    assert r.stderr.count("\n") == 1


@needs_corpus
def test_an_object_defined_twice_is_the_last_one_read_with_a_warning():
    # netpol-analyzer refuses this input (NPWithSameNameError); the API server, fed it by
    # `kubectl apply -f DIR`, keeps the last: podnet reads it so and names both places.
    path = CONFORMANCE / "tests" / "np_bad_path_test_1"
    r = podnet("analyze", "-f", str(path), "-o", "json")
    assert r.returncode == 0, r.stderr
    warn = [ln for ln in r.stderr.splitlines() if "defined twice" in ln]
    assert len(warn) == 1 and "NetworkPolicy default/backend-netpol" in warn[0]
    assert warn[0].count(str(path / "netpols.yaml")) == 2
    assert json.loads(r.stdout)["networkPolicies"] == 1


def test_missing_file_and_bad_yaml(tmp_path):
    r = podnet("reach", "-f", str(tmp_path / "nope.yaml"))
    assert r.returncode == 2 and "no such file" in r.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: Pod\nmetadata: {name: [\n")
    r = podnet("analyze", "-f", str(bad))
    assert r.returncode == 2 and "invalid YAML at line" in r.stderr and "Traceback" not in r.stderr


def test_bad_port_argument():
    r = podnet("reach", "-f", OSLO, "--ports", "http")
    assert r.returncode == 2 and "NUMBER/PROTOCOL" in r.stderr


def test_analyze_reports_mtu_problem():
    ok = json.loads(podnet("analyze", "-f", OSLO, "-o", "json").stdout)["network"]["mtu"]
    assert ok["problem"] is None and ok["crossNodePathMTU"] == 1440
    bad = json.loads(podnet("analyze", "-f", OSLO, "--cni", "vxlan", "--underlay-mtu", "1450",
                            "-o", "json").stdout)["network"]["mtu"]
    assert bad["tunnelMTU"] == 1400 and "exceeds" in bad["problem"]


def test_analyze_says_cross_subnet_and_each_node_subnet():
    r = podnet("analyze", "-f", str(ROOT / "tests" / "manifests" / "cross-subnet"), "-o", "json")
    data = json.loads(r.stdout)
    assert data["network"]["crossSubnet"] is True
    assert [n["subnet"] for n in data["nodes"]] == ["10.0.0.0/24", "10.0.0.0/24", "10.0.1.0/24"]
    assert json.loads(podnet("analyze", "-f", OSLO, "-o", "json").stdout)["network"]["crossSubnet"] is False
