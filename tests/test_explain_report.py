"""``connlist --explain`` on small hand-written clusters: which rule is named for each part of a
pair's connections. The oracle is netpol-analyzer (pkg/netpol/connlist/explanation_test.go,
TestExplainFromDir, whose goldens tests/test_conformance_cases.py reproduces byte for byte);
these cases pin each kind of reason on its own.
"""

from __future__ import annotations

import textwrap

from podnet.model import Cluster
from podnet.policy.compile import compile_cluster
from podnet.policy.explain_report import explain_report
from podnet.policy.explconn import ALWAYS, NEVER, NP, SAME_INCLUSION, Rules, XConnSet, explanation
from tests.helpers import cluster_of, namespace, pod

BASE = (namespace("x", {"team": "x"}) + namespace("y", {"team": "y"})
        + pod("x", "a", {"app": "a"}, "{containerPort: 80}")
        + pod("x", "b", {"app": "b"}, "{containerPort: 81}")
        + pod("y", "c", {"app": "c"}, "{containerPort: 80}"))
ALLOW_B_TO_A_80 = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-b, namespace: x}
spec:
  podSelector: {matchLabels: {app: a}}
  policyTypes: [Ingress]
  ingress: [{from: [{podSelector: {matchLabels: {app: b}}}], ports: [{port: 80}]}]
---
"""


def admin(kind: str, name: str, body: str, priority: int | None = None) -> str:
    prio = f"  priority: {priority}\n" if priority is not None else ""
    return (f"apiVersion: policy.networking.k8s.io/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\n"
            f"spec:\n{prio}  subject: {{namespaces: {{matchLabels: {{team: x}}}}}}\n"
            + textwrap.indent(textwrap.dedent(body), "  ") + "---\n")


def report(extra: str, only: str | None = None) -> str:
    c: Cluster = cluster_of(BASE + extra)
    return explain_report(c, compile_cluster(c, ipblock_matches_pods=False), only)


def block(text: str, src: str, dst: str) -> str:
    """The explanation of one pair ("" when the pair is not explained on its own)."""
    head = f"Connections between {src} => {dst}:\n\n"
    at = text.find(head)
    if at < 0:
        return ""
    rest = text[at + len(head):]
    return rest.split("-" * 160)[0].split("\n#")[0]


def test_an_allowed_pair_names_the_allowing_rule_and_the_rest_is_denied_by_it():
    text = report(ALLOW_B_TO_A_80)
    got = block(text, "x/b[Pod]", "x/a[Pod]")
    assert got.startswith("Allowed connections:\n\tAllowed TCP:[80] due to the following "
                          "policies and rules:\n\t\tEgress (Allowed) due to the system default (Allow all)\n"
                          "\t\tIngress (Allowed)\n"
                          "\t\t\tNetworkPolicy 'x/allow-b' allows connections by Ingress rule #1\n"), got
    assert ("\tDenied TCP:[1-79,81-65535], UDP, SCTP due to the following policies and rules:\n"
            "\t\tEgress (Allowed) due to the system default (Allow all)\n\t\tIngress (Denied)\n"
            "\t\t\tNetworkPolicy 'x/allow-b' selects x/a[Pod], and Ingress rule #1 selects x/b[Pod], "
            "but the protocols and ports do not match\n") in got, got


def test_a_denied_pair_names_the_isolating_policy():
    got = block(report(ALLOW_B_TO_A_80), "y/c[Pod]", "x/a[Pod]")
    assert got == ("Denied connections:\n\tDenied TCP, UDP, SCTP due to the following policies and rules:\n"
                   "\t\tEgress (Allowed) due to the system default (Allow all)\n\t\tIngress (Denied)\n"
                   "\t\t\tNetworkPolicy 'x/allow-b' selects x/a[Pod], but y/c[Pod] is not allowed by "
                   "any Ingress rule\n\n"), got


def test_pairs_no_policy_touches_are_listed_as_system_default():
    text = report(ALLOW_B_TO_A_80)
    default = text.split("# All Connections due to the system default (Allow all) #\n")[1]
    assert "x/a[Pod] => x/b[Pod]\n" in default and "y/c[Pod] => x/a[Pod]" not in default
    assert block(text, "x/a[Pod]", "x/b[Pod]") == ""


def test_an_anp_deny_overrides_a_network_policy_allow():
    deny = admin("AdminNetworkPolicy", "no-y", """\
        ingress:
        - {name: deny-y, action: Deny, from: [{namespaces: {matchLabels: {team: y}}}]}
        """, priority=5)
    allow_all = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                 "metadata: {name: open, namespace: x}\nspec: {podSelector: {}, ingress: [{}]}\n---\n")
    got = block(report(deny + allow_all), "y/c[Pod]", "x/a[Pod]")
    assert got == ("Denied connections:\n\tDenied TCP, UDP, SCTP due to the following policies and rules:\n"
                   "\t\tEgress (Allowed) due to the system default (Allow all)\n\t\tIngress (Denied)\n"
                   "\t\t\tAdminNetworkPolicy 'no-y' denies connections by Ingress rule deny-y\n\n"), got


def test_a_banp_deny_applies_where_no_network_policy_selects_and_the_rest_stays_default():
    banp = admin("BaselineAdminNetworkPolicy", "default", """\
        ingress:
        - name: no-udp
          action: Deny
          from: [{namespaces: {}}]
          ports: [{portRange: {protocol: UDP, start: 1, end: 65535}}]
        - {name: open, action: Allow, from: [{namespaces: {}}]}
        """)
    got = block(report(banp), "y/c[Pod]", "x/b[Pod]")
    assert got.startswith("Allowed connections:\n"
                          "\tAllowed TCP, SCTP due to the system default (Allow all)\n"), got
    assert ("\tDenied UDP due to the following policies and rules:\n"
            "\t\tEgress (Allowed) due to the system default (Allow all)\n\t\tIngress (Denied)\n"
            "\t\t\tBaselineAdminNetworkPolicy 'default' denies connections by Ingress rule no-udp\n") in got


def test_explain_only_keeps_one_side_of_each_pair():
    allow = report(ALLOW_B_TO_A_80, "allow")
    deny = report(ALLOW_B_TO_A_80, "deny")
    assert "Denied connections:" not in allow and "Allowed TCP:[80]" in allow
    assert "Allowed connections:" not in deny and "Denied TCP:[1-79,81-65535]" in deny
    # a pair with nothing denied has no place in the deny report, nor default pairs
    assert "x/a[Pod] => x/b[Pod]" not in deny and "system default (Allow all) #" not in deny
    assert "y/c[Pod] => x/a[Pod]" not in allow


def test_rules_of_several_network_policies_are_collected_into_one_list():
    a = XConnSet.with_rule(False, NP, "NetworkPolicy 'x/p2' says no", True)
    a.union(XConnSet.with_rule(False, NP, "NetworkPolicy 'x/p1' says no", True), True)
    a.set_result(True)
    assert explanation(a) == ("Denied connections:\n\tDenied TCP, UDP, SCTP due to the following "
                              "policies and rules:\n\t\tIngress (Denied)\n\t\t\tNetworkPolicy list:\n"
                              "\t\t\t\t- NetworkPolicy 'x/p1' says no\n"
                              "\t\t\t\t- NetworkPolicy 'x/p2' says no\n\n\n")


def test_update_styles_collect_override_or_keep():
    low, high = Rules.of("", "the system default (Allow all)", True), Rules.of(NP, "np", True)
    assert low.update(high, True, NEVER).ingress.rules == {NP: ["np"]}  # higher layer overrides
    assert high.update(low, True, NEVER).ingress.rules == {NP: ["np"]}  # lower layer is ignored
    assert set(high.update(low, True, SAME_INCLUSION).ingress.rules) == {NP, ""}
    assert high.update(low, False, SAME_INCLUSION).ingress.rules == {"": ["the system default (Allow all)"]}
    assert set(high.update(low, False, ALWAYS).ingress.rules) == {NP, ""}


def test_a_banp_allow_shields_its_ports_from_a_later_deny_and_reads_as_the_system_default():
    # netpol-analyzer keeps a BANP's Allow only as the ports no later rule may deny: what is
    # allowed below the NetworkPolicy layer is the system default's (pkg/netpol/eval/check.go,
    # getXgressDefaultConns), so no golden ever names a BANP allow rule.
    banp = admin("BaselineAdminNetworkPolicy", "default", """\
        ingress:
        - name: web
          action: Allow
          from: [{namespaces: {}}]
          ports: [{portNumber: {protocol: TCP, port: 81}}]
        - {name: rest, action: Deny, from: [{namespaces: {}}]}
        """)
    got = block(report(banp), "y/c[Pod]", "x/b[Pod]")
    assert got == ("Allowed connections:\n\tAllowed TCP:[81] due to the system default (Allow all)\n\n"
                   "Denied connections:\n\tDenied TCP:[1-80,82-65535], UDP, SCTP due to the following "
                   "policies and rules:\n\t\tEgress (Allowed) due to the system default (Allow all)\n"
                   "\t\tIngress (Denied)\n\t\t\tBaselineAdminNetworkPolicy 'default' denies connections "
                   "by Ingress rule rest\n\n"), got
