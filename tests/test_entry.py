"""The console entry point leaves without the interpreter's teardown (issue 17: 40 ms of a
`lab up`), and keeps what that teardown gave: exit handlers, flushed streams, the exit status,
joined threads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OSLO = str(ROOT / "examples" / "oslo")


def entry(setup: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``entry()`` after ``setup`` (which may replace ``q.main``), podnet's argv ``argv``."""
    code = (f"import atexit, os, sys, threading, time\nimport podnet.cli.quick as q\n"
            f"sys.argv = ['podnet', *{list(argv)!r}]\n{setup}\nq.entry()\n"
            "print('after entry')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def test_a_command_ends_with_its_output_and_status_and_runs_exit_handlers():
    r = entry("atexit.register(print, 'exit handler ran')", "reach", "-f", OSLO, "-o", "summary")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('{"pods": 13') and r.stdout.endswith("exit handler ran\n")
    assert "after entry" not in r.stdout  # it left the process


def test_an_error_keeps_its_status_and_message():
    r = entry("", "reach", "-f", "/nonexistent/podnet-input", "-o", "summary")
    assert r.returncode == 2
    assert r.stderr.startswith("podnet: error: /nonexistent/podnet-input")


def test_buffered_output_is_flushed_and_a_text_exit_is_status_1():
    r = entry("def main():\n    print('unflushed', end='')\n    sys.exit(3)\nq.main = main")
    assert (r.returncode, r.stdout) == (3, "unflushed")
    r = entry("def main():\n    sys.exit('it went wrong')\nq.main = main")
    assert (r.returncode, r.stderr) == (1, "it went wrong\n")


def test_nothing_is_torn_down_object_by_object():
    """The reason for the entry point: what ``main`` held is not freed on the way out."""
    r = entry("class Big:\n    def __del__(self):\n        print('freed')\n"
              "def main():\n    held = Big()\n    sys.exit(0)\nq.main = main")
    assert (r.returncode, r.stdout) == (0, "")


def test_a_thread_still_running_is_waited_for(tmp_path):
    done = tmp_path / "done"
    r = entry(f"def work():\n    time.sleep(0.3)\n    open({str(done)!r}, 'w').close()\n"
              "def main():\n    threading.Thread(target=work).start()\n    sys.exit(0)\n"
              "q.main = main")
    assert r.returncode == 0 and done.exists()


def test_python_m_podnet_and_the_console_script_use_it():
    assert (ROOT / "podnet" / "__main__.py").read_text().strip().endswith("entry()")
    assert 'podnet = "podnet.cli.quick:entry"' in (ROOT / "pyproject.toml").read_text()
