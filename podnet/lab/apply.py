"""Run a LabPlan against the kernel, recording each object before creating it; on any error
tear down everything the ledger holds and report the step that failed."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

from podnet.errors import LabError, LabPrerequisiteError
from podnet.lab import netns, teardown
from podnet.lab.ledger import Ledger, exists
from podnet.lab.plan import (
    AddAddress,
    AddBridge,
    AddNetns,
    AddRoute,
    AddVeth,
    LabPlan,
    LoadRules,
    Step,
    Sysctl,
)


def check_prerequisites() -> None:
    if not netns.is_root():
        raise LabPrerequisiteError("the lab needs root (network namespaces, links, routes): "
                                   "run podnet lab as root")
    if not os.path.exists("/proc/self/ns/net"):
        raise LabPrerequisiteError("this kernel has no network namespaces")
    if shutil.which("nft") is None:
        raise LabPrerequisiteError("the lab needs nft (Debian package nftables): run make install")


def _run(step: Step, ledger: Ledger, k: netns.Kernel) -> None:
    if isinstance(step, AddNetns):
        ledger.record("netns", name=step.name)
        k.create(step.name)
    elif isinstance(step, AddBridge):
        k.add_bridge(step.netns, step.ifname)
    elif isinstance(step, AddVeth):
        k.add_veth(step.netns, step.ifname, step.peer_netns, step.peer_ifname, step.mtu,
                   step.master)
    elif isinstance(step, AddAddress):
        k.add_address(step.netns, step.ifname, step.cidr)
    elif isinstance(step, AddRoute):
        k.add_route(step.netns, step.dst, step.ifname, step.via, step.scope_link)
    elif isinstance(step, Sysctl):
        netns.sysctl(step.netns, step.settings)
    elif isinstance(step, LoadRules):
        netns.nft_load(step.netns, step.text)


def _start_workload(ledger: Ledger, timeout: float = 30.0) -> None:
    ledger.record("process", name="workload", pidfile="workload.pid")
    proc = subprocess.Popen([sys.executable, "-m", "podnet.lab.workload", str(ledger.dir)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=open(ledger.dir / "workload.log", "w"),  # noqa: SIM115
                            start_new_session=True)
    (ledger.dir / "workload.pid").write_text(f"{proc.pid}\n")
    ready = ledger.dir / "workload.ready"
    deadline = time.monotonic() + timeout
    while not ready.exists():
        if proc.poll() is not None:
            log = (ledger.dir / "workload.log").read_text().strip().splitlines()
            raise LabError("start workload server", log[-1] if log else f"exit {proc.returncode}")
        if time.monotonic() > deadline:
            raise LabError("start workload server", "not ready in time")
        time.sleep(0.02)


def up(plan: LabPlan, state: dict[str, Any]) -> float:
    """Build the lab; returns seconds taken. Leaves nothing behind when it fails."""
    check_prerequisites()
    if exists(plan.lab):
        raise LabPrerequisiteError(f"lab {plan.lab!r} is already up: `podnet lab down --name "
                                   f"{plan.lab}` first")
    ledger = Ledger(plan.lab)
    ledger.open_new()
    start = time.monotonic()
    step: Step | str = "prepare"
    try:
        ledger.write_state("lab.json", {**state, "cni": plan.cni, "external_ip": plan.external_ip})
        ledger.write_state("pods.json", [
            {"key": p.key, "netns": p.netns, "ip": p.ip, "node": p.node,
             "ports": [list(x) for x in p.ports]} for p in plan.pods])
        with netns.Kernel() as kernel:
            for step in plan.steps:
                _run(step, ledger, kernel)
        step = "start workload server"
        _start_workload(ledger)
    except BaseException as e:
        teardown.down(plan.lab)
        if isinstance(e, LabError):
            raise
        if isinstance(e, KeyboardInterrupt):
            raise
        raise LabError(str(step), f"{type(e).__name__}: {e}") from None
    return time.monotonic() - start


def plan_json(plan: LabPlan) -> str:
    return json.dumps([{"step": type(s).__name__, **asdict(s)} for s in plan.steps])
