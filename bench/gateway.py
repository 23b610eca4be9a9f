"""`podnet ingress migrate --verify` on 1,000 Ingresses with 5,000 paths (target: under 10 s).

The input is bench/ingress.py's generator at 20 namespaces x 50 Ingresses, each Ingress given a
fifth path: 10 Services per namespace, one Ingress in ten with TLS, one in twenty in regex mode,
an explicit proxy-body-size on every Ingress (so every location gets an over-limit request).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ingress  # noqa: E402

ingress.NAMESPACES, ingress.INGRESSES = 20, 50


def objects() -> list[dict[str, object]]:
    objs = ingress.objects()
    for o in objs:
        if o["kind"] == "Ingress":
            for rule in o["spec"]["rules"]:  # type: ignore[index]
                paths = rule["http"]["paths"]
                paths.append({"path": "/v2", "pathType": "Prefix", "backend": {"service": {
                    "name": "svc-0", "port": {"number": 80}}}})
    return objs


def main() -> None:
    objs = objects()
    n_ing = sum(1 for o in objs if o["kind"] == "Ingress")
    n_paths = sum(len(r["http"]["paths"]) for o in objs if o["kind"] == "Ingress"  # type: ignore
                  for r in o["spec"]["rules"])  # type: ignore[index]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ingresses.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
        times, cpu, data = [], [], {}
        for _ in range(3):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            r = subprocess.run([sys.executable, "-m", "podnet", "ingress", "migrate", "-f",
                                str(path), "--verify", "-o", "json", "--nodes", "20"],
                               capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            assert r.returncode in (0, 1), r.stderr
            data = json.loads(r.stdout)["verify"]
        print(f"| `podnet ingress migrate --verify`, {n_ing:,} Ingresses / {n_paths:,} paths | "
              f"{statistics.median(times):.2f} s wall, median of 3 (max {max(times):.2f} s); "
              f"{statistics.median(cpu):.2f} s CPU | {data['requests']:,} requests, "
              f"{data['differ']:,} differ | load average {os.getloadavg()[0]:.1f} |")


if __name__ == "__main__":
    main()
