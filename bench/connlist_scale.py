"""``podnet connlist --exposure`` and ``podnet diff`` on the 150,000-pod cluster of ``bench/gen.py``
(``make bench``).

Two versions of the cluster: A is ``gen.write(150000, 5000, 10000)`` (the one bench/run.py
measures), B the same with 5 allow policies changed (``gen.edited``: what a pull request
check compares). Each command runs end to end in its own process, as a user runs it, output
to a file, three ways: without the model cache (``PODNET_NO_CACHE=1``: reads and builds the
cluster, as a first run does), then twice with a fresh cache directory (the first fills it,
the second is the warm run). The table shows wall time, CPU time (user + system, the steadier
figure on a shared machine), the peak RSS, the lines printed and the 1-minute load average
when it started. Target: each under 15 s. A run longer than ``--timeout`` (default 900 s) is
stopped and reported so.

    python bench/connlist_scale.py [--timeout SECONDS] [--pods N]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen  # noqa: E402


def run(argv: list[str], out: str, timeout: float, env: dict[str, str]) -> str:
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        with open(out, "w") as f:
            subprocess.run([sys.executable, "-m", "podnet", *argv], stdout=f,
                           stderr=subprocess.DEVNULL, check=False, timeout=timeout,
                           env={**os.environ, **env})
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s (stopped) | | | | {load:.1f}"
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    with open(out, "rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return (f"{wall:.1f} s | {cpu:.1f} s | {after.ru_maxrss / 1024:.0f} MiB | {lines:,} "
            f"| {load:.1f}")


def main(argv: list[str]) -> None:
    timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 900.0
    pods = int(argv[argv.index("--pods") + 1]) if "--pods" in argv else 150_000
    ns = pods // 30
    print("| command | model cache | wall | CPU | peak RSS (largest child so far) | lines "
          "| load average (1 min) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a.json"), os.path.join(tmp, "b.json")
        gen.write(a, pods, ns, ns * 2)
        gen.write_edited(b, pods, ns, ns * 2, 5)
        out = os.path.join(tmp, "out")
        for label, args in ((f"connlist --exposure, {pods:,} pods", ["connlist", "-f", a, "--exposure"]),
                            (f"diff, {pods:,} pods", ["diff", "-f", b, "--against", a])):
            cache = os.path.join(tmp, f"cache-{args[0]}")
            for how, env in (("off", {"PODNET_NO_CACHE": "1"}),
                             ("cold (fills it)", {"PODNET_NO_CACHE": "", "XDG_CACHE_HOME": cache}),
                             ("warm", {"PODNET_NO_CACHE": "", "XDG_CACHE_HOME": cache})):
                print(f"| `podnet {' '.join(x if x not in (a, b) else Path(x).name for x in args)}` "
                      f"({label}) | {how} | {run(args, out, timeout, env)} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
