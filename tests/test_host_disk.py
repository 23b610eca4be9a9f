"""``podnet disk`` for real on this machine: its JSON, fio's numbers beside it on the same
directory, and a real etcd started, scraped and stopped without leaving anything behind."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podnet.errors import HostError
from podnet.host import etcd as etcd_mod
from podnet.host.etcd import run_etcd

SEEDS_FIO = ["fio", "--rw=write", "--ioengine=sync", "--fdatasync=1", "--size=22m", "--bs=2300",
             "--name=mytest", "--output-format=json"]


def podnet(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, timeout=600, env=env)


def processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{pid}: {cmdline}")
    return found


def test_disk_json_on_a_small_run_leaves_the_directory_as_it_was(tmp_path):
    keep = tmp_path / ".podnet-disk-mine"  # a file named like podnet's: never reused or removed
    keep.write_text("mine")
    r = podnet("disk", str(tmp_path), "--size", "512k", "-o", "json")
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    assert list(data)[:5] == ["writes", "fdatasync_ms", "threshold_ms", "verdict", "path"]
    assert data["writes"] == 512 * 1024 // 2300 and data["path"] == str(tmp_path)
    ms = data["fdatasync_ms"]
    assert 0 < ms["p50"] <= ms["p90"] <= ms["p99"] <= ms["p99.9"] <= ms["max"]
    assert data["verdict"] == ("ok" if ms["p99"] < 10 else "slow")
    assert r.returncode == (0 if data["verdict"] == "ok" else 1)
    assert data["findings"][0]["check"] == "etcd-disk-fdatasync"
    assert sorted(p.name for p in tmp_path.iterdir()) == [keep.name]
    assert keep.read_text() == "mine"


def test_disk_says_what_is_wrong_without_a_traceback(tmp_path):
    r = podnet("disk", str(tmp_path / "missing"))
    assert r.returncode == 2 and "not a directory" in r.stderr and "Traceback" not in r.stderr
    r = podnet("disk", str(tmp_path), "--bs", "2x")
    assert r.returncode == 2 and "--bs '2x'" in r.stderr and "Traceback" not in r.stderr
    r = podnet("disk", str(tmp_path), "--etcd", env={**os.environ, "PATH": str(tmp_path)})
    assert r.returncode == 2 and "no etcd on PATH" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []  # refused before anything was written


@pytest.mark.skipif(shutil.which("fio") is None, reason="fio is not installed (make install as root)")
def test_podnet_disk_agrees_with_fio_on_the_same_directory(tmp_path):
    """The seeds' fio job and podnet disk, one after the other on one directory: podnet's p99
    within the same order of magnitude as fio's (fio's is the middle of one of its bins)."""
    fio = subprocess.run([*SEEDS_FIO, f"--directory={tmp_path}"], capture_output=True, text=True,
                         timeout=900, check=True)
    sync = json.loads(fio.stdout)["jobs"][0]["sync"]["lat_ns"]
    fio_p99_ms = sync["percentile"]["99.000000"] / 1e6
    for name in os.listdir(tmp_path):
        os.unlink(tmp_path / name)  # fio's mytest.0.0: podnet writes a file of its own
    r = podnet("disk", str(tmp_path), "-o", "json")
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    assert data["writes"] == sync["N"] == 10029
    ratio = data["fdatasync_ms"]["p99"] / fio_p99_ms
    assert 0.1 <= ratio <= 10, (data["fdatasync_ms"], fio_p99_ms)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd is not installed (make install as root)")
def test_disk_etcd_runs_a_real_etcd_and_leaves_nothing(tmp_path):
    r = podnet("disk", str(tmp_path), "--size", "64k", "--etcd", "--etcd-puts", "200", "-o", "json")
    assert r.returncode in (0, 1), r.stderr
    etcd = json.loads(r.stdout)["etcd"]
    assert etcd["puts"] == 200 and etcd["version"][0].isdigit()
    wal, commit = etcd["wal_fsync"], etcd["backend_commit"]
    # every put waits for its WAL entry to be fsynced: at least one fsync per put
    assert wal["observations"] >= 200 and commit["observations"] >= 1
    low, high = wal["bucket_ms"]
    assert low <= wal["p99_ms"] <= (high if high is not None else float("inf"))
    assert wal["verdict"] == ("ok" if wal["p99_ms"] < 10 else "slow")
    assert commit["threshold_ms"] == 25
    assert list(tmp_path.iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []


@pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd is not installed (make install as root)")
@pytest.mark.parametrize("failure", [HostError("disk --etcd", "injected"), KeyboardInterrupt()])
def test_etcd_is_stopped_and_removed_when_a_step_fails(tmp_path, monkeypatch, failure):
    started: list[int] = []

    def fail_after_start(port: int, puts: int, value_size: int) -> float:
        started.append(port)
        assert processes_mentioning(str(tmp_path)), "etcd should be running here"
        raise failure

    monkeypatch.setattr(etcd_mod, "_put_keys", fail_after_start)
    with pytest.raises(type(failure)):
        run_etcd(tmp_path, 10, 100)
    assert started
    assert list(tmp_path.iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []


@pytest.mark.skipif(shutil.which("etcd") is None, reason="etcd is not installed (make install as root)")
def test_a_terminated_podnet_still_stops_etcd_and_removes_its_directory(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "podnet", "disk", str(tmp_path), "--size", "8k",
                             "--etcd", "--etcd-puts", "1000000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any("etcd" in p and "--data-dir" in p for p in processes_mentioning(str(tmp_path))):
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr
            time.sleep(0.1)
        time.sleep(0.5)  # into the puts
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3 and "interrupted by SIGTERM" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []
