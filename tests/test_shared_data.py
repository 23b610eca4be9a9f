"""Tests that read ../shared (data outside the repository) skip, naming it, where it is absent."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_without_shared_the_corpus_tests_skip_and_say_why(tmp_path):
    absent = tmp_path / "no-shared"
    env = {**os.environ, "PODNET_SHARED": str(absent)}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                        "tests/test_conformance.py", "tests/test_cli.py", "-k",
                        "conformance or corpus or bad_input"],
                       capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert r.returncode == 0, r.stdout
    summary = r.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and "error" not in summary
    assert "8 skipped" in summary  # 3 corpus tests, 5 bad-input cases
    reason = f"needs netpol-analyzer's corpus at {absent / 'conformance' / 'netpol-analyzer'}"
    assert r.stdout.count(reason) == 4  # one line per skipping test function
