"""The cache directory's signed store: podnet's cached models (``podnet.cli.modelcache``) and
the compiled code of its dataclasses (``podnet.cli.codecache``) are entries here. Kept apart from
the model cache, which imports the model: the code cache is read before any model class exists.

Nothing read from the store is trusted on its name or place: an entry is read only when it is a
regular file owned by this user that nobody else can write, and its HMAC (over the key and the
payload, with a 32-byte secret kept 0600 in the same 0700 directory) checks. Anything else (a
planted, foreign, truncated, corrupt or stale file) is as good as absent. Writers go through a
temporary file and ``os.replace``, so concurrent runs see either a whole entry or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
import time
from pathlib import Path

MAX_ENTRIES = 8
MAGIC = b"podnet-model-cache\n"
KEY_BYTES = 32
SUFFIX = ".model"
_TMP = ".tmp-"
_STALE_TMP_SECONDS = 3600.0


def enabled(flag: bool) -> bool:
    """The cache is on unless ``--no-cache`` or ``PODNET_NO_CACHE`` (any value but 0/empty)."""
    return flag and os.environ.get("PODNET_NO_CACHE", "") in ("", "0")


def directory() -> Path | None:
    """``$XDG_CACHE_HOME/podnet``, else ``~/.cache/podnet`` (a relative XDG_CACHE_HOME is
    ignored, as the XDG spec says); None when there is no home to put it in."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "podnet"


def _owned_private(st: os.stat_result, kind: int, mode_mask: int) -> bool:
    return (stat.S_IFMT(st.st_mode) == kind and st.st_uid == os.geteuid()
            and st.st_mode & mode_mask == 0)


def _open_dir() -> Path | None:
    """The cache directory, made 0700 if absent; None (no cache) unless it is a real directory
    of this user that no one else can write."""
    d = directory()
    if d is None:
        return None
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(d)
    except OSError:
        return None
    return d if _owned_private(st, stat.S_IFDIR, 0o022) else None


def _read_secret(path: Path) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not block
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not _owned_private(os.fstat(fd), stat.S_IFREG, 0o077):
            return None
        data = f.read(KEY_BYTES + 1)
    return data if len(data) == KEY_BYTES else None


def _secret(d: Path) -> bytes | None:
    """The per-user HMAC key. A missing one is made; one that is not this user's, is readable
    or writable by others, or has the wrong size is replaced, which invalidates every entry
    signed with it."""
    path = d / "key"
    found = _read_secret(path)
    if found is not None:
        return found
    fresh = os.urandom(KEY_BYTES)
    try:
        tmp = _write_temp(d, fresh)
        try:
            if path.exists() or path.is_symlink():
                os.replace(tmp, path)  # the old key is bad: overwrite it
            else:
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)  # a concurrent run may have won: use its key
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    except OSError:
        return None
    return _read_secret(path)


def _write_temp(d: Path, *chunks: bytes) -> Path:
    """A new file (0600, never an existing path or link) in ``d`` holding the chunks."""
    path = d / f"{_TMP}{os.getpid()}-{os.urandom(6).hex()}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return path


def _mac(secret: bytes, entry_key: str, payload: bytes) -> bytes:
    """HMAC-SHA256 over the entry's key and payload: a valid entry copied under another key's
    name does not check either."""
    h = hmac.new(secret, MAGIC + entry_key.encode() + b"\0", "sha256")
    h.update(payload)
    return h.digest()


def read(entry_key: str, suffix: str = SUFFIX) -> bytes | None:
    """The payload stored under this key, if its file and HMAC check (see the docstring)."""
    d = _open_dir()
    secret = _secret(d) if d is not None else None
    if d is None or secret is None:
        return None
    path = d / (entry_key + suffix)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)  # a FIFO must not block
    except OSError:
        return None
    head = len(MAGIC) + hashlib.sha256().digest_size
    with os.fdopen(fd, "rb") as f:
        if not _owned_private(os.fstat(fd), stat.S_IFREG, 0o022):
            return None
        header, payload = f.read(head), f.read()  # bytes: unpickled without a copy
    if len(header) < head or header[:len(MAGIC)] != MAGIC:
        return None
    if not hmac.compare_digest(header[len(MAGIC):], _mac(secret, entry_key, payload)):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: pruned last
    return payload


def write(entry_key: str, payload: bytes, suffix: str = SUFFIX) -> None:
    """Store ``payload`` under ``entry_key``, signed, through a temporary file and
    ``os.replace``; then prune the models (``suffix``: entries of another kind, not counted
    among them). Raises what the file system says."""
    d = _open_dir()
    secret = _secret(d) if d is not None else None
    if d is None or secret is None:
        return
    tmp = _write_temp(d, MAGIC, _mac(secret, entry_key, payload), payload)
    try:
        os.replace(tmp, d / (entry_key + suffix))
    except OSError:
        os.unlink(tmp)
        raise
    prune(d)


def prune(d: Path, keep: int = MAX_ENTRIES) -> None:
    """Remove all but the ``keep`` most recently used entries, and temporary files left by
    runs killed mid-write. Another run may be pruning too: a file already gone is fine."""
    entries: list[tuple[float, str]] = []
    now = time.time()
    try:
        scan = list(os.scandir(d))
    except OSError:
        return
    for e in scan:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if e.name.endswith(SUFFIX):
            entries.append((st.st_mtime, e.name))
        elif e.name.startswith(_TMP) and now - st.st_mtime > _STALE_TMP_SECONDS:
            with contextlib.suppress(OSError):
                os.unlink(e.path)
    entries.sort(reverse=True)
    for _, name in entries[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(d / name)


def writable() -> bool:
    """Whether the directory and its secret are there (made if absent) for ``write``."""
    d = _open_dir()
    return d is not None and _secret(d) is not None
