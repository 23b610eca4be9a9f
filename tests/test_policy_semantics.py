"""NetworkPolicy corners, each pinned with a small cluster."""

import textwrap

from podnet.policy import Evaluator, compile_policies
from tests.helpers import cluster_of, namespace, pod

BASE = (namespace("x", {"team": "x"}) + namespace("y", {"team": "y"})
        + pod("x", "a", {"app": "a"}, "{containerPort: 80, name: http}", ip="10.244.0.10")
        + pod("x", "b", {"app": "b"}, "{containerPort: 81, name: http}", ip="10.244.0.11")
        + pod("y", "a", {"app": "a"}, "{containerPort: 80, name: http}", ip="10.244.1.10")
        + pod("y", "c", {"app": "c"}, "{containerPort: 53, protocol: UDP, name: dns}",
              ip="10.244.1.11"))


def run(policies: str, src: str, dst: str, ipblock_matches_pods: bool = True) -> str:
    c = cluster_of(BASE + textwrap.dedent(policies))
    ev = Evaluator(c, compile_policies(c.policies, ipblock_matches_pods=ipblock_matches_pods))
    s = c.pod(src) or src
    d = c.pod(dst) or dst
    return str(ev.allowed(s, d))


DENY_X = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: x}
spec: {podSelector: {}}
---
"""


def test_no_policy_allows_everything():
    assert run("", "y/a", "x/b") == "All Connections"


def test_default_deny_ingress():
    assert run(DENY_X, "y/a", "x/b") == "No Connections"
    assert run(DENY_X, "x/b", "y/a") == "All Connections"  # egress not isolated


def test_pod_may_reach_itself_under_default_deny():
    assert run(DENY_X, "x/a", "x/a") == "All Connections"


def peers(peer_yaml: str, ports: str = "") -> str:
    return DENY_X + textwrap.dedent(f"""
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {{name: allow, namespace: x}}
    spec:
      podSelector: {{matchLabels: {{app: b}}}}
      ingress:
      - from: {peer_yaml}
        {ports}
    """)


def test_namespace_and_pod_selector_in_one_peer_is_and():
    pol = peers("[{namespaceSelector: {matchLabels: {team: y}}, podSelector: {matchLabels: {app: c}}}]")
    assert run(pol, "y/c", "x/b") == "All Connections"
    assert run(pol, "y/a", "x/b") == "No Connections"
    assert run(pol, "x/a", "x/b") == "No Connections"


def test_separate_peers_are_or():
    pol = peers("[{namespaceSelector: {matchLabels: {team: y}}}, {podSelector: {matchLabels: {app: a}}}]")
    assert run(pol, "y/a", "x/b") == "All Connections"
    assert run(pol, "x/a", "x/b") == "All Connections"


def test_pod_selector_alone_means_policy_namespace():
    pol = peers("[{podSelector: {matchLabels: {app: a}}}]")
    assert run(pol, "x/a", "x/b") == "All Connections"
    assert run(pol, "y/a", "x/b") == "No Connections"


def test_empty_from_allows_all_sources_with_ports():
    pol = peers("[]", "ports: [{port: 81}]")
    assert run(pol, "y/c", "x/b") == "TCP 81"


def test_named_port_resolves_on_destination_with_protocol():
    pol = peers("[]", "ports: [{port: http}]")
    assert run(pol, "x/a", "x/b") == "TCP 81"
    pol = peers("[]", "ports: [{port: http, protocol: UDP}]")
    assert run(pol, "x/a", "x/b") == "No Connections"


def test_end_port_range():
    pol = peers("[]", "ports: [{port: 1000, endPort: 2000, protocol: UDP}, {protocol: SCTP}]")
    assert run(pol, "x/a", "x/b") == "SCTP 1-65535,UDP 1000-2000"


def test_ipblock_with_except_and_pods():
    pol = peers("[{ipBlock: {cidr: 10.244.0.0/16, except: [10.244.1.0/24]}}]")
    assert run(pol, "x/a", "x/b") == "All Connections"  # 10.244.0.10 inside the block
    assert run(pol, "y/a", "x/b") == "No Connections"  # 10.244.1.10 in the except
    assert run(pol, "10.244.2.5", "x/b") == "All Connections"  # external IP
    assert run(pol, "x/a", "x/b", ipblock_matches_pods=False) == "No Connections"


def test_egress_and_ingress_must_both_allow():
    pol = DENY_X + textwrap.dedent("""
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: eg, namespace: y}
    spec:
      podSelector: {matchLabels: {app: a}}
      policyTypes: [Egress]
      egress:
      - to: [{namespaceSelector: {}}]
        ports: [{port: 80}, {port: 81}]
    ---
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: in, namespace: x}
    spec:
      podSelector: {matchLabels: {app: b}}
      ingress: [{ports: [{port: 81}, {port: 82}]}]
    """)
    assert run(pol, "y/a", "x/b") == "TCP 81"
    assert run(pol, "y/a", "10.1.1.1") == "No Connections"  # egress to IP: no pod peer matches


def test_policy_types_default_adds_egress_when_egress_rules_exist():
    c = cluster_of(BASE + textwrap.dedent("""
    apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata: {name: p, namespace: x}
    spec:
      podSelector: {}
      egress: [{to: [{podSelector: {}}]}]
    """))
    assert c.policies[0].policy_types == ("Ingress", "Egress")
