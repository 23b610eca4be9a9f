"""``podnet watch`` on the benchmark cluster (``make bench``): 150,000 pods in 5,000 namespaces,
10,000 NetworkPolicies (bench/gen.py), written as one file of everything but the policies and
50 files of policies. One policy is edited (an ingress allow rule, then an egress one, moves to another port):
  - in process: ``LiveModel.update`` (re-read the changed file, recompile that policy, the
    incremental diff) — the recomputation, in wall and CPU time (the machine is shared);
  - end to end: ``podnet watch --interval 0.02 --once-after-change`` started, the file written,
    and the time until the change is on its stdout (polling and debounce included).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import gen

from podnet.policy.live import LiveModel

PODS, NAMESPACES, POLICIES, FILES = 150_000, 5_000, 10_000, 50


def write_tree(root: str) -> str:
    items = gen.cluster(PODS, NAMESPACES, POLICIES)["items"]
    policies = [i for i in items if i["kind"] == "NetworkPolicy"]
    with open(os.path.join(root, "cluster.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List",
                   "items": [i for i in items if i["kind"] != "NetworkPolicy"]}, f)
    per = -(-len(policies) // FILES)
    for k in range(FILES):
        _write(root, k, policies[k * per:(k + 1) * per])
    return os.path.join(root, "policies-00.json")


def _write(root: str, k: int, items: list[dict[str, object]]) -> None:
    with open(os.path.join(root, f"policies-{k:02d}.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


def edit(path: str, port: int, direction: str = "ingress") -> None:
    """The first allow policy with a numeric TCP port (range) in a rule of ``direction`` in
    the file gets another range (a UDP one would change nothing: no pod admits UDP)."""
    with open(path) as f:
        doc = json.load(f)
    for item in doc["items"]:
        for rule in item["spec"].get(direction, []):
            for p in rule.get("ports", []):
                if isinstance(p.get("port"), int) and p.get("protocol", "TCP") == "TCP":
                    p["port"], p["endPort"] = port, port + 2
                    tmp = path + ".tmp"
                    with open(tmp, "w") as f:
                        json.dump(doc, f)
                    os.replace(tmp, path)  # as editors save: the watcher never reads half a file
                    return
    raise SystemExit("no policy with a numeric port to edit")


def _port(direction: str, k: int) -> int:
    # Ingress: 8080-8082 moves to 7000-7002, 7010-7012, ...; egress: 8080 becomes a range
    # that meets the destinations' 8080-8082 differently each time (8078-8080, 8079-8081, ...
    # 8082-8084, again), so every edit changes something and prints it.
    return 7000 + 10 * k if direction == "ingress" else 8078 + k % 5


def _ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.0f} ms ({min(xs) * 1000:.0f}-{max(xs) * 1000:.0f})"


def main() -> None:
    rows = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as root:
        target = write_tree(root)
        t = time.perf_counter()
        live = LiveModel([root])
        print(f"model loaded in {time.perf_counter() - t:.1f} s "
              f"({len(live.version.workloads)} workloads)", file=sys.stderr)
        for direction in ("ingress", "egress"):
            wall, cpu, diffs = [], [], []
            for k in range(7):
                edit(target, _port(direction, k), direction)
                stats = live.changed()
                assert stats is not None
                t, c = time.perf_counter(), time.process_time()
                d = live.update(stats)
                wall.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                diffs.append(sum(ch.kind != "unchanged" for ch in d.changes))
            rows.append(f"| {direction} rule edited: recomputation in process (`LiveModel.update`: "
                        f"re-read the file, recompile, incremental diff), 7 edits | {_ms(wall)} | "
                        f"{_ms(cpu)} | {statistics.median(diffs):.0f} |")
        del live
        load.append(os.getloadavg()[0])
        for direction in ("ingress", "egress"):
            ends = []
            for k in range(2):
                proc = subprocess.Popen([sys.executable, "-m", "podnet", "watch", "-f", root,
                                         "--interval", "0.02", "--once-after-change"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                assert proc.stderr is not None and proc.stdout is not None
                proc.stderr.readline()  # loaded
                t = time.perf_counter()
                edit(target, _port(direction, 10 + k), direction)
                proc.stdout.readline()
                ends.append(time.perf_counter() - t)
                proc.communicate(timeout=120)
            rows.append(f"| {direction} rule edited: file written to change printed "
                        f"(`--interval 0.02`), 2 runs | {_ms(ends)} | | |")
        load.append(os.getloadavg()[0])
    print("| `podnet watch`, one policy edited, 150k pods / 5k ns / 10k policies | wall, median "
          "(min-max) | CPU time | changed pairs |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    print(f"\n1-minute load average at start, after the in-process edits, at the end: "
          f"{', '.join(f'{x:.1f}' for x in load)} (2 cores)")


if __name__ == "__main__":
    main()
