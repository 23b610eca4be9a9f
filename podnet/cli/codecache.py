"""Compiled dataclass methods, kept between runs in the signed cache store.

Every ``@dataclass`` writes the source of its ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` and (frozen) ``__setattr__``/``__delattr__`` and compiles it with ``exec`` when its
module is imported: ~1.4 ms a class here, the same on Python 3.11 to 3.13. A command imports
46 (``explain``) to 118 (``lab probe``) of podnet's, so that compilation was a third of
``explain``'s start-up and 0.13 s of `lab up`'s, on its critical path (issue 17). The source
is the same from run to run, so its code object is too: ``install`` gives the dataclasses
module an ``exec`` that compiles each source once and keeps the code, by source text, in one
store entry per interpreter build (the key is ``sys.version``). The source text is the key, so
a changed class simply misses; the classes and methods made are exactly what ``exec`` of the
text makes (compiled without inheriting this module's ``__future__`` flags, as the dataclasses
module has none).

The entry is signed like the cached models (``podnet.cli.cachestore``): a file that is not this
user's alone or whose HMAC does not check is ignored, and every source compiles as before.
``--no-cache`` and ``PODNET_NO_CACHE`` turn it off with the model cache.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import marshal
import sys
from types import CodeType
from typing import Any

# interpreters whose dataclasses compile each generated source with a module-level
# exec(text, globals, namespace): the shim stands in for that name
VERSIONS = ((3, 11), (3, 12), (3, 13))
SUFFIX = ".code"
# entries kept (podnet's commands together define ~850, 0.9 MB, read and unmarshalled in
# 8 ms); past that, only those the run that writes used: classes that changed leave
MOST = 1500

_codes: dict[str, CodeType] = {}
_used: set[str] = set()
_state: dict[str, Any] = {"installed": False, "compiled": 0, "directory": None}


def _key() -> str:
    return "dataclass-code-" + hashlib.sha256(sys.version.encode()).hexdigest()[:32]


def _exec(source: Any, globals: Any = None, locals: Any = None, /) -> None:  # noqa: A002
    if isinstance(source, str):
        code = _codes.get(source)
        if code is None:
            code = _codes[source] = compile(source, "<string>", "exec", dont_inherit=True)
            _state["compiled"] += 1
        _used.add(source)
        source = code
    exec(source, globals, locals)  # noqa: S102 - the dataclasses module's own call


def _load() -> None:
    from podnet.cli import cachestore

    payload = cachestore.read(_key(), SUFFIX)
    if payload is None:
        return
    try:
        found = marshal.loads(payload)
    except (EOFError, ValueError, TypeError):
        return
    if isinstance(found, dict):
        _codes.update((k, v) for k, v in found.items()
                      if isinstance(k, str) and isinstance(v, CodeType))


def _save() -> None:
    from podnet.cli import cachestore

    if not _state["compiled"] or cachestore.directory() != _state["directory"]:
        return  # nothing new, or the cache moved (a test's XDG_CACHE_HOME undone): not there
    keep = _codes if len(_codes) <= MOST else {k: _codes[k] for k in _used}
    try:
        cachestore.write(_key(), marshal.dumps(keep), SUFFIX)
    except Exception:  # noqa: BLE001 - no space, no permission: the next run compiles again
        pass


def install(argv: list[str]) -> None:
    """Use and fill the cache for the rest of this process (once; not with ``--no-cache`` or
    ``PODNET_NO_CACHE``, nor on an interpreter whose dataclasses it does not know)."""
    from podnet.cli.cachestore import directory, enabled

    if (_state["installed"] or sys.version_info[:2] not in VERSIONS
            or not enabled("--no-cache" not in argv) or "exec" in vars(dataclasses)):
        return
    _state["installed"], _state["directory"] = True, directory()
    try:
        _load()
    except Exception:  # noqa: BLE001 - whatever is wrong with the cache, compiling still works
        _codes.clear()
    dataclasses.exec = _exec  # type: ignore[attr-defined]
    atexit.register(_save)


def compiled() -> int:
    """Sources compiled in this process since ``install`` (none when the cache had them all)."""
    return int(_state["compiled"])
