"""The lab's record of what it made, under ``/run/podnet/<lab>/``; the only code that turns a
lab name into a path.

Every object is appended to ``ledger.jsonl`` *before* it is created, so a crash between the
two leaves at worst a record of something that does not exist (teardown tolerates that) and
never something that exists without a record. ``down`` and ``clean`` remove exactly what the
ledger lists, in reverse order, and nothing else.

The ledger owns its state directory. A lab name is checked once, here, with the rule ``lab up``
uses, so no name can step outside the root (``..``, ``/x``). Teardown runs as root on what it
reads back, so it trusts only what podnet itself wrote: the root and the lab's directory are
real directories owned by this user and closed to others (0700), the ledger a regular file of
this user with mode 0600. Anything else (a symlink, another user's file, a ledger left open to
writers) is refused rather than acted on. State files are 0600: they hold the input manifests.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podnet import names
from podnet.errors import LabPrerequisiteError, UsageError

STATE_ROOT = Path(os.environ.get("PODNET_STATE", "/run/podnet"))
LEDGER = "ledger.jsonl"
PROGRESS = "progress"


class UntrustedLedger(LabPrerequisiteError):
    """State podnet did not write, or that others could have changed: never acted on."""


def check_name(lab: str) -> str:
    why = names.lab_name_error(lab)
    if why:
        raise UsageError(why)
    return lab


def _trusted(path: Path, want_dir: bool) -> os.stat_result:
    """The lstat of ``path`` if podnet could have written it and nobody else could have."""
    st = os.lstat(path)
    kind = stat.S_ISDIR(st.st_mode) if want_dir else stat.S_ISREG(st.st_mode)
    what = "directory" if want_dir else "file"
    if not kind:
        raise UntrustedLedger(f"refusing {path}: not a plain {what} (a symlink or something else); "
                              "podnet did not write it")
    if st.st_uid != os.geteuid():
        raise UntrustedLedger(f"refusing {path}: owned by uid {st.st_uid}, not {os.geteuid()}; "
                              "podnet did not write it")
    if st.st_mode & 0o022:
        raise UntrustedLedger(f"refusing {path}: mode {stat.S_IMODE(st.st_mode):04o} lets others "
                              "change it; podnet writes 0700 directories and 0600 files")
    if not want_dir and st.st_nlink != 1:
        raise UntrustedLedger(f"refusing {path}: it has {st.st_nlink} hard links")
    return st


def _root(create: bool) -> Path | None:
    if create:
        try:
            os.mkdir(STATE_ROOT, 0o700)
        except FileExistsError:
            pass
    if not os.path.lexists(STATE_ROOT):
        return None
    st = _trusted(STATE_ROOT, want_dir=True)
    if create and st.st_mode & 0o077:
        os.chmod(STATE_ROOT, 0o700)  # ours, made by an older podnet: close it to readers too
    return STATE_ROOT


def lab_dir(lab: str) -> Path:
    return STATE_ROOT / check_name(lab)


def exists(lab: str) -> bool:
    return os.path.lexists(lab_dir(lab) / LEDGER)


def labs() -> list[str]:
    """Every lab with a ledger under the root (names that are not lab names are not labs)."""
    root = _root(create=False)
    if root is None:
        return []
    return sorted(p.name for p in root.iterdir()
                  if names.lab_name_error(p.name) is None and os.path.lexists(p / LEDGER))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Ledger:
    def __init__(self, lab: str) -> None:
        self.lab = check_name(lab)
        self.dir = lab_dir(lab)
        self.path = self.dir / LEDGER
        self.prefix = names.lab_prefix(lab)
        self._fd: int | None = None

    # -- creating --------------------------------------------------------------------------
    def open_new(self) -> None:
        """Start a new lab's ledger and hold its lock until this process ends or ``close``.

        Refuses if the lab already exists."""
        _root(create=True)
        os.mkdir(self.dir, 0o700)  # FileExistsError: the lab exists
        _trusted(self.dir, want_dir=True)
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW,
                     0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        self._progress = os.open(self.dir / PROGRESS, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW,
                                 0o600)

    def record(self, kind: str, **fields: Any) -> None:
        if self._fd is None:
            raise RuntimeError("record() needs open_new()")
        line = json.dumps({"kind": kind, **fields}, sort_keys=True) + "\n"
        os.write(self._fd, line.encode())

    def progress(self, done: int, total: int, step: str) -> None:
        """Where `lab up` is: overwritten in place, cheap enough for every step."""
        data = json.dumps({"done": done, "total": total, "step": step}).encode()
        os.pwrite(self._progress, data, 0)
        os.ftruncate(self._progress, len(data))

    def complete(self, total: int) -> None:
        self.progress(total, total, "complete")
        self.record("complete", steps=total)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            os.close(self._progress)
            self._fd = None

    def write_state(self, name: str, data: Any) -> None:
        _write_private(self.file(name), json.dumps(data, indent=1, sort_keys=True))

    def write_text(self, name: str, text: str) -> Path:
        path = self.file(name)
        _write_private(path, text)
        return path

    # -- reading back ----------------------------------------------------------------------
    def file(self, name: str) -> Path:
        """A file of this lab's own: a plain name, never a path out of the directory."""
        if not name or "/" in name or name in (".", "..") or "\0" in name:
            raise UntrustedLedger(f"refusing state file name {name!r} in lab {self.lab!r}")
        return self.dir / name

    def verify(self) -> None:
        """Raise UntrustedLedger unless the root, the directory and the ledger are podnet's."""
        _root(create=False)
        _trusted(self.dir, want_dir=True)
        _trusted(self.path, want_dir=False)

    def entries(self) -> Iterator[dict[str, Any]]:
        if not os.path.lexists(self.path):
            return
        self.verify()
        fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as f:
            text = f.read()
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                if n == len(text.splitlines()):
                    break  # a line cut short by a crash mid-write
                raise UntrustedLedger(f"refusing {self.path}: line {n} is not JSON") from None
            if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
                raise UntrustedLedger(f"refusing {self.path}: line {n} is not a ledger entry")
            yield entry

    def owns_netns(self, name: object) -> bool:
        """Only names in this lab's own space (the prefix no other lab or name can produce)."""
        return (isinstance(name, str) and name.startswith(self.prefix) and "/" not in name
                and len(name) <= names.NETNS_MAX)

    def read_state(self, name: str) -> Any:
        path = self.file(name)
        self.verify()
        _trusted(path, want_dir=False)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd) as f:
            return json.loads(f.read())

    def state(self, entries: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """``{"complete": bool, "done": n, "total": m, "step": text, "building": bool}``;
        ``entries``: the ledger's, when the caller has read them already."""
        entries = list(self.entries()) if entries is None else entries
        complete = any(e["kind"] == "complete" for e in entries)
        try:
            prog = self.read_state(PROGRESS)
        except (OSError, ValueError):
            prog = {}
        building = False
        if not complete:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                building = True  # `lab up` still holds the lock
            finally:
                os.close(fd)
        return {"complete": complete, "building": building, "done": prog.get("done", 0),
                "total": prog.get("total", 0), "step": prog.get("step", "")}

    def require_complete(self) -> None:
        s = self.state()
        if s["complete"]:
            return
        if s["building"]:
            raise LabPrerequisiteError(f"lab {self.lab!r} is still being built (step {s['done']} "
                                       f"of {s['total']})")
        raise LabPrerequisiteError(
            f"lab {self.lab!r} is incomplete (interrupted at step {s['done']} of {s['total']}: "
            f"{s['step']}); its answers would mean nothing: `podnet lab down --name {self.lab}`")

    def remove(self) -> None:
        if not os.path.lexists(self.dir):
            return
        _root(create=False)
        _trusted(self.dir, want_dir=True)
        if os.path.lexists(self.path):
            _trusted(self.path, want_dir=False)
        shutil.rmtree(self.dir, ignore_errors=True)
