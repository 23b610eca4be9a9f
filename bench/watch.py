"""``podnet watch`` on the benchmark cluster (``make bench``): 150,000 pods in 5,000 namespaces,
10,000 NetworkPolicies (bench/gen.py), written as one file of everything but the policies and
50 files of policies. One policy is edited (an ingress allow rule moves to another port):
  - in process: ``LiveModel.update`` (re-read the changed file, recompile that policy, the
    incremental diff) — the recomputation;
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


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        target = write_tree(root)
        t = time.perf_counter()
        live = LiveModel([root])
        print(f"model loaded in {time.perf_counter() - t:.1f} s "
              f"({len(live.version.workloads)} workloads)", file=sys.stderr)
        inproc, diffs = [], []
        for k in range(7):
            edit(target, 7000 + 10 * k)
            stats = live.changed()
            assert stats is not None
            t = time.perf_counter()
            d = live.update(stats)
            inproc.append(time.perf_counter() - t)
            diffs.append(sum(c.kind != "unchanged" for c in d.changes))
        del live
        ends = []
        for k in range(3):
            proc = subprocess.Popen([sys.executable, "-m", "podnet", "watch", "-f", root,
                                     "--interval", "0.02", "--once-after-change"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None and proc.stdout is not None
            proc.stderr.readline()  # loaded
            t = time.perf_counter()
            edit(target, 8000 + 10 * k)
            proc.stdout.readline()
            ends.append(time.perf_counter() - t)
            proc.communicate(timeout=120)
    print("| `podnet watch`, one policy edited, 150k pods / 5k ns / 10k policies | median (min-max) |")
    print("|---|---|")
    print(f"| recomputation in process (`LiveModel.update`: re-read the file, recompile, "
          f"incremental diff), {len(inproc)} edits | {statistics.median(inproc) * 1000:.0f} ms "
          f"({min(inproc) * 1000:.0f}-{max(inproc) * 1000:.0f}) |")
    print(f"| file written to change printed (`--interval 0.02`), {len(ends)} runs | "
          f"{statistics.median(ends) * 1000:.0f} ms ({min(ends) * 1000:.0f}-{max(ends) * 1000:.0f}) |")
    print(f"| changed pairs printed per edit | {statistics.median(diffs):.0f} |")


if __name__ == "__main__":
    main()
