"""The dataclass code cache (podnet/cli/codecache.py): a second run compiles nothing, the
classes it makes are the ones ``exec`` makes, and a cache entry that is not to be trusted, or
a cache turned off, changes nothing but the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OSLO = str(ROOT / "examples" / "oslo")

# a run: install the cache, define a frozen dataclass, report what it did and made
RUN = r"""
import dataclasses, json, sys
from podnet.cli import codecache
codecache.install(sys.argv[1:])

@dataclasses.dataclass(frozen=True, slots=True)
class Probe:
    name: str
    port: int = 80
    tags: tuple[str, ...] = ()

p = Probe("a", tags=("x",))
try:
    p.port = 1
    frozen = False
except dataclasses.FrozenInstanceError:
    frozen = True
init = Probe.__init__.__code__
print(json.dumps({"compiled": codecache.compiled(), "repr": repr(p),
                  "eq": p == Probe("a", 80, ("x",)),
                  "hash": hash(p) == hash(Probe("a", 80, ("x",))), "frozen": frozen,
                  "flags": init.co_flags, "code": init.co_code.hex(),
                  "annotations": {k: str(v) for k, v in Probe.__init__.__annotations__.items()}}))
"""


def run(cache: Path, *argv: str, **env: str) -> dict[str, object]:
    e = {k: v for k, v in os.environ.items() if k != "PODNET_NO_CACHE"}
    e.update(XDG_CACHE_HOME=str(cache), **env)
    out = subprocess.run([sys.executable, "-c", RUN, *argv], env=e, capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out)


def entry(cache: Path) -> Path:
    (found,) = (cache / "podnet").glob("*.code")
    return found


def test_a_second_run_compiles_nothing_and_makes_the_same_class(tmp_path):
    first = run(tmp_path)
    assert first["compiled"] > 0 and entry(tmp_path).stat().st_mode & 0o077 == 0
    second = run(tmp_path)
    assert second["compiled"] == 0
    assert {k: v for k, v in first.items() if k != "compiled"} == \
           {k: v for k, v in second.items() if k != "compiled"}
    assert second["repr"] == "Probe(name='a', port=80, tags=('x',))"
    assert second["eq"] and second["hash"] and second["frozen"]


def test_the_cached_code_is_what_exec_compiles(tmp_path):
    """Without the cache (the dataclasses module's own exec) the method's bytecode, flags and
    annotations are the same as with it."""
    cached = run(tmp_path)
    plain = run(tmp_path, "--no-cache")
    assert plain["compiled"] == 0  # not installed: nothing went through the cache
    assert {k: v for k, v in cached.items() if k != "compiled"} == \
           {k: v for k, v in plain.items() if k != "compiled"}


def test_an_entry_not_to_be_trusted_is_ignored(tmp_path):
    run(tmp_path)
    path = entry(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0xFF  # the payload no longer matches its HMAC
    path.write_bytes(bytes(data))
    assert run(tmp_path)["compiled"] > 0
    assert run(tmp_path)["compiled"] == 0  # rewritten, signed again
    os.chmod(path := entry(tmp_path), 0o666)  # writable by others: not this user's alone
    assert run(tmp_path)["compiled"] > 0


def test_turned_off_it_writes_nothing(tmp_path):
    assert run(tmp_path, PODNET_NO_CACHE="1")["compiled"] == 0
    assert not list(tmp_path.glob("podnet/*.code"))
    run(tmp_path, "--no-cache")
    assert not list(tmp_path.glob("podnet/*.code"))


def test_a_cache_moved_after_install_is_not_written(tmp_path):
    """A process whose XDG_CACHE_HOME changes (a test's, undone) writes in neither place."""
    first, moved = tmp_path / "first", tmp_path / "moved"
    code = ("import dataclasses, os\nfrom podnet.cli import codecache\ncodecache.install([])\n"
            f"os.environ['XDG_CACHE_HOME'] = {str(moved)!r}\n"
            "@dataclasses.dataclass(frozen=True)\nclass A:\n    x: int\n")
    env = {k: v for k, v in os.environ.items() if k != "PODNET_NO_CACHE"}
    subprocess.run([sys.executable, "-c", code], env={**env, "XDG_CACHE_HOME": str(first)},
                   check=True, timeout=60)
    assert not list(tmp_path.rglob("*.code"))


def test_the_command_line_fills_and_uses_it(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("PODNET_NO_CACHE", None)
    argv = [sys.executable, "-m", "podnet", "reach", "-f", OSLO, "-o", "summary"]
    first = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0 and entry(tmp_path).stat().st_size > 0
    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert (again.returncode, again.stdout) == (0, first.stdout)
