"""The HTML report at scale (``make bench``): ``podnet report`` on bench/gen.py's 150,000-pod
cluster, timed end to end as a user runs it (wall, and CPU from the child's rusage, the figure
a busy machine does not inflate), then the file opened in headless Chromium from a file:// URL,
timed until the page's script marks every section drawn (``body[data-rendered]``).

The open time is the median of a few page loads in one browser. Chromium is Debian's (the
browser tests' too); without it or playwright the open time is skipped, saying why.
Prints a markdown table (copied into docs/benchmarks.md).
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

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

SIZE = ("150k pods / 5k ns / 10k policies", 150_000, 5_000, 10_000)
OPENS = 5


def build(path: str, out: str) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "podnet", "--no-cache", "report", "-f", path, "-o", out],
                   check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def open_times(html: str) -> list[float] | str:
    chromium = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
    if chromium is None:
        return "no chromium on PATH"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright is not installed"
    times = []
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
            if errors:
                raise SystemExit(f"the page raised: {errors}")
            page.close()
        browser.close()
    return times


def main() -> None:
    label, pods, nss, pols = SIZE
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"c{pods}.json")
        gen.write(path, pods, nss, pols)
        html = os.path.join(tmp, "report.html")
        wall, cpu = build(path, html)
        size = os.path.getsize(html)
        opened = open_times(html)
    print("| cluster | `podnet report` end to end, wall (CPU) | file | open in Chromium until drawn "
          f"(median of {OPENS}) |")
    print("|---|---|---|---|")
    shown = (f"{statistics.median(opened):.2f} s (min {min(opened):.2f} s)"
             if isinstance(opened, list) else f"skipped: {opened}")
    print(f"| {label} | {wall:.2f} s ({cpu:.2f} s CPU) | {size / 1024:.0f} KB | {shown} |")


if __name__ == "__main__":
    main()
