"""Start-up cost (not timed here: bench/startup.py times it): importing the command line loads
none of what the commands compute with, and a command's --help does not either."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

OSLO = str(Path(__file__).resolve().parent.parent / "examples" / "oslo")

HEAVY = ("numpy", "pyroute2", "dns", "cryptography", "rich", "yaml", "podnet.model.cluster",
         "podnet.policy", "podnet.lab")

PROBE = r"""
import json, sys
{setup}
print(json.dumps(sorted(m for m in sys.modules)))
"""


def loaded(setup: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], check=True,
                         capture_output=True, text=True, timeout=120).stdout
    return set(json.loads(out.splitlines()[-1]))


def run_main(argv: list[str]) -> str:
    """Code that runs ``podnet ARGV`` in the probe's process, its output thrown away."""
    return "\n".join(["import os, podnet.cli.app as a", f"sys.argv = ['podnet', *{argv!r}]",
                      "sys.stdout = open(os.devnull, 'w')",
                      "try:", "    a.main()", "except SystemExit:", "    pass",
                      "sys.stdout = sys.__stdout__"])


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.startswith(tuple(h + "." for h in HEAVY)))


def test_importing_the_command_line_loads_no_heavy_module():
    mods = loaded("import podnet.cli.app")
    assert "podnet.cli.policy" in mods and "podnet.cli.lab" in mods  # every command registered
    assert heavy_in(mods) == []


@pytest.mark.parametrize("argv", [["--help"], ["reach", "--help"], ["lab", "up", "--help"],
                                  ["services", "--help"]])
def test_help_loads_no_heavy_module(argv):
    assert heavy_in(loaded(run_main(argv))) == []


def test_the_probe_sees_heavy_modules_when_a_command_runs(tmp_path):
    # the check above could pass by never looking: running reach must load numpy
    mods = loaded(run_main(["reach", "-f", OSLO, "-o", "summary"]))
    assert "numpy" in heavy_in(mods) and "podnet.policy" in heavy_in(mods)
