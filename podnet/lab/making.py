"""`ip -batch` processes, and the lab's namespaces made by one of them as soon as their names are
known: `lab up` starts it right after the model is built, before importing the plan's steps or
the link batches (``podnet.lab.batch``), whose modules it does not need."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from podnet.errors import LabError
from podnet.lab.ledger import Ledger
from podnet.lab.nsenter import inside

PROCESSES = 2  # `ip` processes making a lab's namespaces


def failures(stderr: str) -> list[tuple[int, str]]:
    """(line number, message) for each line `ip -force -batch` reports as failed."""
    out: list[tuple[int, str]] = []
    said: list[str] = []
    for text in stderr.splitlines():
        if text.startswith("Command failed -:"):
            out.append((int(text.rsplit(":", 1)[1]), "; ".join(said) or "failed"))
            said = []
        elif text.strip():
            said.append(text.strip())
    return out


def spawn_ip(ns: str | None) -> subprocess.Popen[str]:
    """`ip -force -batch -` reading stdin, in namespace ``ns`` (None: this process's)."""
    argv = ["ip", "-force", "-batch", "-"]
    if ns is None:
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
    with inside(ns):  # the child is born in the namespace this thread is in
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)


class Making:
    """Namespaces `ip -batch` processes are making, as `ip netns add` does, each recorded in
    the ledger before: started at once, awaited with ``wait``. The lines are written up front
    and each `ip` runs its share as they come; its stdin stays open until ``wait``, which
    closes it. Two processes share the names: the kernel serialises much of making a namespace
    (its sysctl and RTNL registrations), but one `ip` alone left a core waiting for it, and the
    211 namespaces of a 200-pod lab were ready in 0.34 s instead of 0.45 s (medians)."""

    def __init__(self, names: Sequence[str], ledger: Ledger) -> None:
        for name in names:
            ledger.record("netns", name=name)
        self.names = frozenset(names)
        self._procs: list[tuple[subprocess.Popen[str], list[str]]] = []
        self._error: LabError | None = None
        for k in range(PROCESSES):
            lines = [f"netns add {name}" for name in names[k::PROCESSES]]
            if not lines:
                continue
            proc = spawn_ip(None)
            self._procs.append((proc, lines))
            assert proc.stdin is not None
            try:  # ~30 bytes a namespace: far below a pipe's 64 KiB
                proc.stdin.write("".join(f"{line}\n" for line in lines))
                proc.stdin.flush()
            except BrokenPipeError:
                pass  # `ip` died: ``wait`` reports what it said

    def wait(self) -> LabError | None:
        """The first failed namespace's error, or None once all exist; every `ip` has exited."""
        procs, self._procs = self._procs, []
        for proc, lines in procs:
            _, err = proc.communicate()
            if proc.returncode and self._error is None:
                failed = failures(err)
                self._error = (LabError(lines[failed[0][0] - 1], failed[0][1]) if failed
                               else LabError("ip -batch", err.strip() or f"exit {proc.returncode}"))
        return self._error
