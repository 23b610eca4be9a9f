"""``podnet explain`` without typer (podnet/cli/quick.py): the plain command line runs the same
code as typer's command and prints the same bytes; anything else goes to typer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.cli import quick
from podnet.cli.app import app
from tests.conftest import EXAMPLES, ROOT

OSLO = str(EXAMPLES / "oslo")
ADMIN = str(ROOT / "tests" / "manifests" / "lab-admin")


def pods(path: str) -> list[str]:
    out = subprocess.run([sys.executable, "-m", "podnet", "reach", "-f", path, "-o", "json"],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    return list(json.loads(out)["pods"])


def run(argv: list[str], *, typer_only: bool) -> tuple[int, str, str]:
    """``podnet ARGV`` in a fresh process, through the quick path or through typer alone."""
    code = ("import sys; from podnet.cli.app import app; "
            "from podnet.cli.quick import guarded; import gc; gc.disable(); "
            "guarded(lambda: app(args=sys.argv[1:], prog_name='podnet'))" if typer_only else
            "from podnet.cli.quick import main; main()")
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                       timeout=120)
    return p.returncode, p.stdout, p.stderr


@pytest.mark.parametrize("path", [OSLO, ADMIN], ids=["oslo", "admin-tiers"])
def test_quick_path_prints_what_typer_prints(path: str) -> None:
    names = pods(path)
    cases = [["explain", "-f", path, "--from", names[0], "--to", names[-1], "--port", "80/TCP"],
             ["--no-cache", "explain", f"--filename={path}", f"--from={names[1]}",
              "--to", names[2], "--port=53/UDP", "-o", "json", "--nodes", "2"],
             ["explain", "-f", path, "--from", names[-1], "--to", "203.0.113.9", "--port",
              "443", "--no-ipblock-matches-pods", "--output", "json"],
             ["explain", "-f", path, "--from", "nowhere/x", "--to", names[0], "--port", "80"],
             ["explain", "-f", path, "--from", names[0], "--to", names[1]],
             ["explain", "-f", path, "--from", names[0], "--to", names[1], "--port", "80",
              "-o", "yaml"]]
    for argv in cases:
        assert quick.parse(argv) is not None, argv
        fast = run(argv, typer_only=False)
        assert fast == run(argv, typer_only=True), argv
    assert "ALLOWED" in run(cases[0], typer_only=False)[1] or "DENIED" in run(
        cases[0], typer_only=False)[1]


@pytest.mark.parametrize("argv", [
    ["explain", "--help"], ["reach", "-f", OSLO], [], ["explain", "-fX"],
    ["explain", "-f", OSLO, "--from", "-x"], ["explain", "-f"], ["explain", "--nodes", "two"],
    ["explain", "--no-ipblock-matches-pods=1"], ["explain", "extra"], ["--no-cache"],
    ["explain", "--port", "80", "--", "x"], ["explain", "--from"]])
def test_anything_but_the_plain_form_goes_to_typer(argv: list[str]) -> None:
    assert quick.parse(argv) is None


def test_quick_path_imports_neither_typer_nor_numpy() -> None:
    name = pods(OSLO)[0]
    probe = ("import sys, os, json\nfrom podnet.cli.quick import main\n"
             f"sys.argv = ['podnet', 'explain', '-f', {OSLO!r}, '--from', {name!r}, "
             f"'--to', {name!r}, '--port', '80']\n"
             "sys.stdout = open(os.devnull, 'w')\ntry:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stdout = sys.__stdout__\nprint(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    mods = set(json.loads(out.splitlines()[-1]))
    assert "podnet.policy.explain" in mods  # it did run explain
    assert not {"typer", "pydantic", "numpy", "podnet.cli.app"} & mods


def test_typer_still_knows_the_command() -> None:
    assert any(c.name == "explain" or (c.callback and c.callback.__name__ == "explain")
               for c in app.registered_commands)
