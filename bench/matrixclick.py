"""Clicking a cell of the report's matrix in a browser (playwright): the matrix is one canvas,
so a cell is found where its row's and its column's labels cross. Shared by
bench/screenshot.py and tests/test_report_browser.py."""

from __future__ import annotations

from typing import Any


def click_cell(page: Any, src: str, dst: str) -> None:
    """Click the canvas where row ``src``'s label and column ``dst``'s label cross."""
    at = page.evaluate("""([src, dst]) => {
      const cv = document.querySelector('#matrix canvas').getBoundingClientRect();
      const r = [...document.querySelectorAll('#matrix .row.wl')].find(e => e.title === src);
      const c = [...document.querySelectorAll('#matrix .col')].find(e => e.title === dst);
      const rb = r.getBoundingClientRect(), cb = c.getBoundingClientRect();
      return {x: cb.left + cb.width / 2 - cv.left, y: rb.top + rb.height / 2 - cv.top};
    }""", [src, dst])
    page.locator("#matrix canvas").click(position=at)
