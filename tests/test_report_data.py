"""The report's data builder (pure) and renderer, without a browser: the matrix against
connlist's lines and the per-pair Evaluator, the explanations against `podnet explain`'s data,
the namespace aggregation against the workload matrix it summarises, and the page's safety."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from podnet.analysis import Analysis
from podnet.doctor import diagnose
from podnet.model import build, read_paths
from podnet.policy.connlist import connlist
from podnet.policy.explain import explain_data
from podnet.report.data import report_data
from podnet.report.render import json_blob, render_html
from tests.conftest import EXAMPLES
from tests.helpers import cluster_of, namespace, pod

OSLO = str(EXAMPLES / "oslo")


@pytest.fixture(scope="module")
def oslo() -> Analysis:
    return Analysis(build(read_paths([OSLO]), nodes=3))


@pytest.fixture(scope="module")
def oslo_data(oslo: Analysis) -> dict:  # type: ignore[type-arg]
    return report_data(oslo.cluster, analysis=oslo)


def allowed_cells(conn: dict) -> dict[tuple[str, str], str]:  # type: ignore[type-arg]
    names = [w["name"] for w in conn["workloads"]]
    return {(names[i], names[j]): conn["conns"][c[0]]
            for i, row in enumerate(conn["cells"]) for j, c in enumerate(row)
            if c is not None and c[0] >= 0}


def test_matrix_is_connlists_workload_lines(oslo: Analysis, oslo_data: dict) -> None:  # type: ignore[type-arg]
    conn = oslo_data["connectivity"]
    assert conn["level"] == "workload"
    names = [w["name"] for w in conn["workloads"]]
    lines = connlist(oslo.cluster, oslo.compiled)
    expected = {}
    for line in lines:
        pair, text = line.split(" : ", 1)
        src, dst = pair.split(" => ")
        if src in names and dst in names:
            expected[(src, dst)] = text
    assert expected  # oslo has workload pairs both allowed and denied
    assert allowed_cells(conn) == expected
    denied = sum(c is not None and c[0] < 0 for row in conn["cells"] for c in row)
    assert denied > 0
    assert all(conn["cells"][i][i] is None for i in range(len(names)))
    # rows grouped by namespace, in namespace order
    spaces = [w["namespace"] for w in conn["workloads"]]
    assert spaces == sorted(spaces)


def test_cells_and_explanations_match_the_evaluator(oslo: Analysis, oslo_data: dict) -> None:  # type: ignore[type-arg]
    conn = oslo_data["connectivity"]
    pods = {p.key: p for p in oslo.cluster.pods}
    wl = conn["workloads"]
    checked_ports = 0
    for i, src in enumerate(wl):
        for j, dst in enumerate(wl):
            c = conn["cells"][i][j]
            if c is None:
                continue
            v = oslo.evaluator.verdict(pods[src["pod"]], pods[dst["pod"]])
            text = conn["conns"][c[0]] if c[0] >= 0 else "No Connections"
            assert text == str(v.allowed), (src["name"], dst["name"])
            e = conn["explains"][c[1]]
            assert e["connections"] == str(v.allowed)
            assert [p["port"] for p in e["ports"]] == dst["ports"]
            for p in e["ports"]:
                number, proto = p["port"].split("/")
                want = explain_data(v, int(number), proto)
                assert p["allowed"] == want["allowed"]
                for side in ("egress", "ingress"):
                    got = conn["sides"][p[side]]
                    assert {**got, "pod": want[side]["pod"]} == want[side]  # type: ignore[index]
                checked_ports += 1
    assert checked_ports > 10


SMALL = (namespace("a", {"team": "a"}) + namespace("b", {"team": "b"})
         + pod("a", "web-0", {"app": "web"}, "{containerPort: 80}")
         + pod("a", "tool-0", {"app": "tool"})
         + pod("b", "db-0", {"app": "db"}, "{containerPort: 5432}")
         + """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db-from-web, namespace: b}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {app: web}}
    ports: [{port: 5432}]
""")


def test_small_cluster_by_hand() -> None:
    conn = report_data(cluster_of(SMALL))["connectivity"]
    cells = allowed_cells(conn)
    web, tool, db = "a/web-0[Pod]", "a/tool-0[Pod]", "b/db-0[Pod]"
    assert cells[(web, db)] == "TCP 5432"
    assert (tool, db) not in cells  # only app=web is admitted
    assert cells[(db, web)] == "All Connections" and cells[(tool, web)] == "All Connections"
    names = [w["name"] for w in conn["workloads"]]
    e = conn["explains"][conn["cells"][names.index(tool)][names.index(db)][1]]
    (port,) = e["ports"]
    ingress = conn["sides"][port["ingress"]]
    assert port["port"] == "5432/TCP" and port["allowed"] is False
    assert ingress["summary"] == "isolated by 1 policy; no policy allows this flow"
    assert [p["policy"] for p in ingress["policies"]] == ["b/db-from-web"]


def test_namespace_aggregation_sums_the_workload_matrix(oslo: Analysis, oslo_data: dict) -> None:  # type: ignore[type-arg]
    full = oslo_data["connectivity"]
    agg = report_data(oslo.cluster, analysis=oslo, max_workloads=3)["connectivity"]
    assert agg["level"] == "namespace" and agg["totalWorkloads"] == len(full["workloads"]) > 3
    assert "explains" not in agg
    ns_of = {w["name"]: w["namespace"] for w in full["workloads"]}
    allowed = Counter((ns_of[s], ns_of[d]) for s, d in allowed_cells(full))
    sizes = Counter(ns_of.values())
    spaces = agg["namespaces"]
    assert spaces == sorted(sizes)
    for a, na in enumerate(spaces):
        for b, nb in enumerate(spaces):
            assert agg["allowed"][a][b] == allowed[(na, nb)], (na, nb)
            assert agg["pairs"][a][b] == sizes[na] * sizes[nb] - (sizes[na] if a == b else 0)


def test_namespace_limit_is_said(oslo: Analysis) -> None:
    from podnet.report.data import connectivity

    agg = connectivity(oslo, max_workloads=1, max_namespaces=2)
    assert agg["namespaces"] == sorted({p.namespace for p in oslo.cluster.pods})[:2]
    assert agg["totalNamespaces"] > 2
    html = render_html(report_data(oslo.cluster, analysis=oslo, max_workloads=1))
    note = re.search(r'<p class="note warn" id="aggregated">(.*?)</p>', html, re.S)
    assert note and f"{agg['totalWorkloads']} workloads" in note.group(1)


def test_overview_and_findings(oslo: Analysis) -> None:
    docs = read_paths([OSLO])
    findings = diagnose(oslo.cluster, docs, analysis=oslo)
    data = report_data(oslo.cluster, findings, analysis=oslo)
    ov = data["overview"]
    assert ov["network"]["cni"] == oslo.cluster.net.cni and ov["network"]["proxyMode"] == "ipvs"
    assert ov["counts"]["pods"] == len(oslo.cluster.pods)
    assert [n["name"] for n in ov["nodes"]] == [n.name for n in oslo.cluster.nodes]
    assert len(data["findings"]) == len(findings)
    assert sum(ov["findingCounts"].values()) == len(findings)
    top = ov["topFindings"]
    assert 0 < len(top) <= 5 and all(f["severity"] in ("error", "warning") for f in top)
    assert top[0]["severity"] == "error"  # oslo has errors: they come first
    without = report_data(oslo.cluster, analysis=oslo)
    assert "findings" not in without and "topFindings" not in without["overview"]
    assert report_data(oslo.cluster, [], analysis=oslo)["findings"] == []


def test_services_table_is_podnet_services(oslo_data: dict) -> None:  # type: ignore[type-arg]
    r = subprocess.run([sys.executable, "-m", "podnet", "services", "-f", OSLO, "-o", "json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    cli = json.loads(r.stdout)
    svc = oslo_data["services"]
    assert svc["node"] == cli["node"]
    assert [{k: v for k, v in row.items() if k not in ("external", "endpointsText")}
            for row in svc["rows"]] == cli["services"]


def test_same_input_same_bytes(oslo: Analysis) -> None:
    a = render_html(report_data(oslo.cluster, analysis=oslo))
    b = render_html(report_data(Analysis(build(read_paths([OSLO]), nodes=3)).cluster))
    assert a == b


def test_blob_cannot_close_its_script_element() -> None:
    hostile = {"x": "</script><script>alert(1)</script><!-- & -->"}
    blob = json_blob(hostile)
    assert "<" not in blob and ">" not in blob and "&" not in blob
    assert json.loads(blob) == hostile


def test_values_are_escaped_and_nothing_is_loaded(oslo: Analysis, oslo_data: dict) -> None:  # type: ignore[type-arg]
    data = json.loads(json.dumps(oslo_data))
    data["services"]["rows"][0]["service"] = "<img src=x onerror=alert(1)>"
    html = render_html(data)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    # self-contained: no external script, style, image or font
    assert not re.search(r'(src|href)\s*=\s*"(?!#|data:)', html)
    assert not re.search(r"https?://", re.sub(r"<script type=\"application/json\".*?</script>", "",
                                               html, flags=re.S))
    assert html.count("<script") == 2 and html.count("<style") == 1


def test_cli_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "podnet", "report", "-f", OSLO, "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and 'id="findings"' not in html
    assert f"wrote {out}" in r.stderr
    bad = subprocess.run([sys.executable, "-m", "podnet", "report", "-f", OSLO, "-o",
                          str(tmp_path / "missing" / "r.html")], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "cannot write" in bad.stderr and "Traceback" not in bad.stderr


def test_connsets_are_keys() -> None:
    """The report keys its shared explanation sides by verdict parts, ConnSets included."""
    from podnet.policy.connset import ConnSet

    a, b = ConnSet.port("TCP", 80) | ConnSet.port("TCP", 81), ConnSet.port("TCP", 80, 81)
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert ConnSet.port("UDP", 80) not in {a: 1}


def _expected_exposure(path: str) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    """What `podnet connlist --exposure -o json` says: (workload, peer, connections) per side."""
    r = subprocess.run([sys.executable, "-m", "podnet", "connlist", "-f", path, "--exposure",
                        "-o", "json"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)["exposure_results"]
    ingress = {(e["dst"], e["src"], e["conn"]) for e in res["ingress_exposure"] or []}
    egress = {(e["src"], e["dst"], e["conn"]) for e in res["egress_exposure"] or []}
    return ingress, egress


def _report_exposure(data: dict) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:  # type: ignore[type-arg]
    rows = data["connectivity"]["exposure"]["workloads"]
    return ({(w["workload"], peer, c) for w in rows for _, peer, c in w["ingress"]},
            {(w["workload"], peer, c) for w in rows for _, peer, c in w["egress"]})


def test_exposure_is_connlist_exposure(oslo_data: dict) -> None:  # type: ignore[type-arg]
    ingress, egress = _report_exposure(oslo_data)
    assert (ingress, egress) == _expected_exposure(OSLO)
    exposed = {w for w, _, _ in ingress}
    assert "kube-system/coredns[Deployment]" in exposed  # no policy selects it
    assert "production/backend[Deployment]" not in exposed  # default-deny, rules name pods
    expo = oslo_data["connectivity"]["exposure"]
    assert expo["exposedIngress"] == len(exposed)


def test_exposure_with_ipblocks_and_selectors(tmp_path: Path) -> None:
    """bench/gen.py's shapes (ipBlock, namespaceSelector, named ports, egress rules), on both
    the workload and the namespace-level matrix: the report's exposure is connlist's."""
    sys.path.insert(0, str(EXAMPLES.parent / "bench"))
    import gen

    path = tmp_path / "gen.json"
    gen.write(str(path), 240, 12, 24)
    analysis = Analysis(build(read_paths([str(path)])))
    expected = _expected_exposure(str(path))
    assert expected[0] and expected[1]
    assert any(peer.endswith("[External]") for _, peer, _ in expected[0] | expected[1])
    for limit in (1000, 5):
        data = report_data(analysis.cluster, analysis=analysis, max_workloads=limit)
        assert _report_exposure(data) == expected
        assert data["connectivity"]["level"] == ("workload" if limit == 1000 else "namespace")


def test_namespace_drill_down_is_the_workload_matrix(tmp_path: Path) -> None:
    """Past the workload limit only the namespaces shown are computed; their drill-down pairs
    are the workload matrix's allowed cells among them, ports and all, and the counts add up."""
    from podnet.report.data import connectivity
    from podnet.report.graph import network_map

    sys.path.insert(0, str(EXAMPLES.parent / "bench"))
    import gen

    path = tmp_path / "gen.json"
    gen.write(str(path), 240, 12, 24)
    analysis = Analysis(build(read_paths([str(path)])))
    full = connectivity(analysis, 1000)
    cells = allowed_cells(full)
    agg = connectivity(analysis, 5, 4)
    shown = agg["namespaces"]
    assert len(shown) == 4 and agg["totalNamespaces"] == 12
    wl = agg["drillWorkloads"]
    assert {w.split("/")[0] for w in wl} == set(shown)
    d = agg["drill"]
    drill = {(wl[d[k]], wl[d[k + 1]]): agg["conns"][d[k + 2]] for k in range(0, len(d), 3)}
    assert drill == {p: t for p, t in cells.items() if p[0] in wl and p[1] in wl}
    assert drill and any(a.split("/")[0] != b.split("/")[0] for a, b in drill)
    for a, src in enumerate(shown):
        for b, dst in enumerate(shown):
            n = sum(s.startswith(src + "/") and t.startswith(dst + "/") for s, t in drill)
            assert agg["allowed"][a][b] == n
    assert network_map(analysis, limit=10) == {"skipped": True, "totalWorkloads": 36, "limit": 10}


def test_canvas_limits_are_chromiums() -> None:
    from podnet.report import CANVAS_MAX_AREA, CANVAS_MAX_SIDE, CELL_PX, canvas_fits

    script = (Path(__file__).parent.parent / "podnet" / "report" / "templates" / "report.js").read_text()
    assert f"var CELL = {CELL_PX};" in script
    assert f"MAX_SIDE = {CANVAS_MAX_SIDE}, MAX_AREA = {CANVAS_MAX_AREA};" in script
    # the area binds first for a square matrix (16,380 px a side), the side for a thin one
    assert canvas_fits(910, 910) and not canvas_fits(911, 911)
    assert canvas_fits(1, 1820) and not canvas_fits(1, 1821)


def test_a_workload_matrix_too_large_for_a_canvas_is_drawn_by_namespace() -> None:
    from podnet.report.data import connectivity

    # 700 workloads in 700 namespaces: 700 columns by 1,400 rows (a band per namespace) is
    # 12,600 x 25,200 px, over the area limit though under --max-workloads
    ips = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(700)]
    text = "".join(namespace(f"n{i:03d}", {}) + pod(f"n{i:03d}", "p", {"app": "a"}, ip=ips[i])
                   for i in range(700))
    analysis = Analysis(cluster_of(text))
    conn = connectivity(analysis, max_workloads=1000)
    assert conn["level"] == "namespace" and conn["canvasTooLarge"] is True
    html = render_html(report_data(analysis.cluster, analysis=analysis, max_workloads=1000))
    note = re.search(r'<p class="note warn" id="aggregated">(.*?)</p>', html, re.S)
    assert note and "larger than a browser draws in one canvas" in note.group(1)
    # the same workloads in one namespace (700 x 701 rows) fit, and are drawn one by one
    one = "".join(pod("n", f"p{i:03d}", {"app": f"a{i}"}, ip=ips[i]) for i in range(700))
    conn = connectivity(Analysis(cluster_of(namespace("n", {}) + one)), max_workloads=1000)
    assert conn["level"] == "workload" and conn["canvasTooLarge"] is False
