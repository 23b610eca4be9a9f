"""``podnet lab up`` and ``podnet lab probe`` without typer (podnet/cli/quick.py): the plain
command line runs the same function as typer's command (podnet/cli/lab_run.py) and prints the
same bytes with the same exit code; anything else goes to typer."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from podnet.cli import quick
from tests.conftest import EXAMPLES, ROOT
from tests.test_quick_explain import run

OSLO = str(EXAMPLES / "oslo")


@pytest.mark.parametrize("argv", [
    ["lab", "up", "--dry-run", "-f", OSLO, "--name", "qk1", "--cni", "host-gw"],
    ["--no-cache", "lab", "up", f"--filename={OSLO}", "--name=qk1", "--nodes", "2",
     "--proxy", "nftables", "--dry-run"],
    ["lab", "up", "--dry-run", "-f", OSLO, "--name", "qk1", "--migrated-gateway",
     "--cni=vxlan"],
    # a bad choice: the same message and exit code as typer's option callback; the first bad
    # option on the command line is the one named, as click checks them in that order
    ["lab", "up", "-f", OSLO, "--name", "qk1", "--cni", "nope", "--proxy", "bad"],
    ["lab", "up", "-f", OSLO, "--name", "qk1", "--proxy", "bad", "--cni", "nope", "--cni", "x"],
    ["lab", "up", "--dry-run", "-f", OSLO],
    ["lab", "up", "--name", "qk1", "--dry-run"],
    ["lab", "probe", "--name", "nosuchlab"],
    ["lab", "probe", "--name", "nosuchlab", "--ports", "80/TCP", "-o", "json",
     "--timeout", "0.5"],
    ["lab", "probe", "--name=nosuchlab", "--output=yaml", "--timeout=.5"],
    ["lab", "probe"]], ids=lambda a: " ".join(a).replace(OSLO, "oslo"))
def test_quick_path_prints_what_typer_prints(argv: list[str]) -> None:
    assert quick.parse(argv) is not None
    fast = run(argv, typer_only=False)
    assert fast == run(argv, typer_only=True)
    if "--dry-run" in argv and "qk1" in " ".join(argv) and OSLO in " ".join(argv):
        assert fast[0] == 0 and "qk1" in fast[1]  # the plan was printed, not an error
    else:
        assert fast[0] != 0 and fast[2].startswith("podnet: error: ")


@pytest.mark.parametrize("argv", [
    ["lab", "up", "--help"], ["lab", "probe", "--help"], ["lab", "up", "--nodes", "two"],
    ["lab", "up", "--dry-run=1"], ["lab", "up", "--name", "-x"], ["lab", "up", "extra"],
    ["lab", "probe", "--timeout", "1e3"], ["lab", "probe", "--timeout", "inf"],
    ["lab", "probe", "--timeout", "."], ["lab", "probe", "--timeout", "1.2.3"],
    ["lab", "probe", "--timeout", "-1"], ["lab", "probe", "-f", OSLO],
    ["lab", "probe", "--dry-run"], ["lab", "down", "--name", "x"], ["lab"],
    ["lab", "probe", "--name"], ["lab", "up", "-fX"], ["lab", "upx"]])
def test_anything_but_the_plain_form_goes_to_typer(argv: list[str]) -> None:
    assert quick.parse(argv) is None


@pytest.mark.parametrize("argv", [["lab", "up", "--help"], ["lab", "probe", "--help"]])
def test_help_still_answers(argv: list[str]) -> None:
    code, out, _ = run(argv, typer_only=False)
    assert code == 0 and out.startswith(f"Usage: podnet {' '.join(argv[:2])} [OPTIONS]")
    assert out == run(argv, typer_only=True)[1]


def _last_json(code: str) -> Any:
    """The JSON on the last line ``code`` prints, run in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return json.loads(out.splitlines()[-1])


def test_quick_lab_commands_import_neither_typer_nor_pyroute2() -> None:
    """`lab probe` of a missing lab, and a dry run of `lab up`: no typer, no pydantic, and no
    pyroute2 (whose package import alone costs ~0.25 s: issue 17)."""
    probe = ("import sys, os, json\nfrom podnet.cli.quick import main\nseen = []\n"
             "for argv in (['lab', 'probe', '--name', 'nosuchlab'], "
             f"['lab', 'up', '--dry-run', '-f', {OSLO!r}, '--name', 'qk1']):\n"
             "    sys.argv = ['podnet', *argv]\n"
             "    sys.stdout = open(os.devnull, 'w')\n    sys.stderr = open(os.devnull, 'w')\n"
             "    try:\n        main()\n    except SystemExit as e:\n        seen.append(e.code)\n"
             "    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__\n"
             "print(json.dumps([seen, sorted(sys.modules)]))")
    codes, mods = _last_json(probe)
    assert codes[0] != 0 and codes[1] == 0  # the missing lab failed, the dry run printed
    assert "podnet.cli.lab_run" in mods and "podnet.lab.plan" in mods  # they did run
    assert not {m for m in mods if m.split(".")[0] in ("typer", "pydantic", "pyroute2")}
    assert "podnet.cli.app" not in mods


def test_lab_probe_loads_the_http_front_modules_only_for_inputs_that_have_fronts() -> None:
    """`lab probe` of a lab without Ingress controllers or Gateways sends no HTTP and imports
    neither the Gateway API's modules nor the HTTP prober (their imports were ~0.1 s of CPU
    beside the pod probes: issue 17)."""
    probe = ("import json, sys\nfrom podnet.analysis import Analysis\n"
             "from podnet.cli.lab_http import probe_gateways, probe_http\n"
             "from podnet.model import load\n"
             f"plain = Analysis(load([{str(ROOT / 'tests' / 'manifests' / 'lab-basic')!r}]))\n"
             "before = set(sys.modules)\n"
             "out = [probe_http(plain, None, ''), probe_gateways(plain, None, '')]\n"
             "print(json.dumps([out, sorted(set(sys.modules) - before)]))")
    results, loaded = _last_json(probe)
    assert results == [[[], []], [[], []]]
    assert not [m for m in loaded if m.startswith(("podnet.gateway", "podnet.lab.http",
                                                   "podnet.predict.ingress",
                                                   "podnet.predict.gateway"))]
