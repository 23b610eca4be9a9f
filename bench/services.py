"""Render kube-proxy's rules for 10,000 services x 10 endpoints in each mode (target < 1 s each).

Each figure is the best of three runs in this process: the first run also pays for the chain
name hashes, which kube-proxy caches per service and endpoint too. The same renders at 1,000,
2,500 and 5,000 services give the curve of render time vs services (build/bench/render.json,
for bench/plots.py); ``--quick`` renders 100 and 500 services only."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from podnet.model import build, read_texts
from podnet.services import IptablesOptions, NftablesOptions, render_iptables, render_nftables, resolve
from podnet.services.ipvs import IpvsOptions, render_ipvs
from podnet.services.resolve import EndpointPlan, ServicePlan

sys.path.insert(0, str(Path(__file__).parent))
import series  # noqa: E402

SIZES = (1_000, 2_500, 5_000, 10_000)
QUICK = (100, 500)


def plans(services: int, endpoints: int) -> tuple[ServicePlan, ...]:
    out = []
    for s in range(services):
        eps = tuple(EndpointPlan(f"10.{(s * endpoints + e) // 65536 % 256}."
                                 f"{(s * endpoints + e) // 256 % 256}.{(s * endpoints + e) % 256}",
                                 8080, f"node-{e % 10}") for e in range(endpoints))
        out.append(ServicePlan(f"ns-{s // 100}", f"svc-{s}", "http", "TCP", 80,
                               f"172.{16 + s // 65536}.{s // 256 % 256}.{s % 256}", "ClusterIP",
                               None, (), (), (), None, False, False, None, eps))
    return tuple(out)


RENDERERS = {
    "iptables": lambda ps: render_iptables(ps, IptablesOptions("node-1", "10.0.0.0/8")),
    "nftables": lambda ps: render_nftables(ps, NftablesOptions("node-1", "192.168.0.2", "10.0.0.0/8",
                                                               "172.16.0.0/12")),
    "ipvs": lambda ps: render_ipvs(ps, IpvsOptions("node-1", "192.168.0.2", "10.0.0.0/8")).text(),
}


def cluster_manifest(services: int, replicas: int) -> str:
    """Services each selecting the pods of their own Deployment, 100 per namespace."""
    docs = []
    for s in range(services):
        ns, app = f"ns-{s // 100}", f"a{s}"
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": f"svc-{s}", "namespace": ns},
                     "spec": {"selector": {"app": app},
                              "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        docs.append({"apiVersion": "apps/v1", "kind": "Deployment",
                     "metadata": {"name": f"d{s}", "namespace": ns},
                     "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                              "template": {"metadata": {"labels": {"app": app}},
                                           "spec": {"containers": [{"name": "c", "ports": [
                                               {"containerPort": 8080}]}]}}}})
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def resolve_from_manifests() -> None:
    cluster = build(read_texts([("bench.json", cluster_manifest(10_000, 2))]), nodes=100)
    t0 = time.perf_counter()
    out = resolve(cluster)
    took = time.perf_counter() - t0
    print(f"| resolve 10,000 services over {len(cluster.pods):,} pods (selectors, endpoints) "
          f"| {took:.2f} s | {sum(len(p.endpoints) for p in out):,} endpoints | |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="render 100 and 500 services only")
    args = ap.parse_args()
    load_start = os.getloadavg()[0]
    sizes = QUICK if args.quick else SIZES
    if not args.quick:
        resolve_from_manifests()
    # wall time as printed, and CPU time: on this shared machine the CPU curve is the steadier
    best: dict[str, dict[str, list[float]]] = {
        f"{mode}, {clock}": {"x": [], "y": []} for mode in RENDERERS for clock in ("wall", "CPU")}
    # the largest size first: its rows are the table's, as before the curve was added
    for n in sorted(sizes, reverse=True):
        ps = plans(n, 10)
        for mode, render in RENDERERS.items():
            times, cpu = [], []
            for _ in range(3):
                t0, c0 = time.perf_counter(), time.process_time()
                text = render(ps)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            first = times[0]
            for clock, values in (("wall", times), ("CPU", cpu)):
                best[f"{mode}, {clock}"]["x"].insert(0, n)
                best[f"{mode}, {clock}"]["y"].insert(0, min(values))
            print(f"| {mode} render, {n:,} services x 10 endpoints | {min(times):.2f} s "
                  f"(first run {first:.2f} s) | {text.count(chr(10)):,} lines "
                  f"| {'< 1 s' if n == 10_000 else ''} |")
    series.write("render", title="kube-proxy ruleset render time vs services (10 endpoints each)",
                 quick=args.quick, load_start=load_start,
                 x={"label": "ClusterIP services", "unit": "services"},
                 y={"label": "render time, best of 3 (wall and CPU)", "unit": "s"}, series=best)


if __name__ == "__main__":
    main()
