"""``podnet watch``: the incremental diff equals ``podnet diff`` of the two file sets, and the
live model survives bad edits, added and removed files, and edits that are not policies."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from podnet.errors import InputError
from podnet.model import build, read_texts
from podnet.policy import compile_cluster, grants
from podnet.policy.diff import diff, side
from podnet.policy.diff_formats import render
from podnet.policy.incremental import Version, incremental_diff, version
from podnet.policy.live import LiveModel
from tests.test_connlist_property import anp, banp, podspec, policy
from tests.test_connlist_property import manifest as cluster_manifest


def _full(text: str, ipb: bool) -> tuple[object, object]:
    cluster = build(read_texts([("gen.json", text)]), nodes=2)
    return cluster, compile_cluster(cluster, ipblock_matches_pods=ipb)


def _expected(before: str, after: str, ipb: bool, fmt: str = "txt") -> str:
    c1, k1 = _full(before, ipb)
    c2, k2 = _full(after, ipb)
    return render(diff(side(c1, k1), side(c2, k2)), fmt)  # type: ignore[arg-type]


def _incremental(before: str, after: str, ipb: bool, fmt: str = "txt") -> str:
    c1, k1 = _full(before, ipb)
    c2, k2 = _full(after, ipb)
    v1 = version(c1, k1)  # type: ignore[arg-type]
    v2 = version(c2, k2, v1)  # type: ignore[arg-type]
    return render(incremental_diff(v1, v2), fmt)


def _shared(cluster: object, previous: Version) -> object:
    """The cluster with the previous version's pod objects when they are equal, as
    ``LiveModel`` keeps them across a policy edit: the class space is then shared."""
    c = cluster
    if c.pods == previous.cluster.pods:  # type: ignore[attr-defined]
        c = replace(c, pods=previous.cluster.pods)  # type: ignore[type-var]
    return c


edit = st.tuples(st.lists(podspec, min_size=1, max_size=7), st.lists(policy, max_size=4),
                 st.lists(policy, max_size=4), st.lists(anp, max_size=2), banp, st.booleans(),
                 st.integers(0, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edit, st.lists(podspec, min_size=1, max_size=7), st.sampled_from(["txt", "csv", "md"]))
def test_incremental_diff_equals_podnet_diff(e, other_pods, fmt):
    """Random edits of the policies (and, one time in four, of the pods or the admin tiers):
    what the incremental diff prints is what ``podnet diff`` prints for the two versions."""
    pods, before_pols, after_pols, anps, banp_spec, ipb, mode = e
    before = cluster_manifest(pods, before_pols)
    if mode == 0:
        after = cluster_manifest(other_pods, after_pols)
    elif mode == 1:
        after = cluster_manifest(pods, before_pols, anps, banp_spec)
    else:
        after = cluster_manifest(pods, after_pols)
    assert _incremental(before, after, ipb, fmt) == _expected(before, after, ipb, fmt)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(podspec, min_size=1, max_size=7),
       st.lists(st.lists(policy, max_size=4), min_size=2, max_size=4), st.booleans(),
       st.sampled_from(["txt", "csv", "md"]), st.sampled_from([0, 2, 64]))
def test_chained_policy_edits_equal_podnet_diff(pods, versions, ipb, fmt, wide):
    """Policies edited several times over the same pods, as ``podnet watch`` sees them: the
    class space and the compiled targets are shared and handed from version to version
    (the policy-edit path), and each step prints what ``podnet diff`` prints. ``wide``: the
    peer count from which a group is tested by numpy instead of filed per class (the
    random clusters have a few classes: both ways are taken)."""
    with patch.object(grants, "WIDE", wide):
        _chain([cluster_manifest(pods, pols) for pols in versions], ipb, fmt)


def _chain(texts: list[str], ipb: bool, fmt: str) -> None:
    c, k = _full(texts[0], ipb)
    v = version(c, k)  # type: ignore[arg-type]
    for before, after in zip(texts, texts[1:], strict=False):
        c, k = _full(after, ipb)
        nv = version(_shared(c, v), k, v)  # type: ignore[arg-type]
        # shared unless ipBlocks that select pods changed, which classify the pods anew
        assert nv.space is v.space or ipb
        got = render(incremental_diff(v, nv), fmt)
        # the shared targets went on to the new version
        assert (nv.grants is not None) == (nv.space is v.space)
        assert got == _expected(before, after, ipb, fmt)
        v = nv


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(podspec, min_size=1, max_size=7), st.lists(policy, max_size=4),
       st.lists(policy, max_size=4), st.booleans())
def test_policy_edit_path_equals_the_general_path(pods, one, two, ipb):
    """The policy-edit path (shared class space) and the general one (rebuilt) agree on
    the same two versions, unchanged pairs left out by both."""
    before, after = cluster_manifest(pods, one), cluster_manifest(pods, two)
    c1, k1 = _full(before, ipb)
    c2, k2 = _full(after, ipb)
    v1 = version(c1, k1)  # type: ignore[arg-type]
    fast = render(incremental_diff(v1, version(_shared(c2, v1), k2, v1)), "txt")  # type: ignore[arg-type]
    general = render(incremental_diff(version(c1, k1), version(c2, k2)), "txt")  # type: ignore[arg-type]
    assert fast == general


def _pod(name: str, ns: str, app: str) -> str:
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: "
            f"{{app: {app}}}}}\nspec: {{containers: [{{name: c, ports: [{{containerPort: 80}}]}}]}}\n")


def _allow(name: str, ns: str, app: str, port: int) -> str:
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: {name}, "
            f"namespace: {ns}}}\nspec:\n  podSelector: {{matchLabels: {{app: {app}}}}}\n"
            f"  ingress: [{{ports: [{{port: {port}}}]}}]\n")


def _tree(tmp: Path) -> Path:
    (tmp / "pods.yaml").write_text("---\n".join(
        [_pod("a", "x", "web"), _pod("b", "x", "db"), _pod("c", "y", "web")]))
    (tmp / "pol.yaml").write_text(_allow("p1", "x", "db", 80))
    return tmp


def _files_diff(before: dict[str, str], after: dict[str, str]) -> str:
    def model(files: dict[str, str]) -> tuple[object, object]:
        c = build(read_texts(sorted(files.items())), nodes=3)
        return c, compile_cluster(c, ipblock_matches_pods=False)
    c1, k1 = model(before)
    c2, k2 = model(after)
    return render(diff(side(c1, k1), side(c2, k2)), "txt")  # type: ignore[arg-type]


def _texts(root: Path) -> dict[str, str]:
    return {str(p): p.read_text() for p in sorted(root.glob("*.yaml"))}


def _edit(live: LiveModel, path: Path, text: str | None,
          before: dict[str, str] | None = None) -> str:
    before = before or _texts(Path(live.paths[0]))
    if text is None:
        path.unlink()
    else:
        path.write_text(text)
        os.utime(path, ns=(1, os.stat(path).st_mtime_ns + 1_000_000_000))  # a new mtime
    stats = live.changed()
    assert stats is not None
    got = render(live.update(stats), "txt")
    assert got == _files_diff(before, _texts(Path(live.paths[0])))
    return got


def test_policy_edit_keeps_pods_and_prints_the_diff(tmp_path):
    live = LiveModel([str(_tree(tmp_path))])
    pods = live.cluster.pods
    got = _edit(live, tmp_path / "pol.yaml", _allow("p1", "x", "db", 81))
    assert "diff-type: changed, source: x/a[Pod], destination: x/b[Pod], ref1: TCP 80, ref2: TCP 81" in got
    assert live.cluster.pods is pods  # updated in place of a rebuild


def test_bad_edit_keeps_the_previous_model(tmp_path):
    live = LiveModel([str(_tree(tmp_path))])
    old = live.version
    good = _texts(tmp_path)
    (tmp_path / "pol.yaml").write_text(_allow("p1", "x", "db", 80).replace("port: 80", "port: 99999"))
    stats = live.changed()
    assert stats is not None
    with pytest.raises(InputError) as e:
        live.update(stats)
    assert "pol.yaml" in str(e.value) and "p1" in str(e.value)
    assert live.version is old
    assert live.changed() is None  # the bad file is not read again until it changes
    # a good edit afterwards is compared with the last good model
    got = _edit(live, tmp_path / "pol.yaml", _allow("p1", "x", "db", 82), good)
    assert "ref1: TCP 80, ref2: TCP 82" in got


def test_file_added_and_removed(tmp_path):
    live = LiveModel([str(_tree(tmp_path))])
    got = _edit(live, tmp_path / "more.yaml", _allow("p2", "y", "web", 443))
    assert "destination: y/c[Pod]" in got
    got = _edit(live, tmp_path / "more.yaml", None)
    assert "destination: y/c[Pod], ref1: TCP 443, ref2: All Connections" in got
    got = _edit(live, tmp_path / "extra.yaml", _pod("d", "y", "db"))  # a new workload
    assert "workloads-diff-info: workload y/d[Pod] added" in got


def test_pod_label_change_rebuilds_and_diffs(tmp_path):
    live = LiveModel([str(_tree(tmp_path))])
    got = _edit(live, tmp_path / "pods.yaml", "---\n".join(
        [_pod("a", "x", "db"), _pod("b", "x", "db"), _pod("c", "y", "web")]))
    # x/a now falls under p1: from everyone, TCP 80 only
    assert "destination: x/a[Pod], ref1: All Connections, ref2: TCP 80" in got


def test_watch_command_prints_the_change(tmp_path):
    """The CLI end to end: start, edit, one change printed, exit."""
    import subprocess
    import sys
    import threading
    import time

    _tree(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "podnet", "watch", "-f", str(tmp_path),
                             "--interval", "0.05", "--once-after-change"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # "watching ...": the model is loaded
    assert "watching 2 files" in line

    def edit() -> None:
        time.sleep(0.2)
        (tmp_path / "pol.yaml").write_text(_allow("p1", "x", "db", 81))
    threading.Thread(target=edit).start()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.startswith("Connectivity diff:\n")
    assert "ref1: TCP 80, ref2: TCP 81" in out


def test_edit_in_place_reuses_the_unchanged_policies(tmp_path):
    """Several policies in one file, one edited at a time: the others keep their objects (not
    parsed or compiled again), and each step prints what ``podnet diff`` prints, through
    edits in place, a rename (the policies re-sorted) and a name defined twice (the last wins)."""
    (tmp_path / "pods.yaml").write_text("---\n".join(
        [_pod("a", "x", "web"), _pod("b", "x", "db"), _pod("c", "x", "api"), _pod("d", "y", "web")]))
    pol = tmp_path / "pol.yaml"

    def policies(*specs: tuple[str, str, str, int]) -> str:
        return "---\n".join(_allow(*s) for s in specs)

    pol.write_text(policies(("p1", "x", "db", 80), ("p2", "x", "api", 80), ("p3", "y", "web", 80)))
    live = LiveModel([str(tmp_path)])
    kept = {p.key: p for p in live.cluster.policies}
    got = _edit(live, pol, policies(("p1", "x", "db", 80), ("p2", "x", "api", 81),
                                    ("p3", "y", "web", 80)))
    assert "destination: x/c[Pod], ref1: TCP 80, ref2: TCP 81" in got
    now = {p.key: p for p in live.cluster.policies}
    assert now["x/p1"] is kept["x/p1"] and now["y/p3"] is kept["y/p3"]
    assert now["x/p2"] is not kept["x/p2"]
    assert live.version.grants is not None  # handed on for the next edit
    got = _edit(live, pol, policies(("p1", "x", "db", 443), ("p2", "x", "api", 81),
                                    ("p3", "y", "web", 8080)))
    assert "destination: y/d[Pod], ref1: TCP 80, ref2: TCP 8080" in got
    got = _edit(live, pol, policies(("p0", "x", "db", 443), ("p2", "x", "api", 81),
                                    ("p3", "y", "web", 8080)))  # renamed: same rules
    assert [p.key for p in live.cluster.policies] == ["x/p0", "x/p2", "y/p3"]
    # p2 defined twice: the last one read wins, with a warning, as `podnet diff` reads it
    got = _edit(live, pol, policies(("p2", "x", "db", 443), ("p2", "x", "api", 81),
                                    ("p3", "y", "web", 8080)))
    assert [p.key for p in live.cluster.policies] == ["x/p2", "y/p3"]
    assert any("x/p2 is defined twice" in w for w in live.cluster.warnings)
    got = _edit(live, pol, policies(("p0", "x", "db", 443), ("p2", "x", "api", 82),
                                    ("p3", "y", "web", 8080)))
    assert "destination: x/c[Pod], ref1: TCP 81, ref2: TCP 82" in got
