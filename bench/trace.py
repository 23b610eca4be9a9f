"""``podnet trace`` of one flow against loading the cluster alone (``make bench``).

The cluster is bench/doctor.py's: 150,000 pods in 5,000 namespaces (1,364 nodes), 10,000
NetworkPolicies and 10,000 Services (bench/gen.py). Each command runs in its own process
through a fresh wrapper that reaps only it (``RUSAGE_CHILDREN``'s peak RSS is the largest child
ever reaped), ``--runs`` times (default 3); the table gives the best wall time with that run's
CPU time (user + system) and peak RSS, since on a shared machine the wall time mostly measures
the neighbours. "Load" is a process that imports podnet and builds the cluster as every command
does (``podnet.cli.common.load_cluster``, collector off as in the CLI), then exits: ``podnet
analyze`` is no load-only stage here, as it matches every pod against every policy.
Target: a trace within 1.5x of loading.

    python bench/trace.py [--runs N]

Run with an older tree first on ``PYTHONPATH`` for the figures before a change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import doctor  # noqa: E402

# (what the row says, --from, --to)
FLOWS = (("pod to a pod on another node", "ns-00000/web-0", "ns-04999/web-0:8080/TCP"),
         ("pod to a Service (ClusterIP, iptables rules of the source's node)", "ns-00000/web-0",
          "ns-04999/web:80/TCP"))

LOAD = r"""
import gc, sys
gc.disable()
from podnet.cli.common import load_cluster
print(len(load_cluster([sys.argv[1]]).nodes))
"""

# Runs argv[1:] and prints [wall, cpu, peak MiB, stdout]: the only child this process reaps.
WRAP = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, r.stdout]))
"""

Run = tuple[float, float, float, str]  # wall s, cpu s, peak MiB, stdout


def best(cmd: list[str], runs: int) -> Run:
    """The run with the least wall time."""
    out = [json.loads(subprocess.run([sys.executable, "-c", WRAP, *cmd], check=True,
                                     capture_output=True, text=True).stdout) for _ in range(runs)]
    return tuple(min(out, key=lambda r: r[0]))  # type: ignore[return-value]


def main(argv: list[str]) -> None:
    runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        with open(path, "w") as f:
            json.dump(doctor.cluster(), f)
        load = best([sys.executable, "-c", LOAD, path], runs)
        rows = []
        for what, src, dst in FLOWS:
            t = best([sys.executable, "-m", "podnet", "trace", "-f", path, "--from", src,
                      "--to", dst, "-o", "json"], runs)
            rows.append((what, src, dst, t, json.loads(t[3])["verdict"]))
    print(f"cluster: {doctor.PODS:,} pods, {doctor.POLICIES:,} policies, {doctor.SERVICES:,} "
          f"services, {load[3].strip()} nodes; best of {runs} runs\n")
    print("| flow | `podnet trace` wall (CPU), peak | load only wall (CPU), peak "
          "| ratio wall (CPU) |")
    print("|---|---|---|---|")
    for what, src, dst, t, verdict in rows:
        print(f"| {what}: `--from {src} --to {dst}` ({verdict}) "
              f"| {t[0]:.2f} s ({t[1]:.2f} s), {t[2]:.0f} MiB "
              f"| {load[0]:.2f} s ({load[1]:.2f} s), {load[2]:.0f} MiB "
              f"| {t[0] / load[0]:.2f}x ({t[1] / load[1]:.2f}x) |")


if __name__ == "__main__":
    main(sys.argv[1:])
