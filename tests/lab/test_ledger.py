"""The ledger owns the lab's state: hostile names, planted ledgers and recycled pids are refused,
an interrupted `lab up` is reported as such, and `lab clean` removes only what it is told to."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from podnet.lab import ledger, teardown
from tests.conftest import ROOT
from tests.lab.conftest import netns_names

BASIC = str(ROOT / "tests" / "manifests" / "lab-basic")


def podnet(*args: str, env: dict[str, str] | None = None,
           stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})}, input=stdin)


@pytest.fixture
def state_root(tmp_path, monkeypatch):
    """A private state root, so these tests never meet a real lab's state."""
    root = tmp_path / "state"
    monkeypatch.setattr(ledger, "STATE_ROOT", root)
    return root


@pytest.mark.parametrize("bad", ["../x", "/x", ".", "..", "a/../../b", "x\ny"])
def test_down_with_a_hostile_name_touches_nothing(tmp_path, bad):
    victim = tmp_path / "x"
    victim.mkdir()
    (victim / "keep").write_text("mine")
    env = {"PODNET_STATE": str(tmp_path / "state")}
    r = podnet("lab", "down", "--name", bad, env=env)
    assert r.returncode == 2 and "lab name" in r.stderr and "Traceback" not in r.stderr
    assert (victim / "keep").read_text() == "mine"
    r = podnet("lab", "clean", bad, "--yes", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (victim / "keep").read_text() == "mine"


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen(["sleep", "300"])


def _plant(root: Path, lab: str, pid: int, started: str, mode: int = 0o600,
           dir_mode: int = 0o700) -> Path:
    root.mkdir(mode=0o700, exist_ok=True)
    d = root / lab
    d.mkdir(mode=dir_mode)
    os.chmod(d, dir_mode)
    led = d / "ledger.jsonl"
    led.write_text(json.dumps({"kind": "process", "name": "x", "pidfile": "x.pid",
                               "match": "sleep"}) + "\n")
    os.chmod(led, mode)
    (d / "x.pid").write_text(f"{pid} {started}\n")
    return d


@pytest.mark.parametrize("how", ["world-writable ledger", "other owner", "symlinked dir"])
def test_a_planted_ledger_is_refused_and_nothing_is_killed(state_root, tmp_path, how):
    proc = _sleeper()
    try:
        started = teardown.start_time(proc.pid)
        if how == "symlinked dir":
            real = _plant(tmp_path / "elsewhere", "evil", proc.pid, started)
            state_root.mkdir(mode=0o700)
            (state_root / "evil").symlink_to(real)
        else:
            d = _plant(state_root, "evil", proc.pid, started,
                       mode=0o666 if how == "world-writable ledger" else 0o600)
            if how == "other owner":
                os.chown(d / "ledger.jsonl", 65534, 65534)
        with pytest.raises(ledger.UntrustedLedger, match="refusing"):
            teardown.down("evil")
        assert proc.poll() is None, "a pid from a planted ledger was killed"
    finally:
        proc.kill()
        proc.wait()


def test_a_pid_that_is_no_longer_podnets_is_left_alone(state_root):
    proc = _sleeper()
    try:
        # the pidfile names this pid but another start time: the pid was reused
        _plant(state_root, "reused", proc.pid, "1")
        teardown.down("reused")
        assert proc.poll() is None
        assert not (state_root / "reused").exists()
        # without a start time podnet cannot prove the pid is its own either
        _plant(state_root, "nostart", proc.pid, "")
        teardown.down("nostart")
        assert proc.poll() is None
        # the real start time proves it
        _plant(state_root, "ours", proc.pid, teardown.start_time(proc.pid))
        teardown.down("ours")
        proc.wait(timeout=5)
    finally:
        proc.kill()
        proc.wait()


def test_only_the_labs_own_namespaces_are_removed(state_root):
    foreign = "pn-zz_fabric"  # another lab's name, recorded in this lab's ledger
    subprocess.run(["ip", "netns", "add", foreign], check=True)
    try:
        state_root.mkdir(mode=0o700)
        d = state_root / "mine"
        d.mkdir(mode=0o700)
        led = d / "ledger.jsonl"
        led.write_text(json.dumps({"kind": "netns", "name": foreign}) + "\n"
                       + json.dumps({"kind": "etc-netns", "netns": "../../tmp"}) + "\n")
        os.chmod(led, 0o600)
        teardown.down("mine")
        assert foreign in netns_names()
    finally:
        subprocess.run(["ip", "netns", "del", foreign], check=False)


def test_state_is_private_and_holds_no_secret_values(lab_name, tmp_path):
    manifests = tmp_path / "in"
    manifests.mkdir()
    for f in Path(BASIC).iterdir():
        (manifests / f.name).write_text(f.read_text())
    (manifests / "secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: tls, namespace: shop}\n"
        "type: kubernetes.io/tls\ndata: {tls.key: c2VjcmV0LWtleS1tYXRlcmlhbA==}\n"
        "stringData: {password: hunter2}\n")
    r = podnet("lab", "up", "-f", str(manifests), "--name", lab_name, "--nodes", "2")
    assert r.returncode == 0, r.stderr
    d = ledger.lab_dir(lab_name)
    assert stat.S_IMODE(os.stat(ledger.STATE_ROOT).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    for f in d.iterdir():
        if f.is_file() and f.suffix in (".json", ".jsonl", ""):
            assert not stat.S_IMODE(f.stat().st_mode) & 0o077, f
    text = (d / "lab.json").read_text()
    assert "hunter2" not in text and "c2VjcmV0" not in text
    assert '"kind": "Secret"' in text  # the object stays; its values do not


def test_an_interrupted_up_says_so_and_probe_refuses(lab_name):
    proc = subprocess.Popen([sys.executable, "-m", "podnet", "lab", "up", "-f", BASIC, "--name",
                             lab_name, "--nodes", "2"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len([n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]) < 4:
        assert time.monotonic() < deadline and proc.poll() is None, "up finished before the kill"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    status = {d["name"]: d for d in json.loads(podnet("lab", "status", "-o", "json").stdout)}
    assert status[lab_name]["state"].startswith("incomplete (interrupted at step ")
    assert not status[lab_name]["complete"]
    r = podnet("lab", "probe", "--name", lab_name)
    assert r.returncode == 2 and "incomplete" in r.stderr and "Traceback" not in r.stderr
    assert podnet("lab", "down", "--name", lab_name).returncode == 0
    assert not [n for n in netns_names() if n.startswith(f"pn-{lab_name}_")]


def test_clean_asks_and_takes_names(lab_name):
    other = lab_name[:-1] + ("b" if lab_name[-1] != "b" else "c")
    try:
        for n in (lab_name, other):
            assert podnet("lab", "up", "-f", BASIC, "--name", n, "--nodes", "1").returncode == 0
        r = podnet("lab", "clean")  # stdin is not a terminal and there is no --yes
        assert r.returncode == 2 and "--yes" in r.stderr
        assert ledger.exists(lab_name) and ledger.exists(other)
        r = podnet("lab", "clean", other, "--yes")
        assert r.returncode == 0, r.stderr
        assert ledger.exists(lab_name) and not ledger.exists(other)
        status = {d["name"]: d for d in json.loads(podnet("lab", "status", "-o", "json").stdout)}
        assert status[lab_name]["state"] == "up"
    finally:
        teardown.down(other)
