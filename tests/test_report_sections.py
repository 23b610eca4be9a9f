"""The report's Lab, Map, DNS and Paths sections (pure data, no browser): the lab overlay
against a real probe of examples/oslo (tests/manifests/oslo-lab-probe.json: `podnet lab probe
-o json` of `lab up -f examples/oslo --cni host-gw`, Service rows cut to three clients), the
map against connlist's connections it folds, the DNS costs against `podnet dns`, the paths
against `podnet trace`."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from podnet.analysis import Analysis
from podnet.errors import InputError
from podnet.model import build, read_paths
from podnet.policy.connlist import connections, workload_name
from podnet.predict.translate import trace_flow
from podnet.report.data import connectivity, report_data
from podnet.report.dns import dns_costs
from podnet.report.graph import OUTSIDE, fold, network_map
from podnet.report.lab import lab_data, read_probe
from podnet.report.paths import service_paths
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import cluster_of, namespace, pod

OSLO = str(EXAMPLES / "oslo")
PROBE = ROOT / "tests" / "manifests" / "oslo-lab-probe.json"


@pytest.fixture(scope="module")
def oslo() -> Analysis:
    return Analysis(build(read_paths([OSLO]), nodes=3))


@pytest.fixture
def probe() -> dict[str, Any]:
    return json.loads(PROBE.read_text())


def _lab(a: Analysis, raw: dict[str, Any], max_workloads: int = 200) -> tuple[dict[str, Any], dict[str, Any]]:
    conn = connectivity(a, max_workloads)
    return lab_data(a, read_probe(json.dumps(raw), "probe.json"), conn), conn


# ---- Lab ------------------------------------------------------------------------------------

def test_the_real_probe_agrees_and_marks_the_probed_cells(oslo: Analysis, probe: dict[str, Any]) -> None:
    lab, conn = _lab(oslo, probe)
    n = len(probe["pods"])
    assert lab["podProbes"] == n * (n - 1) * len(probe["ports"])
    assert lab["mismatchCount"] == 0 and conn["lab"]["cells"] == [] and conn["lab"]["count"] == 0
    names = [w["name"] for w in conn["workloads"]]
    pods = {p.key: p for p in oslo.cluster.pods}
    probed = {names.index(workload_name(pods[k])) for k in probe["pods"]}
    assert conn["lab"]["probed"] == sorted(probed)
    # hostNetwork pods (calico-node) are not probed, so their row carries no dot
    assert names.index("kube-system/calico-node[DaemonSet]") not in probed


def _flip(raw: dict[str, Any], src: str, dst: str, port: str) -> bool:
    i, j = raw["pods"].index(src), raw["pods"].index(dst)
    raw["matrix"][port][i][j] = not raw["matrix"][port][i][j]
    return bool(raw["matrix"][port][i][j])


@pytest.mark.parametrize(("src", "dst", "port"), [
    ("production/frontend-0", "production/backend-1", "8080/TCP"),  # allowed, now "dropped"
    ("production/database-0", "production/backend-0", "8080/TCP"),  # default deny, now "reachable"
])
def test_a_flipped_observation_is_a_mismatch_on_its_cell(oslo: Analysis, probe: dict[str, Any],
                                                         src: str, dst: str, port: str) -> None:
    observed = _flip(probe, src, dst, port)
    lab, conn = _lab(oslo, probe)
    assert lab["mismatchCount"] == 1
    (m,) = lab["mismatches"]
    assert (m["from"], m["to"], m["port"]) == (src, dst, port)
    assert (m["observed"], m["predicted"]) == (observed, not observed)
    pods = {p.key: p for p in oslo.cluster.pods}
    assert oslo.evaluator.verdict(pods[src], pods[dst]).allowed.allows("TCP", 8080) is (not observed)
    names = [w["name"] for w in conn["workloads"]]
    i, j = names.index(workload_name(pods[src])), names.index(workload_name(pods[dst]))
    assert conn["lab"]["cells"] == [[i, j, 1]]
    # past the workload limit the same probe lands on its namespaces' cell
    _, agg = _lab(oslo, probe, max_workloads=3)
    k = agg["namespaces"].index("production")
    assert agg["lab"]["cells"] == [[k, k, 1]]


def test_service_probes_say_which_endpoint_answered(oslo: Analysis, probe: dict[str, Any]) -> None:
    lab, _ = _lab(oslo, probe)
    rows = probe["services"]
    assert sum(g["clients"] for g in lab["serviceGroups"]) == len(rows) == lab["serviceProbes"]
    endpoints = {f"{p.namespace}/{p.name}:{p.port_name}" if p.port_name else f"{p.namespace}/{p.name}":
                 {e.pod for e in p.endpoints} for p in oslo.plans}
    for g in lab["serviceGroups"]:
        mine = [r for r in rows if (r["service"], r["to"]) == (g["service"], g["to"])]
        assert sum(n for _, n in g["answers"]) == len(mine) == g["clients"]
        pods = endpoints.get(g["service"], set())
        for who, _ in g["answers"]:
            assert who in ("dropped", "rejected") or who in pods or "@" in who, (g, who)
    backend = next(g for g in lab["serviceGroups"] if g["to"] == "10.96.0.11:80")
    answered = {who for who, _ in backend["answers"]}
    assert answered <= {"production/backend-0", "production/backend-1", "dropped"}
    assert any(who.startswith("production/backend-") for who, _ in backend["answers"])


def test_http_probes_say_where_each_request_came_from(oslo: Analysis, probe: dict[str, Any]) -> None:
    from podnet.report.render import render_html

    row = {"url": "https://api.coolvds-demo.no/", "why": "api.coolvds-demo.no /",
           "to": "10.96.0.20:443", "predicted": "504", "observed": "504", "agrees": True}
    probe["http"] = [{**row, "from": "production/frontend-0", "to": "10.96.0.10:443"},
                     dict(row)]  # a probe file written before pods sent requests has no "from"
    lab, _ = _lab(oslo, probe)
    assert [h["from"] for h in lab["http"]] == ["external", "production/frontend-0"]
    html = render_html(report_data(oslo.cluster, analysis=oslo,
                                   probe=read_probe(json.dumps(probe), "probe.json")))
    table = html[html.index('id="lab-http"'):]
    table = table[:table.index("</table>")]
    assert "<th>from</th>" in table
    assert "<td>production/frontend-0</td><td>10.96.0.10:443</td>" in table
    assert "<td>external</td><td>10.96.0.20:443</td>" in table


@pytest.mark.parametrize(("mangle", "field", "words"), [
    (lambda d: "not json {", "", "not JSON"),
    (lambda d: json.dumps([1, 2]), "", "is not a 'podnet lab probe -o json' file"),
    (lambda d: json.dumps({"findings": []}), "pods", "missing"),
    (lambda d: json.dumps({**d, "ports": ["80/XTP", *d["ports"][1:]]}), "ports[0]", "PORT/PROTOCOL"),
    (lambda d: json.dumps({**d, "matrix": {**d["matrix"], "80/TCP": d["matrix"]["80/TCP"][1:]}}),
     "matrix['80/TCP']", "rows for 10 pods"),
    (lambda d: json.dumps({**d, "services": [{**d["services"][0], "agrees": "yes"}]}),
     "services[0].agrees", "true or false"),
])
def test_a_bad_probe_file_names_the_field(probe: dict[str, Any], mangle: Any, field: str, words: str) -> None:
    with pytest.raises(InputError) as e:
        read_probe(mangle(probe), "p.json")
    assert e.value.field == field and words in e.value.message
    assert e.value.source.file == "p.json"


def test_a_probe_of_another_cluster_is_refused(oslo: Analysis, probe: dict[str, Any]) -> None:
    probe["pods"][3] = "elsewhere/web-0"
    with pytest.raises(InputError) as e:
        _lab(oslo, probe)
    assert e.value.field == "pods[3]" and "another cluster" in e.value.message


def test_cli_probe_errors_exit_2_naming_file_and_field(tmp_path: Path, probe: dict[str, Any]) -> None:
    bad = tmp_path / "probe.json"
    probe["matrix"]["53/UDP"][2][1] = "yes"
    bad.write_text(json.dumps(probe))
    r = subprocess.run([sys.executable, "-m", "podnet", "report", "-f", OSLO, "--probe", str(bad),
                        "-o", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert str(bad) in r.stderr and "matrix['53/UDP'][2][1]" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "r.html").exists()


# ---- Map ------------------------------------------------------------------------------------

def _unfold(m: dict[str, Any]) -> dict[tuple[str, str], str]:
    """The workload-level edges a map stands for."""
    members: dict[str, list[str]] = {}
    for n in m["nodes"]:
        g = next(g["id"] for g in m["groups"] if _inside(n["box"], g["box"]))
        members.setdefault(g, []).append(n["title"])
    out: dict[tuple[str, str], str] = {}
    for g in m["groups"]:
        if g["inside"]:
            ms = members[g["id"]]
            out.update({(a, b): g["inside"] for a in ms for b in ms if a != b})
    for e in m["edges"]:
        srcs = members[e["from"]] if e["from"].startswith("g:") else [e["from"][2:]]
        dsts = members[e["to"]] if e["to"].startswith("g:") else [e["to"][2:]]
        for a in srcs:
            for b in dsts:
                if a != b:
                    assert (a, b) not in out, ("drawn twice", a, b)
                    out[(a, b)] = e["label"]
    return out


def _inside(box: list[int], outer: list[int]) -> bool:
    return (outer[0] <= box[0] and box[0] + box[2] <= outer[0] + outer[2]
            and outer[1] <= box[1] and box[1] + box[3] <= outer[1] + outer[3])


def _overlap(a: list[int], b: list[int]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _check_layout(m: dict[str, Any]) -> None:
    groups = [g["box"] for g in m["groups"]]
    assert not any(_overlap(a, b) for k, a in enumerate(groups) for b in groups[k + 1:])
    for n in m["nodes"]:
        assert sum(_inside(n["box"], g) for g in groups) == 1, n
    boxes = [n["box"] for n in m["nodes"]]
    assert not any(_overlap(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    assert all(g[0] >= 0 and g[1] >= 0 and g[0] + g[2] <= m["width"] and g[1] + g[3] <= m["height"]
               for g in groups)


def test_the_map_stands_for_exactly_connlists_connections(oslo: Analysis) -> None:
    m = network_map(oslo)
    raw = {(c.src.text, c.dst.text): c.text for c in connections(oslo.cluster, oslo.compiled)}
    assert _unfold(m) == raw and m["rawEdges"] == len(raw)
    assert len(m["edges"]) < len(raw) / 2  # oslo's open namespaces fold
    kube = next(g for g in m["groups"] if g["name"] == "kube-system")
    assert kube["inside"] == "All Connections"
    assert {"from": "n:production/frontend[Deployment]", "to": "n:production/backend[Deployment]",
            "label": "TCP 8080"} in m["edges"]
    kinds = {n["title"]: n["kind"] for n in m["nodes"]}
    assert kinds["0.0.0.0-255.255.255.255[External]"] == "external"
    _check_layout(m)


def test_fold_by_hand() -> None:
    members = {"a": ["n:a1", "n:a2"], "b": ["n:b1", "n:b2", "n:b3"], OUTSIDE: ["n:x"]}
    edges = {("n:a1", "n:a2"): "all", ("n:a2", "n:a1"): "all",  # a is open inside
             ("n:a1", "n:b1"): "TCP 80", ("n:a1", "n:b2"): "TCP 80", ("n:a1", "n:b3"): "TCP 80",
             ("n:a2", "n:b1"): "TCP 80", ("n:a2", "n:b2"): "TCP 80", ("n:a2", "n:b3"): "TCP 80",
             ("n:b1", "n:x"): "UDP 53", ("n:b2", "n:x"): "UDP 53",  # b3 differs: no fold
             ("n:b1", "n:b2"): "TCP 5432"}
    out, inside = fold(members, edges)
    assert inside == {"a": "all"}
    assert out == {("g:a", "g:b"): "TCP 80", ("n:b1", "n:x"): "UDP 53", ("n:b2", "n:x"): "UDP 53",
                   ("n:b1", "n:b2"): "TCP 5432"}


def test_a_few_hundred_workloads_lay_out_without_overlap() -> None:
    docs = "".join(namespace(f"ns{k:02d}", {"team": f"t{k % 4}"}) for k in range(24))
    docs += "".join(pod(f"ns{k % 24:02d}", f"w{k:03d}-0", {"app": f"w{k}"}, "{containerPort: 80}")
                    for k in range(300))
    docs += "".join(f"""apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: only-team, namespace: ns{k:02d}}}
spec:
  podSelector: {{}}
  ingress: [{{from: [{{namespaceSelector: {{matchLabels: {{team: t{k % 4}}}}}}}], ports: [{{port: 80}}]}}]
---
""" for k in range(24))
    a = Analysis(cluster_of(docs))
    m = network_map(a)
    assert len([n for n in m["nodes"] if n["kind"] == "workload"]) == 300
    _check_layout(m)
    raw = {(c.src.text, c.dst.text): c.text for c in connections(a.cluster, a.compiled)}
    assert _unfold(m) == raw
    assert len(m["edges"]) <= 24 * 24 + 24 * 2  # folded to namespace level
    assert len(json.dumps(m)) < 150_000


# ---- DNS ------------------------------------------------------------------------------------

def test_dns_costs_are_podnet_dns(oslo: Analysis) -> None:
    d = dns_costs(oslo.cluster)
    names = [w["name"] for w in connectivity(oslo)["workloads"]]
    assert [r["workload"] for r in d["rows"]] == names
    reps = {w["name"]: w["pod"] for w in connectivity(oslo)["workloads"]}
    for r in d["rows"]:
        out = subprocess.run([sys.executable, "-m", "podnet", "dns", "-f", OSLO, "--pod",
                              reps[r["workload"]], "google.com", "-o", "json"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        queries = json.loads(out.stdout)["queries"]
        assert r["queries"] == len(queries), r
        assert r["nxdomain"] == sum(q["rcode"] == "NXDOMAIN" for q in queries), r
    # the seeds' optimization-test: ndots 2 still walks the whole search list for google.com
    opt = next(r for r in d["rows"] if r["workload"] == "default/optimization-test[Pod]")
    assert (opt["ndots"], opt["queries"], opt["nxdomain"]) == (2, 8, 6)
    assert d["maxQueries"] == max(r["queries"] for r in d["rows"])


# ---- Paths ----------------------------------------------------------------------------------

def test_paths_are_podnet_trace_from_a_client(oslo: Analysis) -> None:
    p = service_paths(oslo)
    assert len(p["rows"]) == p["total"] > 3
    by_service = {f"{s.namespace}/{s.name}:{s.port}/{s.protocol}": s for s in oslo.plans}
    pods = {x.key: x for x in oslo.cluster.pods}
    for r in p["rows"]:
        plan = by_service[r["service"]]
        assert r["from"] not in {e.pod for e in plan.endpoints}
        target, _, port = r["service"].rpartition(":")
        expected = trace_flow(oslo, pods[r["from"]], target, port, plan.port, plan.protocol)
        assert {k: v for k, v in r.items() if k != "service"} == expected.as_dict()
        assert any(h["mtu"] for h in r["hops"])
    backend = next(r for r in p["rows"] if r["service"] == "production/backend-service:80/TCP")
    assert backend["verdict"] == "delivered" and backend["to"].startswith("production/backend-")
    # oslo's default deny keeps every client from frontend: the shown path ends in the drop
    frontend = next(r for r in p["rows"] if r["service"] == "production/frontend:80/TCP")
    assert frontend["verdict"] == "dropped"
    cut = service_paths(oslo, limit=2)
    assert len(cut["rows"]) == 2 and cut["total"] == p["total"]


def test_cli_trace_json_is_the_paths_row(oslo: Analysis) -> None:
    row = next(r for r in service_paths(oslo)["rows"] if r["service"] == "production/backend-service:80/TCP")
    out = subprocess.run([sys.executable, "-m", "podnet", "trace", "-f", OSLO, "--from", row["from"],
                          "--to", "production/backend-service:80/TCP", "-o", "json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {k: v for k, v in row.items() if k != "service"}


def test_sections_are_in_the_data(oslo: Analysis, probe: dict[str, Any]) -> None:
    plain = report_data(oslo.cluster, analysis=oslo)
    assert {"map", "dns", "paths"} <= plain.keys() and "lab" not in plain
    assert "lab" not in plain["connectivity"]
    observed = read_probe(json.dumps(probe), "p.json")
    with_lab = report_data(oslo.cluster, analysis=oslo, probe=copy.deepcopy(observed))
    assert with_lab["lab"]["mismatchCount"] == 0 and "lab" in with_lab["connectivity"]
