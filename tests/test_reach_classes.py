"""``reach -o json-classes`` says exactly what ``reach -o json`` says, and ``-o json``, now
streamed in row blocks, is still byte for byte the ``json.dumps`` of the pod matrix."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from podnet.cli import reach_out
from podnet.cli.app import main

ROOT = Path(__file__).resolve().parent.parent
INPUTS = sorted(str(p) for p in (ROOT / "tests" / "manifests").iterdir() if p.is_dir())
INPUTS.append(str(ROOT / "examples" / "oslo"))
REFUSED: set[str] = set()  # inputs the model refuses (exit 2): none since an object defined
# twice is the last one read, with a warning


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(["reach", *args])
    return int(done.value.code or 0), capsys.readouterr().out


def pairs_of_matrix(data: dict[str, object]) -> set[tuple[str, str, str]]:
    pods = data["pods"]
    dsts = data.get("destinations", pods)
    assert isinstance(pods, list) and isinstance(dsts, list)
    matrix = data["matrix"]
    assert isinstance(matrix, dict)
    return {(port, pods[i], dsts[j]) for port, m in matrix.items()
            for i, row in enumerate(m) for j, ok in enumerate(row) if ok}


def pairs_of_classes(data: dict[str, object]) -> set[tuple[str, str, str]]:
    """Expand by the rule the format documents: class pairs, plus each pod to itself."""
    pods = data["pods"]
    dsts = data.get("destinations", pods)
    classes = data["classes"]
    dst_classes = data.get("destinationClasses", classes)
    allowed = data["allowed"]
    assert isinstance(pods, list) and isinstance(dsts, list) and isinstance(allowed, dict)
    assert isinstance(classes, list) and isinstance(dst_classes, list)
    # every selected pod is in exactly one class
    assert sorted(i for c in classes for i in c) == list(range(len(pods)))
    assert sorted(j for c in dst_classes for j in c) == list(range(len(dsts)))
    out = set()
    for port, per_src in allowed.items():
        assert len(per_src) == len(classes)
        for a, targets in enumerate(per_src):
            for b in targets:
                out |= {(port, pods[i], dsts[j]) for i in classes[a] for j in dst_classes[b]}
        out |= {(port, p, p) for p in set(pods) & set(dsts)}
    return out


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: Path(p).name)
@pytest.mark.parametrize("select", [(), ("--from", "production/", "--to", "app=backend")],
                         ids=["all", "from-to"])
def test_classes_expand_to_the_matrix(capsys, path, select):
    code, full = run(capsys, "-f", path, "-o", "json", *select)
    code_c, compact = run(capsys, "-f", path, "-o", "json-classes", *select)
    assert code == code_c
    if not select:
        assert (code != 0) == (Path(path).name in REFUSED)
    elif Path(path).name == "oslo":  # the selectors name oslo's namespaces: elsewhere exit 2
        assert code == 0
    if code != 0:  # refused alike, on stderr
        return
    m, c = json.loads(full), json.loads(compact)
    assert c["pods"] == m["pods"] and c["ports"] == m["ports"]
    assert c.get("destinations") == m.get("destinations")
    assert pairs_of_classes(c) == pairs_of_matrix(m)


def test_the_oslo_classes_are_fewer_than_its_pods(capsys):
    _, compact = run(capsys, "-f", str(ROOT / "examples" / "oslo"), "-o", "json-classes")
    c = json.loads(compact)
    assert 1 < len(c["classes"]) < len(c["pods"])
    assert any(len(cl) > 1 for cl in c["classes"])
    # something is denied, or the test above would pass with everything allowed
    assert any(len(t) < len(c["classes"]) for per in c["allowed"].values() for t in per)


def test_json_streamed_in_small_blocks_is_the_dumps_of_the_matrix(capsys, monkeypatch):
    from podnet.analysis import Analysis
    from podnet.model import load
    from podnet.policy import class_matrix, pod_matrix
    from podnet.policy.query import parse_ports

    oslo = str(ROOT / "examples" / "oslo")
    monkeypatch.setattr(reach_out, "ROW_BLOCK", 3)  # several blocks, a short last one
    monkeypatch.setattr("podnet.cli.output.CHUNK", 100)  # many writes
    _, streamed = run(capsys, "-f", oslo, "-o", "json")
    cluster = load([oslo])
    ports = parse_ports(None, cluster)
    cm = class_matrix(cluster, Analysis(cluster).compiled, ports)
    every = np.arange(len(cluster.pods), dtype=np.int64)
    names = [p.key for p in cluster.pods]
    mats = {f"{p}/{proto}": pod_matrix(cm, (p, proto), every, every) for p, proto in ports}
    expected = {"pods": names, "ports": list(mats),
                "matrix": {k: m.tolist() for k, m in mats.items()}}
    assert len(cluster.pods) > 3 * 2
    assert streamed == json.dumps(expected, indent=None, separators=(",", ": ")) + "\n"
