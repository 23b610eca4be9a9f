"""``reach -o connlist`` against ``reach -o summary`` on the same clusters (``make bench``).

Clusters come from ``gen.rules_cluster``: 3,200 pods in 400 Deployments over 100 namespaces,
with 500, 1,000 and 10,000 policy rules. Each command runs end to end in its own process, as a
user runs it, ``--runs`` times (default 3); the table shows the best wall time and the CPU time
(user + system) of that run, since on a shared machine the wall time mostly measures the
neighbours. A run longer than ``--timeout`` seconds (default 300) is stopped and reported as
such. Prints a markdown table (copied into docs/benchmarks.md). Target: connlist within 1.5x
of summary, and 10,000 rules well under 10 s.

    python bench/connlist.py [--runs N] [--timeout SECONDS] [RULES ...]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

RULES = (500, 1_000, 10_000)


Timing = tuple[float, float] | None  # (wall, cpu) seconds; None: stopped at the timeout


def timed(path: str, output: str, timeout: float) -> tuple[Timing, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "podnet", "reach", "-f", path, "-o", output],
                             check=True, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return None, ""
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return (wall, cpu), out


def best(path: str, output: str, runs: int, timeout: float) -> tuple[Timing, str]:
    """The run with the least wall time; stops at the first run that times out."""
    found: tuple[Timing, str] = (None, "")
    for _ in range(runs):
        t, out = timed(path, output, timeout)
        if t is None:
            return None, ""
        if found[0] is None or t[0] < found[0][0]:
            found = (t, out)
    return found


def _option(argv: list[str], name: str, default: float) -> float:
    if name not in argv:
        return default
    i = argv.index(name)
    value = float(argv[i + 1])
    del argv[i:i + 2]
    return value


def main(argv: list[str]) -> None:
    timeout = _option(argv, "--timeout", 300.0)
    runs = int(_option(argv, "--runs", 3))
    sizes = [int(a) for a in argv] or list(RULES)
    print("| rules (policies) | pods / workloads | connlist lines | `reach -o connlist` wall (CPU) "
          "| `reach -o summary` wall (CPU) | ratio wall (CPU) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for rules in sizes:
            path = os.path.join(tmp, f"rules{rules}.json")
            doc = gen.rules_cluster(rules)
            with open(path, "w") as f:
                json.dump(doc, f)
            workloads = sum(1 for item in doc["items"] if item["kind"] == "Deployment")
            summary_t, summary = best(path, "summary", runs, timeout)
            connlist_t, lines = best(path, "connlist", runs, timeout)
            pods = json.loads(summary)["pods"] if summary else "?"
            policies = -(-rules // gen.RULES_PER_POLICY)
            shown = [f"{t[0]:.2f} s ({t[1]:.2f} s)" if t is not None
                     else f"> {timeout:.0f} s (stopped)" for t in (connlist_t, summary_t)]
            ratio = (f"{connlist_t[0] / summary_t[0]:.2f}x ({connlist_t[1] / summary_t[1]:.2f}x)"
                     if connlist_t is not None and summary_t is not None else "")
            count = f"{lines.count(chr(10)):,}" if connlist_t is not None else "?"
            print(f"| {rules:,} ({policies:,}) | {pods:,} / {workloads} | {count} "
                  f"| {shown[0]} | {shown[1]} | {ratio} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
