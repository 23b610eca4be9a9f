"""`lab doctor`, `lab capture` and `lab conntrack` on a real oslo lab (vxlan, iptables): the
node checks inside every node, the debug checklist from a pod against the analyzer, a capture
that shows the handshake, VXLAN and DNAT, and a held connection flood read from the node's
conntrack table. One lab for the module (11 s to build); the test that breaks it runs last."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from podnet.lab import teardown
from podnet.names import pod_netns
from tests.conftest import ROOT
from tests.lab.conftest import netns_names

OSLO = str(ROOT / "examples" / "oslo")
HOST_MAX = Path("/proc/sys/net/netfilter/nf_conntrack_max")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def lab() -> str:
    name = "t" + uuid.uuid4().hex[:8]
    try:
        r = podnet("lab", "up", "-f", OSLO, "--name", name, "--cni", "vxlan")
        assert r.returncode == 0, r.stderr
        yield name
    finally:
        teardown.down(name)
        left = [n for n in netns_names() if n.startswith(f"pn-{name}_")]
        assert left == [], f"lab {name} left namespaces behind: {left}"


def test_lab_doctor_agrees_with_the_analyzer(lab: str) -> None:
    r = podnet("lab", "doctor", "--name", lab, "--pod", "production/frontend-0", "-o", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0, (r.stderr, data["checklist"])
    assert sorted(n["node"] for n in data["nodes"]) == ["oslo-1", "oslo-2", "oslo-3"]
    for n in data["nodes"]:
        checks = {f["check"] for f in n["findings"]}
        # the same catalogue as `node check`, read inside the node: its own forwarding sysctl,
        # its own (per-namespace) conntrack count, its own interfaces
        assert {"node-ip-forward", "node-conntrack-fill", "node-mtu"} <= checks
        fwd = [f for f in n["findings"] if f["check"] == "node-ip-forward"]
        assert [f["severity"] for f in fwd] == ["info"]  # the lab turned forwarding on
        mtu = {f["object"]: f for f in n["findings"] if f["check"] == "node-mtu"}
        # the underlay is named (a lab node has no default route), so the CNI's MTU is judged:
        # flannel.1 at underlay - 50, the pods' veths 10 bytes below it (Calico's 1440)
        assert "1500 - 50 = 1450" in mtu[f"node {n['node']}: interface eth0"]["message"]
        assert mtu[f"node {n['node']}: interface flannel.1"]["message"] == (
            "MTU 1450 matches vxlan (underlay - 50)")
        assert all(f["severity"] == "info" for f in mtu.values()), mtu
    steps = {row["step"]: row for row in data["checklist"]}
    assert list(steps) == ["dns", "routes", "pod-to-pod", "service"]
    assert steps["dns"]["observed"] == "10.96.0.1"  # kubernetes.default, the built-in Service
    assert steps["routes"]["observed"] == "169.254.1.1 dev eth0; default via 169.254.1.1 dev eth0"
    # frontend-0 is on oslo-1: the peer chosen is on another node, so the connect crossed VXLAN
    assert all(row["agrees"] for row in data["checklist"]), data["checklist"]
    assert data["summary"]["disagreements"] == 0 and data["summary"]["error"] == 0


def _capture(lab: str, port: str, probe: str, count: str, timeout: str
             ) -> tuple[dict[str, Any], list[str], list[str]]:
    """frontend-0's capture with oslo-1's underlay beside it: (json, pod lines, node lines)."""
    r = podnet("lab", "capture", "--name", lab, "production/frontend-0", "--node", "oslo-1",
               "--port", port, "--probe", probe, "--count", count, "--timeout", timeout,
               "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    return (data, [f["line"] for f in data["frames"] if f["at"] == "production/frontend-0"],
            [f["line"] for f in data["frames"] if f["at"] == "node oslo-1"])


def test_capture_shows_handshake_and_vxlan(lab: str) -> None:
    data, pod, node = _capture(lab, "8080", "production/backend-1", "40", "8")
    assert data["probe"] == "connected, answer 'production/backend-1'"
    flags = [re.search(r"Flags \[([^\]]+)\]", ln).group(1) for ln in pod]  # type: ignore[union-attr]
    assert flags[:3] == ["S", "S.", "."], pod  # the three-way handshake, in order
    assert "10.244.0.4." in pod[0] and "> 10.244.1.3.8080:" in pod[0]
    # the same SYN on the underlay: oslo-1 to oslo-2 on 8472, the pod packet inside
    syn_seq = re.search(r"seq (\d+)", pod[0]).group(1)  # type: ignore[union-attr]
    encap = [ln for ln in node if "Flags [S]" in ln]
    assert encap and "10.0.0.1." in encap[0] and "> 10.0.0.2.8472: VXLAN" in encap[0]
    assert f"seq {syn_seq}" in encap[0] and "> 10.244.1.3.8080:" in encap[0]


def test_capture_shows_dnat(lab: str) -> None:
    # upload-service (10.96.0.13:80) has one endpoint, upload-0 (10.244.2.4:8080 on oslo-3);
    # policy drops frontend's SYN there, but oslo-1 has already translated it
    data, pod, node = _capture(lab, "80", "production/upload-service", "4", "6")
    assert pod and "> 10.96.0.13.80: Flags [S]" in pod[0]  # the pod sends to the ClusterIP
    assert node and "> 10.0.0.3.8472: VXLAN" in node[0] and "> 10.244.2.4.8080: Flags [S]" in node[0]
    sport = re.search(r"10\.244\.0\.4\.(\d+) >", pod[0]).group(1)  # type: ignore[union-attr]
    assert f"10.244.0.4.{sport} > 10.244.2.4.8080" in node[0]  # same flow, destination rewritten
    assert data["probe"].startswith("no connection")


def test_conntrack_flood_is_counted_in_the_node(lab: str) -> None:
    host_max = HOST_MAX.read_text()
    r = podnet("lab", "conntrack", "--name", lab, "--pod", "production/frontend-0",
               "--connections", "1000", "-o", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert HOST_MAX.read_text() == host_max  # read, never written
    assert (d["node"], d["connections"], d["failed"]) == ("oslo-1", 1000, 0)
    port = d["to"].rsplit(":", 1)[1]
    assert d["by_flow"][f"tcp/{port}"] >= 1000  # every held connection is an entry on its node
    assert d["by_flow"]["udp/8472"] >= 1000  # and VXLAN's outer UDP is tracked too
    assert d["entries"]["added"] >= 1000
    assert d["limit"] == int(host_max)  # the host's limit: nf_conntrack_max is global
    assert d["fill"] == round(d["entries"]["after"] / d["limit"], 6)
    assert d["drops"] == {"drop": 0, "early_drop": 0, "insert_failed": 0}


def test_conntrack_overflow_needs_a_namespace_limit(lab: str) -> None:
    r = podnet("lab", "conntrack", "--name", lab, "--pod", "production/frontend-0",
               "--connections", "10", "-o", "json")
    overflow = json.loads(r.stdout)["overflow"]
    mode = subprocess.run(["ip", "netns", "exec", pod_netns(lab, "production", "frontend-0"),
                           "stat", "-c", "%a", str(HOST_MAX)], capture_output=True, text=True)
    if not overflow["possible"]:
        # the reason names what the kernel shows inside a namespace
        assert f"mode {int(mode.stdout, 8):04o}" in overflow["reason"]
        pytest.skip(overflow["reason"])
    pytest.fail("a kernel with a per-namespace nf_conntrack_max: the overflow test is to write")


def test_lab_doctor_reports_a_broken_pod(lab: str) -> None:
    # last: it breaks the lab. Without its default route the pod reaches nothing off-link.
    ns = pod_netns(lab, "production", "frontend-0")
    subprocess.run(["ip", "-n", ns, "route", "del", "default"], check=True)
    r = podnet("lab", "doctor", "--name", lab, "--pod", "production/frontend-0", "-o", "json")
    assert r.returncode == 1
    rows = {row["step"]: row for row in json.loads(r.stdout)["checklist"]}
    assert not rows["routes"]["agrees"] and rows["routes"]["observed"] == "169.254.1.1 dev eth0"
    assert (rows["pod-to-pod"]["predicted"], rows["pod-to-pod"]["observed"]) == ("allowed", "dropped")
    assert not rows["pod-to-pod"]["agrees"]
    assert rows["dns"]["observed"] == "no answer" and not rows["dns"]["agrees"]
