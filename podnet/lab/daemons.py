"""The lab's processes, and a bring-up begun before its plan exists: `lab up` opens the
ledger and starts the workload and DNS servers first thing, so their interpreters start on the
core the command leaves idle while it imports and reads its input. Kept apart from
``podnet.lab.apply``, whose imports (the steps, `ip`'s batch, rtnetlink) would come first."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podnet.errors import LabError, LabPrerequisiteError
from podnet.lab import gate, teardown
from podnet.lab.ledger import Ledger, exists
from podnet.lab.making import Making
from podnet.lab.prereq import check_prerequisites


def spawn(ledger: Ledger, name: str, argv: list[str], gated: bool = False,
          **extra: str) -> subprocess.Popen[bytes]:
    """Start a lab daemon; its pidfile is named in the ledger before it exists, and holds the
    process's start time too, so teardown can prove a pid is still the one podnet started.
    A gated daemon gets a pipe on stdin and waits at ``podnet.lab.gate`` until released."""
    ledger.record("process", name=name, pidfile=f"{name}.pid", match=argv[-1], **extra)
    fd = os.open(ledger.file(f"{name}.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW,
                 0o600)
    with os.fdopen(fd, "wb") as log:  # the child keeps its own copy
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if gated else subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, umask=0o077)
    teardown.CHILDREN[proc.pid] = proc
    ledger.write_text(f"{name}.pid", f"{proc.pid} {teardown.start_time(proc.pid)}\n")
    return proc


@dataclass(slots=True)
class Daemon:
    """A gated Python daemon of the lab: started before the namespaces it binds in exist
    (its interpreter start-up and imports overlap the bring-up), released when they do."""
    step: str
    proc: subprocess.Popen[bytes]
    ready: Path
    log: Path
    released: bool = False

    def close(self) -> None:
        """Give up on it: end of file at its gate, where it exits without binding."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass

    def advance(self) -> None:
        """Let it past a gate that is not its last (the DNS server's first: its files exist)."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(gate.GO)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died already: awaiting it reports its log

    def release(self) -> None:
        """Let it past its last gate and bind."""
        self.released = True
        self.advance()
        self.close()


def start_daemon(ledger: Ledger, name: str, module: str, step: str) -> Daemon:
    proc = spawn(ledger, name, [sys.executable, "-m", module, gate.FLAG, str(ledger.dir)],
                 gated=True)
    return Daemon(step, proc, ledger.file(f"{name}.ready"), ledger.file(f"{name}.log"))


def await_ready(daemons: list[Daemon], timeout: float = 30.0) -> None:
    """Until every daemon has written its ready file (after binding all its sockets), or one
    has exited, which fails bring-up with the last line it logged."""
    deadline = time.monotonic() + timeout
    waiting = list(daemons)
    while waiting:
        for d in list(waiting):
            if d.ready.exists():
                waiting.remove(d)
            elif d.proc.poll() is not None:
                lines = d.log.read_text().strip().splitlines() if d.log.exists() else []
                raise LabError(d.step, lines[-1] if lines else f"exit {d.proc.returncode}")
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise LabError(waiting[0].step, "not ready in time")
        time.sleep(0.002)  # a stat and a wait4 each: cheap, and bring-up ends on this


@dataclass(slots=True)
class Begun:
    """A bring-up started before its plan exists: the lab's ledger is open and its daemons
    are starting (each waits at its gate); once the cluster is known, ``make`` starts the `ip`
    processes making the namespaces (``Making``). ``up`` goes on from here; ``abandon`` undoes
    it."""
    ledger: Ledger
    daemons: dict[str, Daemon]
    started: float
    namespaces: Making | None = None
    handed: bool = False  # to ``up``, which tears down itself on failure

    def make(self, namespaces: Sequence[str]) -> None:
        """Start making the plan's namespaces (``layout.namespaces``), all recorded first."""
        assert self.namespaces is None
        self.namespaces = Making(namespaces, self.ledger)

    def abandon(self) -> None:
        if self.handed:
            return
        for d in self.daemons.values():
            d.close()
        if self.namespaces is not None:
            self.namespaces.wait()  # `ip` has exited before teardown removes what it made
        self.ledger.close()
        teardown.down(self.ledger.lab)


def begin(lab: str) -> Begun:
    """Open lab ``lab``'s ledger and start its daemons: their Python start-up and imports
    (~0.4 s of CPU) run on the core `lab up` leaves idle while it reads and builds the model."""
    check_prerequisites()
    if exists(lab):
        raise LabPrerequisiteError(f"lab {lab!r} is already up: `podnet lab down --name {lab}` "
                                   "first")
    ledger = Ledger(lab)
    try:
        ledger.open_new()
    except FileExistsError:
        raise LabPrerequisiteError(f"lab {lab!r} left state behind: `podnet lab down --name "
                                   f"{lab}` first") from None
    begun = Begun(ledger, {}, time.monotonic())
    try:
        # the workload server reads its pods, the DNS server its files, after their first gate
        begun.daemons["workload"] = start_daemon(ledger, "workload", "podnet.lab.workload",
                                                 "start workload server")
        begun.daemons["dns"] = start_daemon(ledger, "dns", "podnet.lab.dnsserver", "start DNS")
    except BaseException:
        begun.abandon()
        raise
    return begun
