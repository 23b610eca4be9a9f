"""The HTML report in a real browser: the system's Chromium, driven headless by playwright,
opens `podnet report -f examples/oslo --doctor --probe tests/manifests/oslo-lab-probe.json`
from a file:// URL. Skips, saying why, where
Chromium or playwright is missing (`make install` as root installs Debian's chromium)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from matrixclick import click_cell  # noqa: E402

OSLO = str(EXAMPLES / "oslo")
CHROMIUM = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
PROBE = EXAMPLES.parent / "tests" / "manifests" / "oslo-lab-probe.json"
SECTIONS = ("overview", "connectivity", "map", "services", "dns", "paths", "lab", "findings")

if CHROMIUM is None:
    pytest.skip("no chromium on PATH (Debian package chromium; `make install` as root installs it)",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(dev extra: pip install -e '.[dev]')")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "COLUMNS": "400"})


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-screenshots")


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "oslo.html"
    r = podnet("report", "-f", OSLO, "--doctor", "--probe", str(PROBE), "-o", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, report_file: Path) -> Iterator[Any]:
    """The report, with every console error and page error and every request that is not for
    the file itself recorded (and refused): the page must need none."""
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.errors, pg.requests = [], []
    pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    url = report_file.as_uri()

    def guard(route: Any) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            pg.requests.append(route.request.url)
            route.abort()
    pg.route("**/*", guard)
    pg.goto(url)
    yield pg
    pg.close()


# The matrix is a canvas: what it shows is read back from its pixels. For each visible row
# label (top to bottom) and column label (left to right), the cell where they cross: its fill
# (named by the page's own CSS colours), whether it holds the lab's dot (centre pixel) and
# whether it is outlined as a mismatch (a pixel just inside its edge).
READ_MATRIX = """() => {
  const cv = document.querySelector('#matrix canvas');
  const box = cv.getBoundingClientRect();
  const sx = cv.width / box.width, sy = cv.height / box.height;
  const img = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  const css = getComputedStyle(document.documentElement);
  const rgb = name => { const h = css.getPropertyValue(name).trim();
                        return [1, 3, 5].map(k => parseInt(h.slice(k, k + 2), 16)).join(','); };
  const fills = {};
  ['allow', 'deny', 'self', 'partial'].forEach(k => { fills[rgb('--' + k)] = k; });
  const at = (x, y) => { const k = (Math.floor(y * sy) * cv.width + Math.floor(x * sx)) * 4;
                         return [img[k], img[k + 1], img[k + 2]].join(','); };
  const rows = [...document.querySelectorAll('#matrix .row.wl:not([hidden])')];
  const cols = [...document.querySelectorAll('#matrix .col:not([hidden])')];
  const ys = rows.map(r => { const b = r.getBoundingClientRect(); return b.top + b.height / 2 - box.top; });
  const xs = cols.map(c => { const b = c.getBoundingClientRect(); return b.left + b.width / 2 - box.left; });
  return {rows: rows.map(r => r.title), cols: cols.map(c => c.title),
          width: box.width, height: box.height,
          cells: ys.map(y => xs.map(x => ({fill: fills[at(x - 5, y - 5)] || at(x - 5, y - 5),
                                           dot: at(x, y) === rgb('--ink'),
                                           mismatch: at(x - 7, y) === rgb('--mismatch')})))};
}"""


def read_matrix(page: Any) -> dict[str, Any]:
    m: dict[str, Any] = page.evaluate(READ_MATRIX)
    return m


def cell(page: Any, src: str, dst: str) -> dict[str, Any]:
    """What the matrix shows for workload ``src`` (row) to workload ``dst`` (column)."""
    m = read_matrix(page)
    c: dict[str, Any] = m["cells"][m["rows"].index(src)][m["cols"].index(dst)]
    return c


def show(page: Any, name: str) -> Any:
    """Section ``name``, scrolled to and drawn (sections below the fold draw on coming into view)."""
    section = page.locator(f"section#{name}")
    section.scroll_into_view_if_needed()
    page.wait_for_selector(f"section#{name}[data-drawn]", state="attached", timeout=10_000)
    return section


def explain_lines(src_pod: str, dst_pod: str, port: str) -> list[str]:
    r = podnet("explain", "-f", OSLO, "--from", src_pod, "--to", dst_pod, "--port", port)
    assert r.returncode == 0, r.stderr
    return r.stdout.rstrip("\n").split("\n")


def test_sections_render_from_file_url(page: Any, shots: Path) -> None:
    lazy = page.eval_on_selector_all("section[data-lazy]", "els => els.map(e => e.id)")
    assert {"services", "dns", "paths", "lab", "findings"} <= set(lazy)
    for name in SECTIONS:
        section = show(page, name) if name in lazy else page.locator(f"section#{name}")
        assert section.is_visible(), name
        assert page.locator(f'header nav a[href="#{name}"]').count() == 1
        section.screenshot(path=str(shots / f"{name}.png"))
        assert (shots / f"{name}.png").stat().st_size > 1000
    overview = page.locator("#overview").inner_text()
    assert "bgp" in overview and "ipvs" in overview  # the seeds' Calico BGP and IPVS mode
    assert "Top doctor findings" in overview
    nodes = page.eval_on_selector_all("#nodes tbody td:first-child", "els => els.map(e => e.textContent)")
    assert nodes and all(n.startswith("oslo-") for n in nodes)
    services = page.locator("#services-table").inner_text()
    assert "production/backend-service" in services and "10.96.0.11" in services
    assert page.locator("#findings article.finding").count() > 0
    assert page.locator("#findings pre").count() > 0  # fixes are shown
    m = read_matrix(page)
    wl = page.locator("#matrix .row.wl").count()
    assert wl > 3 and len(m["rows"]) == len(m["cols"]) == wl
    # every cell drawn, each in one of the matrix's colours; the canvas is no larger
    assert all(c["fill"] in ("allow", "deny", "self") for row in m["cells"] for c in row)
    bands = page.locator("#matrix .rowheads .ns:not([hidden])").count()
    assert m["width"] == wl * 18 and m["height"] == (wl + bands) * 18
    assert page.errors == [] and page.requests == []


@pytest.mark.parametrize(("src", "dst"), [
    ("production/frontend[Deployment]", "production/backend[Deployment]"),  # allowed on 8080
    ("production/database[StatefulSet]", "production/backend[Deployment]"),  # default-deny
])
def test_clicking_a_cell_shows_podnet_explain(page: Any, shots: Path, src: str, dst: str) -> None:
    data = page.evaluate("JSON.parse(document.getElementById('report-data').textContent)")
    wl = {w["name"]: w for w in data["connectivity"]["workloads"]}
    allowed = cell(page, src, dst)["fill"] == "allow"
    click_cell(page, src, dst)
    panel = page.locator("#explain")
    assert panel.is_visible()
    text = page.locator("#explain-text").inner_text().split("\n")
    ports = wl[dst]["ports"]
    assert ports, f"{dst} declares no port in examples/oslo"
    for port in ports:
        expected = explain_lines(wl[src]["pod"], wl[dst]["pod"], port)
        start = text.index(expected[0])  # the verdict line, then the sides in the CLI's words
        assert text[start:start + len(expected)] == expected
    verdicts = [line for line in text if line.startswith(wl[src]["pod"] + " -> ")]
    assert allowed == any(line.endswith("ALLOWED") for line in verdicts)
    panel.screenshot(path=str(shots / f"explain-{wl[src]['pod'].replace('/', '_')}.png"))
    assert page.errors == []


def test_text_filter_hides_rows(page: Any) -> None:
    total = page.locator("#matrix .row.wl").count()
    before = read_matrix(page)
    page.fill("#text-filter", "backend")
    visible = page.eval_on_selector_all("#matrix .row.wl:not([hidden])", "els => els.map(e => e.title)")
    assert visible and all("backend" in v for v in visible)
    assert page.locator("#matrix .row.wl[hidden]").count() == total - len(visible) > 0
    assert page.locator("#shown-count").inner_text() == f"{len(visible)} of {total} rows shown"
    # the canvas now draws only those rows, each as it was
    after = read_matrix(page)
    assert after["rows"] == visible and after["cols"] == before["cols"]
    assert after["cells"] == [before["cells"][before["rows"].index(r)] for r in visible]
    page.fill("#text-filter", "")
    assert page.locator("#matrix .row.wl[hidden]").count() == 0
    assert read_matrix(page) == before
    assert page.errors == []


def test_namespace_filter_keeps_one_namespace(page: Any, shots: Path) -> None:
    before = read_matrix(page)
    page.select_option("#ns-filter", "production")
    rows = page.eval_on_selector_all("#matrix .row.wl:not([hidden])", "els => els.map(e => e.title)")
    cols = page.eval_on_selector_all("#matrix .col:not([hidden])", "els => els.map(e => e.title)")
    assert rows and all(r.startswith("production/") for r in rows)
    assert cols == rows
    # the canvas shrinks to those rows and columns: each cell drawn as in the whole matrix
    m = read_matrix(page)
    assert m["width"] == len(cols) * 18 and m["height"] == (len(rows) + 1) * 18  # + the namespace band
    assert m["cells"] == [[before["cells"][before["rows"].index(r)][before["cols"].index(c)]
                           for c in cols] for r in rows]
    page.locator("#connectivity").screenshot(path=str(shots / "connectivity-production.png"))
    assert page.errors == []


def test_aggregated_matrix_past_the_workload_limit(browser: Any, tmp_path: Path) -> None:
    out = tmp_path / "agg.html"
    r = podnet("report", "-f", OSLO, "--max-workloads", "3", "-o", str(out))
    assert r.returncode == 0, r.stderr
    pg = browser.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(out.as_uri())
    data = pg.evaluate("JSON.parse(document.getElementById('report-data').textContent)")["connectivity"]
    assert "namespace by namespace" in pg.locator("#aggregated").inner_text()
    spaces = data["namespaces"]
    m = read_matrix(pg)
    assert m["rows"] == m["cols"] == spaces
    fills = {c["fill"] for row in m["cells"] for c in row}
    assert fills <= {"allow", "deny", "self", "partial"} and "partial" in fills
    a = spaces.index("production")
    kinds = ["self" if data["pairs"][a][b] == 0 else "deny" if data["allowed"][a][b] == 0
             else "allow" if data["allowed"][a][b] == data["pairs"][a][b] else "partial"
             for b in range(len(spaces))]
    assert [c["fill"] for c in m["cells"][a]] == kinds
    click_cell(pg, "production", "production")
    assert pg.locator("#explain-text").inner_text().startswith(
        f"{data['allowed'][a][a]} of {data['pairs'][a][a]} workload pairs from production to production")
    assert errors == []
    pg.close()


def blob(page: Any) -> Any:
    return page.evaluate("JSON.parse(document.getElementById('report-data').textContent)")


def test_map_draws_every_box_and_arrow(page: Any, shots: Path) -> None:
    show(page, "map")
    m = blob(page)["map"]
    assert page.locator("#map-svg g.node").count() == len(m["nodes"])
    assert page.locator("#map-svg g.group").count() == len(m["groups"])
    assert page.locator("#map-svg g.edge path").count() == len(m["edges"])
    labels = page.eval_on_selector_all("#map-svg g.edge text", "els => els.map(e => e.textContent)")
    assert "TCP 8080" in labels
    box = page.locator("#map-svg").bounding_box()
    assert box["width"] >= m["width"] and box["height"] >= m["height"]
    frontend = page.locator('#map-svg g.node[data-id="n:production/frontend[Deployment]"]')
    frontend.hover()
    touching = [e for e in m["edges"] if "n:production/frontend[Deployment]" in (e["from"], e["to"])]
    assert page.locator("#map-svg.focus g.edge.hl").count() == len(touching) > 0
    page.locator("#map").screenshot(path=str(shots / "map-hover-frontend.png"))
    assert page.errors == []


def test_dns_bars_are_proportional(page: Any) -> None:
    show(page, "dns")
    rows = blob(page)["dns"]["rows"]
    bars = page.eval_on_selector_all(
        "#dns-chart g.dns-row", "gs => gs.map(g => [g.dataset.workload, "
        "g.querySelector('rect.ok').getBBox().width + g.querySelector('rect.nx').getBBox().width, "
        "g.querySelector('rect.nx').getBBox().width])")
    assert [b[0] for b in bars] == [r["workload"] for r in rows]
    per_query = bars[0][1] / rows[0]["queries"]
    for (_, width, nx), r in zip(bars, rows, strict=True):
        assert abs(width - r["queries"] * per_query) < 0.5 and abs(nx - r["nxdomain"] * per_query) < 0.5
    assert page.errors == []


def test_paths_show_every_hop_with_its_mtu(page: Any) -> None:
    show(page, "paths")
    rows = blob(page)["paths"]["rows"]
    shown = page.locator("#paths div.path")
    assert shown.count() == len(rows)
    for k, r in enumerate(rows):
        hops = shown.nth(k).locator("li.hop")
        assert hops.count() == len(r["hops"])
        mtus = hops.locator(".mtu").all_inner_texts()
        assert [t.strip() or None for t in mtus] == [f"MTU {h['mtu']}" if h["mtu"] else None
                                                     for h in r["hops"]]
    assert page.errors == []


def test_lab_overlay_agrees_with_the_real_probe(page: Any) -> None:
    assert page.locator("#mismatch-count").inner_text() == "0 mismatches with the lab"
    lab = blob(page)["connectivity"]["lab"]
    probed = len(lab["probed"])
    cells = [c for row in read_matrix(page)["cells"] for c in row]
    assert sum(c["dot"] for c in cells) == probed * (probed - 1)
    assert not any(c["mismatch"] for c in cells)
    show(page, "lab")
    text = page.locator("#lab-services").inner_text()
    assert "production/backend-service" in text and "production/backend-1 (1)" in text  # frontend-0's answer
    assert page.errors == []


def test_a_mismatch_is_highlighted_and_explained(browser: Any, tmp_path: Path, shots: Path) -> None:
    raw = json.loads(PROBE.read_text())
    i, j = raw["pods"].index("production/frontend-0"), raw["pods"].index("production/backend-0")
    raw["matrix"]["8080/TCP"][i][j] = False  # as if the lab had dropped an allowed flow
    bad = tmp_path / "probe.json"
    bad.write_text(json.dumps(raw))
    out = tmp_path / "mm.html"
    r = podnet("report", "-f", OSLO, "--probe", str(bad), "-o", str(out))
    assert r.returncode == 0, r.stderr
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(out.as_uri())
    assert pg.locator("#mismatch-count").inner_text() == "1 mismatch with the lab"
    assert sum(c["mismatch"] for row in read_matrix(pg)["cells"] for c in row) == 1
    src, dst = "production/frontend[Deployment]", "production/backend[Deployment]"
    assert cell(pg, src, dst)["mismatch"]
    click_cell(pg, src, dst)
    text = pg.locator("#explain-text").inner_text()
    assert ("production/frontend-0 -> production/backend-0 8080/TCP: predicted allowed, observed dropped"
            in text)
    show(pg, "lab")
    assert "production/frontend-0" in pg.locator("#lab-mismatches").inner_text()
    pg.locator("#connectivity").screenshot(path=str(shots / "connectivity-mismatch.png"))
    assert errors == []
    pg.close()


def test_exposure_toggle_lists_the_exposed_workloads(page: Any, shots: Path) -> None:
    """oslo's coredns has no policy: reachable from outside and from every pod. production's
    backend is default-denied with rules that name only oslo's own pods: not exposed."""
    m = read_matrix(page)  # before the toggle hides it
    assert not page.locator("#exposure-view").is_visible()
    page.check("#exposure-toggle")
    assert page.locator("#exposure-view").is_visible()
    assert not page.locator("#matrix-wrap").is_visible()
    rows = page.locator("#exposure-ingress tbody tr")
    exposed = rows.evaluate_all("trs => trs.map(t => t.dataset.workload)")
    expected = [w["workload"] for w in blob(page)["connectivity"]["exposure"]["workloads"]
                if w["ingress"]]
    assert exposed == expected
    assert "kube-system/coredns[Deployment]" in exposed
    assert "production/backend[Deployment]" not in exposed
    coredns = page.locator('#exposure-ingress tr[data-workload="kube-system/coredns[Deployment]"]')
    cols = coredns.locator("td").all_inner_texts()
    assert cols[1] == "0.0.0.0-255.255.255.255[External]: All Connections"
    assert cols[2] == "All Connections"
    # who in the input reaches it: the matrix's column for coredns, counted
    j = m["cols"].index("kube-system/coredns[Deployment]")
    reach = sum(row[j]["fill"] == "allow" for row in m["cells"])
    assert cols[4].startswith(f"{reach} workloads") and reach > 0
    page.locator("#connectivity").screenshot(path=str(shots / "connectivity-exposure.png"))
    page.uncheck("#exposure-toggle")
    assert page.locator("#matrix-wrap").is_visible() and not page.locator("#exposure-view").is_visible()
    assert page.errors == [] and page.requests == []


def test_sections_below_the_fold_are_drawn_when_reached(page: Any) -> None:
    """The first layout holds the overview and the matrix; Findings, far below, is parsed but
    not in the document until it is scrolled to (or the page is printed)."""
    findings = blob(page)["findings"]
    assert page.locator("section#findings[data-drawn]").count() == 0
    assert page.locator("#findings article.finding").count() == 0
    show(page, "findings")
    assert page.locator("#findings article.finding").count() == len(findings) > 0
    assert page.locator("#findings template").count() == 0  # moved in, not copied
    undrawn = page.eval_on_selector_all("section[data-lazy]:not([data-drawn])", "els => els.map(e => e.id)")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("section[data-lazy]:not([data-drawn])").count() == 0
    for name in undrawn:  # each drawn once: its markup in place, its template gone
        assert page.locator(f"section#{name} template").count() == 0
    assert page.locator("#map-svg g.node").count() == len(blob(page)["map"]["nodes"])
    assert page.errors == []


def test_long_tables_show_a_page_then_more(browser: Any, tmp_path: Path) -> None:
    """A cluster's 1,364 nodes are not 1,364 rows at first: 20, then 200 more per click, in
    the data's order, until the button goes."""
    from podnet.analysis import Analysis
    from podnet.model import build, read_paths
    from podnet.report.data import report_data
    from podnet.report.render import render_html

    data = report_data(Analysis(build(read_paths([OSLO]), nodes=3)).cluster)
    nodes = [{"name": f"node-{k:04d}", "ip": f"10.0.{k // 250}.{k % 250 + 1}",
              "podCIDR": f"10.{k // 200}.{k % 200}.0/24"} for k in range(260)]
    data["overview"]["nodes"] = nodes
    out = tmp_path / "nodes.html"
    out.write_text(render_html(data))
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.goto(out.as_uri())

    def shown() -> list[list[str]]:
        rows: list[list[str]] = pg.eval_on_selector_all(
            "#nodes tbody tr", "trs => trs.map(t => [...t.cells].map(c => c.textContent))")
        return rows

    expected = [[n["name"], n["ip"], n["podCIDR"]] for n in nodes]
    assert shown() == expected[:20]
    more = pg.locator('button[data-more="nodes"]')
    assert more.inner_text() == "show 200 more (240 not shown)"
    more.click()
    assert shown() == expected[:220] and more.inner_text() == "show 40 more (40 not shown)"
    more.click()
    assert shown() == expected and not more.is_visible()
    assert errors == []
    pg.close()
