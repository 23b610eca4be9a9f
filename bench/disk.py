"""`podnet disk` beside the seeds' fio job on one directory, and one `podnet disk --etcd`.

Rounds alternate which of the two goes first, so neither always meets a disk the other has
just stirred. Prints a markdown table for docs/benchmarks.md.

    python bench/disk.py [DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIO = ["fio", "--rw=write", "--ioengine=sync", "--fdatasync=1", "--size=22m", "--bs=2300",
       "--name=mytest", "--output-format=json"]
KEYS = (("p50", "50.000000"), ("p90", "90.000000"), ("p99", "99.000000"), ("p99.9", "99.900000"))


def run_fio(d: Path) -> tuple[dict[str, float], float]:
    t0 = time.monotonic()
    out = subprocess.run([*FIO, f"--directory={d}"], capture_output=True, text=True, check=True)
    took = time.monotonic() - t0
    lat = json.loads(out.stdout)["jobs"][0]["sync"]["lat_ns"]
    for name in os.listdir(d):
        os.unlink(d / name)
    ms = {k: lat["percentile"][p] / 1e6 for k, p in KEYS}
    ms["max"] = lat["max"] / 1e6
    return ms, took


def run_podnet(d: Path, *extra: str) -> tuple[dict[str, object], float]:
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "podnet", "disk", str(d), "-o", "json", *extra],
                         capture_output=True, text=True)
    took = time.monotonic() - t0
    if out.returncode not in (0, 1):
        raise SystemExit(out.stderr)
    return json.loads(out.stdout), took


def row(tool: str, ms: dict[str, float], took: float) -> str:
    cells = " | ".join(f"{ms[k]:.3f}" for k in ("p50", "p90", "p99", "p99.9", "max"))
    return f"| {tool} | {cells} | {took:.1f} s |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="/var/tmp")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("fio") is None:
        raise SystemExit("bench/disk.py: fio is not installed (make install as root)")
    d = Path(tempfile.mkdtemp(prefix="podnet-bench-disk-", dir=args.dir))
    try:
        print(f"directory {d} (fdatasync latency in ms; 10029 writes of 2300 B each)\n")
        print("| round | tool | p50 | p90 | p99 | p99.9 | max | wall |")
        print("|---|---|---|---|---|---|---|---|")
        for r in range(args.rounds):
            order = ("fio", "podnet") if r % 2 == 0 else ("podnet", "fio")
            for tool in order:
                if tool == "fio":
                    ms, took = run_fio(d)
                else:
                    data, took = run_podnet(d)
                    ms = data["fdatasync_ms"]  # type: ignore[assignment]
                print(f"| {r + 1} " + row(tool, ms, took), flush=True)
        if shutil.which("etcd"):
            data, took = run_podnet(d, "--size", "64k", "--etcd", "--etcd-puts", "2000")
            e = data["etcd"]  # type: ignore[index]
            print(f"\netcd {e['version']}, {e['puts']} puts in {e['seconds']} s "
                  f"(whole command {took:.1f} s):")
            for key in ("wal_fsync", "backend_commit"):
                q = e[key]
                print(f"- {key}: p99 {q['p99_ms']} ms in the {q['bucket_ms']} ms bucket, "
                      f"{q['observations']} observations, verdict {q['verdict']}")
    finally:
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
