"""The measured series a benchmark hands to bench/plots.py: build/bench/<name>.json.

One file per figure, written by the benchmark that measured it, so a figure can be redrawn
without measuring again and a missing one names the benchmark to run. Each file says what
was measured, on which machine and under what load (the machine is shared; figures are noisy).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("PODNET_BENCH_OUT", ROOT / "build" / "bench"))


def machine() -> dict[str, Any]:
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return {"cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "python": platform.python_version(), "loadavg": list(os.getloadavg())}


def write(name: str, *, title: str, x: dict[str, str], y: dict[str, str],
          series: dict[str, dict[str, list[Any]]], quick: bool = False,
          load_start: float | None = None, kind: str = "line") -> Path:
    """Write one figure's data: ``x``/``y`` are {"label", "unit"}; ``series`` maps a line's
    name to {"x": [...], "y": [...]} (``kind="bar"``: x are category names, and optional
    "ymin"/"ymax" give each bar's range). ``load_start`` is the 1-minute load average when the
    measurement began (the file records it and the load at the end)."""
    m = machine()
    if load_start is not None:
        m["loadavg_start"] = load_start
    doc = {"name": name, "title": title, "kind": kind, "x": x, "y": y, "series": series,
           "command": " ".join(shlex.quote(a) for a in ["python", *sys.argv]),
           "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "quick": quick, "machine": m}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path
