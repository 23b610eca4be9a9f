"""``podnet lab doctor``'s edge: ``podnet node check`` run inside each node's namespace (by
``ip netns exec``, which remounts /sys for the namespace, so interfaces and /proc/net are the
node's), and the debugging checklist's questions asked for real from a pod."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from podnet.errors import LabError
from podnet.lab.probe import ServiceTarget, Target, probe, probe_services
from podnet.predict.checklist import NO_ANSWER, Question, judge, routes_seen


def node_check(netns: str, node: str, cni: str) -> dict[str, Any]:
    """The JSON of `podnet node check` in ``netns``, its objects named for the lab's node. A
    lab node has no default route (nothing leaves the lab): its underlay is named, eth0."""
    argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "podnet", "--no-cache",
            "node", "check", "--cni", cni, "--underlay", "eth0", "-o", "json"]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise LabError(f"node check in {netns}", p.stderr.strip() or f"exit {p.returncode}")
    data: dict[str, Any] = json.loads(p.stdout)
    # the namespace shares the host's hostname (no UTS namespace): name the lab's node instead
    host, data["node"] = f"node {data['node']}", node
    for f in data["findings"]:
        f["object"] = (f"node {node}" if f["object"] == host else f"node {node}: {f['object']}")
    return data


def _resolve(netns: str, name: str) -> str:
    # getent: glibc's own resolver, reading the resolv.conf `ip netns exec` mounts for the pod
    p = subprocess.run(["ip", "netns", "exec", netns, "getent", "ahostsv4", name],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    return p.stdout.split()[0] if p.returncode == 0 and p.stdout.split() else NO_ANSWER


def _routes(netns: str) -> str:
    p = subprocess.run(["ip", "-n", netns, "-j", "route", "show"], capture_output=True,
                       text=True, timeout=30, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise LabError(f"ip route in {netns}", p.stderr.strip())
    return routes_seen(json.loads(p.stdout or "[]"))


def ask(q: Question, netns: str, timeout: float) -> dict[str, Any]:
    """Ask one question from the pod's namespace and judge the answer."""
    if q.step == "dns":
        observed = _resolve(netns, q.target)
    elif q.step == "routes":
        observed = _routes(netns)
    elif q.step == "pod-to-pod":
        t = Target(0, 1, q.ip, q.port, "TCP")
        observed = "reachable" if probe({netns: [t]}, timeout=timeout)[t] else "dropped"
    else:
        st = ServiceTarget(0, q.target, q.ip, q.port, "TCP")
        observed = probe_services({netns: [st]}, timeout=timeout)[st]
    return judge(q, observed)
