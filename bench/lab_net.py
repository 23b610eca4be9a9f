"""Lab network benchmarks (root): the seeds' data-plane claims, measured on real packets.

1. Pod-to-pod across nodes per CNI (vxlan, host-gw, bgp): TCP throughput and UDP round trip.
2. New-connection rate to a ClusterIP with 10, 1,000, 5,000 and 10,000 Services, kube-proxy in
   iptables vs nftables mode, side by side (the seeds' O(n) vs O(1)): to the Service whose
   rule comes first in KUBE-SERVICES and to the one that comes last.
3. The DF probe: datagrams with Don't Fragment around the path MTU, (a) when the pod MTU
   exceeds the VXLAN tunnel (the node answers "fragmentation needed"), (b) when the underlay
   is narrower than the nodes believe (frames vanish: the black hole), each next to the
   analyzer's MTU budget.

Run as root: ``.venv/bin/python bench/lab_net.py [cni] [conn] [df] [--quick]``; prints markdown
tables, and writes the throughput per CNI and the connection rate vs Services to
build/bench/throughput.json and conn-rate.json for bench/plots.py. ``--quick`` keeps sizes
small (one 1 s transfer per CNI, 10 and 200 Services). The traffic runs between lab pods only
(bench/netperf.py inside their namespaces).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet import names  # noqa: E402
from podnet.dataplane.mtu import budget  # noqa: E402
from podnet.model import load  # noqa: E402
from podnet.services import resolve  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
import series  # noqa: E402

PY = sys.executable
NETPERF = str(ROOT / "bench" / "netperf.py")
BASIC = str(ROOT / "tests" / "manifests" / "lab-basic")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "podnet", *args], capture_output=True, text=True)


@contextlib.contextmanager
def lab(path: str, name: str, *flags: str) -> Iterator[tuple[dict[str, str], float]]:
    """Bring a lab up; yield pod key -> netns and the bring-up time; always tear it down."""
    t0 = time.monotonic()
    try:
        r = podnet("lab", "up", "-f", path, "--name", name, *flags)
        if r.returncode:
            raise SystemExit(r.stderr)
        took = time.monotonic() - t0
        pods = json.loads(Path(f"/run/podnet/{name}/pods.json").read_text())
        yield {p["key"]: p["netns"] for p in pods}, took
    finally:
        podnet("lab", "down", "--name", name)


def in_ns(netns: str, *args: str) -> str:
    return subprocess.run(["ip", "netns", "exec", netns, PY, NETPERF, *args], capture_output=True,
                          text=True, check=True, timeout=120).stdout.strip()


@contextlib.contextmanager
def server(netns: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    p = subprocess.Popen(["ip", "netns", "exec", netns, PY, NETPERF, *args], text=True,
                         stdout=subprocess.PIPE)
    time.sleep(0.4)
    try:
        yield p
    finally:
        p.kill()
        p.wait()


def per_cni(runs: int = 3, seconds: int = 3, quick: bool = False) -> None:
    load_start = os.getloadavg()[0]
    bars: dict[str, list[object]] = {"x": [], "y": [], "ymin": [], "ymax": []}
    cluster = load([BASIC], nodes=2)
    dst_ip = cluster.pod("shop/web-1").ip
    print(f"| CNI (2 nodes, cross-node) | pod MTU | TCP throughput, median of {runs} (range) "
          "| UDP RTT median | RTT p99 |")
    print("|---|---|---|---|---|")
    for cni in ("vxlan", "host-gw", "bgp"):
        with lab(BASIC, "bnet", "--nodes", "2", "--cni", cni, "--proxy", "iptables") as (ns, _):
            src, dst = ns["shop/web-0"], ns["shop/web-1"]
            gbits = []
            for _ in range(runs):
                with server(dst, "sink", "5201") as sink:
                    in_ns(src, "source", dst_ip, "5201", str(seconds))
                    gbits.append(int(sink.communicate(timeout=30)[0]) * 8 / seconds / 1e9)
            with server(dst, "echo", "5202"):
                median, p99 = in_ns(src, "rtt", dst_ip, "5202", str(1000 * seconds)).split()
        mtu = budget(cluster.net, cni).cross_node_path_mtu
        gbits.sort()
        mid = gbits[len(gbits) // 2]
        print(f"| {cni} | {mtu} | {mid:.1f} Gbit/s ({gbits[0]:.1f}-{gbits[-1]:.1f}) | "
              f"{median} µs | {p99} µs |")
        for key, value in (("x", f"{cni} (MTU {mtu})"), ("y", mid), ("ymin", gbits[0]),
                           ("ymax", gbits[-1])):
            bars[key].append(value)
    series.write("throughput", kind="bar", quick=quick, load_start=load_start,
                 title=f"Pod-to-pod TCP throughput across nodes, per CNI (median of {runs} x {seconds} s)",
                 x={"label": "CNI", "unit": ""}, y={"label": "TCP throughput", "unit": "Gbit/s"},
                 series={"TCP throughput": bars})


def services_manifest(n: int) -> str:
    docs: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "srv", "namespace": "bench",
                                                         "labels": {"app": "srv"}},
         "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 9000}]}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client", "namespace": "bench"},
         "spec": {"containers": [{"name": "c"}]}}]
    docs += [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{i:05d}",
                                                                  "namespace": "bench"},
              "spec": {"selector": {"app": "srv"}, "ports": [{"port": 80, "targetPort": 8080}]}}
             for i in range(n)]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


def connection_rate(sizes: tuple[int, ...] = (10, 1000, 5000, 10000), quick: bool = False) -> None:
    load_start = os.getloadavg()[0]
    curves: dict[str, dict[str, list[float]]] = {
        f"{mode}, {which} Service": {"x": [], "y": []}
        for mode in ("iptables", "nftables") for which in ("first", "last")}
    print("| Services | mode | `lab up` | new conn/s, first Service | new conn/s, last Service |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"svc{n}.json"
            path.write_text(services_manifest(n))
            # the model adds the built-in default/kubernetes Service (sorted last); it has no
            # port 80 and its endpoint is no lab pod, so only the bench's own Services count
            plans = [p for p in resolve(load([str(path)], nodes=1)) if p.namespace == "bench"]
            first, last = plans[0].cluster_ip, plans[-1].cluster_ip
            for mode in ("iptables", "nftables"):
                with lab(str(path), "bconn", "--nodes", "1", "--cni", "host-gw", "--proxy",
                         mode) as (ns, took):
                    with server(ns["bench/srv"], "accept", "8080"):
                        rates = [in_ns(ns["bench/client"], "connrate", ip, "80", "2")
                                 for ip in (first, last)]
                print(f"| {n:,} | {mode} | {took:.1f} s | {int(rates[0]):,} | {int(rates[1]):,} |")
                for which, rate in zip(("first", "last"), rates, strict=True):
                    curves[f"{mode}, {which} Service"]["x"].append(n)
                    curves[f"{mode}, {which} Service"]["y"].append(int(rate))
            write_conn_rate(curves, quick, load_start)  # after each size: a failed run keeps the rest


def write_conn_rate(curves: dict[str, dict[str, list[float]]], quick: bool, load_start: float) -> None:
    series.write("conn-rate", quick=quick, load_start=load_start,
                 title="New TCP connections/s to a ClusterIP: kube-proxy iptables vs nftables",
                 x={"label": "ClusterIP services on the node", "unit": "services"},
                 y={"label": "new connections", "unit": "conn/s"}, series=curves)


def flannel_mtu(mtu: int) -> str:
    conf = {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}, "MTU": mtu}
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "kube-flannel-cfg", "namespace": "kube-flannel"},
                       "data": {"net-conf.json": json.dumps(conf)}})


def df_probe() -> None:
    print("| case | analyzer: pod MTU / path carries | DF datagram sizes → observed |")
    print("|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "flannel.json"
        cfg.write_text(flannel_mtu(1500))
        cluster = load([BASIC, str(cfg)], nodes=2)
        b = budget(cluster.net, "vxlan")
        dst_ip = cluster.pod("shop/web-1").ip
        with lab(BASIC, "bdf", "-f", str(cfg), "--nodes", "2", "--cni", "vxlan") as (ns, _):
            with server(ns["shop/web-1"], "echo", "5202"):
                seen = in_ns(ns["shop/web-0"], "df", dst_ip, "5202", "1400", "1450", "1451", "1500")
        print(f"| (a) Flannel MTU 1500 over vxlan | {b.pod_mtu} / {b.tunnel_mtu} | {seen} |")
        # the pods keep the 1450 derived from the 1500 the nodes are set for
        narrow = load([BASIC], nodes=2).net.with_overrides(underlay_mtu=1400, pod_mtu=1450)
        b = budget(narrow, "vxlan")
        with lab(BASIC, "bdf", "--nodes", "2", "--cni", "vxlan") as (ns, _):
            fabric = names.fabric_netns("bdf")
            for node in cluster.nodes:  # a narrower hop the nodes do not know about
                subprocess.run(["ip", "netns", "exec", fabric, "ip", "link", "set",
                                names.fabric_port(node.name), "mtu", "1400"], check=True)
            with server(ns["shop/web-1"], "echo", "5202"):
                seen = in_ns(ns["shop/web-0"], "df", dst_ip, "5202",
                             "1300", "1350", "1354", "1355", "1450")
        print(f"| (b) underlay hop of 1400 under nodes set for 1500 | {b.pod_mtu} / {b.tunnel_mtu} "
              f"| {seen} |")


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench/lab_net.py needs root")
    # a terminated run still tears its lab down (the context managers' finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("which", nargs="*", help="cni, conn and/or df (default: all three)")
    ap.add_argument("--quick", action="store_true", help="small sizes, to test the script")
    ap.add_argument("--services", default="10,1000,5000,10000",
                    help="conn: the numbers of Services, comma-separated (default %(default)s)")
    args = ap.parse_args()
    which = args.which or ["cni", "conn", "df"]
    if unknown := set(which) - {"cni", "conn", "df"}:
        ap.error(f"unknown benchmark {', '.join(sorted(unknown))}: choose cni, conn or df")
    if "cni" in which:
        per_cni(1, 1, True) if args.quick else per_cni()
    if "conn" in which:
        sizes = tuple(int(n) for n in args.services.split(","))
        connection_rate((10, 200), True) if args.quick else connection_rate(sizes)
    if "df" in which:
        df_probe()


if __name__ == "__main__":
    main()
