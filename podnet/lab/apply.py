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
from pathlib import Path
from typing import Any

from podnet.errors import LabError, LabPrerequisiteError
from podnet.lab import netns, teardown
from podnet.lab.ledger import Ledger, exists
from podnet.lab.plan import (
    AddAddress,
    AddBridge,
    AddFdb,
    AddNeighbour,
    AddNetns,
    AddRoute,
    AddVeth,
    AddVxlan,
    LabPlan,
    LoadIptables,
    LoadRules,
    StartBird,
    StartDns,
    Step,
    Sysctl,
    WaitRoutes,
    WriteResolvConf,
)


def check_prerequisites() -> None:
    if not netns.is_root():
        raise LabPrerequisiteError("the lab needs root (network namespaces, links, routes): "
                                   "run podnet lab as root")
    if not os.path.exists("/proc/self/ns/net"):
        raise LabPrerequisiteError("this kernel has no network namespaces")
    for tool, pkg in (("nft", "nftables"), ("iptables-restore", "iptables")):
        if shutil.which(tool) is None:
            raise LabPrerequisiteError(f"the lab needs {tool} (Debian package {pkg}): "
                                       "run make install")


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
        k.add_route(step.netns, step.dst, step.ifname, step.via, step.scope_link, step.onlink)
    elif isinstance(step, AddVxlan):
        d = step.device
        k.add_vxlan(step.netns, d.name, d.vni, d.local, d.port, d.mac, d.mtu, d.address)
    elif isinstance(step, AddNeighbour):
        k.add_neighbour(step.netns, step.entry.ip, step.entry.mac, step.entry.dev)
    elif isinstance(step, AddFdb):
        k.add_fdb(step.netns, step.entry.mac, step.entry.dst, step.entry.dev)
    elif isinstance(step, StartBird):
        _start_bird(step, ledger)
    elif isinstance(step, WaitRoutes):
        _wait_routes(step, k)
    elif isinstance(step, WriteResolvConf):
        _write_resolv_conf(step, ledger)
    elif isinstance(step, StartDns):
        (ledger.dir / "dns.json").write_text(step.config)
        _spawn(ledger, "dns", [sys.executable, "-m", "podnet.lab.dnsserver", str(ledger.dir)])
        _wait_file(ledger.dir / "dns.ready", "start DNS", ledger.dir / "dns.log")
    elif isinstance(step, Sysctl):
        netns.sysctl(step.netns, step.settings)
    elif isinstance(step, LoadRules):
        netns.nft_load(step.netns, step.text)
    elif isinstance(step, LoadIptables):
        netns.iptables_load(step.netns, step.text)


def _spawn(ledger: Ledger, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a lab daemon; its pidfile is named in the ledger before it exists."""
    ledger.record("process", name=name, pidfile=f"{name}.pid", match=argv[-1])
    with open(ledger.dir / f"{name}.log", "wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
    teardown.CHILDREN[proc.pid] = proc
    (ledger.dir / f"{name}.pid").write_text(f"{proc.pid}\n")
    return proc


def _start_bird(step: StartBird, ledger: Ledger) -> None:
    if shutil.which("bird") is None:
        raise LabPrerequisiteError("bgp mode needs BIRD (Debian package bird2): run make install")
    conf = ledger.dir / f"bird-{step.node}.conf"
    conf.write_text(step.config)
    sock = ledger.dir / f"bird-{step.node}.ctl"
    _spawn(ledger, f"bird-{step.node}", ["ip", "netns", "exec", step.netns, "bird", "-f",
                                        "-c", str(conf), "-s", str(sock)])


def _wait_routes(step: WaitRoutes, k: netns.Kernel, timeout: float = 60.0) -> None:
    """BGP converges in about a second; poll the kernel rather than sleep a guess."""
    deadline = time.monotonic() + timeout
    want = set(step.prefixes)
    while True:
        missing = want - set(k.routes(step.netns))
        if not missing:
            return
        if time.monotonic() > deadline:
            raise LabError(str(step), f"BIRD did not install {' '.join(sorted(missing))}")
        time.sleep(0.05)


NETNS_ETC = Path("/etc/netns")


def _write_resolv_conf(step: WriteResolvConf, ledger: Ledger) -> None:
    # `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf, so glibc
    # inside the pod reads what kubelet would have written. The directory is the namespace's
    # own (pn- prefix); it is recorded before it is made and removed on teardown.
    directory = NETNS_ETC / step.netns
    ledger.record("dir", path=str(directory))
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "resolv.conf").write_text(step.text)


def _wait_file(path: Path, step: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            raise LabError(step, tail[0] if tail else "not ready in time")
        time.sleep(0.02)


def _start_workload(ledger: Ledger, timeout: float = 30.0) -> None:
    proc = _spawn(ledger, "workload", [sys.executable, "-m", "podnet.lab.workload",
                                       str(ledger.dir)])
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
        ledger.write_state("lab.json", {**state, "cni": plan.cni, "proxy": plan.proxy,
                                        "external_ip": plan.external_ip})
        ledger.write_state("pods.json", [
            {"key": p.key, "netns": p.netns, "ip": p.ip, "node": p.node,
             "ports": [list(x) for x in p.ports if not (p.dns_server and x == (53, "UDP"))]}
            for p in plan.pods])
        ledger.write_state("listeners.json", [
            {"key": p.key, "netns": p.netns, "ip": p.ip, "node": p.node,
             "ports": [list(x) for x in p.ports]} for p in plan.listeners])
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
