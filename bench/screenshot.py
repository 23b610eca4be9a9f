"""The README's picture of the report (``make screenshot``): ``podnet report -f examples/oslo
--doctor`` opened in headless Chromium from a file:// URL, a cell of the matrix clicked so its
explanation shows, and the window scrolled to the Connectivity section saved as
docs/report.png.

Usage: python bench/screenshot.py [OUT.png]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from matrixclick import click_cell

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "report.png"
# the cell clicked: a frontend reaching its backend on 8080, through two policies
CELL = ("production/frontend[Deployment]", "production/backend[Deployment]")


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else OUT
    chromium = next(filter(None, (shutil.which(n) for n in ("chromium", "chromium-browser"))), None)
    if chromium is None:
        raise SystemExit("no chromium on PATH (Debian package chromium; `make install` as root)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "oslo.html"
        subprocess.run([sys.executable, "-m", "podnet", "report", "-f", str(ROOT / "examples" / "oslo"),
                        "--doctor", "-o", str(html)], check=True, capture_output=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, headless=True)
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-rendered]", state="attached")
            click_cell(page, *CELL)
            # the page as a reader sees it after following the header's link: header on top
            page.evaluate("location.hash = '#connectivity'")
            page.screenshot(path=str(out))
            browser.close()
    print(f"wrote {out} ({out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
