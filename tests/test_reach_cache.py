"""reach's derived cache (podnet/cli/reach_cache.py): compiled policies and classes stored beside
the model; a warm run answers the same bytes without classifying or reading the pods, and
anything that changes what is derived (input, the ipBlock reading, a tampered file) derives
again."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import podnet.policy.classes as classes_mod
from podnet.cli.app import main
from podnet.cli.modelfile import LazyCluster
from tests.conftest import ROOT
from tests.helpers import counted

sys.path.insert(0, str(ROOT / "bench"))
import gen  # noqa: E402

ARGS = ("-o", "summary", "--ports", "8080/TCP,9090/TCP,53/UDP")


@pytest.fixture
def classified(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[int]]:
    """A cache directory of this test's own, and a count of the classifications."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("PODNET_NO_CACHE", raising=False)
    yield counted(monkeypatch, classes_mod, "classify")


def _input(tmp_path: Path, pods: int = 600) -> Path:
    path = tmp_path / "c.json"
    gen.write(str(path), pods, 20, 40)
    return path


def _reach(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> str:
    capsys.readouterr()
    try:
        main(["reach", "-f", str(path), *ARGS, *extra])
    except SystemExit as done:
        assert not done.code
    return capsys.readouterr().out


def _uncached(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, path: Path,
              *extra: str) -> str:
    with monkeypatch.context() as m:
        m.setenv("PODNET_NO_CACHE", "1")
        return _reach(capsys, path, *extra)


def test_warm_run_reads_no_pod_and_answers_the_same(
        classified: list[int], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _input(tmp_path)
    cold = _reach(capsys, path)
    assert len(classified) == 1
    read: list[str] = []
    real = LazyCluster._load

    def loading(self: LazyCluster, name: str) -> Any:
        read.append(name)
        return real(self, name)

    monkeypatch.setattr(LazyCluster, "_load", loading)
    warm = _reach(capsys, path)
    assert len(classified) == 1  # the classes came from the cache
    assert "pods" not in read and "policies" not in read and "namespaces" not in read
    assert warm == cold
    summary = json.loads(warm)
    assert summary["pods"] == 600 and summary["policies"] == 40
    monkeypatch.setattr(LazyCluster, "_load", real)
    assert _uncached(capsys, monkeypatch, path) == warm
    assert len(classified) == 2


def test_the_ipblock_reading_is_part_of_the_key(
        classified: list[int], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _input(tmp_path)
    flag = "--no-ipblock-matches-pods"
    _reach(capsys, path)
    other = _reach(capsys, path, flag)
    assert len(classified) == 2
    assert _reach(capsys, path, flag) == other == _uncached(capsys, monkeypatch, path, flag)
    assert len(classified) == 3  # the uncached run only


def test_a_changed_input_or_a_tampered_entry_derives_again(
        classified: list[int], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = _input(tmp_path)
    first = _reach(capsys, path)
    cache = tmp_path / "xdg" / "podnet"
    derived = [p for p in cache.glob("*.model") if not p.read_bytes()[51:].startswith(
        b"podnet-model-sections")]
    assert len(derived) == 1
    data = bytearray(derived[0].read_bytes())
    data[-10] ^= 1
    derived[0].write_bytes(bytes(data))
    assert _reach(capsys, path) == first
    assert len(classified) == 2  # the tampered entry was not used
    assert _reach(capsys, path) == first and len(classified) == 2  # and was replaced
    # one more pod: another model, other classes
    bigger = _input(tmp_path, 640)
    assert json.loads(_reach(capsys, bigger))["pods"] == 640
    assert len(classified) == 3
    assert _reach(capsys, bigger) == _uncached(capsys, monkeypatch, bigger)
