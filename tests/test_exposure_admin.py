"""Exposure analysis with admin tiers on small hand-written clusters.

The oracle is np-guard/netpol-analyzer: pkg/netpol/connlist/connlist_test.go (goodPathTests,
the tests/exposure_test_with_anp_* inputs: _1 an ANP allowing from a namespace selector, _3_w_banp
and _7_w_banp a BANP, _9 a Deny carving a representative out of the entire cluster, _2_w_np a
Pass left to NetworkPolicy). Whole outputs are compared with its goldens in
tests/test_conformance_cases.py; here each rule of the semantics is checked on its own.
"""

from __future__ import annotations

from podnet.policy.compile import compile_cluster
from podnet.policy.connlist import connlist
from podnet.policy.connset import ConnSet
from podnet.policy.exposure import ExposedPeer, exposure, split_line
from podnet.policy.exposure_tiers import EVERY, Walk, combine, conns_and, conns_sub, walk
from podnet.policy.exposure_txt import peer_text
from podnet.policy.namedconns import EMPTY, NamedConns
from tests.helpers import cluster_of, namespace, pod

A, B = "app/a[Pod]", "app/b[Pod]"
BASE = (namespace("app", {}) + pod("app", "a", {"app": "a"}, "{containerPort: 80}")
        + pod("app", "b", {"app": "b"}, "{containerPort: 80}"))
SLYTHERIN = "[namespace with {house=slytherin}]/[all pods]"


def anp(name: str, priority: int, ingress: str = "", egress: str = "",
        subject: str = "{namespaces: {matchLabels: {kubernetes.io/metadata.name: app}}}") -> str:
    text = (f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\n"
            f"metadata: {{name: {name}}}\nspec:\n  priority: {priority}\n  subject: {subject}\n")
    if ingress:
        text += f"  ingress: {ingress}\n"
    if egress:
        text += f"  egress: {egress}\n"
    return text + "---\n"


def banp(ingress: str, subject: str = "{namespaces: {}}") -> str:
    return (f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
            f"metadata: {{name: default}}\nspec:\n  subject: {subject}\n  ingress: {ingress}\n---\n")


def deny_all_ingress(select: str) -> str:
    return (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: deny-{select}, namespace: app}}\nspec:\n"
            f"  podSelector: {{matchLabels: {{app: {select}}}}}\n  policyTypes: [Ingress]\n---\n")


def analyse(text: str) -> dict[str, ExposedPeer]:
    cluster = cluster_of(text)
    compiled = compile_cluster(cluster, ipblock_matches_pods=False)
    lines = connlist(cluster, compiled)
    return {p.workload: p for p in exposure(cluster, compiled, [split_line(ln) for ln in lines])}


def ingress(peer: ExposedPeer) -> dict[str, str]:
    return {peer_text(i): i.conns for i in peer.ingress if not i.external}


FROM_SLYTHERIN = ("{from: [{namespaces: {matchLabels: {house: slytherin}}}],"
                  " ports: [{portNumber: {port: 80, protocol: TCP}}]}")
ISOLATED_A = BASE + deny_all_ingress("a")


def rule(name: str, action: str) -> str:
    """One ingress rule from slytherin's TCP 80."""
    return f"{{name: {name}, action: {action}, " + FROM_SLYTHERIN[1:-1] + "}"


def test_anp_allow_from_a_namespace_selector_exposes_beside_a_networkpolicy_deny():
    # exposure_test_with_anp_1: the NetworkPolicy denies all ingress of a, the ANP (higher
    # tier) still admits TCP 80 from namespaces labelled house=slytherin.
    peers = analyse(ISOLATED_A + anp("x", 10, ingress=f"[{rule('r', 'Allow')}]"))
    a = peers[A]
    assert a.ingress_protected
    assert ingress(a) == {SLYTHERIN: "TCP 80"}
    # b is selected by the ANP only: protected, yet every other connection falls to the
    # default, so it is open to the entire cluster and the representative adds nothing
    assert B in peers and peers[B].ingress_protected
    assert ingress(peers[B]) == {"entire-cluster": "All Connections"}


def test_anp_deny_removes_exposure_to_that_representative():
    # exposure_test_with_anp_9: an earlier Deny from slytherin, then Allow from everywhere:
    # entire-cluster keeps All Connections, slytherin is listed with what the Deny left
    allow_all = "{name: all, action: Allow, from: [{namespaces: {}}]}"
    deny = "{name: deny-s, action: Deny, from: [{namespaces: {matchLabels: {house: slytherin}}}]}"
    peers = analyse(BASE + anp("x", 5, ingress=f"[{deny}, {allow_all}]"))
    assert ingress(peers[A]) == {"entire-cluster": "All Connections", SLYTHERIN: "No Connections"}
    # a Deny of only TCP 80 leaves the rest
    peers = analyse(BASE + anp("x", 5, ingress=f"[{rule('deny-s', 'Deny')}, {allow_all}]"))
    assert ingress(peers[A])[SLYTHERIN] == "SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535"


def test_pass_leaves_the_decision_to_networkpolicy():
    # exposure_test_with_anp_2_w_np: a Pass from slytherin lets the NetworkPolicy decide; the
    # NetworkPolicy denies all ingress, so nothing is exposed; an Allow would have exposed it
    peers = analyse(ISOLATED_A + anp("x", 5, ingress=f"[{rule('p', 'Pass')}]"))
    assert A not in peers or ingress(peers[A]) == {}
    peers = analyse(ISOLATED_A + anp("x", 5, ingress=f"[{rule('p', 'Allow')}]"))
    assert ingress(peers[A]) == {SLYTHERIN: "TCP 80"}


def test_higher_priority_anp_wins():
    deny, allow = f"[{rule('d', 'Deny')}]", f"[{rule('a', 'Allow')}]"
    peers = analyse(ISOLATED_A + anp("first", 1, ingress=deny) + anp("second", 2, ingress=allow))
    assert A not in peers or SLYTHERIN not in ingress(peers[A])
    peers = analyse(ISOLATED_A + anp("first", 1, ingress=allow) + anp("second", 2, ingress=deny))
    assert ingress(peers[A]) == {SLYTHERIN: "TCP 80"}


def test_banp_allow_exposes_only_pods_no_networkpolicy_protects():
    # exposure_test_with_anp_3_w_banp / _7_w_banp: the BANP is below NetworkPolicy. a is
    # isolated by a NetworkPolicy (deny all): the BANP's Allow does not reach it. b is only
    # under the BANP, whose Deny of everything but slytherin's TCP 80 shapes its exposure.
    rules = f"[{rule('ok', 'Allow')}, {{name: rest, action: Deny, from: [{{namespaces: {{}}}}]}}]"
    peers = analyse(ISOLATED_A + banp(rules))
    assert A not in peers or ingress(peers[A]) == {}
    b = peers[B]
    assert b.ingress_protected
    assert ingress(b) == {SLYTHERIN: "TCP 80"}


def test_tier_arithmetic():
    tcp80 = NamedConns(ConnSet.port("TCP", 80))
    w = walk([("Pass", tcp80), ("Deny", EVERY)])
    assert w.captured and w.allow.is_empty()
    assert str(w.deny) == "SCTP 1-65535,TCP 1-79,81-65535,UDP 1-65535"
    # the passed TCP 80 falls to NetworkPolicy, which allows it; without one, to the default
    assert str(combine(w, True, tcp80, EMPTY)) == "TCP 80"
    assert str(combine(w, False, EMPTY, EMPTY)) == "TCP 80"
    assert combine(Walk(), False, EMPTY, tcp80).key() == conns_sub(EVERY, tcp80).key()
    named = NamedConns(names=frozenset({("TCP", "http")}))
    assert conns_and(EVERY, named) == named and conns_sub(named, EVERY).is_empty()
