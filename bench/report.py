"""The HTML report at scale (``make bench``): ``podnet report`` on bench/gen.py's 150,000-pod
cluster, timed end to end as a user runs it (wall, and CPU from the child's rusage, the figure
a busy machine does not inflate), then the file opened in headless Chromium from a file:// URL,
timed until the page's script marks every section drawn (``body[data-rendered]``).

The open time is the median of a few page loads in one browser: until the page marks the
overview and the matrix drawn, after the frame that lays them out and paints them. The sections
below the fold draw when scrolled to; the time to scroll to each in turn until all are drawn is
the second figure. A few more loads are measured through the DevTools protocol (Performance
metrics: layout, style, script, task time and DOM nodes; the median of each over the loads).
Chromium is Debian's (the browser tests' too); without it or playwright the open time is
skipped, saying why.

``python bench/report.py [REPORT.html]``: time an existing file instead of building one.
Prints a markdown table (copied into docs/benchmarks.md) and the load average.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

SIZE = ("150k pods / 5k ns / 10k policies", 150_000, 5_000, 10_000)
OPENS = 7
PROFILES = 5  # DevTools loads; each metric's median is printed
LOAD = os.getloadavg()


def build(path: str, out: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "podnet", "--no-cache", "report", "-f", path, "-o", out],
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _all_drawn(page: Any) -> float:
    """Scroll to each section not yet drawn, in order, until it is: seconds in all."""
    t0 = time.perf_counter()
    for sid in page.eval_on_selector_all("section[data-lazy]:not([data-drawn])", "els => els.map(e => e.id)"):
        page.evaluate("id => document.getElementById(id).scrollIntoView()", sid)
        page.wait_for_selector(f"section#{sid}[data-drawn]", state="attached", timeout=60_000)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
    return time.perf_counter() - t0


def devtools(browser: Any, html: str) -> dict[str, float]:
    """One load's Performance metrics (cumulative since the page was created)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    t0 = time.perf_counter()
    page.goto(Path(html).as_uri(), wait_until="commit")
    page.wait_for_selector("body[data-rendered]", state="attached", timeout=60_000)
    wall = time.perf_counter() - t0
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    page.close()
    return {"wall": wall, "layout": metrics["LayoutDuration"], "style": metrics["RecalcStyleDuration"],
            "script": metrics["ScriptDuration"], "task": metrics["TaskDuration"],
            "nodes": metrics["Nodes"], "layouts": metrics["LayoutCount"]}


def open_times(html: str) -> tuple[list[float], list[float], dict[str, float]] | str:
    chromium = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
    if chromium is None:
        return "no chromium on PATH"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed"
    times, rest = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        for _ in range(OPENS):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e, errs=errors: errs.append(str(e)))
            t0 = time.perf_counter()
            page.goto(Path(html).as_uri(), wait_until="commit")
            page.wait_for_selector("body[data-rendered]", state="attached", timeout=60_000)
            times.append(time.perf_counter() - t0)
            rest.append(_all_drawn(page))
            if errors:
                raise SystemExit(f"the page raised: {errors}")
            page.close()
        runs = [devtools(browser, html) for _ in range(PROFILES)]
        profile = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        browser.close()
    return times, rest, profile


def main() -> None:
    label, pods, nss, pols = SIZE
    given = sys.argv[1] if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        if given:
            html, built = given, "(not built: file given)"
        else:
            path = os.path.join(tmp, f"c{pods}.json")
            gen.write(path, pods, nss, pols)
            html = os.path.join(tmp, "report.html")
            wall, cpu = build(path, html)
            built = f"{wall:.2f} s ({cpu:.2f} s CPU)"
        size = os.path.getsize(html)
        opened = open_times(html)
    print(f"load average at the start: {LOAD[0]:.1f} {LOAD[1]:.1f} {LOAD[2]:.1f}; after: "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print("| cluster | `podnet report` end to end, wall (CPU) | file | open in Chromium until the "
          f"overview and matrix are drawn (median of {OPENS}) | then every section, scrolled to in turn |")
    print("|---|---|---|---|---|")
    if isinstance(opened, str):
        print(f"| {label} | {built} | {size / 1024:.0f} KB | skipped: {opened} | |")
        return
    times, rest, prof = opened
    print(f"| {label} | {built} | {size / 1024:.0f} KB | {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}) | {statistics.median(rest):.2f} s |")
    print(f"DevTools, median of {PROFILES} loads: {prof['wall']:.2f} s wall; task {prof['task']:.2f} s, "
          f"layout {prof['layout']:.3f} s ({prof['layouts']:.0f} layouts), style {prof['style']:.3f} s, "
          f"script {prof['script']:.3f} s; {prof['nodes']:.0f} DOM nodes")


if __name__ == "__main__":
    main()
