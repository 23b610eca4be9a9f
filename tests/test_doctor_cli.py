"""``podnet doctor`` on the command line: the JSON contract, exit codes, SARIF that GitHub code
scanning accepts (checked field by field, and against the SARIF 2.1.0 schema when it is at
hand), and the lines it points at."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podnet.doctor import CATALOGUE
from podnet.model.lines import Lines
from tests.conftest import EXAMPLES, ROOT

OSLO = str(EXAMPLES / "oslo")
CLEAN = str(ROOT / "tests" / "manifests" / "doctor-clean")


def podnet(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          input=stdin, timeout=120, cwd=ROOT)


def test_json_contract_and_exit_code_on_oslo():
    r = podnet("doctor", "-f", "examples/oslo", "-o", "json")
    # errors: the extensions/v1beta1 Ingress, and the controller default-deny never admits
    assert r.returncode == 1, r.stderr
    assert "2 findings at or above error" in r.stderr
    data = json.loads(r.stdout)
    assert list(data) == ["findings", "summary"]
    assert data["summary"] == {"error": 2, "warning": 12, "info": 6}
    for f in data["findings"]:
        assert list(f) == ["check", "severity", "object", "file", "field", "message", "evidence",
                           "fix"]
        assert f["check"] in CATALOGUE and f["severity"] in ("info", "warning", "error")
        assert isinstance(f["evidence"], dict) and f["message"]


def test_exit_codes_follow_fail_on():
    assert podnet("doctor", "-f", CLEAN, "-o", "json").returncode == 0
    assert podnet("doctor", "-f", CLEAN, "-o", "json", "--fail-on", "warning").returncode == 0
    assert podnet("doctor", "-f", CLEAN, "-o", "json", "--fail-on", "info").returncode == 1
    r = podnet("doctor", "-f", OSLO, "-o", "json", "--skip", "removed-apiversion",
               "--skip", "ingress-controller-not-admitted")
    assert r.returncode == 0, r.stderr
    assert podnet("doctor", "-f", OSLO, "--fail-on", "fatal").returncode == 2
    r = podnet("doctor", "-f", OSLO, "--check", "no-such-check")
    assert r.returncode == 2 and "no doctor check named 'no-such-check'" in r.stderr
    r = podnet("doctor", "-f", "does/not/exist.yaml")
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_check_selects_and_table_prints_lines():
    r = podnet("doctor", "-f", OSLO, "--check", "namespace-without-default-deny")
    assert r.returncode == 0, r.stderr
    assert "examples/oslo/workloads.yaml:93 (metadata.namespace)" in r.stdout
    assert "removed-apiversion" not in r.stdout
    assert r.stdout.rstrip().endswith("0 errors, 3 warnings, 0 info")  # default, kube-system,
    # and ingress-nginx


def _sarif_checked(log: dict, checks: list[str] | None = None) -> list[dict]:
    """The fields SARIF 2.1.0 requires and GitHub code scanning reads."""
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "podnet" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == sorted(checks or CATALOGUE)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["help"]["text"]
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        (loc,) = res["locations"]
        phys = loc["physicalLocation"]
        assert not phys["artifactLocation"]["uri"].startswith("/")
        assert phys["region"]["startLine"] >= 1 and phys["region"]["startColumn"] >= 1
        assert res["partialFingerprints"]["podnetFinding/v1"]
    return run["results"]


def test_sarif_points_at_the_objects():
    r = podnet("doctor", "-f", "examples/oslo", "-o", "sarif", "--fail-on", "info")
    assert r.returncode == 1
    results = _sarif_checked(json.loads(r.stdout))
    assert len(results) == 20
    for res in results:
        phys = res["locations"][0]["physicalLocation"]
        lines = (ROOT / phys["artifactLocation"]["uri"]).read_text().splitlines()
        first = lines[phys["region"]["startLine"] - 1]
        # every object these results name starts at a document's first key
        assert first.startswith(("apiVersion:", "kind:")), (res["ruleId"], first)
    by_rule = {res["ruleId"]: res for res in results}
    ingress = by_rule["removed-apiversion"]["locations"][0]
    assert ingress["physicalLocation"]["artifactLocation"]["uri"] == "examples/oslo/ingress.yaml"
    assert ingress["physicalLocation"]["region"]["startLine"] == 1
    assert by_rule["removed-apiversion"]["level"] == "error"
    assert by_rule["mtu-below-optimal"]["level"] == "note"


def test_sarif_validates_against_the_schema_when_available():
    schema_path = os.environ.get("PODNET_SARIF_SCHEMA", "")
    jsonschema = pytest.importorskip("jsonschema")
    if not schema_path or not Path(schema_path).exists():
        pytest.skip("set PODNET_SARIF_SCHEMA to the SARIF 2.1.0 JSON schema to validate")
    r = podnet("doctor", "-f", OSLO, "-o", "sarif")
    schema = json.loads(Path(schema_path).read_text())
    jsonschema.validate(json.loads(r.stdout), schema, cls=jsonschema.Draft4Validator)


def test_sarif_lines_in_a_list_dump(tmp_path: Path):
    dump = tmp_path / "dump.yaml"
    dump.write_text("apiVersion: v1\nkind: List\nitems:\n"
                    "- apiVersion: v1\n  kind: Pod\n  metadata: {name: a, namespace: shop}\n"
                    "  spec: {containers: [{name: c}]}\n"
                    "- apiVersion: v1\n  kind: Service\n  metadata: {name: web, namespace: shop}\n"
                    "  spec: {type: NodePort, selector: {app: a}, ports: [{port: 80}]}\n")
    r = podnet("doctor", "-f", str(dump), "-o", "sarif", "--check", "nodeport-exposed",
               "--check", "selector-matches-nothing")
    checks = ["nodeport-exposed", "selector-matches-nothing"]
    results = _sarif_checked(json.loads(r.stdout), checks)
    assert {res["ruleId"] for res in results} == set(checks)
    for res in results:
        region = res["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"]) == (8, 3)


def test_lines_of_documents_and_items():
    text = ("# leading comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
            "data:\n  script: |\n    echo ---\n---\n---\nkind: List\napiVersion: v1\nitems:\n"
            "- kind: Pod\n  metadata: {name: p}\n")
    lines = Lines(text)
    assert lines.documents == [(3, 1), (10, 1), (11, 1)]
    assert lines.position(2, "Pod", "default", "p") == (14, 3)
    assert lines.position(0, "ConfigMap", "default", "a") == (3, 1)
    assert lines.position(7) == (1, 1)
    assert Lines("{not: [valid").documents == []
    # JSON dumps are one line: the column tells the items apart
    one_line = json.dumps({"kind": "List", "items": [{"kind": "Pod", "metadata": {"name": "a"}},
                                                     {"kind": "Pod", "metadata": {"name": "b"}}]})
    pos = Lines(one_line)
    assert pos.position(0, "Pod", "", "a")[0] == 1
    assert pos.position(0, "Pod", "", "a")[1] < pos.position(0, "Pod", "", "b")[1]


def test_list_prints_the_catalogue():
    r = podnet("doctor", "--list")
    assert r.returncode == 0
    assert [line.split()[0] for line in r.stdout.splitlines()] == sorted(CATALOGUE)
