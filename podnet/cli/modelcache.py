"""The built cluster model, kept on disk between runs and keyed by everything it is built from.

Building the model is most of a command's time on a large cluster (1.8 s at 150,000 pods);
loading a pickle of it is a fraction of that, and the pickle is in sections
(``podnet.cli.modelfile``) so that a command unpickles only the parts it reads. The key is a
hash of every input byte read (with names and how each file was found), the build options,
and ``FORMAT``: podnet's version plus a hash of the model's source, so any change to the code
that builds or defines the model starts a fresh cache.

Entries live in the signed store of ``podnet.cli.cachestore``: one is unpickled only when its
file is this user's alone and its HMAC checks. Anything else (a planted, foreign, truncated,
corrupt or stale file) is ignored and the model rebuilt; the cache never makes a command fail.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from podnet.cli.cachestore import (
    MAGIC,
    MAX_ENTRIES,
    SUFFIX,
    directory,
    enabled,
    read,
    writable,
    write,
)
from podnet.cli.modelfile import dumps, loads

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster

# What the model is made of: its source (and the modules its objects come from) fixes the
# pickle's meaning, so it is part of every key.
_SOURCES = ("model", "errors.py", "names.py", "__init__.py", "cli/modelcache.py",
            "cli/modelfile.py", "cli/cachestore.py")

__all__ = ["MAGIC", "MAX_ENTRIES", "SUFFIX", "directory", "dumps", "enabled", "get",
           "get_derived", "key", "loads", "put", "put_derived"]


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

    payload = read(entry_key)
    if payload is None:
        return None
    # signed by this user's key: written by podnet for this key. The whole payload is read and
    # checked here; the model's sections are unpickled from it as the command reads them.
    cluster = loads(payload, hosts)
    return cluster if isinstance(cluster, Cluster) else None


def get_derived(entry_key: str) -> bytes | None:
    """A payload that a command derived from the model of ``entry_key`` and stored with
    ``put_derived`` (its own key, made by the caller from the model's), checked like a model;
    None when absent or not to be trusted."""
    try:
        return read(entry_key)
    except Exception:  # noqa: BLE001 - whatever is wrong with the cache, the input decides
        return None


def put_derived(entry_key: str, payload: bytes) -> None:
    """Store a derived payload as ``put`` stores a model (atomic, signed, pruned with them)."""
    with contextlib.suppress(Exception):
        write(entry_key, payload)


def put(entry_key: str, cluster: Cluster) -> None:
    """Store the model under this key (atomically), then keep the newest MAX_ENTRIES. Any
    failure (no space, no permission, a model that does not pickle) leaves things as they were."""
    with contextlib.suppress(Exception):
        _put(entry_key, cluster)


def _put(entry_key: str, cluster: Cluster) -> None:
    if writable():  # before pickling a model there is nowhere to put
        write(entry_key, dumps(cluster))


