"""Scale benchmarks of the analyzer (``make bench``): load, compile and matrix, time and memory.

Each stage runs in a fresh process so its peak RSS is its own; ``reach -o summary`` is also
timed end to end as a user runs it. Prints a markdown table (copied into docs/benchmarks.md)
and writes the growth curves (time and peak memory vs pods) to build/bench/analyzer-*.json for
bench/plots.py. ``--quick`` runs small clusters only (for testing the script).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402
import series  # noqa: E402

# The growth curve's points: Kubernetes' published limit (150k pods) and three on the way there.
SIZES = (("10k pods / 200 ns / 1k policies", 10_000, 200, 1_000),
         ("50k pods / 1.7k ns / 3.4k policies", 50_000, 1_700, 3_400),
         ("100k pods / 3.4k ns / 6.7k policies", 100_000, 3_400, 6_700),
         ("150k pods / 5k ns / 10k policies", 150_000, 5_000, 10_000))
QUICK = (("1k pods / 40 ns / 100 policies", 1_000, 40, 100),
         ("3k pods / 100 ns / 300 policies", 3_000, 100, 300))

STAGE = r"""
import json, resource, sys, time
from podnet.model import build, read_paths
from podnet.policy import class_matrix, compile_policies, count_allowed
from podnet.policy.classes import classify
from podnet.policy.query import parse_ports
def rss(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter(); docs = read_paths([sys.argv[1]]); t1 = time.perf_counter()
cluster = build(docs); t2 = time.perf_counter(); m_load = rss()
compiled = compile_policies(cluster.policies); t3 = time.perf_counter(); m_compile = rss()
ports = parse_ports("8080/TCP,9090/TCP,53/UDP", cluster)
classes = classify(cluster.pods, compiled); t4 = time.perf_counter()
cm = class_matrix(cluster, compiled, ports, classes)
counts = {p: count_allowed(cm, p) for p in ports}; t5 = time.perf_counter(); m_matrix = rss()
print(json.dumps({"read": t1 - t0, "build": t2 - t1, "compile": t3 - t2, "classify": t4 - t3,
                  "matrix": t5 - t4, "pods": len(cluster.pods), "classes": len(classes),
                  "policies": len(cluster.policies), "rss_load": m_load,
                  "rss_compile": m_compile, "rss_matrix": m_matrix}))
"""

E2E = r"""
import json, os, resource, subprocess, sys, time
t0 = time.perf_counter()
# cold: a cached model from an earlier run of this deterministic cluster would hide the load
subprocess.run([sys.executable, "-m", "podnet", "reach", "-f", sys.argv[1], "-o", "summary",
                "--ports", "8080/TCP,9090/TCP,53/UDP"], check=True, capture_output=True,
               env={**os.environ, "PODNET_NO_CACHE": "1"})
total = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([total, ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime]))
"""

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small clusters only (1k and 3k pods)")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    rows = []
    cpus: list[float] = []  # reach's CPU time: steadier than wall time on a shared machine
    with tempfile.TemporaryDirectory() as tmp:
        for label, pods, nss, pols in QUICK if args.quick else SIZES:
            path = os.path.join(tmp, f"c{pods}.json")
            gen.write(path, pods, nss, pols)
            out = subprocess.run([sys.executable, "-c", STAGE, path], capture_output=True, text=True,
                                 check=True).stdout
            st = json.loads(out)
            # RUSAGE_CHILDREN's ru_maxrss is the largest child ever reaped, so the stage process
            # above would mask reach's own peak: a fresh wrapper process reaps only reach.
            out = subprocess.run([sys.executable, "-c", E2E, path], capture_output=True, text=True,
                                 check=True).stdout
            total, rss, cpu = json.loads(out)
            rows.append((label, st, total, rss))
            cpus.append(cpu)
    print("| cluster | pods | classes | load (read+build) | compile | matrix (classify + 3 ports) "
          "| `reach -o summary` end to end |")
    print("|---|---|---|---|---|---|---|")
    for label, st, total, rss in rows:
        print(f"| {label} | {st['pods']:,} | {st['classes']:,} "
              f"| {st['read'] + st['build']:.2f} s, peak {st['rss_load']:.0f} MiB "
              f"| {st['compile']:.2f} s, peak {st['rss_compile']:.0f} MiB "
              f"| {st['classify'] + st['matrix']:.2f} s, peak {st['rss_matrix']:.0f} MiB "
              f"| {total:.2f} s, peak {rss:.0f} MiB |")
    print("\n(peak = the process's peak RSS when the stage ends; each stage adds to the last)")
    write_series(rows, cpus, args.quick, load_start)


def write_series(rows: list[tuple[str, dict[str, float], float, float]], cpus: list[float],
                 quick: bool, load_start: float) -> None:
    pods = [st["pods"] for _, st, _, _ in rows]
    series.write("analyzer-time", title="Analyzer time vs pods", quick=quick, load_start=load_start,
                 x={"label": "pods", "unit": "pods"}, y={"label": "wall time (CPU time dashed)", "unit": "s"},
                 series={"reach -o summary, end to end": {"x": pods, "y": [t for *_, t, _ in rows]},
                         "reach -o summary, its CPU time": {"x": pods, "y": cpus},
                         "load (read + build)": {"x": pods, "y": [st["read"] + st["build"]
                                                                  for _, st, _, _ in rows]},
                         "matrix (classify + 3 ports)": {"x": pods, "y": [
                             st["classify"] + st["matrix"] for _, st, _, _ in rows]}})
    series.write("analyzer-memory", title="Analyzer peak memory vs pods", quick=quick,
                 load_start=load_start,
                 x={"label": "pods", "unit": "pods"}, y={"label": "peak RSS", "unit": "MiB"},
                 series={"reach -o summary, end to end": {"x": pods, "y": [r for *_, r in rows]},
                         "after load": {"x": pods, "y": [st["rss_load"] for _, st, _, _ in rows]},
                         "after matrix": {"x": pods, "y": [st["rss_matrix"] for _, st, _, _ in rows]}})


if __name__ == "__main__":
    main()
