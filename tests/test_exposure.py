"""Exposure analysis (``podnet connlist --exposure``) on small hand-written clusters.

The semantics follow np-guard/netpol-analyzer's exposure analysis
(pkg/netpol/connlist/exposure_analysis_test.go and its tests/exposure_* inputs); the whole
txt output is checked against its goldens by tests/test_conformance_cases.py.
"""

from __future__ import annotations

import json

import pytest

from podnet.cli.common import load_cluster
from podnet.policy.compile import compile_policies
from podnet.policy.connlist import connlist
from podnet.policy.exposure import ExposedPeer, exposure, split_line
from podnet.policy.exposure_report import exposure_report
from podnet.policy.exposure_txt import peer_text, render
from tests.conftest import CONFORMANCE, needs_corpus
from tests.helpers import cluster_of, namespace, pod


def policy(ns: str, name: str, select: dict[str, str], types: str, ingress: str = "",
           egress: str = "") -> str:
    lab = ", ".join(f"{k}: {v}" for k, v in select.items())
    text = (f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: {name}, namespace: {ns}}}\nspec:\n"
            f"  podSelector: {{matchLabels: {{{lab}}}}}\n  policyTypes: [{types}]\n")
    if ingress:
        text += f"  ingress: {ingress}\n"
    if egress:
        text += f"  egress: {egress}\n"
    return text + "---\n"


def analyse(text: str, **kw: object) -> tuple[dict[str, ExposedPeer], list[str]]:
    cluster = cluster_of(text)
    compiled = compile_policies(cluster.policies, ipblock_matches_pods=False)
    lines = connlist(cluster, compiled)
    peers = exposure(cluster, compiled, [split_line(ln) for ln in lines], **kw)  # type: ignore[arg-type]
    return {p.workload: p for p in peers}, render(lines, peers)


def items(peer: ExposedPeer, side: str) -> dict[str, str]:
    return {peer_text(i): i.conns for i in getattr(peer, side)}


A = "app/a[Pod]"
BASE = namespace("app", {}) + pod("app", "a", {"app": "a"}, "{containerPort: 8080, name: http}")


def test_exposed_to_all_namespaces_on_one_port():
    peers, _ = analyse(BASE + policy("app", "p", {"app": "a"}, "Ingress",
                                     ingress="[{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}]"))
    a = peers[A]
    assert a.ingress_protected and not a.egress_protected
    assert items(a, "ingress") == {"entire-cluster": "TCP 8080"}
    assert items(a, "egress") == {"0.0.0.0-255.255.255.255[External]": "All Connections",
                                  "entire-cluster": "All Connections"}


def test_exposed_to_a_namespace_selector_even_when_such_a_namespace_exists():
    ops = namespace("ops", {"team": "ops"}) + pod("ops", "m", {"role": "mon"})
    peers, lines = analyse(BASE + ops + policy(
        "app", "p", {"app": "a"}, "Ingress",
        ingress="[{from: [{namespaceSelector: {matchLabels: {team: ops}}}], ports: [{port: 8080}]}]"))
    assert items(peers[A], "ingress") == {"[namespace with {team=ops}]/[all pods]": "TCP 8080"}
    # the pod that exists is a real connection as well, listed by connlist
    assert "ops/m[Pod] => app/a[Pod] : TCP 8080" in lines


def test_exposed_to_a_pod_selector_in_any_namespace():
    peers, _ = analyse(BASE + policy(
        "app", "p", {"app": "a"}, "Ingress",
        ingress="[{from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: mon}}}], "
                "ports: [{port: 9090}, {port: http}]}]"))
    # the named port resolves on the exposed pod itself
    assert items(peers[A], "ingress") == {"[all namespaces]/[pod with {role=mon}]": "TCP 8080,9090"}


def test_a_pod_matching_a_label_only_rule_stands_for_it():
    rule = "[{from: [{podSelector: {matchLabels: {role: mon}}}]}]"
    alone, _ = analyse(BASE + policy("app", "p", {"app": "a"}, "Ingress", ingress=rule))
    assert items(alone[A], "ingress") == {"app/[pod with {role=mon}]": "All Connections"}
    with_pod, lines = analyse(BASE + pod("app", "m", {"role": "mon"})
                              + policy("app", "p", {"app": "a"}, "Ingress", ingress=rule))
    assert items(with_pod[A], "ingress") == {}
    assert "app/m[Pod] => app/a[Pod] : All Connections" in lines


def test_equivalent_selectors_are_one_peer_and_overlapping_ones_are_not():
    peers, _ = analyse(BASE + policy(
        "app", "p", {"app": "a"}, "Ingress",
        ingress="[{from: [{podSelector: {matchLabels: {role: x}}}], ports: [{port: 1}]},"
                " {from: [{podSelector: {matchExpressions: [{key: role, operator: In, values: [x]}]}}],"
                "  ports: [{port: 2}]},"
                " {from: [{podSelector: {matchExpressions: [{key: role, operator: NotIn, values: [z, y]}]}}],"
                "  ports: [{port: 3}]}]"))
    assert items(peers[A], "ingress") == {
        "app/[pod with {role=x}]": "TCP 1-2",
        "app/[pod with {{Key:role,Operator:NotIn,Values:[z y],}}]": "TCP 3"}


def test_egress_to_external_ranges_and_named_ports_toward_selectors():
    peers, _ = analyse(BASE + policy(
        "app", "p", {"app": "a"}, "Egress",
        egress="[{to: [{ipBlock: {cidr: 203.0.113.0/24}}], ports: [{port: 443}]},"
               " {to: [{namespaceSelector: {matchLabels: {team: ops}}}], ports: [{port: http}]}]"))
    a = peers[A]
    assert not a.ingress_protected and a.egress_protected
    assert items(a, "egress") == {"203.0.113.0-203.0.113.255[External]": "TCP 443",
                                  "[namespace with {team=ops}]/[all pods]": "TCP http"}


def test_default_deny_is_not_exposed():
    deny = policy("app", "deny", {"app": "a"}, "Ingress, Egress")
    peers, lines = analyse(BASE + pod("app", "b", {"app": "b"}) + deny.replace(
        "podSelector: {matchLabels: {app: a}}", "podSelector: {}"))
    assert peers == {}
    assert lines == ["Exposure Analysis Result:"]


def test_focus_keeps_one_workload_and_one_direction():
    text = BASE + pod("app", "b", {"app": "b"})
    peers, _ = analyse(text, focus=("a",), direction="egress")
    assert list(peers) == [A]
    assert peers[A].ingress == () and peers[A].ingress_protected


def test_txt_layout_pads_workloads_and_lists_unprotected_sides():
    _, lines = analyse(BASE + policy("app", "p", {"app": "a"}, "Ingress",
                                     ingress="[{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}]")
                       + pod("app", "long-name", {"app": "l"}))
    start = lines.index("Exposure Analysis Result:")
    assert lines[start - 1] == ""
    width = len("app/long-name[Pod]")
    assert f"{A:<{width}} \t<= \tentire-cluster : TCP 8080" in lines
    assert lines[-3:] == ["app/a[Pod] is not protected on Egress",
                          "app/long-name[Pod] is not protected on Egress",
                          "app/long-name[Pod] is not protected on Ingress"]
    assert lines[start + 1] == "Egress Exposure:"
    assert "" in lines[start:] and "Ingress Exposure:" in lines[start:]


def _format_cases() -> list[dict[str, object]]:
    """netpol-analyzer's exposure goldens in json, csv, md and dot whose input podnet models
    without admin tiers and that need no focus option (the CLI's -o for these formats comes
    with another change; this checks the renderers against the goldens meanwhile)."""
    if not CONFORMANCE.exists():
        return []
    cases = json.loads((CONFORMANCE / "cases.json").read_text())
    return [c for c in cases if c["kind"] == "exposure" and c["format"] in ("json", "csv", "md", "dot")
            and not {"AdminNetworkPolicy", "BaselineAdminNetworkPolicy"} & set(c["needs"])
            and not any(c.get(k) for k in ("focus_workload", "focus_conn", "explain"))]


@needs_corpus
@pytest.mark.parametrize("case", _format_cases(), ids=lambda c: str(c["id"]))
def test_exposure_formats_match_netpol_analyzer(case):
    cluster = load_cluster([str(CONFORMANCE / str(case["dir"]))])
    compiled = compile_policies(cluster.policies, ipblock_matches_pods=False)
    got = exposure_report(cluster, compiled, connlist(cluster, compiled), str(case["format"]))
    want = (CONFORMANCE / str(case["expected"])).read_text()
    assert got.rstrip("\n") == want.rstrip("\n")


# --focus-conn: netpol-analyzer's exposure_map.go (addPeerXgressEntireClusterExp,
# connectionEqualsEntireClusterConn) keeps, on a protected side, the entire-cluster line when it
# admits the connection and otherwise the representatives that admit it, each as that connection
# alone; an unprotected side stays "All Connections". Goldens: anp_demo_udp-52_exposure_output.*
WIDE_AND_NARROW = BASE + policy(
    "app", "p", {"app": "a"}, "Ingress",
    ingress="[{from: [{namespaceSelector: {}}], ports: [{port: 8080}]}, "
            "{from: [{namespaceSelector: {matchLabels: {team: ops}}}], ports: [{port: 9090}, {port: 8080}]}]")


def test_focus_conn_admitted_by_the_entire_cluster_keeps_that_line_alone():
    peers, _ = analyse(WIDE_AND_NARROW, conn=("TCP", 8080))
    assert items(peers[A], "ingress") == {"entire-cluster": "TCP 8080"}
    # the unprotected side is not narrowed
    assert items(peers[A], "egress")["entire-cluster"] == "All Connections"


def test_focus_conn_admitted_only_by_a_representative_names_it():
    peers, _ = analyse(WIDE_AND_NARROW, conn=("TCP", 9090))
    assert items(peers[A], "ingress") == {"[namespace with {team=ops}]/[all pods]": "TCP 9090"}


def test_focus_conn_admitted_by_nothing_leaves_the_protected_side_empty():
    peers, _ = analyse(WIDE_AND_NARROW, conn=("UDP", 53))
    assert items(peers[A], "ingress") == {}


def test_focus_conn_layouts_drop_the_connection_column():
    cluster = cluster_of(WIDE_AND_NARROW)
    compiled = compile_policies(cluster.policies, ipblock_matches_pods=False)
    lines = connlist(cluster, compiled)
    txt = exposure_report(cluster, compiled, lines, "txt", conn=("TCP", 9090)).splitlines()
    assert txt[0] == "Permitted connections on TCP 9090:"
    assert "Exposure Analysis Result On TCP 9090:" in txt
    assert f"{A} \t<= \t[namespace with {{team=ops}}]/[all pods]" in txt
    assert not any("not protected" in ln for ln in txt)
    csv = exposure_report(cluster, compiled, lines, "csv", conn=("TCP", 9090)).splitlines()
    assert csv[0] == "src,dst" and "Exposure Analysis Result On TCP 9090:,," in csv
    assert f"{A},[namespace with {{team=ops}}]/[all pods]" in csv
    md = exposure_report(cluster, compiled, lines, "md", conn=("TCP", 9090)).splitlines()
    assert md[:2] == ["| src | dst |", "|-----|-----|"]
    doc = json.loads(exposure_report(cluster, compiled, lines, "json", conn=("TCP", 9090)))
    assert set(doc) == {"connlist_conn_focus_results", "exposure_conn_focus_results"}
    assert {"src": "[namespace with {team=ops}]/[all pods]", "dst": A} in \
        doc["exposure_conn_focus_results"]["ingress_exposure"]
