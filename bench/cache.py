"""The model cache (``make bench``): ``podnet explain`` of one pair on the 150k-pod cluster, as a
user runs it, without the cache, on its first run (build and store) and on a repeated question.

Each run is a fresh process; wall time and CPU time (user + system, from the children's rusage)
are the median of a few runs, since the CPU figure is what a busy machine does not inflate.
Prints a markdown table (copied into docs/benchmarks.md).

``--repeated N``: only the issue's row (a repeated question, target 0.3 s): the cache filled
once, then N runs of the question interleaved with N of ``python -c pass`` (the interpreter's
floor), medians and the load average printed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402

REPEAT = 3
ARGS = ["explain", "--from", "ns-00000/web-0", "--to", "ns-00001/api-0", "--port", "8080/TCP"]
# another question on the same files: nothing of the first answer is cached, only the model
OTHER = ["explain", "--from", "ns-04321/db-3", "--to", "ns-02468/web-7", "--port", "8082/TCP"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(path: str, env: dict[str, str], *extra: str, args: list[str] = ARGS
        ) -> tuple[float, float]:
    return timed([sys.executable, "-m", "podnet", *extra, *args, "-f", path], env)


def repeated(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c150000.json")
        gen.write(path, 150_000, 5_000, 10_000)
        env = {**os.environ, "XDG_CACHE_HOME": os.path.join(tmp, "cache")}
        env.pop("PODNET_NO_CACHE", None)
        run(path, env)  # builds and stores the model
        load = os.getloadavg()[0]
        again, floor = [], []
        for _ in range(n):
            again.append(run(path, env))
            floor.append(timed([sys.executable, "-c", "pass"], env))
    print(f"| repeated question (model from the cache) | {median(again)} |")
    print(f"| `python -c pass` | {median(floor)} |")
    print(f"\n(median of {n}; load average {load:.2f} before, {os.getloadavg()[0]:.2f} after)")


def median(runs: list[tuple[float, float]]) -> str:
    return (f"{statistics.median(w for w, _ in runs):.2f} s "
            f"({statistics.median(c for _, c in runs):.2f} s CPU)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "c150000.json")
        gen.write(path, 150_000, 5_000, 10_000)
        off, first, again, other = [], [], [], []
        for i in range(REPEAT):
            env = {**os.environ, "XDG_CACHE_HOME": os.path.join(tmp, f"cache{i}")}
            env.pop("PODNET_NO_CACHE", None)
            off.append(run(path, env, "--no-cache"))
            first.append(run(path, env))
            again.append(run(path, env))
            other.append(run(path, env, args=OTHER))
        size = sum(f.stat().st_size for f in Path(tmp, "cache0", "podnet").glob("*.model"))
    print("| `podnet explain` of one pair, 150k pods / 5k ns / 10k policies | wall (CPU) |")
    print("|---|---|")
    print(f"| `--no-cache` (every run builds the model) | {median(off)} |")
    print(f"| first run (builds and stores the model) | {median(first)} |")
    print(f"| repeated question (model from the cache) | {median(again)} |")
    print(f"| different pair, same files (model from the cache) | {median(other)} |")
    print(f"\n(cache entry: {size / 2**20:.1f} MiB; median of {REPEAT} runs each; load average "
          f"{os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeated", type=int, metavar="N",
                        help="only the repeated question, N runs beside python -c pass")
    opts = parser.parse_args()
    if opts.repeated:
        repeated(opts.repeated)
    else:
        main()
