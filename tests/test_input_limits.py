"""Bad input fails fast and clearly: bounded reads, alias bombs, deep nesting, binary data,
paths that are not files. Every failure is one InputError line naming the file (exit 2)."""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from podnet.errors import InputError
from podnet.model import build, limits, load, read_paths, read_texts, sources
from podnet.model.load import _check_shape
from tests.conftest import ROOT

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\ndata:\n"


def bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each anchor is ``width`` aliases of the one before."""
    lines = [f' l0: &l0 [{",".join(["lol"] * width)}]']
    lines += [f" l{i}: &l{i} [{','.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return CONFIGMAP + "\n".join(lines) + "\n"


def _limited() -> None:
    # the child may not take the machine down should the bound regress
    resource.setrlimit(resource.RLIMIT_AS, (1 << 31, 1 << 31))


def podnet(*args: str, stdin: bytes | int | None = None, timeout: float = 60
           ) -> subprocess.CompletedProcess[bytes]:
    kw = {"input": stdin} if isinstance(stdin, bytes) else {"stdin": stdin}
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          timeout=timeout, preexec_fn=_limited, **kw)


@contextmanager
def _memory_cap(extra: int) -> Iterator[None]:
    """Cap this process's address space at ``extra`` bytes above its current size, so that a
    regression shows as a MemoryError instead of taking the machine's memory."""
    size = int(Path("/proc/self/statm").read_text().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    before = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (size + extra, before[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, before)


def test_alias_bomb_is_refused_fast_and_small(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb())
    assert path.stat().st_size < 500  # 9**9 = 387 million strings once expanded
    start = time.monotonic()
    with _memory_cap(1 << 30), pytest.raises(InputError) as e:
        build(read_paths([str(path)]))
    assert time.monotonic() - start < 1.0
    assert e.value.source.file == str(path)
    assert "aliases expand to more than" in e.value.message
    tracemalloc.start()  # measured apart: tracing slows every allocation
    with pytest.raises(InputError):
        build(read_paths([str(path)]))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20


def test_alias_bomb_on_the_command_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb())
    r = podnet("analyze", "-f", str(path), timeout=30)
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.startswith(f"podnet: error: {path} (document 1): anchors and aliases expand")
    assert err.count("\n") == 1


def test_aliases_within_the_allowance_are_read():
    # a shallow bomb (9**5 = 59,049 values) is ordinary alias use by the budget's measure
    docs = read_texts([("small.yaml", bomb(levels=5))])
    data = docs[0].body["data"]
    assert data["l4"][0] is data["l3"]  # shared, as PyYAML builds it
    config = build(docs).configs[0]  # the model walks it without refusing
    assert len(config.body["data"]["l4"][8][8][8][8]) == 9


def test_an_alias_that_contains_itself_is_refused():
    with pytest.raises(InputError) as e:
        build(read_texts([("cycle.yaml", CONFIGMAP + " a: &a [x, *a]\n")]))
    assert "nested more than" in e.value.message and e.value.source.file == "cycle.yaml"


@pytest.mark.parametrize("name,text", [
    ("deep.yaml", CONFIGMAP + " a: " + "[" * 500 + "]" * 500 + "\n"),
    ("deep.json", '{"kind": "ConfigMap", "metadata": {"name": "x"}, "data": '
                  + "[" * 5000 + "]" * 5000 + "}"),
])
def test_deep_nesting_is_an_input_error(name, text):
    # 500 levels pass libyaml's own limit (1,000) and used to exhaust Python's stack later
    with pytest.raises(InputError) as e:
        build(read_texts([(name, text)]))
    assert e.value.source.file == name
    assert f"nested more than {limits.MAX_DEPTH} levels" in e.value.message


def test_the_largest_benchmark_input_is_well_within_the_limits():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import gen
    finally:
        sys.path.remove(str(ROOT / "bench"))
    body = gen.cluster(150_000, 5_000, 10_000)  # bench/run.py's largest case
    size = len(json.dumps(body))
    assert size * 10 < limits.MAX_FILE_BYTES
    values = _check_shape(body, "bench.json", 0, size + limits.ALIAS_ALLOWANCE)
    assert values < size  # an alias-free document never comes near its budget
    # depth: List -> items -> Deployment -> spec -> template -> spec -> containers -> ports
    level, depth = [body], 0
    while level:
        depth += 1
        level = [c for x in level for c in (x.values() if isinstance(x, dict) else x)
                 if isinstance(c, dict | list)]
    assert depth * 4 < limits.MAX_DEPTH


class _Endless(io.RawIOBase):
    """A stream that never ends, counting what is read from it."""

    def __init__(self, byte: bytes) -> None:
        self.byte, self.taken = byte, 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        b[:] = self.byte * len(b)
        self.taken += len(b)
        return len(b)


def _stdin(monkeypatch: pytest.MonkeyPatch, raw: io.RawIOBase) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(raw)))


def test_stdin_is_read_to_its_limit_and_one_byte_more(monkeypatch):
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 10_000)
    endless = _Endless(b"#")
    _stdin(monkeypatch, endless)
    with pytest.raises(InputError) as e:
        read_paths(["-"])
    assert e.value.source.file == "<stdin>"
    assert "larger than" in e.value.message and "one input" in e.value.message
    # the buffered reader may read ahead by one buffer; the loader itself takes limit + 1
    assert endless.taken <= 10_001 + io.DEFAULT_BUFFER_SIZE


def test_all_inputs_together_are_bounded(monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "MAX_TOTAL_BYTES", 1_500)
    files = []
    for i in range(2):
        f = tmp_path / f"{i}.yaml"
        f.write_text(f"kind: Namespace\nmetadata: {{name: n{i}}}\n# {'x' * 1000}\n")
        files.append(str(f))
    assert len(read_paths(files[:1])) == 1
    with pytest.raises(InputError) as e:
        read_paths(files)
    assert e.value.source.file == files[1] and "in total" in e.value.message


def test_dev_zero_on_stdin_fails_at_once():
    with open("/dev/zero", "rb") as zero:
        start = time.monotonic()
        r = podnet("analyze", "-f", "-", stdin=zero.fileno(), timeout=30)
    assert r.returncode == 2
    assert r.stderr.decode() == ("podnet: error: <stdin> (document 1): binary data (a NUL byte "
                                 "at offset 0), not YAML or JSON text\n")
    assert time.monotonic() - start < 30


def test_binary_stdin_is_an_input_error_not_a_traceback():
    r = podnet("analyze", "-f", "-", stdin=b"kind: Namespace\nmetadata: {name: \xff\xfe}\n")
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert "<stdin>" in err and "not UTF-8 text (byte 0xff at offset 33)" in err


def test_binary_file_names_the_offset(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_bytes(b"kind: Namespace\nmetadata: {name: caf\xe9}\n")
    with pytest.raises(InputError) as e:
        read_paths([str(f)])
    assert e.value.source.file == str(f)
    assert e.value.message.startswith("not UTF-8 text (byte 0xe9 at offset 36)")


def test_a_bom_is_not_an_error(tmp_path):
    f = tmp_path / "x.json"
    f.write_bytes(b'\xef\xbb\xbf{"kind": "Namespace", "metadata": {"name": "n"}}')
    assert read_paths([str(f)])[0].body["metadata"] == {"name": "n"}


def _fifo(tmp: Path) -> str:
    os.mkfifo(tmp / "fifo.yaml")
    return str(tmp / "fifo.yaml")


def _loop(tmp: Path) -> str:
    (tmp / "loop.yaml").symlink_to(tmp / "loop.yaml")
    return str(tmp / "loop.yaml")


def _dangling(tmp: Path) -> str:
    (tmp / "gone.yaml").symlink_to(tmp / "nowhere.yaml")
    return str(tmp / "gone.yaml")


@pytest.mark.parametrize("make,says", [
    (lambda t: "/dev/zero", "is a character device, not a file or directory"),
    (lambda t: "/dev/null", "is a character device, not a file or directory"),
    (_fifo, "is a FIFO (named pipe), not a file or directory"),
    (_loop, "is a symlink loop"),
    (_dangling, "is a broken symlink (to "),
    (lambda t: str(t / "absent.yaml"), "no such file or directory"),
])
def test_a_path_that_is_not_a_file_is_named_for_what_it_is(tmp_path, make, says):
    path = make(tmp_path)
    with pytest.raises(InputError) as e:
        load([path])
    assert e.value.source.file == path and e.value.message.startswith(says)


def test_directory_walk_survives_symlink_loops_and_says_so(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ns.yaml").write_text("kind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a directory loop: not entered
    (tmp_path / "self.yaml").symlink_to(tmp_path / "self.yaml")
    (tmp_path / "link.yaml").symlink_to(tmp_path / "sub" / "ns.yaml")  # a file link: read
    docs = read_paths([str(tmp_path)])
    assert sorted(d.file for d in docs) == [str(tmp_path / "link.yaml"),
                                            str(tmp_path / "sub" / "ns.yaml")]
    assert docs.warnings == [f"skipped {tmp_path / 'self.yaml'}: is a symlink loop "
                             "(too many levels of symbolic links)"]


def test_readme_states_the_limits():
    text = (ROOT / "README.md").read_text()
    assert f"| one file, or stdin | {limits.mib(limits.MAX_FILE_BYTES)} " in text
    assert f"| all `-f` inputs together | {limits.mib(limits.MAX_TOTAL_BYTES)} |" in text
    assert f"plus {limits.ALIAS_ALLOWANCE:,} " in text
    assert f"| {limits.MAX_DEPTH} levels " in text
