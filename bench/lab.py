"""Lab benchmarks (root): bring-up of 100 pods on 10 nodes, and the full probe of it.

Targets from the lab issue: bring-up under 10 s, full probe under 30 s. Run as root:
``.venv/bin/python bench/lab.py``; prints a markdown table. Labs of 25, 50 and 200 pods on the
same 10 nodes are brought up and down too, for the curve of bring-up time vs pods
(build/bench/lab-up.json, for bench/plots.py); ``--quick`` runs 10 and 20 pods on 2 nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import series  # noqa: E402

# (nodes, pods for the curve, pods also probed)
SIZES = (10, (25, 50, 100, 200), 100)
QUICK = (2, (10, 20), 20)


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
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10 and 20 pods on 2 nodes")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/lab.py needs root")
    load_start = os.getloadavg()[0]
    nodes, sizes, probed = QUICK if args.quick else SIZES
    ups: dict[int, float] = {}
    downs: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pods in sizes:
            path = Path(tmp) / f"lab{pods}.json"
            path.write_text(manifest(nodes, pods))
            name = f"bench{pods}"
            try:
                ups[pods], r = run("lab", "up", "-f", str(path), "--name", name, "--cni", "host-gw")
                if r.returncode:
                    sys.exit(r.stderr)
                if pods == probed:
                    t_probe, r = run("lab", "probe", "--name", name, "-o", "json", "--timeout", "0.5")
                    data = json.loads(r.stdout)
            finally:
                downs[pods], _ = run("lab", "down", "--name", name)
    denied = sum(not v for row in data["matrix"]["8080/TCP"] for v in row)
    print("| lab benchmark | figure | target |")
    print("|---|---|---|")
    print(f"| `lab up`, {probed} pods on {nodes} nodes (host-gw, policies) | {ups[probed]:.2f} s "
          "| < 10 s |")
    print(f"| `lab probe`, {data['probes']} probes ({probed}×{probed - 1} pairs), {denied} denied "
          f"| {t_probe:.2f} s (probing {data['seconds']} s) | < 30 s |")
    print(f"| mismatches | {len(data['mismatches'])} | 0 |")
    print(f"| `lab down` | {downs[probed]:.2f} s | |")
    for pods in sizes:
        if pods != probed:
            print(f"| `lab up`, {pods} pods on {nodes} nodes (host-gw, policies) | {ups[pods]:.2f} s "
                  f"(down {downs[pods]:.2f} s) | |")
    series.write("lab-up", title=f"Lab bring-up and teardown vs pods ({nodes} nodes, host-gw, policies)",
                 quick=args.quick, load_start=load_start,
                 x={"label": "pods", "unit": "pods"}, y={"label": "wall time", "unit": "s"},
                 series={"lab up": {"x": list(sizes), "y": [ups[p] for p in sizes]},
                         "lab down": {"x": list(sizes), "y": [downs[p] for p in sizes]}})

if __name__ == "__main__":
    main()
