"""Lab benchmarks (root): bring-up of 100 pods on 10 nodes, and the full probe of it.

Targets from the lab issue: bring-up under 10 s, full probe under 30 s. Run as root:
``.venv/bin/python bench/lab.py``; prints a markdown table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def manifest(nodes: int, pods: int) -> str:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"team{t}",
                                                                  "labels": {"team": f"t{t}"}}}
            for t in range(5)]
    per_team = pods // 5
    for t in range(5):
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": "api", "namespace": f"team{t}"},
                     "spec": {"replicas": per_team, "selector": {"matchLabels": {"app": "api"}},
                              "template": {"metadata": {"labels": {"app": "api"}},
                                           "spec": {"containers": [{"name": "c", "ports": [
                                               {"containerPort": 8080, "name": "http"}]}]}}}})
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "same-team", "namespace": f"team{t}"},
                     "spec": {"podSelector": {}, "ingress": [{"from": [{"podSelector": {}}]}]}})
    docs += [{"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"n{i:02d}"}}
             for i in range(nodes)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def run(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True)
    return time.monotonic() - start, r


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench/lab.py needs root")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lab100.json"
        path.write_text(manifest(10, 100))
        name = "bench100"
        try:
            t_up, r = run("lab", "up", "-f", str(path), "--name", name, "--cni", "host-gw")
            if r.returncode:
                sys.exit(r.stderr)
            t_probe, r = run("lab", "probe", "--name", name, "-o", "json", "--timeout", "0.5")
            data = json.loads(r.stdout)
        finally:
            t_down, _ = run("lab", "down", "--name", name)
    denied = sum(not v for row in data["matrix"]["8080/TCP"] for v in row)
    print("| lab benchmark | figure | target |")
    print("|---|---|---|")
    print(f"| `lab up`, 100 pods on 10 nodes (host-gw, policies) | {t_up:.2f} s | < 10 s |")
    print(f"| `lab probe`, {data['probes']} probes (100×99 pairs), {denied} denied "
          f"| {t_probe:.2f} s (probing {data['seconds']} s) | < 30 s |")
    print(f"| mismatches | {len(data['mismatches'])} | 0 |")
    print(f"| `lab down` | {t_down:.2f} s | |")


if __name__ == "__main__":
    main()
