"""The built cluster model, kept on disk between runs and keyed by everything it is built from.

Building the model is most of a command's time on a large cluster (1.8 s at 150,000 pods);
loading a pickle of it is a fraction of that, and the pickle is in sections
(``podnet.cli.modelfile``) so that a command unpickles only the parts it reads. The key is a
hash of every input byte read (with names and how each file was found), the build options,
and ``FORMAT``: podnet's version plus a hash of the model's source, so any change to the code
that builds or defines the model starts a fresh cache.

Nothing read from the cache is trusted on its name or place: an entry is unpickled only when
it is a regular file owned by this user that nobody else can write, and its HMAC (over the key
and the payload, with a 32-byte secret kept 0600 in the same 0700 directory) checks. Anything
else (a planted, foreign, truncated, corrupt or stale file) is ignored and the model rebuilt;
the cache never makes a command fail. Writers go through a temporary file and ``os.replace``,
so concurrent runs see either a whole entry or none.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from podnet.cli.modelfile import dumps, loads

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster

MAX_ENTRIES = 8
MAGIC = b"podnet-model-cache\n"
KEY_BYTES = 32
SUFFIX = ".model"
_TMP = ".tmp-"
_STALE_TMP_SECONDS = 3600.0

# What the model is made of: its source (and the modules its objects come from) fixes the
# pickle's meaning, so it is part of every key.
_SOURCES = ("model", "errors.py", "names.py", "__init__.py", "cli/modelcache.py",
            "cli/modelfile.py")

__all__ = ["dumps", "get", "get_derived", "key", "loads", "put", "put_derived"]


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


_format: str | None = None


def source_hash(root: Path) -> str:
    """A hash of the files under ``root`` (podnet's package directory) the model is made of."""
    h = hashlib.sha256()
    for top in _SOURCES:
        p = root / top
        for f in sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []:
            rel = f.relative_to(root).as_posix().encode()
            data = f.read_bytes()
            h.update(b"%d:%s%d:" % (len(rel), rel, len(data)) + data)
    return h.hexdigest()


def format_version() -> str:
    """podnet's version and a hash of the model's source files."""
    global _format
    if _format is None:
        import podnet

        _format = f"{podnet.__version__}+{source_hash(Path(podnet.__file__).parent)[:16]}"
    return _format


def key(input_digest: str, nodes: int, keep_prefix: bool, overrides: Mapping[str, object]) -> str:
    """The entry's name: the inputs' digest, the build options and the format, hashed."""
    options = repr((nodes, keep_prefix, sorted((k, repr(v)) for k, v in overrides.items())))
    text = "\0".join((format_version(), input_digest, options))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


# -- the directory and its secret ---------------------------------------------------------

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


# -- entries ---------------------------------------------------------------------------------

def get(entry_key: str, hosts: frozenset[str] | None = None) -> Cluster | None:
    """The cached model for this key, or None (absent, or not to be trusted, or unreadable).

    With ``hosts``: a view for requests to those hosts, whose ``ingresses`` are only those
    that shape their servers (and possibly others); everything else is the whole model."""
    try:
        return _get(entry_key, hosts)
    except Exception:  # noqa: BLE001 - whatever is wrong with the cache, the input decides
        return None


def _get(entry_key: str, hosts: frozenset[str] | None = None) -> Cluster | None:
    from podnet.model.cluster import Cluster

    payload = _read(entry_key)
    if payload is None:
        return None
    # signed by this user's key: written by podnet for this key. The whole payload is read and
    # checked here; the model's sections are unpickled from it as the command reads them.
    cluster = loads(payload, hosts)
    return cluster if isinstance(cluster, Cluster) else None


def _read(entry_key: str) -> bytes | None:
    """The payload stored under this key, if its file and HMAC check (see the docstring)."""
    d = _open_dir()
    secret = _secret(d) if d is not None else None
    if d is None or secret is None:
        return None
    path = d / (entry_key + SUFFIX)
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


def get_derived(entry_key: str) -> bytes | None:
    """A payload that a command derived from the model of ``entry_key`` and stored with
    ``put_derived`` (its own key, made by the caller from the model's), checked like a model;
    None when absent or not to be trusted."""
    try:
        return _read(entry_key)
    except Exception:  # noqa: BLE001 - whatever is wrong with the cache, the input decides
        return None


def put_derived(entry_key: str, payload: bytes) -> None:
    """Store a derived payload as ``put`` stores a model (atomic, signed, pruned with them)."""
    with contextlib.suppress(Exception):
        _write(entry_key, payload)


def put(entry_key: str, cluster: Cluster) -> None:
    """Store the model under this key (atomically), then keep the newest MAX_ENTRIES. Any
    failure (no space, no permission, a model that does not pickle) leaves things as they were."""
    with contextlib.suppress(Exception):
        _put(entry_key, cluster)


def _put(entry_key: str, cluster: Cluster) -> None:
    d = _open_dir()
    secret = _secret(d) if d is not None else None
    if d is None or secret is None:
        return
    _write(entry_key, dumps(cluster))


def _write(entry_key: str, payload: bytes) -> None:
    d = _open_dir()
    secret = _secret(d) if d is not None else None
    if d is None or secret is None:
        return
    tmp = _write_temp(d, MAGIC, _mac(secret, entry_key, payload), payload)
    try:
        os.replace(tmp, d / (entry_key + SUFFIX))
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
