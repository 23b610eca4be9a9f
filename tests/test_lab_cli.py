"""The lab's command line without a kernel: what `lab up` records, and `lab probe` as non-root."""

from __future__ import annotations

import gc
import io
import os
import shutil
import subprocess
import sys

import pytest

from podnet.cli.app import main
from tests.conftest import EXAMPLES, ROOT


def _run(argv: list[str]) -> int:
    try:
        with pytest.raises(SystemExit) as e:
            main(argv)
    finally:
        gc.enable()  # main() turns the cyclic collector off for its one short run
    return int(e.value.code or 0)


def test_lab_up_from_stdin_keeps_the_documents_it_built(monkeypatch, capsys):
    import podnet.lab.apply as apply
    import podnet.lab.daemons as daemons

    oslo = sorted((EXAMPLES / "oslo").glob("*.yaml"))
    text = "\n---\n".join(f.read_text() for f in oslo)
    recorded: list[dict[str, object]] = []

    made: list[str] = []

    class Begun:
        def make(self, namespaces: list[str]) -> None:
            made.extend(namespaces)

    begun = Begun()

    def fake_up(plan: object, state: dict[str, object], started: object) -> float:
        assert started is begun
        recorded.append(state)
        return 0.0

    monkeypatch.setattr(daemons, "begin", lambda lab: begun)
    monkeypatch.setattr(apply, "up", fake_up)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert _run(["lab", "up", "-f", "-", "--name", "t", "--cni", "host-gw"]) == 0
    assert "lab t up: 3 nodes" in capsys.readouterr().out
    # the fabric, 3 nodes, the 10 pods not on their node's network, the outside
    assert made[0] == "pn-t_fabric" and made[-1] == "pn-t_external" and len(made) == 15
    (state,) = recorded
    docs = state["docs"]
    assert isinstance(docs, list)
    kinds = {d["body"]["kind"] for d in docs}
    assert {"Node", "NetworkPolicy", "Service"} <= kinds
    assert all(d["file"] == "<stdin>" for d in docs)


def test_lab_probe_as_non_root_says_it_needs_root(monkeypatch, capsys):
    monkeypatch.setattr(os, "geteuid", lambda: 65534)
    assert _run(["lab", "probe", "--name", "oslo"]) == 2
    err = capsys.readouterr().err
    assert err == ("podnet: error: the lab needs root (network namespaces, links, routes): "
                   "run podnet lab as root\n")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to run podnet as another user")
def test_lab_probe_as_nobody_is_one_line_not_a_traceback():
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-m", "podnet", "lab", "probe", "--name", "oslo"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and "needs root" in r.stderr
