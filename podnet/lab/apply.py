"""Run a LabPlan against the kernel, recording each object before creating it; on any error
tear down everything the ledger holds and report the step that failed."""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podnet import names
from podnet.errors import LabError, LabPrerequisiteError
from podnet.lab import batch, netns, resolvfiles, teardown
from podnet.lab.daemons import Begun, await_ready, begin, spawn
from podnet.lab.ledger import Ledger
from podnet.lab.resolvfiles import write_new
from podnet.lab.steps import (
    AddFdb,
    AddNetns,
    LabPlan,
    LoadIptables,
    LoadRules,
    StartBird,
    StartDns,
    StartGateway,
    StartIngress,
    Step,
    Sysctl,
    WaitRoutes,
    WriteResolvConf,
)

if TYPE_CHECKING:
    from podnet.lab import tls


def _run(step: Step, ledger: Ledger, k: netns.Kernel) -> None:
    """A step `ip -batch` does not do (``batch.apply_run`` makes the links, addresses, routes
    and neighbours)."""
    if isinstance(step, StartBird):
        _start_bird(step, ledger)
    elif isinstance(step, WaitRoutes):
        _wait_routes(step, k)
    elif isinstance(step, StartDns):
        raise TypeError("StartDns is the gated DNS daemon's release, run by up()")
    elif isinstance(step, StartIngress | StartGateway):
        _start_ingress(step, ledger)
    elif isinstance(step, Sysctl):
        netns.sysctl(step.netns, step.settings)
    elif isinstance(step, LoadRules | LoadIptables):
        _run_ruleset(step)


def _start_bird(step: StartBird, ledger: Ledger) -> None:
    if shutil.which("bird") is None:
        raise LabPrerequisiteError("bgp mode needs BIRD (Debian package bird2): run make install")
    # files are named by a digest of the node: node names run to 253 characters, a unix
    # socket path to 107
    tag = f"bird-{names.short_tag(step.node)}"
    conf = ledger.write_text(f"{tag}.conf", step.config)
    sock = ledger.file(f"{tag}.ctl")
    spawn(ledger, tag, ["ip", "netns", "exec", step.netns, "bird", "-f", "-c", str(conf), "-s",
                        str(sock)], node=step.node, socket=sock.name)


def _lab_ca(ledger: Ledger) -> tls.Pair:
    """One CA per lab, made on first use: it signs the servers' and the clients' certificates."""
    from podnet.lab import tls  # cryptography: only labs with ingress controllers pay for it

    try:
        return tls.Pair(ledger.file("ca.crt").read_bytes(), ledger.file("ca.key").read_bytes())
    except FileNotFoundError:
        ca = tls.make_ca(ledger.lab)
        ledger.write_text("ca.crt", ca.cert.decode())
        ledger.write_text("ca.key", ca.key.decode())
        return ca


def _start_ingress(step: StartIngress | StartGateway, ledger: Ledger) -> None:
    """nginx in the controller's pod, or in a Gateway's namespace. Without nginx on the machine
    the Ingress and Gateway parts of the lab are skipped, and the lab says why (`lab probe`
    lists it)."""
    if shutil.which("nginx") is None:
        what = "gateway" if isinstance(step, StartGateway) else "ingress"
        ledger.write_state(f"{what}-skipped.json", {
            "reason": "nginx is not installed (Debian package nginx): run make install"})
        return
    from podnet.lab import tls

    ca = _lab_ca(ledger)
    home = ledger.file(step.tag)
    os.mkdir(home, 0o700)
    os.mkdir(home / "certs", 0o700)
    for stem, hosts in step.certs:
        pair = tls.server_cert(ca, list(hosts))
        write_new(home / f"{stem}.crt", pair.cert.decode())
        write_new(home / f"{stem}.key", pair.key.decode())
    fake = tls.server_cert(tls.make_ca("fake"), ["Kubernetes Ingress Controller Fake Certificate"])
    write_new(home / "certs" / "fake.crt", fake.cert.decode())
    write_new(home / "certs" / "fake.key", fake.key.decode())
    write_new(home / "certs" / "client-ca.crt", ca.cert.decode())
    conf = home / "nginx.conf"
    write_new(conf, step.config)
    spawn(ledger, step.tag, ["ip", "netns", "exec", step.netns, "nginx", "-p", str(home),
                             "-e", str(home / "error.log"), "-c", str(conf)])
    _wait_file(home / "nginx.pid", str(step), home / "error.log")


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


def _wait_file(path: Path, step: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            raise LabError(step, tail[0] if tail else "not ready in time")
        time.sleep(0.02)


def _load_rulesets(steps: list[Step]) -> None:
    """Node rulesets (nft, iptables-restore) of different namespaces at once, each from its
    own thread inside the namespace; one namespace's in plan order. Every load finishes before
    the first failure (in plan order) is raised."""
    per_ns: dict[str, list[Step]] = {}
    for step in steps:
        per_ns.setdefault(step.netns, []).append(step)  # type: ignore[union-attr]

    def load(group: list[Step]) -> LabError | None:
        for step in group:
            try:
                _run_ruleset(step)
            except LabError as e:
                return e
        return None

    with ThreadPoolExecutor(max_workers=min(len(per_ns), batch.PARALLEL) or 1) as pool:
        errors = list(pool.map(load, per_ns.values()))
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first


def _run_ruleset(step: Step) -> None:
    if isinstance(step, LoadRules):
        netns.nft_load(step.netns, step.text)
    elif isinstance(step, LoadIptables):
        netns.iptables_load(step.netns, step.text)


# Steps that may join a batch: what `ip -batch` does, and what does not care when it runs among
# them (files and sysctls of namespaces the same run creates first).
BATCHED = (*batch.IP_STEPS, AddFdb, Sysctl)


def after_files(steps: tuple[Step, ...]) -> tuple[Step, ...]:
    """The plan's steps but its resolv.conf files, which ``up`` writes while the namespaces
    are made: what ``runs`` cuts."""
    return tuple(s for s in steps if not isinstance(s, WriteResolvConf))


def runs(steps: tuple[Step, ...]) -> list[tuple[Step, ...]]:
    """The plan cut into maximal runs of batchable steps and single other steps, in order."""
    out: list[tuple[Step, ...]] = []
    current: list[Step] = []
    for step in steps:
        if isinstance(step, BATCHED):
            current.append(step)
            continue
        if current:
            out.append(tuple(current))
            current = []
        out.append((step,))
    if current:
        out.append(tuple(current))
    return out


def up(plan: LabPlan, state: dict[str, Any], begun: Begun | None = None) -> float:
    """Build the lab, from where ``begin`` left it when given; returns seconds taken since the
    bring-up began. Leaves nothing behind when it fails."""
    if begun is None:
        begun = begin(plan.lab)
    elif begun.ledger.lab != plan.lab:
        begun.abandon()
        raise ValueError(f"lab {begun.ledger.lab!r} was begun, the plan is lab {plan.lab!r}")
    begun.handed = True
    ledger, daemons = begun.ledger, begun.daemons
    step: Step | str = "prepare"
    total = len(plan.steps) + 1
    try:
        if begun.namespaces is None:
            begun.make([s.name for s in plan.steps if isinstance(s, AddNetns)])
        making = begun.namespaces
        assert making is not None
        ledger.write_state("lab.json", {**state, "cni": plan.cni, "proxy": plan.proxy,
                                        "external_ip": plan.external_ip})
        ledger.write_state("pods.json", [
            {"key": p.key, "netns": p.netns, "ip": p.ip, "node": p.node,
             "ports": [list(x) for x in p.ports if not (p.dns_server and x == (53, "UDP"))]}
            for p in plan.pods])
        ledger.write_state("listeners.json", [
            {"key": p.key, "netns": p.netns, "ip": p.ip, "node": p.node,
             "ports": [list(x) for x in p.ports]} for p in plan.listeners])
        dns = next((s for s in plan.steps if isinstance(s, StartDns)), None)
        if dns is None:
            daemons.pop("dns").close()
        else:  # it reads its zone from these files while the links are made
            ledger.write_text("dns.json", dns.config)
            daemons["dns"].step = str(dns)
            daemons["dns"].advance()
        # the resolv.conf files need the namespaces' names only: written while `ip` makes the
        # namespaces, as this process would wait for it otherwise (written by a thread while
        # the links were made, they held the links' threads back: 0.2-0.5 s for 210 files)
        step = "write resolv.conf files"
        resolvfiles.write([s for s in plan.steps if isinstance(s, WriteResolvConf)], ledger)
        step = "netns add"
        error = making.wait()
        if error is not None:
            raise error
        made = making.names
        steps = tuple(s for s in after_files(plan.steps)
                      if not (isinstance(s, AddNetns) and s.name in made))
        if not any(isinstance(s, StartBird | StartIngress | StartGateway) for s in steps):
            # it binds 0.0.0.0 in namespaces that exist now, and binds while the links are made;
            # with other daemons it waits for the end, where they have taken their ports first
            daemons["workload"].release()
        with netns.Kernel() as kernel:
            done = len(plan.steps) - len(steps)
            for run in _groups(runs(steps)):
                step = run[0]
                ledger.progress(done, total, str(step))
                if "dns" in daemons and daemons["dns"].released:
                    # what follows the DNS step (nginx) may resolve names: it comes after
                    # the DNS answers, as it did when the step waited for it
                    await_ready([daemons.pop("dns")])
                if isinstance(step, StartDns):
                    daemons["dns"].release()
                elif isinstance(step, LoadRules | LoadIptables):
                    _load_rulesets(list(run))
                elif len(run) == 1 and not isinstance(step, batch.IP_STEPS):
                    _run(step, ledger, kernel)
                else:
                    batch.apply_run(run, ledger, lambda s: _run(s, ledger, kernel))
                done += len(run)
        step = "start workload server"
        ledger.progress(total - 1, total, step)
        if not daemons["workload"].released:
            daemons["workload"].release()
        await_ready(list(daemons.values()))
        ledger.complete(total)
    except BaseException as e:
        for d in daemons.values():
            d.close()
        if begun.namespaces is not None:
            begun.namespaces.wait()  # `ip` has exited before teardown removes what it made
        ledger.close()
        teardown.down(plan.lab)
        if isinstance(e, LabError):
            raise
        if isinstance(e, KeyboardInterrupt):
            raise
        raise LabError(str(step), f"{type(e).__name__}: {e}") from None
    ledger.close()
    return time.monotonic() - begun.started


def _groups(cut: list[tuple[Step, ...]]) -> list[tuple[Step, ...]]:
    """Consecutive single ruleset loads joined into one run, loaded node by node at once."""
    out: list[tuple[Step, ...]] = []
    for run in cut:
        if (out and isinstance(run[0], LoadRules | LoadIptables)
                and isinstance(out[-1][0], LoadRules | LoadIptables)):
            out[-1] = (*out[-1], *run)
        else:
            out.append(run)
    return out


def plan_json(plan: LabPlan) -> str:
    return json.dumps([{"step": type(s).__name__, **asdict(s)} for s in plan.steps])
