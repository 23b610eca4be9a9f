"""ClusterNetworkPolicy (network-policy-api v1alpha2, apis/v1alpha2/clusternetworkpolicy_types.go
in kubernetes-sigs/network-policy-api): each action in both tiers, mixed with the v1alpha1 kinds,
and the schema's refusals. Every flow is asked of both answer paths (``allows`` checks the class
matrix against the per-pair evaluator)."""

from __future__ import annotations

import textwrap

import pytest

from podnet.errors import InputError
from podnet.model import build, read_texts
from podnet.policy import Evaluator, compile_cluster
from podnet.policy.explain import explain_data
from tests.test_admin_policy import ALLOW_Y_TO_X, DENY_ALL_X, FROM_Y, allows, anp, banp, conns, world


def cnp(name: str, tier: str, priority: int | str, body: str,
        subject: str = "{namespaces: {matchLabels: {team: x}}}") -> str:
    return (f"apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  tier: {tier}\n  priority: {priority}\n"
            f"  subject: {subject}\n" + textwrap.indent(textwrap.dedent(body), "  ") + "---\n")


def rule(action: str, extra: str = "") -> str:
    return f"ingress:\n- {{action: {action}, {FROM_Y}{extra}}}\n"


@pytest.mark.parametrize(("action", "np", "want"), [
    ("Accept", DENY_ALL_X, True),    # overrides a NetworkPolicy that denies
    ("Deny", ALLOW_Y_TO_X, False),   # overrides a NetworkPolicy that allows
    ("Pass", ALLOW_Y_TO_X, True),    # the NetworkPolicy decides
    ("Pass", DENY_ALL_X, False),
])
def test_admin_tier_actions(action, np, want):
    assert allows(world(np + cnp("c", "Admin", 10, rule(action))), "y/a", "x/a", 80) is want


@pytest.mark.parametrize(("action", "want"), [("Accept", True), ("Deny", False), ("Pass", True)])
def test_baseline_tier_actions_where_no_network_policy_selects(action, want):
    # a Baseline Pass hands the connection to the default, which allows it
    c = world(cnp("b", "Baseline", 10, rule(action)) + cnp("b-deny", "Baseline", 20, rule("Deny")))
    assert allows(c, "y/a", "x/a", 80) is want


def test_baseline_tier_yields_to_a_network_policy():
    assert allows(world(ALLOW_Y_TO_X + cnp("b", "Baseline", 0, rule("Deny"))), "y/a", "x/a", 80)


def test_admin_pass_skips_the_rest_of_the_admin_tier_then_baseline_decides():
    c = world(cnp("pass", "Admin", 5, rule("Pass")) + cnp("deny", "Admin", 6, rule("Accept"))
              + cnp("base", "Baseline", 1, rule("Deny")))
    assert not allows(c, "y/a", "x/a", 80)


def test_lower_priority_number_wins_within_each_tier():
    for tier in ("Admin", "Baseline"):
        c = world(cnp("z-deny", tier, 5, rule("Deny")) + cnp("a-accept", tier, 6, rule("Accept")))
        assert not allows(c, "y/a", "x/a", 80), tier
        c = world(cnp("z-deny", tier, 7, rule("Deny")) + cnp("a-accept", tier, 6, rule("Accept")))
        assert allows(c, "y/a", "x/a", 80), tier


def test_protocols_number_range_and_named_port():
    body = ("ingress:\n"
            f"- {{action: Accept, {FROM_Y}, protocols: [{{tcp: {{destinationPort: {{number: 80}}}}}},"
            " {udp: {destinationPort: {range: {start: 1000, end: 1002}}}}]}\n"
            f"- {{action: Deny, {FROM_Y}}}\n")
    c = world(cnp("p", "Admin", 1, body))
    assert conns(c, "y/a", "x/a") == "TCP 80,UDP 1000-1002"
    named = f"ingress:\n- {{action: Deny, {FROM_Y}, protocols: [{{destinationNamedPort: http}}]}}\n"
    c = world(cnp("n", "Admin", 1, named))
    assert not allows(c, "y/a", "x/a", 80) and allows(c, "y/a", "x/a", 81)
    assert not allows(c, "y/a", "x/b", 81)  # x/b names its port 81 http


def test_egress_networks_and_pods_peer_without_namespace_selector():
    body = ("egress:\n- {action: Deny, to: [{networks: [203.0.113.0/24]}]}\n"
            "- {action: Deny, to: [{pods: {podSelector: {matchLabels: {app: b}}}}]}\n")
    c = world(cnp("e", "Admin", 1, body))
    assert conns(c, "x/a", "203.0.113.9") == "No Connections"
    assert conns(c, "x/a", "198.51.100.9") == "All Connections"
    assert not allows(c, "x/a", "x/b", 81)  # pods in any namespace: namespaceSelector left out
    assert allows(c, "x/a", "y/a", 80)


def test_domain_names_peer_matches_nothing_and_says_so():
    body = "egress:\n- {action: Deny, to: [{domainNames: [example.com]}]}\n"
    c = world(cnp("d", "Admin", 1, body))
    assert conns(c, "x/a", "203.0.113.9") == "All Connections"
    assert any("domainNames" in w and "not modelled" in w for w in c.warnings)


def test_both_generations_in_one_input_share_the_tiers():
    # ANP at 10 (Deny) and an Admin CNP at 5 (Accept): the CNP's lower number decides
    c = world(anp("anp-deny", 10, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
              + cnp("cnp-accept", "Admin", 5, rule("Accept")))
    assert allows(c, "y/a", "x/a", 80)
    c = world(anp("anp-deny", 4, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
              + cnp("cnp-accept", "Admin", 5, rule("Accept")))
    assert not allows(c, "y/a", "x/a", 80)
    # Baseline: every Baseline CNP comes before the v1alpha1 BANP (podnet's chosen order)
    c = world(banp(f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
              + cnp("base-accept", "Baseline", 1000, rule("Accept")))
    assert allows(c, "y/a", "x/a", 80)
    assert [a.key for a in c.admin_policies] == ["cnp/base-accept", "default"]


def test_same_name_in_both_generations_is_two_policies():
    c = world(anp("same", 10, f"ingress:\n- {{action: Deny, {FROM_Y}}}\n")
              + cnp("same", "Admin", 10, rule("Accept")))
    assert [a.key for a in c.admin_policies] == ["cnp/same", "same"]
    assert any("cnp/same and same both have priority 10" in w for w in c.warnings)
    assert allows(c, "y/a", "x/a", 80)  # ordered by key: cnp/same first


def test_it_is_no_longer_listed_as_unmodelled():
    c = world(cnp("c", "Admin", 10, rule("Deny")))
    assert not any("not modelled" in w for w in c.warnings)
    assert [(a.kind, a.tier) for a in c.admin_policies] == [
        ("ClusterNetworkPolicy", "AdminNetworkPolicy")]


BAD = [
    ("tier: Admin", "tier: Cluster", "spec.tier", "'Cluster' is not one of Admin, Baseline"),
    ("priority: 10", "priority: 1001", "spec.priority", "1001 is outside 0..1000"),
    ("priority: 10", "priority: -1", "spec.priority", "-1 is outside 0..1000"),
    ("from: [{namespaces: {matchLabels: {team: y}}}]", "from: []", "spec.ingress[0].from",
     "must list at least one peer"),
    ("action: Deny", "action: Allow", "spec.ingress[0].action", "'Allow' is not one of"),
    ("from: [{namespaces: {matchLabels: {team: y}}}]", "from: [{networks: [10.0.0.0/8]}]",
     "spec.ingress[0].from[0]", "must set exactly one of namespaces, pods"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD)
def test_bad_input_names_file_object_and_field(old, new, field, message):
    text = cnp("bad", "Admin", 10, rule("Deny")).replace(old, new, 1)
    with pytest.raises(InputError) as e:
        build(read_texts([("cnp.yaml", text)]))
    err = str(e.value)
    assert "cnp.yaml" in err and "ClusterNetworkPolicy bad" in err, err
    assert field in err and message in err, err


def test_named_port_with_a_networks_peer_is_refused():
    body = ("egress:\n- {action: Deny, to: [{networks: [10.0.0.0/8]}], "
            "protocols: [{destinationNamedPort: http}]}\n")
    with pytest.raises(InputError, match=r"spec\.egress\[0\]\.protocols"):
        build(read_texts([("cnp.yaml", cnp("bad", "Admin", 1, body))]))


def test_explain_names_the_cluster_network_policy_and_where_a_pass_goes():
    c = world(cnp("adm", "Admin", 1, rule("Pass")) + cnp("base", "Baseline", 1, rule("Pass"))
              + cnp("base-deny", "Baseline", 2, rule("Deny")))
    ev = Evaluator(c, compile_cluster(c))
    side = explain_data(ev.verdict(c.pod("y/a"), c.pod("x/a")), 80, "TCP")["ingress"]
    assert side["allowed"] is True
    assert [(r["policy"], r["action"]) for r in side["adminRules"]] == [
        ("cnp/adm", "Pass"), ("cnp/base", "Pass")]
    assert "cnp/adm Pass rule [0] passes to NetworkPolicy" in side["summary"]
    assert "cnp/base Pass rule [0] passes to the default" in side["summary"]
