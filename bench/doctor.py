"""``podnet doctor`` on the benchmark cluster (``make bench``): 150,000 pods in 5,000 namespaces,
10,000 NetworkPolicies (bench/gen.py) and 10,000 Services (two per namespace, each selecting one
of its Deployments). Target: under 15 s end to end.

Prints the time of each check in one process, then ``podnet doctor -o json`` end to end as a
user runs it (peak RSS of that process), as markdown rows for docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

PODS, NAMESPACES, POLICIES, SERVICES = 150_000, 5_000, 10_000, 10_000


def cluster() -> dict[str, Any]:
    data = gen.cluster(PODS, NAMESPACES, POLICIES)
    per_ns = SERVICES // NAMESPACES
    for n in range(NAMESPACES):
        ns = f"ns-{n:05d}"
        for a in range(per_ns):
            app = gen.APPS[(n + a) % len(gen.APPS)]
            data["items"].append({"apiVersion": "v1", "kind": "Service",
                                  "metadata": {"name": app, "namespace": ns},
                                  "spec": {"selector": {"app": app}, "ports": [
                                      {"name": "http", "port": 80, "targetPort": "http"}]}})
    return data


STAGES = r"""
import gc, json, sys, time
gc.disable()  # as the CLI runs (podnet/cli/app.py)
from podnet.analysis import Analysis
from podnet.doctor import diagnose, select
from podnet.doctor.context import Context
from podnet.model import build, read_paths
t0 = time.perf_counter(); docs = read_paths([sys.argv[1]]); cluster = build(docs)
t1 = time.perf_counter(); ctx = Context(Analysis(cluster), docs)
times, counts = {}, {}
for c in select():
    s = time.perf_counter(); found = list(c.run(ctx)); times[c.name] = time.perf_counter() - s
    counts[c.name] = len(found)
print(json.dumps({"load": t1 - t0, "checks": times, "counts": counts, "pods": len(cluster.pods),
                  "services": len(cluster.services), "policies": len(cluster.policies)}))
"""

E2E = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run([sys.executable, "-m", "podnet", "doctor", "-f", sys.argv[1], "-o", "json"],
                   capture_output=True, text=True)
total = time.perf_counter() - t0
summary = json.loads(r.stdout)["summary"]
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([total, ru.ru_maxrss / 1024, summary, r.returncode, ru.ru_utime + ru.ru_stime]))
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "doctor.json")
        with open(path, "w") as f:
            json.dump(cluster(), f)
        st = json.loads(subprocess.run([sys.executable, "-c", STAGES, path], capture_output=True,
                                       text=True, check=True).stdout)
        # three runs, each in a fresh wrapper (RUSAGE_CHILDREN keeps the largest child ever
        # reaped); this machine is shared, so CPU time is given beside the wall clock
        runs = [json.loads(subprocess.run([sys.executable, "-c", E2E, path], capture_output=True,
                                          text=True, check=True).stdout) for _ in range(3)]
        total, rss, summary, rc, cpu = min(runs)
    print(f"cluster: {st['pods']:,} pods, {st['policies']:,} policies, {st['services']:,} services; "
          f"load (read + build) {st['load']:.2f} s")
    print("\n| check | time | findings |\n|---|---|---|")
    for name, t in sorted(st["checks"].items(), key=lambda kv: -kv[1]):
        print(f"| {name} | {t:.2f} s | {st['counts'][name]:,} |")
    walls = ", ".join(f"{r[0]:.2f}" for r in runs)
    print(f"\n`podnet doctor -o json` end to end: best {total:.2f} s of 3 ({walls} s), CPU "
          f"{cpu:.2f} s, peak {rss:.0f} MiB, exit {rc}, summary {summary} (target < 15 s)")


if __name__ == "__main__":
    main()
