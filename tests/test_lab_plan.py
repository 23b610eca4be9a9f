"""The lab plan is pure: golden-tested without root."""

import subprocess
import sys

from tests.conftest import EXAMPLES


def test_dry_run_plan_golden(golden):
    r = subprocess.run([sys.executable, "-m", "podnet", "lab", "up", "-f", str(EXAMPLES / "oslo"),
                        "--name", "demo", "--cni", "host-gw", "--dry-run"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    golden("lab/oslo-host-gw.plan", r.stdout)


def test_bad_lab_name_is_a_clear_error():
    r = subprocess.run([sys.executable, "-m", "podnet", "lab", "up", "-f", str(EXAMPLES / "oslo"),
                        "--name", "Bad_Name", "--dry-run"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "lab name" in r.stderr and "Traceback" not in r.stderr
