"""Dual-stack and IPv6 input: podnet models the IPv4 half of a dual-stack cluster (as kube-
proxy's IPv4 proxier sees it) and refuses IPv6-only objects with a clear error, never a
traceback."""

from __future__ import annotations

import pytest
from helpers import cluster_of

from podnet.errors import InputError

DUAL = """
apiVersion: v1
kind: Node
metadata: {name: n1}
spec: {podCIDR: "fd00:10:244:1::/64", podCIDRs: ["fd00:10:244:1::/64", "10.244.1.0/24"]}
status: {addresses: [{type: InternalIP, address: "fd00::1"}, {type: InternalIP, address: "10.0.0.1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: a, namespace: default, labels: {app: a}}
spec: {nodeName: n1, containers: [{name: c}]}
status: {podIP: "fd00:10:244:1::5", podIPs: [{ip: "fd00:10:244:1::5"}, {ip: "10.244.1.5"}]}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: default}
spec: {clusterIP: "fd00:96::10", clusterIPs: ["fd00:96::10", "10.96.0.10"], selector: {app: a},
       ports: [{port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-v6, namespace: default, labels: {kubernetes.io/service-name: s}}
addressType: IPv6
endpoints: [{addresses: ["fd00:10:244:1::5"]}]
ports: [{port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: s-v4, namespace: default, labels: {kubernetes.io/service-name: s}}
addressType: IPv4
endpoints: [{addresses: ["10.244.1.5"]}]
ports: [{port: 80}]
"""


def test_dual_stack_objects_are_read_by_their_ipv4_half():
    c = cluster_of(DUAL)
    (node,) = c.nodes
    assert (node.pod_cidr, node.internal_ip) == ("10.244.1.0/24", "10.0.0.1")
    assert c.pod("default/a").ip == "10.244.1.5"
    svc = next(s for s in c.services if s.name == "s")
    assert svc.cluster_ip == "10.96.0.10"
    addresses = [e.ip for g in c.endpoint_groups if g.service == "s" for e in g.endpoints]
    assert addresses == ["10.244.1.5"]  # the IPv6 slice adds nothing to the IPv4 proxier


@pytest.mark.parametrize(("doc", "field"), [
    ("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 'fd00::/64'}\n",
     "spec.podCIDR"),
    ("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n"
     "status: {addresses: [{type: InternalIP, address: 'fd00::1'}]}\n", "address"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: c}]}\n"
     "status: {podIP: 'fd00::5'}\n", "status.podIP"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"
     "spec: {clusterIP: 'fd00::10', ports: [{port: 80}]}\n", "spec.clusterIP")])
def test_ipv6_only_objects_are_refused_naming_the_field(doc, field):
    with pytest.raises(InputError) as e:
        cluster_of(doc)
    assert field in str(e.value) and "IPv6" in str(e.value) and "test.yaml" in str(e.value)
