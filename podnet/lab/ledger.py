"""The lab's record of what it made, under ``/run/podnet/<lab>/``.

Every object is appended to ``ledger.jsonl`` *before* it is created, so a crash between the
two leaves at worst a record of something that does not exist (teardown tolerates that) and
never something that exists without a record. ``down`` and ``clean`` remove exactly what the
ledger lists, in reverse order, and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STATE_ROOT = Path(os.environ.get("PODNET_STATE", "/run/podnet"))


def lab_dir(lab: str) -> Path:
    return STATE_ROOT / lab


def exists(lab: str) -> bool:
    return (lab_dir(lab) / "ledger.jsonl").exists()


def labs() -> list[str]:
    if not STATE_ROOT.is_dir():
        return []
    return sorted(p.name for p in STATE_ROOT.iterdir() if (p / "ledger.jsonl").exists())


class Ledger:
    def __init__(self, lab: str) -> None:
        self.lab = lab
        self.dir = lab_dir(lab)
        self.path = self.dir / "ledger.jsonl"

    def open_new(self) -> None:
        """Start a new lab's ledger; refuses if the lab already exists."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        os.close(fd)

    def record(self, kind: str, **fields: Any) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps({"kind": kind, **fields}, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def entries(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        for line in self.path.read_text().splitlines():
            if line.strip():
                yield json.loads(line)

    def write_state(self, name: str, data: Any) -> None:
        (self.dir / name).write_text(json.dumps(data, indent=1, sort_keys=True))

    def read_state(self, name: str) -> Any:
        return json.loads((self.dir / name).read_text())

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
