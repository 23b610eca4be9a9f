"""Remove exactly what a lab's ledger lists, newest first. Idempotent."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from podnet.lab import netns, resolvfiles
from podnet.lab.ledger import Ledger, labs

# Daemons this process started itself: reaped after they are stopped, so none lingers as a
# zombie when `lab up` fails and tears down in the same process.
CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def start_time(pid: int) -> str:
    """The kernel's start time of ``pid`` (clock ticks since boot): with the pid, it names one
    process for the life of the machine, where a pid alone gets reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _ours(pid: int, started: str, match: str) -> bool:
    """The pid is still the process podnet started: same start time, same command."""
    if not started or start_time(pid) != started:
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
    except OSError:
        return False
    return not match or match in cmdline


def _pidfile(ledger: Ledger, entry: dict[str, object]) -> tuple[int, str] | None:
    try:
        text = ledger.file(str(entry.get("pidfile", ""))).read_text().split()
        return int(text[0]), (text[1] if len(text) > 1 else "")
    except (OSError, ValueError, IndexError):
        return None


def _gone(pid: int) -> bool:
    """Exited: no such process, or a zombie. A zombie holds no sockets or namespaces any more;
    waiting for its reaping would wait on init, which some containers do slowly (seconds)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        time.sleep(0.02)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down(lab: str) -> list[str]:
    """Tear one lab down; returns what was removed (empty if nothing was there).

    Acts only on what the ledger proves is its own: processes whose start time matches the
    pidfile, namespaces in the lab's own name space, /etc/netns directories of those."""
    ledger = Ledger(lab)
    removed: list[str] = []
    entries = list(ledger.entries())
    # Processes first: they hold sockets inside the namespaces.
    for e in reversed(entries):
        if e["kind"] != "process":
            continue
        found = _pidfile(ledger, e)
        if found is None:
            continue
        pid, started = found
        child = CHILDREN.pop(pid, None)
        if child is not None:  # our own child: terminate and reap it
            child.terminate()
            try:
                child.wait(timeout=3)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            removed.append(f"process {e['name']}")
        elif _ours(pid, started, str(e.get("match", ""))):
            _stop(pid)
            removed.append(f"process {e['name']}")
    present = set(netns.listed())
    for e in reversed(entries):
        if e["kind"] == "netns" and e.get("name") in present and ledger.owns_netns(e["name"]):
            netns.remove(e["name"])
            removed.append(f"netns {e['name']}")
    removed += resolvfiles.remove(entries, ledger)
    ledger.remove()
    return removed


def clean(lab_names: list[str] | None = None) -> dict[str, list[str]]:
    return {lab: down(lab) for lab in (lab_names if lab_names is not None else labs())}
