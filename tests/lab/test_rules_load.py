"""Every rendered ruleset loads into the real kernel's tools, in a scratch namespace."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from podnet.model import load
from podnet.policy import compile_policies
from podnet.policy.nft import render_node
from tests.conftest import EXAMPLES, ROOT

GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture
def scratch_ns():
    name = f"pn-t{uuid.uuid4().hex[:8]}-scratch"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is missing: make install installs it")
    return path


@pytest.mark.parametrize("golden", sorted(p.name for p in (GOLDEN / "services").glob("*.rules")))
def test_iptables_golden_loads(scratch_ns, golden):
    tool = _tool("iptables-restore")
    text = (GOLDEN / "services" / golden).read_text()
    r = subprocess.run(["ip", "netns", "exec", scratch_ns, tool, "--test"], input=text,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("node", ["oslo-1", "oslo-2", "oslo-3"])
def test_policy_nft_loads(scratch_ns, node):
    tool = _tool("nft")
    cluster = load([str(EXAMPLES / "oslo")])
    text = render_node(cluster, compile_policies(cluster.policies), node)
    r = subprocess.run(["ip", "netns", "exec", scratch_ns, tool, "-c", "-f", "-"], input=text,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_goldens_exist():
    assert list((GOLDEN / "services").glob("*.rules")), Path(GOLDEN / "services")
