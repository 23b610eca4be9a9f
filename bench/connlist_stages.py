"""Stage by stage CPU and wall time of ``connlist --exposure`` and ``diff`` in one process, on two
bench/gen.py clusters given as files (see bench/connlist_scale.py and docs/benchmarks.md). CPU
time is the figure to compare on a shared machine; each line also shows the load average.
The last stage is what ``podnet diff`` runs instead of the two tables and their comparison
when only policies changed (and checks that it prints the same).

    python bench/connlist_stages.py A.json B.json
"""

from __future__ import annotations

import os
import sys
import time

from podnet.model import build, read_paths
from podnet.policy.compile import compile_cluster
from podnet.policy.connlist import representatives
from podnet.policy.conntable import changed_sides, conn_table, exposure_txt_pieces
from podnet.policy.diff import diff
from podnet.policy.diff_formats import render
from podnet.policy.incremental import files_diff


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
    table = conn_table(a, compiled)
    laps.lap(f"connection table A ({len(table):,} connections)")
    size = sum(len(p.encode()) for p in exposure_txt_pieces(a, compiled, table))
    laps.lap(f"exposure analysis + txt, encoded ({size:,} bytes)")
    b = build(read_paths([b_path]))
    compiled_b = compile_cluster(b, ipblock_matches_pods=False)
    laps.lap("read+build+compile B")
    table_b = conn_table(b, compiled_b)
    laps.lap(f"connection table B ({len(table_b):,} connections)")
    old, new = changed_sides(table, frozenset(representatives(a)), table_b,
                             frozenset(representatives(b)))
    d = diff(old, new, unchanged=False)
    render(d, "txt")
    laps.lap(f"compare, diff + render txt ({len(d.changes):,} changes)")
    shared = files_diff((a, compiled), (b, compiled_b))
    assert shared is not None and render(shared, "txt") == render(d, "txt")
    laps.lap("podnet diff's way: class space shared, changed rows and columns only (files_diff)")

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
