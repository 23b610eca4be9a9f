"""``reach -o connlist`` against ``reach -o summary`` on the same clusters (``make bench``).

Clusters come from ``gen.rules_cluster``: 3,200 pods in 400 Deployments over 100 namespaces,
with 500, 1,000 and 10,000 policy rules. Each command runs end to end in its own process, as a
user runs it; a run longer than ``--timeout`` seconds (default 300) is stopped and reported as
such. Prints a markdown table (copied into docs/benchmarks.md). Target: connlist within 1.5x
of summary, and 10,000 rules well under 10 s.

    python bench/connlist.py [--timeout SECONDS] [RULES ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

RULES = (500, 1_000, 10_000)


def timed(path: str, output: str, timeout: float) -> tuple[float | None, str]:
    t0 = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "podnet", "reach", "-f", path, "-o", output],
                             check=True, capture_output=True, text=True, timeout=timeout).stdout
    except subprocess.TimeoutExpired:
        return None, ""
    return time.perf_counter() - t0, out


def main(argv: list[str]) -> None:
    timeout = 300.0
    if "--timeout" in argv:
        i = argv.index("--timeout")
        timeout = float(argv[i + 1])
        del argv[i:i + 2]
    sizes = [int(a) for a in argv] or list(RULES)
    print("| rules (policies) | pods / workloads | connlist lines | `reach -o connlist` "
          "| `reach -o summary` | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for rules in sizes:
            path = os.path.join(tmp, f"rules{rules}.json")
            doc = gen.rules_cluster(rules)
            with open(path, "w") as f:
                json.dump(doc, f)
            workloads = sum(1 for item in doc["items"] if item["kind"] == "Deployment")
            summary_s, summary = timed(path, "summary", timeout)
            connlist_s, lines = timed(path, "connlist", timeout)
            data = json.loads(summary) if summary else {}
            pods = data.get("pods", "?")
            policies = data.get("policies", -(-rules // gen.RULES_PER_POLICY))
            shown = [f"{s:.2f} s" if s is not None else f"> {timeout:.0f} s (stopped)"
                     for s in (connlist_s, summary_s)]
            ratio = (f"{connlist_s / summary_s:.2f}x" if connlist_s is not None and summary_s
                     else "")
            count = f"{lines.count(chr(10)):,}" if connlist_s is not None else "?"
            print(f"| {rules:,} ({policies:,}) | {pods:,} / {workloads} | {count} "
                  f"| {shown[0]} | {shown[1]} | {ratio} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
