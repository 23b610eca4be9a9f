"""The gate `lab up` holds its daemons at (podnet/lab/gate.py): a daemon started before its
namespaces exist binds nothing until released, and exits when `lab up` goes away instead."""

from __future__ import annotations

import json
import subprocess
import sys


def _workload(tmp_path):
    (tmp_path / "pods.json").write_text(json.dumps([]))
    return subprocess.Popen([sys.executable, "-m", "podnet.lab.workload", "--gate", str(tmp_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_a_gated_daemon_exits_without_binding_when_its_pipe_closes(tmp_path):
    proc = _workload(tmp_path)
    proc.communicate(b"", timeout=60)  # end of file: bring-up died before "go"
    assert proc.returncode == 0
    assert not (tmp_path / "workload.ready").exists()


def test_a_gated_daemon_waits_for_go_then_gets_ready(tmp_path):
    proc = _workload(tmp_path)
    try:
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            pass
        assert proc.poll() is None and not (tmp_path / "workload.ready").exists()
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        for _ in range(600):
            if (tmp_path / "workload.ready").exists():
                break
            assert proc.poll() is None
            subprocess.run(["sleep", "0.05"], check=True)
        assert (tmp_path / "workload.ready").read_text() == "ready\n"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
