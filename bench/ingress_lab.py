"""Requests per second through the lab's real nginx (root): the lab-ingress scenario, from the
`external` namespace: nginx answering by itself (a redirect), nginx over HTTP and HTTPS to one
backend, and that backend pod asked directly. The client is wrk (Debian's package: 2 threads,
16 keep-alive connections) when installed, else a Python client. The lab's workload answers
once per connection, so the direct row and nginx's upstream side connect per request.

``.venv/bin/python bench/ingress_lab.py [--workers 8] [--seconds 5]``; prints a markdown table.
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from podnet.lab.nsenter import inside  # noqa: E402

SCENARIO = str(ROOT / "tests" / "manifests" / "lab-ingress")


def load(netns: str, ip: str, port: int, host: str, tls: bool, workers: int,
         seconds: float) -> tuple[float, int]:
    """(requests per second, errors) with ``workers`` keep-alive connections."""
    stop = time.monotonic() + seconds
    counts = [0] * workers
    errors = [0] * workers

    def connect() -> http.client.HTTPConnection:
        with inside(netns):
            sock = socket.create_connection((ip, port), timeout=5)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=host)
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.sock = sock
        return conn

    def worker(i: int) -> None:
        conn = connect()
        while time.monotonic() < stop:
            try:
                conn.request("GET", "/", headers={"Host": host})
                r = conn.getresponse()
                r.read()
                counts[i] += r.status == 200
                errors[i] += r.status != 200
                if r.will_close:  # the lab's workload answers once per connection
                    conn.close()
                    conn = connect()
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                conn.close()
                conn = connect()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start), sum(errors)


def wrk(netns: str, url: str, host: str, seconds: float) -> tuple[float, int]:
    r = subprocess.run(["ip", "netns", "exec", netns, "wrk", "-t2", "-c16", f"-d{seconds:g}s",
                        "-H", f"Host: {host}", url], capture_output=True, text=True, check=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    errs = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     r.stdout)
    return rps, (int(bad.group(1)) if bad else 0) + (sum(map(int, errs.groups())) if errs else 0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    lab = "b" + uuid.uuid4().hex[:8]
    podnet = [sys.executable, "-m", "podnet", "lab"]
    subprocess.run([*podnet, "up", "-f", SCENARIO, "--name", lab, "--nodes", "2"], check=True,
                   capture_output=True)
    try:
        ext = f"pn-{lab}_external"
        from podnet.lab.ledger import Ledger
        web = next(p for p in Ledger(lab).read_state("pods.json") if p["key"] == "shop/web-0")
        rows = [("nginx answering itself (force-ssl-redirect: 308)", ext, "192.0.2.90", 80,
                 "force.example.com", False),
                ("nginx, HTTP, allow.example.com -> shop/web", ext, "192.0.2.90", 80,
                 "allow.example.com", False),
                ("nginx, HTTPS, shop.example.com -> shop/web", ext, "192.0.2.90", 443,
                 "shop.example.com", True),
                ("the backend pod directly (no nginx)", ext, web["ip"], 8080, "direct", False)]
        client = ("wrk -t2 -c16" if shutil.which("wrk")
                  else f"Python, {args.workers} keep-alive connections")
        print(f"| path | requests/s ({client}, {args.seconds:g} s) | errors |\n|---|---|---|")
        for what, ns, ip, port, host, tls in rows:
            if shutil.which("wrk"):
                scheme = "https" if tls else "http"
                rps, errs = wrk(ns, f"{scheme}://{ip}:{port}/", host, args.seconds)
            else:
                rps, errs = load(ns, ip, port, host, tls, args.workers, args.seconds)
            print(f"| {what} | {rps:,.0f} | {errs} |")
    finally:
        subprocess.run([*podnet, "down", "--name", lab], capture_output=True)


if __name__ == "__main__":
    main()
