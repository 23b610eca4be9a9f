"""hostNetwork pods are never the subject of an admin policy.

network-policy-api's types (apis/v1alpha1 AdminNetworkPolicySpec.Subject and
BaselineAdminNetworkPolicySpec.Subject, apis/v1alpha2 ClusterNetworkPolicySpec.Subject): "Note
that host-networked pods are not included in subject selection." So a Deny that selects every
pod of a namespace leaves its hostNetwork pod open, in the per-pair evaluator, both matrices,
explain, the exposure report and the lab's nft rules.
"""

from __future__ import annotations

import numpy as np
import pytest

from podnet.policy import Evaluator, class_matrix, compile_cluster, pod_matrix
from podnet.policy.compile import Compiled
from podnet.policy.connlist import connections
from podnet.policy.explain import explain_data
from podnet.policy.nft import render_node
from tests.helpers import cluster_of, namespace, pod
from tests.test_admin_policy import FROM_Y, NODES, anp, banp


def host_pod(ns: str, name: str, labels: dict[str, str], node: str) -> str:
    lab = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return (f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}, labels: {{{lab}}}}}\n"
            f"spec:\n  hostNetwork: true\n  nodeName: {node}\n"
            "  containers: [{name: c, ports: [{containerPort: 80}]}]\n---\n")


WORLD = (NODES + namespace("x", {"team": "x"}) + namespace("y", {"team": "y"})
         + pod("x", "a", {"app": "a"}, "{containerPort: 80}", ip="10.244.0.10")
         + host_pod("x", "h", {"app": "a"}, "n1")
         + pod("y", "a", {"app": "a"}, "{containerPort: 80}", ip="10.244.1.10"))

DENY_Y_INTO_X = anp("deny-y", 10, f"ingress:\n- {{name: no-y, action: Deny, {FROM_Y}}}\n"
                                  "egress:\n- {name: no-out, action: Deny, to: [{namespaces: {}}]}\n")
# the v1alpha2 generation, Admin tier
CNP = ("apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
       "metadata: {name: deny-y}\nspec:\n  tier: Admin\n  priority: 10\n"
       "  subject: {namespaces: {matchLabels: {team: x}}}\n"
       "  ingress: [{name: no-y, action: Deny, from: [{namespaces: {matchLabels: {team: y}}}]}]\n"
       "  egress: [{name: no-out, action: Deny, to: [{namespaces: {}}]}]\n---\n")
BANP = banp(f"ingress:\n- {{name: no-y, action: Deny, {FROM_Y}}}\n"
            "egress:\n- {name: no-out, action: Deny, to: [{namespaces: {}}]}\n",
            subject="{namespaces: {matchLabels: {team: x}}}")


def matrix_allows(c, compiled: Compiled, src: str, dst: str, port: int) -> bool:
    keys = [p.key for p in c.pods]
    cm = class_matrix(c, compiled, [(port, "TCP")])
    m = pod_matrix(cm, (port, "TCP"), np.arange(len(keys)), np.arange(len(keys)))
    return bool(m[keys.index(src), keys.index(dst)])


@pytest.mark.parametrize("policy", [DENY_Y_INTO_X, CNP, BANP], ids=["anp", "cnp", "banp"])
def test_the_host_network_pod_is_not_a_subject(policy):
    c = cluster_of(WORLD + policy)
    compiled = compile_cluster(c)
    ev = Evaluator(c, compiled)
    ya, xa, xh = c.pod("y/a"), c.pod("x/a"), c.pod("x/h")
    assert ya is not None and xa is not None and xh is not None and xh.host_network
    # the ordinary pod with the same labels is the subject, the hostNetwork one is not
    assert not ev.allowed(ya, xa).allows("TCP", 80)
    assert ev.allowed(ya, xh).allows("TCP", 80)
    assert ev.allowed(xh, ya).allows("TCP", 80) and not ev.allowed(xa, ya).allows("TCP", 80)
    # the class matrix agrees pair by pair (the two x pods must not share a class)
    for s in c.pods:
        for d in c.pods:
            if s.key != d.key:
                assert matrix_allows(c, compiled, s.key, d.key, 80) == \
                    ev.allowed(s, d).allows("TCP", 80), (s.key, d.key)
    # explain names no admin rule on the hostNetwork pod's side
    data = explain_data(ev.verdict(ya, xh), 80, "TCP")
    assert data["allowed"] is True and data["ingress"]["tier"] == "none"
    # connlist (the workload matrix) lists y/a => x/h and not y/a => x/a
    lines = {c_.line() for c_ in connections(c, compiled)}
    assert any(ln.startswith("y/a[Pod] => x/h[Pod]") for ln in lines)
    assert not any(ln.startswith("y/a[Pod] => x/a[Pod]") for ln in lines)


def test_the_lab_renders_no_admin_rule_for_a_host_network_pod():
    c = cluster_of(WORLD + DENY_Y_INTO_X)
    compiled = compile_cluster(c)
    text = "".join(render_node(c, compiled, n.name) for n in c.nodes)
    assert "# ingress of x/a" in text and "deny-y ingress" in text  # the ordinary pod's admin chain
    assert "of x/h" not in text  # the hostNetwork pod lives in its node's namespace: no chain
