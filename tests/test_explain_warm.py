"""A repeated ``explain`` (the model from the cache) imports only what answers it: not the
parsers, PyYAML or kube-proxy's configuration (``build`` imports those), and not rich when the
text is plain (issue #17's 0.3 s target; docs/benchmarks.md, the model cache)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from podnet.cli import output

OSLO = str(Path(__file__).resolve().parent.parent / "examples" / "oslo")
ARGS = ["explain", "-f", OSLO, "--from", "production/frontend-0", "--to", "production/backend-0",
        "--port", "8080/TCP"]
# what building the model needs and answering from a cached one does not
BUILD_ONLY = ("yaml", "podnet.model.parse", "podnet.model.kubeproxy",
              "podnet.model.workloads", "podnet.model.gateways")


def run(cache: Path, *extra: str) -> tuple[str, set[str]]:
    """``podnet explain`` in a fresh process: its stdout and the modules it imported."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "COLUMNS": "120"}
    env.pop("PODNET_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "podnet", *extra, *ARGS],
                          env=env, capture_output=True, text=True, timeout=120, check=True)
    mods = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line}
    return done.stdout, mods


def imported(mods: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in mods if m in names or m.startswith(tuple(n + "." for n in names)))


def test_a_repeated_explain_imports_no_parser_yaml_or_rich(tmp_path: Path) -> None:
    cold_out, cold = run(tmp_path)
    warm_out, warm = run(tmp_path)
    uncached_out, _ = run(tmp_path, "--no-cache")
    assert warm_out == cold_out == uncached_out and "ALLOWED" in warm_out
    # the probe sees these when the model is built: the check below can fail
    assert "podnet.model.parse" in imported(cold, BUILD_ONLY)
    assert imported(warm, BUILD_ONLY + ("rich",)) == []
    assert "podnet.model.objects" in warm  # the model was unpickled, not skipped


def _through_rich(lines: list[str]) -> str:
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        c = output.console()
        for line in lines:
            c.print(line)
    finally:
        sys.stdout = sys_stdout
    return out.getvalue()


def _plain(lines: list[str]) -> str:
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        output.print_lines(lines)
    finally:
        sys.stdout = sys_stdout
    return out.getvalue()


# the characters rich treats specially (markup, emoji codes, control codes, wrapping), and text
TOKENS = [*"ab0 /:-[]\\#@\t\r\x07\x0c é漢", "[0]", "\\[b]", ":smile:", "[bold]", "[/]",
          "[link=x]", ":+1:", "::", "fd00::1", " " * 130]
LINE = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(LINE, max_size=4))
@example(["\\["])  # an escaped bracket: rich prints "[" (found by this test in CI)
@example(["a\\", "[0]\\[b"])
def test_plain_lines_are_what_rich_prints(lines: list[str]) -> None:
    os.environ.setdefault("COLUMNS", "120")
    assert _outcome(_plain, lines) == _outcome(_through_rich, lines)


def _outcome(printer: Callable[[list[str]], str], lines: list[str]) -> str:
    """What is printed, or the error (rich refuses some markup, ``[/]`` with nothing open)."""
    try:
        return printer(lines)
    except Exception as e:  # noqa: BLE001 - the same failure either way is what is compared
        return f"raised {type(e).__name__}"


@pytest.mark.parametrize("line", [
    "ns-00000/web-0 -> ns-00001/api-0 8080/TCP: DENIED",
    "    ns-00001/allow-0: denies (no rule matches this flow); lets No Connections through",
    "  ingress of 10.0.0.1: isolated by 2 policies; ingress[0] from ipBlock 10.0.0.0/8",
    "x" * 300])
def test_explain_lines_print_plainly_and_alike(line: str) -> None:
    assert _plain([line]) == _through_rich([line]) == line + "\n"
