"""The data-plane model: per-node desired state per mode, bird.conf, MTU budget."""

from __future__ import annotations

import pytest

from podnet.dataplane import budget, desired_state, render
from podnet.dataplane.bird import render as bird_conf
from podnet.errors import InputError
from podnet.model import load
from podnet.model.netconfig import NetConfig
from tests.conftest import EXAMPLES, ROOT

OSLO = str(EXAMPLES / "oslo")


@pytest.mark.parametrize("mode", ["vxlan", "host-gw", "bgp", "ipip", "wireguard"])
def test_desired_state_golden(golden, mode):
    golden(f"dataplane/oslo-{mode}.txt", render(desired_state(load([OSLO]), mode)))


def test_bird_conf_golden(golden):
    states = desired_state(load([OSLO]), "bgp")
    golden("dataplane/oslo-1.bird.conf", bird_conf(states[0]))
    assert "neighbor 10.0.0.2 as 64512" in bird_conf(states[0])
    assert "neighbor 10.0.0.1 as 64512" not in bird_conf(states[0])


def test_vxlan_entries_point_at_the_remote_vtep():
    states = {s.node: s for s in desired_state(load([OSLO]), "vxlan")}
    n1, n2 = states["oslo-1"], states["oslo-2"]
    mac2 = n2.devices[0].mac
    assert any(f.mac == mac2 and f.dst == "10.0.0.2" for f in n1.fdb)
    assert any(n.ip == "10.244.1.0" and n.mac == mac2 for n in n1.neighbours)


def test_host_gw_refuses_nodes_off_the_segment(tmp_path):
    # two nodes on different /24s (one segment each): one cannot route via the other
    (tmp_path / "n.yaml").write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: far}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.7.1}]}\n---\n"
        "apiVersion: v1\nkind: Node\nmetadata: {name: near}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.8.1}]}\n")
    with pytest.raises(InputError, match="one L2 segment"):
        desired_state(load([str(tmp_path)]), "host-gw")
    assert desired_state(load([str(tmp_path)]), "vxlan")  # a tunnel does not care


@pytest.mark.parametrize("mode,pod_mtu,expected_pod,tunnel,problem", [
    ("vxlan", None, 1450, 1450, False),  # Flannel: underlay - 50
    ("vxlan", 1440, 1440, 1450, False),  # the seed's calico veth_mtu
    ("vxlan", 1500, 1500, 1450, True),  # the seed's warning: 1500 inside VXLAN fragments
    ("ipip", None, 1480, 1480, False),
    ("wireguard", None, 1440, 1440, False),
    ("host-gw", None, 1500, 1500, False),
    ("bgp", 1500, 1500, 1500, False),
    ("ipip", 1500, 1500, 1480, True),
])
def test_mtu_table(mode, pod_mtu, expected_pod, tunnel, problem):
    b = budget(NetConfig(pod_mtu=pod_mtu, cni=mode), mode)
    assert (b.pod_mtu, b.tunnel_mtu, b.problem is not None) == (expected_pod, tunnel, problem)
    assert b.cross_node_path_mtu == min(expected_pod, tunnel)


# --- CrossSubnet (Calico ipipMode/vxlanMode, Flannel VXLAN DirectRouting) -------------------
CROSS = str(ROOT / "tests" / "manifests" / "cross-subnet")


def test_cross_subnet_desired_state_golden(golden):
    c = load([CROSS])
    assert (c.net.cni, c.net.cross_subnet) == ("ipip", True)
    golden("dataplane/cross-subnet-ipip.txt", render(desired_state(c)))


def test_cross_subnet_tunnels_only_across_subnets():
    states = {s.node: s for s in desired_state(load([CROSS]))}
    a1 = states["a1"]
    # a2 shares a1's 10.0.0.0/24: a plain BGP route on eth0; b1 (10.0.1.0/24): the tunnel
    assert not a1.tunnels_to("10.244.1.0/24") and a1.tunnels_to("10.244.2.0/24")
    same = next(r for r in a1.routes if r.dst == "10.244.1.0/24")
    assert (same.dev, same.via, same.onlink) == ("eth0", "10.0.0.2", False)
    # seen from the other subnet, both rack-a nodes are tunnelled
    assert states["b1"].tunnels_to("10.244.0.0/24") and states["b1"].tunnels_to("10.244.1.0/24")
    # Always (the same cluster without CrossSubnet) tunnels to every peer
    always = {s.node: s for s in desired_state(load([OSLO]), "ipip")}
    assert all(always["oslo-1"].tunnels_to(c) for c in ("10.244.1.0/24", "10.244.2.0/24"))


def _write(tmp_path, text: str) -> str:
    (tmp_path / "c.yaml").write_text(text)
    return str(tmp_path)


NODES_NO_PREFIX = """
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 10.0.0.1}]}
---
apiVersion: v1
kind: Node
metadata: {name: n2}
status: {addresses: [{type: InternalIP, address: 10.0.0.2}]}
---
apiVersion: v1
kind: Node
metadata: {name: n3}
status: {addresses: [{type: InternalIP, address: 10.0.1.3}]}
"""


@pytest.mark.parametrize("config,cni", [
    ("apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: default-ipv4-ippool}\n"
     "spec: {cidr: 10.244.0.0/16, ipipMode: CrossSubnet}\n", "ipip"),
    ("apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: default-ipv4-ippool}\n"
     "spec: {cidr: 10.244.0.0/16, vxlanMode: CrossSubnet}\n", "vxlan"),
    # flannel's kube-flannel.yml net-conf.json with DirectRouting (Documentation/backends.md)
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-flannel-cfg, namespace: kube-flannel}\n"
     "data:\n  net-conf.json: '{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"vxlan\", "
     "\"DirectRouting\": true}}'\n", "vxlan"),
])
def test_cross_subnet_sources_and_the_assumed_prefix(tmp_path, config, cni):
    """No projectcalico.org/IPv4Address annotation: a node's subnet is assumed to be its IP
    with the underlay's prefix length (/24), so n3 (10.0.1.3) is on another subnet."""
    c = load([_write(tmp_path, config + "---" + NODES_NO_PREFIX)])
    assert (c.net.cni, c.net.cross_subnet) == (cni, True)
    n1 = {s.node: s for s in desired_state(c)}["n1"]
    pod_cidr = {n.name: n.pod_cidr or "" for n in c.nodes}
    assert not n1.tunnels_to(pod_cidr["n2"]) and n1.tunnels_to(pod_cidr["n3"])
    if cni == "vxlan":  # no VTEP entries for a peer reached natively
        assert [f.dst for f in n1.fdb] == ["10.0.1.3"]


def test_always_and_never_are_not_cross_subnet(tmp_path):
    pool = ("apiVersion: crd.projectcalico.org/v1\nkind: IPPool\nmetadata: {name: p}\n"
            "spec: {cidr: 10.244.0.0/16, ipipMode: Always}\n---")
    c = load([_write(tmp_path, pool + NODES_NO_PREFIX)])
    assert (c.net.cni, c.net.cross_subnet) == ("ipip", False)
    assert load([OSLO]).net.cross_subnet is False  # CALICO_IPV4POOL_IPIP: Never


def test_bad_calico_address_annotation(tmp_path):
    node = ("apiVersion: v1\nkind: Node\nmetadata: {name: n1, annotations: "
            "{projectcalico.org/IPv4Address: 10.0.0.1}}\n")
    with pytest.raises(InputError, match="IPv4Address.*address/prefix"):
        load([_write(tmp_path, node)])
