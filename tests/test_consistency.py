"""Addresses no cluster could hold are errors; ones a live dump can show are warnings.

Scenarios live in tests/manifests/consistency/; each is also run through the CLI.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap

import pytest

from podnet.errors import InputError
from podnet.model import build, ipam, read_paths, read_texts
from tests.conftest import ROOT

SCENARIOS = ROOT / "tests" / "manifests" / "consistency"


def scenario(name: str):  # type: ignore[no-untyped-def]
    return build(read_paths([str(SCENARIOS / name)]))


def inline(text: str):  # type: ignore[no-untyped-def]
    return build(read_texts([("t.yaml", textwrap.dedent(text))]))


def node(name: str, cidr: str = "", ip: str = "") -> str:
    spec = f"spec: {{podCIDR: {cidr}}}\n" if cidr else ""
    status = f"status: {{addresses: [{{type: InternalIP, address: {ip}}}]}}\n" if ip else ""
    return f"apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n{spec}{status}---\n"


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


# --- two nodes, one InternalIP: an error naming both -------------------------------------

def test_two_nodes_with_one_internal_ip_is_an_error_naming_both():
    with pytest.raises(InputError) as e:
        scenario("nodes-share-ip.yaml")
    err = e.value
    assert err.source.kind == "Node" and err.source.name == "worker-b" and err.source.doc == 1
    assert err.field == "status.addresses[type=InternalIP].address"
    assert "192.168.10.11" in err.message
    assert "nodes-share-ip.yaml (document 1), Node worker-a" in err.message


def test_nodes_without_given_addresses_never_clash():
    # podnet's own node addresses skip the given ones
    c = inline(node("a", ip="192.168.0.2") + node("b") + node("c"))
    ips = [n.internal_ip for n in c.nodes]
    assert len(set(ips)) == 3 and "192.168.0.2" in ips and not c.warnings


# --- overlapping podCIDRs: an error -------------------------------------------------------

def test_overlapping_pod_cidrs_are_an_error_naming_both():
    with pytest.raises(InputError) as e:
        scenario("podcidrs-overlap.yaml")
    err = e.value
    assert (err.source.name, err.field) == ("worker-b", "spec.podCIDR")
    assert "10.244.7.0/24 overlaps podCIDR 10.244.0.0/16" in err.message
    assert "podcidrs-overlap.yaml (document 1), Node worker-a" in err.message


@pytest.mark.parametrize("cidrs,clash", [
    (["10.1.0.0/24", "10.1.0.0/24"], ("a", "b")),                    # equal
    (["10.1.0.0/24", "10.1.1.0/24", "10.1.1.128/25"], ("b", "c")),   # nested in a neighbour
    (["10.0.0.0/8", "10.200.0.0/24", "10.9.0.0/24"], ("a", "c")),    # nested, not adjacent
])
def test_every_overlap_is_found(cidrs, clash):
    text = "".join(node(n, c) for n, c in zip("abc", cidrs, strict=False))
    with pytest.raises(InputError) as e:
        inline(text)
    assert e.value.source.name in clash and f"Node {next(iter(set(clash) - {e.value.source.name}))}" \
        in e.value.message


def test_adjacent_pod_cidrs_are_fine():
    c = inline(node("a", "10.1.0.0/24") + node("b", "10.1.1.0/24") + node("c", "10.1.2.0/23"))
    assert [n.pod_cidr for n in c.nodes] == ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/23"]
    assert not c.warnings


def test_chosen_pod_cidrs_skip_every_subnet_of_a_wider_given_one():
    # kube-controller-manager's cidrset marks each /24 inside an occupied wider range as
    # used (kubernetes pkg/controller/nodeipam/ipam/cidrset/cidr_set_test.go,
    # TestDoubleOccupyRelease) and gives the next node the first free one
    # (range_allocator_test.go, TestAllocateOrOccupyCIDRSuccess "no double counting").
    config = ("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n"
              "networking: {podSubnet: 10.10.0.0/22}\n---\n")
    c = inline(config + node("node0", "10.10.0.0/23") + node("node1"))
    assert [n.pod_cidr for n in c.nodes] == ["10.10.0.0/23", "10.10.2.0/24"]


# --- two pods, one IP: a warning, the ready pod keeps the address -------------------------

def test_completed_pod_sharing_an_ip_is_a_warning_and_the_running_pod_keeps_it():
    c = scenario("pods-share-ip.yaml")
    assert len(c.warnings) == 1, c.warnings
    w = c.warnings[0]
    assert w.startswith(f"{SCENARIOS / 'pods-share-ip.yaml'} (document 2), Pod shop/migrate-x7k2p, "
                        "field status.podIP: 10.244.1.7")
    assert "(document 3), Pod shop/web-0" in w and "completed pod" in w
    # migrate-x7k2p sorts first, but it has completed: traffic to the address is web-0's
    found = c.pod_by_ip("10.244.1.7")
    assert found is not None and found.key == "shop/web-0"


def test_two_running_pods_sharing_an_ip_warn_and_the_first_by_name_keeps_it():
    c = inline("""
        apiVersion: v1
        kind: List
        items:
        - {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: x}, spec: {containers: []},
           status: {podIP: 10.244.0.9}}
        - {apiVersion: v1, kind: Pod, metadata: {name: a, namespace: x}, spec: {containers: []},
           status: {podIP: 10.244.0.9}}
        - {apiVersion: v1, kind: Pod, metadata: {name: c, namespace: x}, spec: {containers: []},
           status: {podIP: 10.244.0.9}}
        """)
    assert [w.split(",")[1].strip() for w in c.warnings] == ["Pod x/b", "Pod x/c"]
    assert all("also the podIP of t.yaml (document 1), Pod x/a" in w for w in c.warnings)
    found = c.pod_by_ip("10.244.0.9")
    assert found is not None and found.key == "x/a"


def test_host_network_pods_share_their_node_address_silently():
    c = scenario("pods-share-ip.yaml")
    host = [p for p in c.pods if p.host_network]
    assert len(host) == 2 and {p.ip for p in host} == {"192.168.10.11"}
    assert not any("node-exporter" in w or "kube-proxy" in w for w in c.warnings)


# --- a pod outside its node's podCIDR: a warning that names the CNI case ------------------

def test_pod_outside_its_node_pod_cidr_is_a_warning_naming_calico():
    c = scenario("pod-outside-podcidr.yaml")
    assert len(c.warnings) == 2, c.warnings
    api, cache = c.warnings
    assert "Pod shop/api-0, field status.podIP: 10.244.2.2 is outside podCIDR 10.244.1.0/24" in api
    assert "(document 1), Node worker-a, field spec.podCIDR" in api
    assert "lies in podCIDR 10.244.2.0/24 of node worker-b" in api
    assert "Calico IPAM" in api
    assert "Pod shop/cache-0" in cache and "lies in" not in cache
    # the address podnet hands out on worker-b skips api-0's, given on another node
    worker = c.pod("shop/worker-0")
    assert worker is not None and worker.ip == "10.244.2.3"


def test_no_pod_cidr_warning_when_podnet_chose_the_pod_cidr():
    # netpol-analyzer's dumps give pod IPs and node names but no Node objects: podnet's
    # podCIDRs for those nodes are its own guess, not evidence against the pods
    c = inline("""
        apiVersion: v1
        kind: Pod
        metadata: {name: a, namespace: x}
        spec: {nodeName: kind-worker, containers: []}
        status: {podIP: 172.17.0.4}
        """)
    assert not c.warnings and c.pods[0].ip == "172.17.0.4"


# --- the index that keeps this linear --------------------------------------------------------

def test_range_index_agrees_with_a_scan():
    rng = random.Random(7)
    starts = sorted(rng.sample(range(0, 1 << 20, 64), 300))
    ranges = [((4, s, s + rng.randrange(1, 64) - 1), i) for i, s in enumerate(starts)]
    index = ipam.RangeIndex(ranges)
    for x in [*(rng.randrange(0, 1 << 20) for _ in range(3000)), 0, (1 << 20) - 1]:
        want = next((o for (_, lo, hi), o in ranges if lo <= x <= hi), None)
        assert index.find(4, x) == want
        assert index.find(6, x) is None
    for _ in range(1000):
        lo = rng.randrange(0, 1 << 20)
        hi = lo + rng.randrange(0, 200)
        hit = index.overlapping(lo, hi)
        overlaps = [o for (_, a, b), o in ranges if a <= hi and b >= lo]
        assert (hit is None) == (not overlaps) and (hit is None or hit in overlaps)


# --- the command line: warnings on stderr, errors exit 2 ------------------------------------

@pytest.mark.parametrize("name,needle", [
    ("pods-share-ip.yaml", "Pod shop/migrate-x7k2p, field status.podIP"),
    ("pod-outside-podcidr.yaml", "Pod shop/api-0, field status.podIP"),
])
def test_cli_prints_warnings_on_stderr_and_answers(name, needle):
    r = podnet("reach", "-f", str(SCENARIOS / name), "-o", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pods"]  # stdout stays parseable
    lines = r.stderr.splitlines()
    assert lines and all(line.startswith("podnet: warning: ") for line in lines)
    assert any(needle in line for line in lines)
    data = json.loads(podnet("analyze", "-f", str(SCENARIOS / name), "-o", "json").stdout)
    assert any(needle in w for w in data["warnings"])


@pytest.mark.parametrize("name,field", [
    ("nodes-share-ip.yaml", "status.addresses[type=InternalIP].address"),
    ("podcidrs-overlap.yaml", "spec.podCIDR"),
])
@pytest.mark.parametrize("command", ["reach", "analyze", "trace"])
def test_cli_impossible_cluster_exits_2_without_traceback(name, field, command):
    args = ["--from", "x/y", "--to", "x/z"] if command == "trace" else []
    r = podnet(command, "-f", str(SCENARIOS / name), *args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert r.stderr.startswith("podnet: error: ")
    assert f"Node worker-b, field {field}" in r.stderr and "Node worker-a" in r.stderr
    assert r.stdout == ""


def test_node_internal_ip_that_is_not_an_address_is_an_input_error():
    # compared as an address above: before, a typo here ended in a traceback
    with pytest.raises(InputError) as e:
        inline(node("a", ip="192.168.0.300"))
    assert e.value.field == "status.addresses[0].address" and e.value.source.name == "a"
