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


def _run_in(ns: str, argv: list[str], text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", "netns", "exec", ns, *argv], input=text, capture_output=True, text=True)


@pytest.mark.parametrize("golden", sorted(p.name for p in (GOLDEN / "services").glob("*.nft")))
def test_nftables_golden_loads(scratch_ns, golden):
    """kube-proxy's nftables-mode script loads for real (not only -c): the kernel resolves
    every goto, map and set it names."""
    text = (GOLDEN / "services" / golden).read_text()
    r = _run_in(scratch_ns, [_tool("nft"), "-f", "-"], text)
    assert r.returncode == 0, r.stderr
    listed = _run_in(scratch_ns, [_tool("nft"), "list", "map", "ip", "kube-proxy", "service-ips"], "")
    assert listed.returncode == 0 and "goto service-" in listed.stdout


def _ipvs_sections(text: str) -> dict[str, str]:
    parts: dict[str, list[str]] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith("# "):
            key = line[2:].split()[0]
            parts[key] = []
        else:
            parts[key].append(line)
    return {k: "\n".join(v) + "\n" for k, v in parts.items()}


@pytest.mark.parametrize("golden", sorted(p.name for p in (GOLDEN / "services").glob("*.ipvs")))
def test_ipvs_golden_ipsets_and_iptables_load(scratch_ns, golden):
    parts = _ipvs_sections((GOLDEN / "services" / golden).read_text())
    r = _run_in(scratch_ns, [_tool("ipset"), "restore"], parts["ipset"])
    assert r.returncode == 0, r.stderr
    # the iptables part matches those sets by name, so it loads only after them
    r = _run_in(scratch_ns, [_tool("iptables-restore"), "--test"], parts["iptables-restore"])
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("golden", sorted(p.name for p in (GOLDEN / "services").glob("*.ipvs")))
def test_ipvs_golden_virtual_servers_load(scratch_ns, golden):
    if not Path("/proc/net/ip_vs").exists():
        pytest.skip("this kernel has no IPVS (CONFIG_IP_VS): ipvsadm cannot create virtual servers")
    parts = _ipvs_sections((GOLDEN / "services" / golden).read_text())
    r = _run_in(scratch_ns, [_tool("ipvsadm-restore")], parts["ipvsadm-restore"])
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


UPSTREAM_NFT = ROOT / "tests" / "manifests" / "kube-proxy-upstream" / "nftables" / "flows"
NFT_CASES = ["iptables/TestOverallIPTablesRules.yaml",
             *sorted(f"nftables/flows/{p.name}" for p in UPSTREAM_NFT.glob("*.yaml"))]


@pytest.mark.parametrize("manifest", NFT_CASES)
def test_nftables_upstream_test_rulesets_load(scratch_ns, manifest):
    """The rulesets of kube-proxy's own nftables tests, as podnet renders them
    (tests/test_kube_proxy_nft_upstream.py), load for real: ClientIP affinity sets,
    firewall maps, eTP Local short-circuits, SCTP ports."""
    from tests.test_kube_proxy_nft_upstream import fake_render

    r = _run_in(scratch_ns, [_tool("nft"), "-f", "-"], fake_render(manifest))
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("golden", sorted(p.name for p in (GOLDEN / "policy").glob("lab-admin-*.nft")))
def test_policy_nft_with_admin_tiers_loads(scratch_ns, golden):
    """The admin tiers' goto chains and drop verdicts, as the lab loads them (nft -c: checked
    by the kernel, not committed)."""
    text = (GOLDEN / "policy" / golden).read_text()
    r = subprocess.run(["ip", "netns", "exec", scratch_ns, _tool("nft"), "-c", "-f", "-"], input=text,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
