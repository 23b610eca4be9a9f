"""Stage by stage CPU and wall time of ``connlist --exposure`` and ``diff`` in one process, on two
bench/gen.py clusters given as files (see bench/connlist_scale.py and docs/benchmarks.md). CPU
time is the figure to compare on a shared machine; each line also shows the load average.

    python bench/connlist_stages.py A.json B.json
"""

from __future__ import annotations

import os
import sys
import time

from podnet.model import build, read_paths
from podnet.policy.compile import compile_cluster
from podnet.policy.connlist import connections
from podnet.policy.diff import diff, side
from podnet.policy.diff_formats import render
from podnet.policy.exposure_report import report_of


class Laps:
    def __init__(self) -> None:
        self.cpu, self.wall = time.process_time(), time.perf_counter()

    def lap(self, what: str) -> None:
        cpu, wall = time.process_time(), time.perf_counter()
        print(f"{what}: {cpu - self.cpu:.2f} s CPU, {wall - self.wall:.2f} s wall, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
        self.cpu, self.wall = time.process_time(), time.perf_counter()


def main(a_path: str, b_path: str) -> None:
    laps = Laps()
    a = build(read_paths([a_path]))
    laps.lap("read+build A")
    compiled = compile_cluster(a, ipblock_matches_pods=False)
    laps.lap("compile A")
    conns = connections(a, compiled)
    laps.lap(f"connections A ({len(conns):,})")
    text = report_of(a, compiled, [(c.src.text, c.dst.text, c.text) for c in conns], "txt")
    laps.lap(f"exposure report txt ({len(text):,} chars)")
    del text, conns
    old = side(a, compiled)
    laps.lap("diff side A")
    b = build(read_paths([b_path]))
    new = side(b, compile_cluster(b, ipblock_matches_pods=False))
    laps.lap("read+build+compile B, diff side B")
    d = diff(old, new, unchanged=False)
    render(d, "txt")
    laps.lap(f"diff + render txt ({len(d.changes):,} changes)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
