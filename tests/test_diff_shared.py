"""``podnet diff`` of two files goes through ``incremental.files_diff``: one class space for
both versions when their pods and namespaces read alike (each from its own file, so every
object's source differs), the affected rows and columns only otherwise, and the whole tables
(``conntable``) when too much changed. Each way must print what the independent path (both
versions tabled on their own and compared) prints, on bench/gen.py's cluster with edits of
every kind a pull request makes."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from podnet.conformance.cases import invoke
from podnet.model import build, read_paths
from podnet.policy import compile_cluster, incremental
from podnet.policy.connlist import representatives
from podnet.policy.conntable import changed_sides, conn_table
from podnet.policy.diff import diff
from podnet.policy.diff_formats import render
from podnet.policy.incremental import files_diff, version

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import gen  # noqa: E402

Items = list[dict[str, Any]]


def _allow(items: Items, ns: str, with_egress: bool) -> dict[str, Any]:
    return next(i for i in items if i["kind"] == "NetworkPolicy"
                and i["metadata"]["namespace"] == ns and i["metadata"]["name"] != "default-deny"
                and ("egress" in i["spec"]) == with_egress)


def _ingress(items: Items) -> None:
    _allow(items, "ns-00002", False)["spec"]["ingress"] = [
        {"from": [{"podSelector": {}}], "ports": [{"port": 8443}]}]


def _egress(items: Items) -> None:
    # gen's egress policies allow DNS and 8080 to every namespace: ns-00003's cache pods may
    # now reach its worker's http port (8081) and an external range instead
    spec = _allow(items, "ns-00003", True)["spec"]
    spec["egress"] = [{"to": [{"podSelector": {}}], "ports": [{"port": 8081}]},
                      {"to": [{"ipBlock": {"cidr": "203.0.113.0/24"}}], "ports": [{"port": 443}]}]


def _new_pod(items: Items) -> None:
    items.append({"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": "debug", "namespace": "ns-00001",
                               "labels": {"app": "web", "tier": "t0"}},
                  "spec": {"containers": [{"name": "c", "ports": [
                      {"name": "http", "containerPort": 8080}]}]}})


def _removed_namespace(items: Items) -> None:
    items[:] = [i for i in items if "ns-00004" not in (i.get("metadata", {}).get("name"),
                                                        i.get("metadata", {}).get("namespace"))]


def _pod_labels(items: Items) -> None:
    # a second app of ns-00005 joins the first's tier, which other namespaces admit
    d = [i for i in items if i["kind"] == "Deployment" and i["metadata"]["namespace"] == "ns-00005"]
    assert d[1]["spec"]["template"]["metadata"]["labels"]["tier"] == "t1"
    d[1]["spec"]["template"]["metadata"]["labels"]["tier"] = "t0"


def _namespace_labels(items: Items) -> None:
    ns = next(i for i in items if i["kind"] == "Namespace" and i["metadata"]["name"] == "ns-00006")
    ns["metadata"]["labels"]["team"] = "team-0"


EDITS = {"ingress": [_ingress], "egress": [_egress], "new pod": [_new_pod],
         "removed namespace": [_removed_namespace], "pod labels": [_pod_labels],
         "namespace labels": [_namespace_labels],
         "policies and pods": [_ingress, _egress, _new_pod, _pod_labels]}
# the edits after which both versions share one class space
SHARED = {"ingress", "egress"}


@pytest.fixture(scope="module")
def before(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    data = gen.cluster(480, 8, 24)
    path = tmp_path_factory.mktemp("old") / "a.json"
    path.write_text(json.dumps(data))
    return data, path


def _model(path: Path):
    cluster = build(read_paths([str(path)]))
    return cluster, compile_cluster(cluster, ipblock_matches_pods=False)


def _independent(old, new, fmt: str) -> str:
    """Both versions tabled on their own and compared (``podnet diff`` before sharing)."""
    sides = changed_sides(conn_table(*old), frozenset(representatives(old[0])),
                          conn_table(*new), frozenset(representatives(new[0])))
    return render(diff(*sides), fmt)


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_files_diff_equals_the_independent_path(before, tmp_path, edit):
    data, a = before
    changed = copy.deepcopy(data)
    for step in EDITS[edit]:
        step(changed["items"])
    b = tmp_path / "b.json"
    b.write_text(json.dumps(changed))
    old, new = _model(a), _model(b)
    v1 = version(*old)
    assert (version(*new, v1).space is v1.space) == (edit in SHARED)
    for fmt in ("txt", "csv", "md"):
        expected = _independent(old, new, fmt)
        assert "diff-type" in expected or fmt != "txt"  # the edit changes something
        got = files_diff(old, new)
        assert got is not None
        assert render(got, fmt) == expected
    # too much changed for rows and columns: the caller falls back to the whole tables
    with patch.object(incremental, "MAX_CELLS", 0):
        assert files_diff(old, new) is None
        code, out, _ = invoke(("diff", "-f", str(b), "--against", str(a)))
    assert code == 0 and out == _independent(old, new, "txt")
    code, out, _ = invoke(("diff", "-f", str(b), "--against", str(a)))
    assert code == 0 and out == _independent(old, new, "txt")


def test_same_pods_ignores_the_file_only(before, tmp_path):
    data, a = before
    b = tmp_path / "copy.json"
    b.write_text(json.dumps(data))
    one, two = _model(a)[0], _model(b)[0]
    assert one.pods[0].source != two.pods[0].source
    assert incremental.same_pods(one, two)
    moved = copy.deepcopy(data)
    _pod_labels(moved["items"])
    b.write_text(json.dumps(moved))
    assert not incremental.same_pods(one, _model(b)[0])
