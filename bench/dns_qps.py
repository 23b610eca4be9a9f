"""Queries per second of the lab's cluster DNS, measured from inside a pod (root).

A UDP client in production/frontend-0 keeps 64 queries in flight to the kube-dns ClusterIP
(DNATed by kube-proxy's rules to the two lab DNS pods) for 3 seconds and counts answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import dns.message

from podnet.lab.nsenter import inside

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    if os.geteuid() != 0:
        sys.exit("bench/dns.py needs root")
    name = "benchdns"
    run = [sys.executable, "-m", "podnet", "lab"]
    subprocess.run([*run, "up", "-f", str(ROOT / "examples" / "oslo"), "--name", name, "--cni",
                    "host-gw"], check=True, capture_output=True)
    try:
        with inside(f"pn-{name}_p_production_frontend-0"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.connect(("10.96.0.10", 53))
        sock.settimeout(1.0)
        wire = dns.message.make_query("backend-service.production.svc.cluster.local.", "A").to_wire()
        window, sent, answered = 64, 0, 0
        for _ in range(window):
            sock.send(wire)
            sent += 1
        start = time.perf_counter()
        while time.perf_counter() - start < 3.0:
            try:
                sock.recv(512)
            except TimeoutError:
                break
            answered += 1
            sock.send(wire)
            sent += 1
        took = time.perf_counter() - start
        sock.close()
    finally:
        subprocess.run([*run, "down", "--name", name], check=False, capture_output=True)
    print("| lab DNS, queries per second from a pod (2 server pods, Python/dnspython) | "
          f"{answered / took:,.0f} qps | {answered:,} answers in {took:.1f} s |")


if __name__ == "__main__":
    main()
