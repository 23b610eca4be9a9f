"""Flannel host-gw on the underlay the Nodes give: nodes at 192.168.50.11 and .12 share a
segment (podnet used to judge them against a fixed 10.0.0.0/24 and refuse them); nodes on
two /24s cannot route each other's pods via each other, which is what flanneld's route add
runs into ("network is unreachable")."""

from __future__ import annotations

import pytest

from podnet.dataplane.cni import desired_state
from podnet.errors import InputError
from podnet.lab.plan import build_plan
from tests.helpers import cluster_of


def nodes(*ips: str) -> str:
    return "".join(f"apiVersion: v1\nkind: Node\nmetadata: {{name: n{i}}}\nstatus: {{addresses: "
                   f"[{{type: InternalIP, address: {ip}}}]}}\n---\n" for i, ip in enumerate(ips))


def test_the_underlay_is_where_the_nodes_are():
    c = cluster_of(nodes("192.168.50.11", "192.168.50.12"))
    assert c.net.node_cidr == "192.168.50.0/24"
    assert c.net.origin["node_cidr"] == "the Nodes' InternalIPs"
    states = {s.node: s for s in desired_state(c, "host-gw")}
    assert [(r.dst, r.via) for r in states["n0"].routes] == [(c.nodes[1].pod_cidr,
                                                              "192.168.50.12")]
    # the lab builds its fabric there too, and its outside client at the segment's top
    plan = build_plan(c, "x", "host-gw")
    assert plan.external_ip == "192.168.50.254"


def test_nodes_on_two_segments_cannot_use_host_gw_but_vxlan_carries_them():
    c = cluster_of(nodes("10.0.1.5", "10.0.2.5"))
    assert c.net.node_cidr == "10.0.0.0/22"
    with pytest.raises(InputError, match="not on node n0's subnet 10.0.1.0/24"):
        desired_state(c, "host-gw")
    assert len(desired_state(c, "vxlan")) == 2


def test_a_calico_subnet_annotation_widens_a_nodes_segment():
    text = nodes("10.0.1.5", "10.0.2.5").replace(
        "metadata: {name: n0}", "metadata: {name: n0, annotations: "
        "{projectcalico.org/IPv4Address: 10.0.1.5/16}}").replace(
        "metadata: {name: n1}", "metadata: {name: n1, annotations: "
        "{projectcalico.org/IPv4Address: 10.0.2.5/16}}")
    assert len(desired_state(cluster_of(text), "host-gw")) == 2
