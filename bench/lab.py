"""Lab benchmarks (root): bring-up of 200 pods on 10 nodes per CNI (host-gw, vxlan), paired
with the `ip -batch` floor for the same namespaces and veths measured just before it, and the
full probe of each; every timed step starts on a quiet machine (``quiet``); labs
of 25, 50 and 100 pods on the same 10 nodes (host-gw) for the curve of bring-up time vs pods
(build/bench/lab-up.json, for bench/plots.py). ``--quick``: 10 and 20 pods on 2 nodes.

Targets (issue 17): `lab up` at most 3x the floor per pod; `lab probe` under 2 s. Run as root:
``.venv/bin/python bench/lab.py [--runs N]``; prints a markdown table of medians and ranges over
the runs (3 by default: one run of a two-core machine varies by a fifth).
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
from statistics import median

sys.path.insert(0, str(Path(__file__).parent))
import series  # noqa: E402

# (nodes, pods for the curve; the largest is probed in both CNIs)
SIZES = (10, (25, 50, 100, 200))
QUICK = (2, (10, 20))


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


def _busy_idle() -> tuple[int, int]:
    ticks = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
    return sum(ticks) - ticks[3] - ticks[4], ticks[3] + ticks[4]


def quiet(most: float = 10.0) -> float:
    """Wait until the CPUs were at least 90% idle for 0.2 s (at most ``most`` seconds); the
    seconds waited. A namespace's teardown goes on in the kernel after `ip netns del` and
    `lab down` return (~0.15 s of CPU for 200 namespaces): what is timed next must not pay
    for what the step before left."""
    start = time.monotonic()
    while time.monotonic() - start < most:
        b0, i0 = _busy_idle()
        time.sleep(0.2)
        b1, i1 = _busy_idle()
        if (i1 - i0) >= 0.9 * max(1, (b1 - b0) + (i1 - i0)):
            break
    return time.monotonic() - start


def run(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    quiet()
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True)
    return time.monotonic() - start, r


def ip_batch_floor(nodes: int, pods: int) -> float:
    """Seconds per pod for `ip -batch` to create the namespaces and veths `lab up` creates
    (fabric, nodes, pods; fabric-node and node-pod veths), nothing else: the floor `lab up`
    is paired with, measured in the same run."""
    pre = f"pnfloor{os.getpid()}"
    nss = [f"{pre}-f"] + [f"{pre}-n{i}" for i in range(nodes)] + [f"{pre}-p{i}" for i in range(pods)]
    lines = [f"netns add {ns}" for ns in nss]
    lines += [f"link add n{i} netns {pre}-f type veth peer name eth0 netns {pre}-n{i}"
              for i in range(nodes)]
    lines += [f"link add p{i} netns {pre}-n{i % nodes} type veth peer name eth0 netns {pre}-p{i}"
              for i in range(pods)]
    quiet()
    start = time.monotonic()
    try:
        subprocess.run(["ip", "-batch", "-"], input="\n".join(lines) + "\n", text=True, check=True)
        return (time.monotonic() - start) / pods
    finally:
        subprocess.run(["ip", "-force", "-batch", "-"], input="".join(f"netns del {ns}\n" for ns in nss),
                       text=True, capture_output=True, check=False)


def one_lab(path: Path, cni: str, nodes: int, pods: int) -> dict[str, float | int]:
    """The floor, then `lab up`, `lab probe` and `lab down` of one CNI's lab."""
    floor = ip_batch_floor(nodes, pods)
    name = f"bench{pods}{cni.replace('-', '')}"[:12]
    try:
        t_up, r = run("lab", "up", "-f", str(path), "--name", name, "--cni", cni)
        if r.returncode:
            sys.exit(r.stderr)
        t_probe, r = run("lab", "probe", "--name", name, "-o", "json")
        data = json.loads(r.stdout)
    finally:
        t_down, _ = run("lab", "down", "--name", name)
    denied = sum(not v for row in data["matrix"]["8080/TCP"] for v in row)
    return {"floor": floor, "up": t_up, "probe": t_probe, "probing": data["seconds"],
            "probes": data["probes"], "denied": denied, "mismatches": len(data["mismatches"]), "down": t_down}


def _spread(values: list[float], digits: int = 2) -> str:
    """The median, and the range when there are several: '0.86 (0.78-0.90)'."""
    mid = f"{median(values):.{digits}f}"
    return mid if len(values) == 1 else f"{mid} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def up_only(nodes: int, pods: int, load_start: float) -> None:
    """`lab up` and `lab down` of the largest lab, host-gw, paired with the floor."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"lab{pods}.json"
        path.write_text(manifest(nodes, pods))
        floor = ip_batch_floor(nodes, pods)
        name = f"benchup{pods}"
        try:
            t_up, r = run("lab", "up", "-f", str(path), "--name", name, "--cni", "host-gw")
            if r.returncode:
                sys.exit(r.stderr)
        finally:
            t_down, _ = run("lab", "down", "--name", name)
    per_pod = t_up / pods
    print(f"| `lab up`, {pods} pods on {nodes} nodes (host-gw, policies) | {t_up:.2f} s, "
          f"{per_pod * 1000:.1f} ms a pod | `ip -batch` namespaces and veths: "
          f"{floor * 1000:.1f} ms a pod ({per_pod / floor:.1f}x) | <= 3x floor |")
    print(f"| `lab down` (host-gw) | {t_down:.2f} s | | |")
    print(f"load average {load_start:.2f} at start, {os.getloadavg()[0]:.2f} at end")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="10 and 20 pods on 2 nodes")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs of the largest labs (floor, up, probe, down per CNI), alternating "
                         "the CNIs; the table gives medians and ranges (default 3)")
    ap.add_argument("--up-only", action="store_true",
                    help="only the largest lab's up and down (host-gw) and its floor: no probe, "
                         "no curve, no vxlan")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/lab.py needs root")
    load_start = os.getloadavg()[0]
    nodes, sizes = QUICK if args.quick else SIZES
    pods = sizes[-1]
    ups: dict[int, float] = {}
    downs: dict[int, float] = {}
    if args.up_only:
        up_only(nodes, pods, load_start)
        return
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes[:-1]:
            path = Path(tmp) / f"lab{n}.json"
            path.write_text(manifest(nodes, n))
            name = f"bench{n}"
            try:
                ups[n], r = run("lab", "up", "-f", str(path), "--name", name, "--cni", "host-gw")
                if r.returncode:
                    sys.exit(r.stderr)
            finally:
                downs[n], _ = run("lab", "down", "--name", name)
        path = Path(tmp) / f"lab{pods}.json"
        path.write_text(manifest(nodes, pods))
        rounds = [{cni: one_lab(path, cni, nodes, pods) for cni in ("host-gw", "vxlan")}
                  for _ in range(args.runs)]
    results = {cni: [r[cni] for r in rounds] for cni in rounds[0]}
    ups[pods] = median([float(x["up"]) for x in results["host-gw"]])
    downs[pods] = median([float(x["down"]) for x in results["host-gw"]])
    print(f"| lab benchmark ({args.runs} runs: median, range) | figure | floor, same run | target |")
    print("|---|---|---|---|")
    for cni, xs in results.items():
        ratios = [float(x["up"]) / float(x["floor"]) / pods for x in xs]
        print(f"| `lab up`, {pods} pods on {nodes} nodes ({cni}, policies) | "
              f"{_spread([float(x['up']) for x in xs])} s | `ip -batch` namespaces and veths: "
              f"{_spread([float(x['floor']) * 1000 for x in xs], 1)} ms a pod; ratio "
              f"{_spread(ratios, 1)}x | <= 3x floor |")
        print(f"| `lab probe` ({cni}), {xs[0]['probes']} probes, {xs[0]['denied']} denied | "
              f"{_spread([float(x['probe']) for x in xs])} s (probing "
              f"{_spread([float(x['probing']) for x in xs])} s), "
              f"{max(int(x['mismatches']) for x in xs)} mismatches at most | | < 2 s, 0 mismatches |")
        print(f"| `lab down` ({cni}) | {_spread([float(x['down']) for x in xs])} s | | |")
    for n in sizes[:-1]:
        print(f"| `lab up`, {n} pods on {nodes} nodes (host-gw, policies) | {ups[n]:.2f} s "
              f"(down {downs[n]:.2f} s) | | |")
    series.write("lab-up", title=f"Lab bring-up and teardown vs pods ({nodes} nodes, host-gw, policies)",
                 quick=args.quick, load_start=load_start,
                 x={"label": "pods", "unit": "pods"}, y={"label": "wall time", "unit": "s"},
                 series={"lab up": {"x": list(sizes), "y": [ups[p] for p in sizes]},
                         "lab down": {"x": list(sizes), "y": [downs[p] for p in sizes]}})


if __name__ == "__main__":
    main()
