"""Remove exactly what a lab's ledger lists, newest first. Idempotent."""

from __future__ import annotations

import os
import signal
import time

from podnet.lab import netns
from podnet.lab.ledger import Ledger, labs


def _ours(pid: int, match: str) -> bool:
    """The pid still runs the command the ledger recorded (pids get reused)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().decode(errors="replace")
    except OSError:
        return False
    return not match or match in cmdline


def _stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def down(lab: str) -> list[str]:
    """Tear one lab down; returns what was removed (empty if nothing was there)."""
    ledger = Ledger(lab)
    removed: list[str] = []
    entries = list(ledger.entries())
    # Processes first: they hold sockets inside the namespaces.
    for e in reversed(entries):
        if e["kind"] == "process":
            pid_file = ledger.dir / e["pidfile"]
            if pid_file.exists():
                pid = int(pid_file.read_text().strip())
                if _ours(pid, e.get("match", "")):
                    _stop(pid)
                    removed.append(f"process {e['name']}")
    present = set(netns.listed())
    for e in reversed(entries):
        if e["kind"] == "netns" and e["name"] in present:
            netns.remove(e["name"])
            removed.append(f"netns {e['name']}")
    ledger.remove()
    return removed


def clean() -> dict[str, list[str]]:
    return {lab: down(lab) for lab in labs()}
