"""Start-up time of the command line (``make bench``): ``podnet --help``, ``podnet reach --help``
and ``podnet doctor --list`` against ``python -c pass``, each a fresh process, as a user or a
script calling podnet in a loop pays it.

Each command runs ``--runs`` times, interleaved (so a burst of load on a shared machine hits
them all alike); the table gives the median and the fastest wall time and the median CPU time
(user + system, which other processes disturb less), and what podnet adds over a bare
interpreter. Prints markdown rows for docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

COMMANDS = (("`python -c pass`", ["-c", "pass"]),
            ("`podnet --help`", ["-m", "podnet", "--help"]),
            ("`podnet reach --help`", ["-m", "podnet", "reach", "--help"]),
            ("`podnet doctor --list`", ["-m", "podnet", "doctor", "--list"]))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(args: list[str]) -> tuple[float, float]:
    cpu0 = _cpu()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "100"})
    return time.perf_counter() - t0, _cpu() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    runs = ap.parse_args().runs
    walls: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    cpus: dict[str, list[float]] = {label: [] for label, _ in COMMANDS}
    for _label, args in COMMANDS:  # one warm-up each: page cache and .pyc files
        run_once(args)
    for _ in range(runs):
        for label, args in COMMANDS:
            wall, cpu = run_once(args)
            walls[label].append(wall)
            cpus[label].append(cpu)
    base = statistics.median(walls[COMMANDS[0][0]])
    print(f"load average before: {os.getloadavg()[0]:.2f}; {runs} runs each\n")
    print("| command | median wall | fastest wall | median CPU (user+sys) | over `python -c pass` |")
    print("|---|---|---|---|---|")
    for label, _ in COMMANDS:
        med = statistics.median(walls[label])
        print(f"| {label} | {med * 1000:.0f} ms | {min(walls[label]) * 1000:.0f} ms "
              f"| {statistics.median(cpus[label]) * 1000:.0f} ms | +{(med - base) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
