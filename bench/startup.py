"""Start-up time of the command line (``make bench``): ``podnet --help``, ``podnet reach --help``,
``podnet lab up --help`` and ``podnet doctor --list`` against ``python -c pass``, each a fresh
process, as a user or a script calling podnet in a loop pays it.

Each command runs ``--runs`` times, interleaved (so a burst of load on a shared machine hits
them all alike); the table gives the median and the fastest wall time and the median CPU time
(user + system, which other processes disturb less), and what podnet adds over a bare
interpreter. Prints markdown rows for docs/benchmarks.md.

``--before DIR`` also runs each command with ``PYTHONPATH=DIR`` (a directory holding an older
``podnet/``, e.g. ``git archive COMMIT podnet | tar -x -C DIR``), interleaved with the current
code, and prints both side by side."""

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
            ("`podnet lab up --help`", ["-m", "podnet", "lab", "up", "--help"]),
            ("`podnet doctor --list`", ["-m", "podnet", "doctor", "--list"]))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(args: list[str], pythonpath: str | None = None) -> tuple[float, float]:
    env = {**os.environ, "COLUMNS": "100"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    cpu0 = _cpu()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - t0, _cpu() - cpu0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--before", metavar="DIR", help="PYTHONPATH of the code to compare with")
    opts = ap.parse_args()
    versions = ("after", "before") if opts.before else ("after",)
    paths = {"after": None, "before": opts.before}
    walls: dict[tuple[str, str], list[float]] = {}
    cpus: dict[tuple[str, str], list[float]] = {}
    for _label, args in COMMANDS:  # one warm-up each: page cache and .pyc files
        for v in versions:
            run_once(args, paths[v])
    load = os.getloadavg()[0]
    for _ in range(opts.runs):
        for label, args in COMMANDS:
            for v in versions:
                wall, cpu = run_once(args, paths[v])
                walls.setdefault((label, v), []).append(wall)
                cpus.setdefault((label, v), []).append(cpu)
    base = statistics.median(walls[COMMANDS[0][0], "after"])
    print(f"load average before: {load:.2f}, after: {os.getloadavg()[0]:.2f}; {opts.runs} runs each\n")
    if opts.before:
        print("| command | before: median wall | before: median CPU | after: median wall "
              "| after: fastest wall | after: median CPU |")
        print("|---|---|---|---|---|---|")
        for label, _ in COMMANDS:
            b, a = (label, "before"), (label, "after")
            print(f"| {label} | {statistics.median(walls[b]) * 1000:.0f} ms "
                  f"| {statistics.median(cpus[b]) * 1000:.0f} ms "
                  f"| {statistics.median(walls[a]) * 1000:.0f} ms | {min(walls[a]) * 1000:.0f} ms "
                  f"| {statistics.median(cpus[a]) * 1000:.0f} ms |")
        return
    print("| command | median wall | fastest wall | median CPU (user+sys) | over `python -c pass` |")
    print("|---|---|---|---|---|")
    for label, _ in COMMANDS:
        w = walls[label, "after"]
        med = statistics.median(w)
        print(f"| {label} | {med * 1000:.0f} ms | {min(w) * 1000:.0f} ms "
              f"| {statistics.median(cpus[label, 'after']) * 1000:.0f} ms | +{(med - base) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
