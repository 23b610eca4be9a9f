"""`podnet http` on 5,000 Ingresses with 20,000 paths, end to end from the CLI.

Deterministic input: 100 namespaces, each with 10 Services (a 2-replica Deployment behind
each) and 50 Ingresses of 4 paths (Prefix, Exact, ImplementationSpecific and a deeper Prefix)
on their own host; one Ingress in ten has TLS, one in twenty uses regex paths. The route table
of the one controller is compiled once per run; the request is one lookup. Written as YAML
and as JSON (a `kubectl get -o json` dump), since the loader's speed differs.
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
from typing import Any

import yaml

NAMESPACES, SERVICES, INGRESSES, PATHS = 100, 10, 50, 4


def objects() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n in range(NAMESPACES):
        ns = f"team-{n:03d}"
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for s in range(SERVICES):
            app = f"svc-{s}"
            out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": app}},
                                 "template": {"metadata": {"labels": {"app": app}}, "spec": {
                                     "containers": [{"name": "c", "ports": [
                                         {"name": "http", "containerPort": 8080}]}]}}}})
            out.append({"apiVersion": "v1", "kind": "Service",
                        "metadata": {"name": app, "namespace": ns},
                        "spec": {"selector": {"app": app}, "ports": [
                            {"name": "http", "port": 80, "targetPort": "http"}]}})
        for i in range(INGRESSES):
            host = f"app-{i}.{ns}.example.com"
            anns = {"nginx.ingress.kubernetes.io/proxy-body-size": "8m"}
            if i % 20 == 0:
                anns["nginx.ingress.kubernetes.io/use-regex"] = "true"
            paths = [("/api", "Prefix"), ("/health", "Exact"), ("/static", "ImplementationSpecific"),
                     ("/api/v1/users", "Prefix")][:PATHS]
            spec: dict[str, Any] = {"ingressClassName": "nginx", "rules": [{"host": host, "http": {
                "paths": [{"path": p, "pathType": t, "backend": {"service": {
                    "name": f"svc-{(i + k) % SERVICES}", "port": {"number": 80}}}}
                    for k, (p, t) in enumerate(paths)]}}]}
            if i % 10 == 0:
                spec["tls"] = [{"hosts": [host], "secretName": f"tls-{i}"}]
            out.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                        "metadata": {"name": f"ing-{i}", "namespace": ns, "annotations": anns},
                        "spec": spec})
    out.append({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                "metadata": {"name": "nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}})
    return out


def run(path: Path, url: str, runs: int = 3) -> tuple[float, float, float, dict[str, Any]]:
    """(median wall, max wall, median CPU seconds of the child, its answer)."""
    times, cpu, data = [], [], {}
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        r = subprocess.run([sys.executable, "-m", "podnet", "http", "-f", str(path), url,
                            "-o", "json", "--nodes", "20"], capture_output=True, text=True,
                           check=True)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        data = json.loads(r.stdout)
    return statistics.median(times), max(times), statistics.median(cpu), data


def stages(path: Path, url: str) -> str:
    """Load, compile and one lookup, timed inside one process."""
    from podnet.ingress.controllers import find_controllers
    from podnet.ingress.request import handle, request
    from podnet.ingress.routes import build_all
    from podnet.model import build, read_paths
    t0 = time.perf_counter()
    cluster = build(read_paths([str(path)]), nodes=20)
    t1 = time.perf_counter()
    (table,) = build_all(cluster, find_controllers(cluster))
    t2 = time.perf_counter()
    req = request(url)
    n = 1000
    for _ in range(n):
        handle(table, req)
    t3 = time.perf_counter()
    paths = sum(len(s.locations) for s in table.servers.values())
    return (f"load {t1 - t0:.2f} s, compile {t2 - t1:.2f} s ({len(table.servers) - 1:,} servers, "
            f"{paths:,} nginx locations), one request {(t3 - t2) / n * 1e6:.0f} µs")


def main() -> None:
    objs = objects()
    n_ing = sum(1 for o in objs if o["kind"] == "Ingress")
    n_paths = sum(len(r["http"]["paths"]) for o in objs if o["kind"] == "Ingress"
                  for r in o["spec"]["rules"])
    url = "https://app-49.team-099.example.com/api/v1/users/42"
    with tempfile.TemporaryDirectory() as tmp:
        y = Path(tmp) / "ingresses.yaml"
        y.write_text(yaml.safe_dump_all(objs, sort_keys=False))
        j = Path(tmp) / "ingresses.json"
        j.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
        for label, path in (("YAML", y), ("JSON", j)):
            median, worst, cpu, data = run(path, url)
            assert data["status"] == 200 and data["backend"]["service"].endswith("svc-2"), data
            load = os.getloadavg()[0]
            print(f"| `podnet http`, {n_ing:,} Ingresses / {n_paths:,} paths, {label} input | "
                  f"{median:.2f} s wall, median of 3 (max {worst:.2f} s); {cpu:.2f} s CPU | "
                  f"{stages(path, url)} | load average {load:.1f} |")


if __name__ == "__main__":
    main()
