"""The data-plane model: per-node desired state per mode, bird.conf, MTU budget."""

from __future__ import annotations

import pytest

from podnet.dataplane import budget, desired_state, render
from podnet.dataplane.bird import render as bird_conf
from podnet.errors import InputError
from podnet.model import load
from podnet.model.netconfig import NetConfig
from tests.conftest import EXAMPLES

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
    (tmp_path / "n.yaml").write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: far}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.7.1}]}\n")
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
