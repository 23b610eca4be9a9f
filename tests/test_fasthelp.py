"""Help and usage without typer (podnet/cli/fasthelp.py): the stored screens are what typer
prints now, byte for byte, on the same stream with the same exit code; they are served without
importing typer, click or pydantic; anything else, or a terminal narrower than the screens were
rendered at, still gets typer."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from podnet.cli import fasthelp, helptexts

# Run `podnet ARGV` through the console entry point (fast path first) or straight through typer
# (podnet.cli.app.main: what podnet printed before the fast path), then record which of typer,
# click or pydantic got imported in a file, so the streams stay exactly what podnet writes.
PROBE = r"""
import json, os, sys
entry = sys.argv[1]
sys.argv = ["podnet", *sys.argv[2:]]
if entry == "fast":
    from podnet.cli.quick import main
else:
    from podnet.cli.app import main
try:
    main()
finally:
    with open(os.environ["PROBE_OUT"], "w") as f:
        json.dump(sorted(m for m in sys.modules if m.split(".")[0] in ("typer", "click", "pydantic")), f)
"""


def env(tmp_path, columns: str | None) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    e["PROBE_OUT"] = str(tmp_path / "modules.json")
    if columns is not None:
        e["COLUMNS"] = columns
    return e


def run(tmp_path, entry: str, argv: list[str], columns: str | None = None):
    """(stdout, stderr, exit code, heavy modules imported) of one fresh process."""
    p = subprocess.run([sys.executable, "-c", PROBE, entry, *argv], capture_output=True,
                       env=env(tmp_path, columns), timeout=120)
    return p.stdout, p.stderr, p.returncode, json.loads((tmp_path / "modules.json").read_text())


@pytest.fixture(scope="module")
def fresh():
    """Every screen rendered by typer now, in a process of its own (the table's source list
    is the podnet modules that rendering loads)."""
    code = ("import json; from podnet.cli import helpgen; t, f = helpgen.fresh(); "
            "print(json.dumps([t, f]))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         timeout=300).stdout
    texts, sources = json.loads(out.splitlines()[-1])
    return {k: tuple(v) for k, v in texts.items()}, tuple(tuple(files) for files in sources)


def test_the_table_holds_every_screen_typer_has(fresh):
    texts, sources = fresh
    assert sorted(texts) == sorted(helptexts.TEXTS), "stale: run `make helptexts`"
    assert sources == helptexts.SOURCES
    assert tuple(fasthelp.fingerprint(files) for files in sources) == helptexts.FINGERPRINTS
    # every command and group is there: a new command without its screen would fail above
    assert {"", "--help", "reach\0--help", "lab\0up\0--help", "lab", "node\0check\0--help",
            "doctor\0--list"} <= set(texts)
    # a help screen does not depend on the analysis code; doctor --list does
    assert "cli/app.py" in sources[0] and not any(f.startswith("policy/") for f in sources[0])
    assert any(f.startswith("doctor/") for f in sources[1])


@pytest.mark.parametrize("key", sorted(helptexts.TEXTS))
def test_each_stored_screen_is_byte_identical_to_typer(fresh, key):
    assert helptexts.TEXTS[key] == fresh[0].get(key), f"`podnet {key.replace(chr(0), ' ')}` is stale"


def test_every_file_a_fingerprint_covers_exists():
    # a file that cannot be read makes the fingerprint None: nothing would ever be served
    assert all(fasthelp.fingerprint(files) is not None for files in helptexts.SOURCES)


@pytest.mark.parametrize("argv", [[], ["--help"], ["lab"], ["lab", "up", "--help"],
                                  ["node", "check", "--help"], ["ingress", "migrate", "--help"],
                                  ["doctor", "--list"]])
def test_served_without_typer_click_or_pydantic_and_same_bytes(tmp_path, argv):
    out, err, code, heavy = run(tmp_path, "fast", argv)
    assert heavy == []
    ref_out, ref_err, ref_code, ref_heavy = run(tmp_path, "typer", argv)
    assert "typer" in ref_heavy  # the reference really went through typer
    assert (out, err, code) == (ref_out, ref_err, ref_code)
    stream, want_code, text, _ = helptexts.TEXTS["\0".join(argv)]
    assert (code, {"stdout": out, "stderr": err}[stream]) == (want_code, text.encode())


@pytest.mark.parametrize("columns", ["79", "60", "40"])
def test_a_narrower_terminal_gets_typer(tmp_path, columns):
    out, err, code, heavy = run(tmp_path, "fast", ["reach", "--help"], columns)
    assert "typer" in heavy
    assert (out, err, code) == run(tmp_path, "typer", ["reach", "--help"], columns)[:3]
    assert out.decode() != helptexts.TEXTS["reach\0--help"][2]  # the fallback mattered


@pytest.mark.parametrize("columns", ["80", "200", "0", "wide"])
def test_a_wide_enough_terminal_is_served(tmp_path, columns):
    # click caps the width at 80; COLUMNS 0 or not a number means "ask the tty" (a pipe: 80)
    out, err, code, heavy = run(tmp_path, "fast", ["lab", "up", "--help"], columns)
    assert heavy == []
    assert (out, err, code) == run(tmp_path, "typer", ["lab", "up", "--help"], columns)[:3]


def on_tty(tmp_path, entry: str, argv: list[str], cols: int):
    """Output and modules of `podnet ARGV` with a terminal COLS wide as stdout (COLUMNS unset)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    p = subprocess.Popen([sys.executable, "-c", PROBE, entry, *argv], stdout=slave,
                         stderr=subprocess.PIPE, env=env(tmp_path, None))
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    p.wait(timeout=120)
    p.stderr.close()
    return b"".join(chunks), p.returncode, json.loads((tmp_path / "modules.json").read_text())


@pytest.mark.parametrize("cols,served", [(100, True), (80, True), (70, False)])
def test_the_terminal_width_decides_like_click(tmp_path, cols, served):
    out, code, heavy = on_tty(tmp_path, "fast", ["trace", "--help"], cols)
    assert (heavy == []) == served
    ref_out, ref_code, _ = on_tty(tmp_path, "typer", ["trace", "--help"], cols)
    assert (out, code) == (ref_out, ref_code)


@pytest.mark.parametrize("argv,usage_error", [
    (["-h"], True), (["--version"], True), (["reach", "--bogus"], True), (["lab", "nope"], True),
    (["lab", "up", "--bogus", "--help"], True), (["lab", "up", "--help", "extra"], False),
    (["--no-cache", "--help"], False)])
def test_anything_else_goes_to_typer_unchanged(tmp_path, argv, usage_error):
    out, err, code, heavy = run(tmp_path, "fast", argv)
    assert "typer" in heavy
    assert (out, err, code) == run(tmp_path, "typer", argv)[:3]
    # typer's usage error, or its help when --help comes first (click handles it eagerly)
    assert (code == 2 and b"Usage: podnet" in err and b"Error:" in err) == usage_error


def test_a_stale_table_is_not_served(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert fasthelp.lookup(["reach", "--help"]) == helptexts.TEXTS["reach\0--help"]
    assert fasthelp.lookup(["doctor", "--list"]) == helptexts.TEXTS["doctor\0--list"]
    # the analysis code changed: doctor --list is stale, the help screens are not
    monkeypatch.setattr(helptexts, "FINGERPRINTS", (helptexts.FINGERPRINTS[0], helptexts.FINGERPRINTS[1] ^ 1))
    assert fasthelp.lookup(["doctor", "--list"]) is None
    assert fasthelp.lookup(["reach", "--help"]) is not None
    monkeypatch.setattr(helptexts, "FINGERPRINTS", (helptexts.FINGERPRINTS[0] ^ 1, helptexts.FINGERPRINTS[1]))
    assert fasthelp.lookup(["reach", "--help"]) is None


def test_a_real_command_does_not_read_the_table():
    assert not fasthelp._may_be_help(["reach", "-f", "examples/oslo"])
    assert not fasthelp._may_be_help(["explain", "-f", "x", "--from", "a", "--to", "b"])
    assert not fasthelp._may_be_help(["doctor", "--list", "--check", "dns"])
    assert fasthelp._may_be_help(["lab"]) and fasthelp._may_be_help(["lab", "up", "--help"])


def test_a_closed_pipe_exits_as_typer_does(tmp_path):
    codes = []
    for entry in ("fast", "typer"):
        r, w = os.pipe()
        os.close(r)
        p = subprocess.run([sys.executable, "-c", PROBE, entry, "--help"], stdout=w,
                           stderr=subprocess.PIPE, env=env(tmp_path, None), timeout=120)
        os.close(w)
        codes.append((p.returncode, p.stderr))
    assert codes[0] == codes[1] == (1, b"")


@pytest.mark.parametrize("value", [None, "100", "80", "79", "1", "0", "-3", " 90 ", "wide", ""])
def test_columns_is_shutils_rule(monkeypatch, value):
    import shutil

    if value is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", value)
    assert fasthelp.columns() == shutil.get_terminal_size().columns
