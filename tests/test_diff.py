"""``podnet diff -f NEW --against OLD``: hand-written before/after pairs of a small cluster.

The line layouts follow netpol-analyzer's diff formatters (pkg/netpol/diff/diff_formatter*.go;
its goldens are checked byte for byte in test_conformance_cases.py); here each kind of change is
checked on its own: a policy tightened, a workload added, one removed, nothing changed.
"""

from __future__ import annotations

from pathlib import Path

from podnet.conformance.cases import invoke
from podnet.policy.diff import ADDED, CHANGED, REMOVED, UNCHANGED, Side, diff
from podnet.policy.diff_formats import csv, render


def deployment(name: str, port: int) -> str:
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: c
        ports: [{{containerPort: {port}}}]
---
"""


# backend admits frontend on every port; the tightened version only on TCP 8080.
OPEN = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: backend, namespace: shop}
spec:
  podSelector: {matchLabels: {app: backend}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: frontend}}}]
---
"""
TIGHT = OPEN.replace("---\n", "    ports: [{port: 8080, protocol: TCP}]\n---\n")
NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
BASE = NS + deployment("frontend", 80) + deployment("backend", 8080)


def run(tmp_path: Path, old: str, new: str, *args: str) -> tuple[int, str, str]:
    for side, text in (("old", old), ("new", new)):
        (tmp_path / side).mkdir(exist_ok=True)
        (tmp_path / side / "all.yaml").write_text(text)
    return invoke(("diff", "-f", str(tmp_path / "new"), "--against", str(tmp_path / "old"), *args))


def test_a_tightened_policy_is_a_changed_pair(tmp_path):
    code, out, _ = run(tmp_path, BASE + OPEN, BASE + TIGHT)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "Connectivity diff:"
    assert ("diff-type: changed, source: shop/frontend[Deployment], destination: "
            "shop/backend[Deployment], ref1: All Connections, ref2: TCP 8080") in lines
    # backend itself loses nothing toward frontend: that pair is not listed at all
    assert not [ln for ln in lines if "source: shop/backend[Deployment], destination: shop/frontend" in ln]
    # the external world was already shut out of backend by the ingress policy: unchanged
    assert not [ln for ln in lines if "destination: shop/backend" in ln and "External" in ln]


def test_an_added_workload_is_named_and_drawn_green(tmp_path):
    new = BASE + deployment("cache", 6379) + OPEN
    code, out, _ = run(tmp_path, BASE + OPEN, new)
    assert code == 0
    added = [ln for ln in out.splitlines() if ln.startswith("diff-type: added")]
    assert ("diff-type: added, source: shop/cache[Deployment], destination: "
            "shop/frontend[Deployment], ref1: No Connections, ref2: All Connections, "
            "workloads-diff-info: workload shop/cache[Deployment] added") in added
    # every added line involves the new workload, and each says so
    assert added and all("shop/cache[Deployment]" in ln and ln.endswith(" added") for ln in added)
    # cache is not admitted by backend's policy: no added pair cache -> backend
    assert not [ln for ln in added if "source: shop/cache[Deployment], destination: shop/backend" in ln]
    _, graph, _ = run(tmp_path, BASE + OPEN, new, "-o", "dot")
    assert ('\t\t"shop/cache[Deployment]" [label="cache[Deployment]" color="#008000" '
            'fontcolor="#008000"]') in graph.splitlines()
    assert ('\t\t"shop/backend[Deployment]" [label="backend[Deployment]" color="blue" '
            'fontcolor="blue"]') in graph.splitlines()
    # the pair both versions allow alike is drawn grey
    assert ('\t"shop/frontend[Deployment]" -> "shop/backend[Deployment]" [label="All Connections" '
            'color="grey" fontcolor="grey" weight=1]') in graph.splitlines()


def test_a_removed_workload_is_named_as_removed(tmp_path):
    code, out, _ = run(tmp_path, BASE + deployment("cache", 6379) + OPEN, BASE + OPEN, "-o", "csv")
    assert code == 0
    rows = out.splitlines()
    assert rows[0] == "diff-type,source,destination,ref1,ref2,workloads-diff-info"
    assert ("removed,shop/frontend[Deployment],shop/cache[Deployment],All Connections,"
            "No Connections,workload shop/cache[Deployment] removed") in rows
    assert rows[1:] and all(r.startswith("removed,") for r in rows[1:])


def test_nothing_changed_prints_nothing_and_exits_0(tmp_path):
    for fmt in ("txt", "csv", "md", "dot"):
        code, out, _ = run(tmp_path, BASE + TIGHT, BASE + TIGHT, "-o", fmt, "--fail-on-change")
        assert (code, out) == (0, ""), fmt


def test_fail_on_change_exits_1_and_still_prints(tmp_path):
    code, out, _ = run(tmp_path, BASE + OPEN, BASE + TIGHT, "--fail-on-change")
    assert code == 1 and "diff-type: changed" in out
    code, _, _ = run(tmp_path, BASE + OPEN, BASE + TIGHT)
    assert code == 0


def test_no_old_side_is_a_usage_error(tmp_path):
    (tmp_path / "new.yaml").write_text(BASE)
    code, out, err = invoke(("diff", "-f", str(tmp_path / "new.yaml")))
    assert code == 2 and out == "" and "--against" in err


def test_a_bad_format_is_refused(tmp_path):
    code, _, err = run(tmp_path, BASE, BASE, "-o", "json")
    assert code == 2 and "-o json" in err


def ext(rng: str) -> str:
    return f"{rng}[External]"


def test_ranges_cut_differently_are_compared_address_by_address():
    w = frozenset({"ns/a[Pod]"})
    old = Side((("ns/a[Pod]", ext("0.0.0.0-9.255.255.255"), "TCP 80"),
                ("ns/a[Pod]", ext("10.0.0.0-255.255.255.255"), "TCP 80")), w)
    new = Side((("ns/a[Pod]", ext("0.0.0.0-255.255.255.255"), "TCP 80"),), w)
    same = diff(old, new)
    assert not same.differs
    # the pieces join again into the widest range with one answer on both sides
    assert [(c.kind, c.dst) for c in same.changes] == [(UNCHANGED, ext("0.0.0.0-255.255.255.255"))]
    narrower = Side((("ns/a[Pod]", ext("0.0.0.0-10.255.255.255"), "TCP 80"),
                     ("ns/a[Pod]", ext("11.0.0.0-255.255.255.255"), "TCP 80,UDP 53")), w)
    d = diff(old, narrower)
    assert [(c.kind, c.dst, c.ref1, c.ref2) for c in d.changes] == [
        (UNCHANGED, ext("0.0.0.0-10.255.255.255"), "TCP 80", "TCP 80"),
        (CHANGED, ext("11.0.0.0-255.255.255.255"), "TCP 80", "TCP 80,UDP 53")]
    # a hole on one side is an added range on the other
    holed = Side((("ns/a[Pod]", ext("0.0.0.0-9.255.255.255"), "TCP 80"),), w)
    assert [(c.kind, c.src, c.dst) for c in diff(holed, old).changes if c.kind != UNCHANGED] == [
        (ADDED, "ns/a[Pod]", ext("10.0.0.0-255.255.255.255"))]
    # CSV quotes a connection list with a comma, as Go's encoding/csv does
    assert ('changed,ns/a[Pod],11.0.0.0-255.255.255.255[External],TCP 80,"TCP 80,UDP 53",'
            in csv(d).splitlines())
    assert render(same, "dot") == ""


def test_txt_is_coloured_only_for_a_terminal():
    from podnet.cli.diff import _colour

    text = ("Connectivity diff:\ndiff-type: added, source: a\ndiff-type: removed, source: b\n"
            "diff-type: changed, source: c\n")
    lines = _colour(text).splitlines()
    assert lines[0] == "Connectivity diff:"
    assert [ln[:5] for ln in lines[1:]] == ["\033[32m", "\033[31m", "\033[33m"]
    assert all(ln.endswith("\033[0m") for ln in lines[1:])
    # through a pipe (as in invoke) the bytes stay plain


def test_the_cli_offers_exactly_the_formats_the_renderer_has():
    from podnet.model.vocabulary import DIFF_FORMATS
    from podnet.policy.diff_formats import RENDERERS
    assert set(DIFF_FORMATS) == set(RENDERERS)


def test_leaving_unchanged_pairs_out_keeps_every_other_change_in_order():
    w1, w2 = frozenset({"ns/a[Pod]", "ns/b[Pod]"}), frozenset({"ns/a[Pod]", "ns/b[Pod]", "ns/c[Pod]"})
    old = Side((("ns/a[Pod]", "ns/b[Pod]", "TCP 80"), ("ns/b[Pod]", "ns/a[Pod]", "TCP 80"),
                ("ns/a[Pod]", ext("0.0.0.0-255.255.255.255"), "TCP 80")), w1)
    new = Side((("ns/a[Pod]", "ns/b[Pod]", "TCP 80"), ("ns/b[Pod]", "ns/a[Pod]", "UDP 53"),
                ("ns/c[Pod]", "ns/a[Pod]", "TCP 80"),
                ("ns/a[Pod]", ext("0.0.0.0-9.255.255.255"), "TCP 80")), w2)
    full, lean = diff(old, new), diff(old, new, unchanged=False)
    assert lean.changes == tuple(c for c in full.changes if c.kind != UNCHANGED)
    assert [c.kind for c in lean.changes] == [CHANGED, ADDED, REMOVED]
    assert lean.differs and render(lean, "txt") == render(full, "txt")
    assert all(render(lean, f) == render(full, f) for f in ("csv", "md"))
