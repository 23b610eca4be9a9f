"""AdminNetworkPolicy and BaselineAdminNetworkPolicy (network-policy-api v1alpha1), each corner
pinned with a small cluster. Where a scenario reproduces one of network-policy-api's conformance
tests (conformance/tests/*.go in kubernetes-sigs/network-policy-api) the test names it.

Every flow is asked of both answer paths: the per-pair evaluator (``explain``) and the
vectorised class matrix (``reach``), which must agree.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from podnet.errors import InputError
from podnet.model import Cluster
from podnet.policy import Evaluator, class_matrix, compile_cluster, pod_matrix
from podnet.policy.explain import explain_data
from tests.helpers import cluster_of, namespace, pod

NODES = "".join(
    f"apiVersion: v1\nkind: Node\nmetadata: {{name: {n}, labels: {{role: {role}}}}}\n"
    f"status: {{addresses: [{{type: InternalIP, address: {ip}}}]}}\n---\n"
    for n, role, ip in (("n1", "infra", "10.0.0.11"), ("n2", "worker", "10.0.0.12")))
BASE = (NODES + namespace("x", {"team": "x"}) + namespace("y", {"team": "y"})
        + pod("x", "a", {"app": "a"}, "{containerPort: 80, name: http}", ip="10.244.0.10")
        + pod("x", "b", {"app": "b"}, "{containerPort: 81, name: http}", ip="10.244.0.11")
        + pod("y", "a", {"app": "a"}, "{containerPort: 80, name: http}", ip="10.244.1.10"))


def anp(name: str, priority: int | None, body: str, subject: str = "{namespaces: {matchLabels: {team: x}}}",
        kind: str = "AdminNetworkPolicy") -> str:
    prio = f"  priority: {priority}\n" if priority is not None else ""
    return (f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\n"
            f"spec:\n{prio}  subject: {subject}\n" + textwrap.indent(textwrap.dedent(body), "  ")
            + "---\n")


def banp(body: str, subject: str = "{namespaces: {}}") -> str:
    return anp("default", None, body, subject, kind="BaselineAdminNetworkPolicy")


FROM_Y = "from: [{namespaces: {matchLabels: {team: y}}}]"
DENY_ALL_X = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
              "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n---\n")
ALLOW_Y_TO_X = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                "metadata: {name: allow-y, namespace: x}\n"
                "spec: {podSelector: {}, ingress: [{from: [{namespaceSelector: "
                "{matchLabels: {team: y}}}]}]}\n---\n")


def y(text: str) -> str:
    return text.replace("@Y", FROM_Y)


def world(extra: str) -> Cluster:
    return cluster_of(BASE + extra)


def conns(c: Cluster, src: str, dst: str, ipblock_matches_pods: bool = True) -> str:
    ev = Evaluator(c, compile_cluster(c, ipblock_matches_pods=ipblock_matches_pods))
    return str(ev.allowed(c.pod(src) or src, c.pod(dst) or dst))


def allows(c: Cluster, src: str, dst: str, port: int, proto: str = "TCP") -> bool:
    """The per-pair answer, after checking the class matrix gives the same for this port."""
    compiled = compile_cluster(c)
    want = Evaluator(c, compiled).allowed(c.pod(src) or src, c.pod(dst) or dst).allows(proto, port)
    if not src.count(".") and not dst.count("."):  # both pods: the matrix answers too
        keys = [p.key for p in c.pods]
        cm = class_matrix(c, compiled, [(port, proto)])
        m = pod_matrix(cm, (port, proto), np.arange(len(keys)), np.arange(len(keys)))
        assert m[keys.index(src), keys.index(dst)] == want, (src, dst, port, proto)
    return want


# network-policy-api admin-network-policy-core-priority.go, AdminNetworkPolicyPriorityField:
# the lower priority number is applied first, whichever way round the actions are.
@pytest.mark.parametrize("allow_first", [True, False])
def test_lower_priority_number_wins(allow_first):
    deny = anp("deny-y", 20 if allow_first else 5, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
    allow = anp("allow-y", 10, f"ingress:\n- {{action: Allow, {FROM_Y}}}\n")
    c = world(deny + allow)
    assert allows(c, "y/a", "x/a", 80) is allow_first


# admin-network-policy-core-ingress-tcp-rules.go (AdminNetworkPolicyIngressTCP) swaps rules
# to show that within one ANP the first matching rule decides.
def test_first_matching_rule_within_an_anp_wins():
    rules = [y("{action: Allow, @Y, ports: [{portNumber: {protocol: TCP, port: 80}}]}"),
             y("{action: Deny, @Y}")]
    c = world(anp("ordered", 10, "ingress:\n" + "".join(f"- {r}\n" for r in rules)))
    assert conns(c, "y/a", "x/a") == "TCP 80"
    c = world(anp("swapped", 10, "ingress:\n" + "".join(f"- {r}\n" for r in reversed(rules))))
    assert conns(c, "y/a", "x/a") == "No Connections"


def test_anp_allow_and_deny_override_network_policy():
    assert allows(world(DENY_ALL_X + anp("allow", 10, f"ingress:\n- {{action: Allow, {FROM_Y}}}\n")),
                  "y/a", "x/a", 80)
    assert not allows(world(ALLOW_Y_TO_X + anp("deny", 10, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")),
                      "y/a", "x/a", 80)


# admin-network-policy-core-integration.go, AdminNetworkPolicyIntegration: "Should support a
# 'pass-ingress' policy for ANP and respect the match for network policy", then, with the
# NetworkPolicy deleted, "... respect the match for baseline admin network policy".
def test_pass_goes_to_network_policy_then_baseline():
    pass_ = anp("pass", 10, f"ingress:\n- {{action: Pass, {FROM_Y}}}\n")
    base_deny = banp(f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
    assert allows(world(pass_ + ALLOW_Y_TO_X + base_deny), "y/a", "x/a", 80)  # the NP decides
    assert not allows(world(pass_ + DENY_ALL_X), "y/a", "x/a", 80)
    assert not allows(world(pass_ + base_deny), "y/a", "x/a", 80)  # no NP: the BANP decides
    assert allows(world(pass_), "y/a", "x/a", 80)  # nothing else: allowed


def test_pass_skips_lower_priority_anps():
    later_deny = anp("later-deny", 20, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
    c = world(anp("pass", 10, f"ingress:\n- {{action: Pass, {FROM_Y}}}\n") + later_deny)
    assert allows(c, "y/a", "x/a", 80)


# baseline-admin-network-policy-core-gress-rules.go: the BANP only counts where no
# NetworkPolicy selects the pod.
def test_baseline_applies_only_where_no_network_policy_selects_the_pod():
    np_a_only = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                 "metadata: {name: allow-y-to-a, namespace: x}\n"
                 "spec: {podSelector: {matchLabels: {app: a}}, ingress: [{}]}\n---\n")
    c = world(np_a_only + banp(f"ingress:\n- {{action: Deny, {FROM_Y}}}\n"))
    assert allows(c, "y/a", "x/a", 80)  # the NetworkPolicy decides for x/a
    assert not allows(c, "y/a", "x/b", 81)  # nothing selects x/b: the BANP denies


def test_baseline_first_rule_wins():
    c = world(banp(y("ingress:\n- {action: Allow, @Y, ports: [{portNumber: {port: 80}}]}\n"
                     "- {action: Deny, @Y}\n")))
    assert conns(c, "y/a", "x/a") == "TCP 80"


def test_both_directions_must_allow():
    egress_allow = anp("out", 10, "egress:\n- {action: Allow, to: [{namespaces: {}}]}\n")
    ingress_deny = banp("ingress:\n- {action: Deny, from: [{namespaces: {matchLabels: {team: x}}}]}\n",
                        subject="{namespaces: {matchLabels: {team: y}}}")
    assert not allows(world(egress_allow + ingress_deny), "x/a", "y/a", 80)


# AdminNetworkPolicyIngressNamedPort / AdminNetworkPolicyEgressNamedPort: a named port
# resolves on each destination pod (x/a: http=80, x/b: http=81).
def test_named_port_resolves_per_destination():
    c = world(anp("named", 10, f"ingress:\n- {{action: Deny, {FROM_Y}, ports: [{{namedPort: http}}]}}\n"))
    assert not allows(c, "y/a", "x/a", 80) and allows(c, "y/a", "x/a", 81)
    assert not allows(c, "y/a", "x/b", 81) and allows(c, "y/a", "x/b", 80)


# admin-network-policy-standard-port-range-rules.go: start and end are both included.
def test_port_range_is_inclusive():
    c = world(anp("range", 10, f"ingress:\n- {{action: Deny, {FROM_Y}, "
                               "ports: [{portRange: {protocol: TCP, start: 80, end: 81}}]}\n"))
    assert conns(c, "y/a", "x/a") == "SCTP 1-65535,TCP 1-79,82-65535,UDP 1-65535"


# AdminNetworkPolicyEgressInlineCIDRPeers: networks select addresses outside the cluster,
# and pods' own addresses too ("cluster-internal traffic will be checked against the rule").
def test_networks_peer_selects_external_addresses_and_pod_ips():
    c = world(anp("cidr", 10, "egress:\n- {action: Deny, to: [{networks: [192.0.2.0/24, 10.244.1.0/24]}]}\n"))
    assert not allows(c, "x/a", "192.0.2.7", 443) and allows(c, "x/a", "198.51.100.1", 443)
    assert not allows(c, "x/a", "y/a", 80)
    assert conns(c, "x/a", "y/a", ipblock_matches_pods=False) == "All Connections"


# AdminNetworkPolicyEgressNodePeers: nodes select the nodes' addresses by node labels.
def test_nodes_peer_selects_node_addresses():
    c = world(anp("nodes", 10, "egress:\n- {action: Deny, to: [{nodes: {matchLabels: {role: infra}}}]}\n"))
    assert not allows(c, "x/a", "10.0.0.11", 10250)
    assert allows(c, "x/a", "10.0.0.12", 10250)


def test_pods_subject_and_peer():
    subject = "{pods: {namespaceSelector: {}, podSelector: {matchLabels: {app: b}}}}"
    peer = "{namespaceSelector: {matchLabels: {team: y}}, podSelector: {matchLabels: {app: a}}}"
    c = world(anp("only-b", 10, f"ingress:\n- {{action: Deny, from: [{{pods: {peer}}}]}}\n",
                  subject=subject))
    assert not allows(c, "y/a", "x/b", 81) and allows(c, "y/a", "x/a", 80)


def test_equal_priorities_selecting_one_pod_warn():
    c = world(anp("one", 7, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
              + anp("two", 7, f"ingress:\n- {{action: Allow, {FROM_Y}}}\n"))
    [w] = [w for w in c.warnings if "priority 7" in w]
    assert "AdminNetworkPolicies one and two" in w and "x/a" in w and "one first" in w
    disjoint = world(anp("one", 7, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
                     + anp("two", 7, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n",
                           subject="{namespaces: {matchLabels: {team: y}}}"))
    assert not [w for w in disjoint.warnings if "priority" in w]


def test_explain_names_tier_policy_and_rule_per_side():
    c = world(anp("pass", 10, f"ingress:\n- {{name: to-np, action: Pass, {FROM_Y}}}\n")
              + banp(y("ingress:\n- {name: no-y, action: Deny, @Y}\n"
                       "egress:\n- {name: out-ok, action: Allow, to: [{namespaces: {}}]}\n")))
    ev = Evaluator(c, compile_cluster(c))
    data = explain_data(ev.verdict(c.pod("y/a"), c.pod("x/a")), 80, "TCP")
    assert data["allowed"] is False
    ing, eg = data["ingress"], data["egress"]
    assert ing["tier"] == "BaselineAdminNetworkPolicy"
    assert [(r["tier"], r["policy"], r["rule"], r["name"], r["action"]) for r in ing["adminRules"]] == [
        ("AdminNetworkPolicy", "pass", 0, "to-np", "Pass"),
        ("BaselineAdminNetworkPolicy", "default", 0, "no-y", "Deny")]
    assert "pass Pass rule [0] 'to-np' passes" in ing["summary"] and "'no-y': denied" in ing["summary"]
    assert eg["tier"] == "BaselineAdminNetworkPolicy" and eg["allowed"] is True
    data = explain_data(ev.verdict(c.pod("x/a"), c.pod("x/b")), 81, "TCP")
    assert data["ingress"]["tier"] == "none" and data["allowed"] is True


ANP_HEAD = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: bad}\n"
BANP_HEAD = "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
SUBJ = "subject: {namespaces: {}}"


def bad(head: str, text: str) -> str:
    return head + text.replace("@S", SUBJ)


ANP_BAD, BANP_BAD = "AdminNetworkPolicy bad", "BaselineAdminNetworkPolicy default"
TO_ALL = "to: [{namespaces: {}}]"


@pytest.mark.parametrize("doc,obj,field,why", [
    (bad(BANP_HEAD, "metadata: {name: baseline}\nspec: {@S}\n"),
     "BaselineAdminNetworkPolicy baseline", "metadata.name", "must be named 'default'"),
    (bad(ANP_HEAD, "spec: {@S}\n"), ANP_BAD, "spec.priority", "is required"),
    (bad(ANP_HEAD, "spec: {priority: 1001, @S}\n"), ANP_BAD, "spec.priority", "outside 0..1000"),
    (bad(ANP_HEAD, "spec: {priority: 1, @S, ingress: [{action: Allow, from: []}]}\n"),
     ANP_BAD, "spec.ingress[0].from", "at least one peer"),
    (bad(ANP_HEAD, "spec: {priority: 1, @S, egress: [{action: Allow}]}\n"),
     ANP_BAD, "spec.egress[0].to", "at least one peer"),
    (bad(ANP_HEAD, "spec: {priority: 1, @S, ingress: [{action: Drop, from: [{namespaces: {}}]}]}\n"),
     ANP_BAD, "spec.ingress[0].action", "'Drop' is not one of Allow, Deny, Pass"),
    (bad(BANP_HEAD, f"metadata: {{name: default}}\nspec: {{@S, egress: [{{action: Pass, {TO_ALL}}}]}}\n"),
     BANP_BAD, "spec.egress[0].action", "not one of Allow, Deny"),
    (bad(ANP_HEAD, "spec: {priority: 1}\n"), ANP_BAD, "spec.subject", "exactly one of"),
    (bad(ANP_HEAD, "spec: {priority: 1, @S, ingress: [{action: Allow, from: [{networks: [10.0.0.0/8]}]}]}\n"),
     ANP_BAD, "spec.ingress[0].from[0]", "exactly one of namespaces, pods"),
    (bad(ANP_HEAD, "spec: {priority: 1, @S, egress: [{action: Allow, to: [{networks: [10.0.0.0/33]}]}]}\n"),
     ANP_BAD, "spec.egress[0].to[0].networks[0]", ""),
    (bad(ANP_HEAD, f"spec: {{priority: 1, @S, egress: [{{action: Allow, {TO_ALL}, "
                   "ports: [{portRange: {start: 90, end: 80}}]}]}\n"),
     ANP_BAD, "spec.egress[0].ports[0].portRange.end", "greater than start"),
])
def test_bad_input_names_file_object_and_field(doc, obj, field, why):
    with pytest.raises(InputError) as e:
        cluster_of(doc)
    assert e.value.source.file == "test.yaml" and e.value.field == field, str(e.value)
    assert obj in str(e.value) and why in e.value.message, str(e.value)


def test_trace_names_the_admin_rule_that_drops():
    from podnet.dataplane.path import trace

    c = world(anp("deny", 10, y("ingress:\n- {name: no-y, action: Deny, @Y}\n")))
    path = trace(c, compile_cluster(c), c.pod("y/a"), c.pod("x/a"), 80, "TCP")
    assert path.verdict == "dropped"
    assert any("DROPPED by AdminNetworkPolicy deny Deny rule [0] 'no-y'" in h.action for h in path.hops)
