"""Policy kinds podnet does not model are named in a warning, never silently dropped, and
Calico's NetworkPolicy is never read as Kubernetes' (same kind, another API group)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from podnet.model import build, read_paths, read_texts
from tests.conftest import ROOT

SCENARIO = ROOT / "tests" / "manifests" / "unmodelled-policies"
POLICIES = SCENARIO / "policies.yaml"

# (document, kind, ns/name, apiVersion) of every policy in policies.yaml podnet must name
EXPECTED = [
    (1, "CiliumNetworkPolicy", "shop/deny-all", "cilium.io/v2"),
    (2, "CiliumClusterwideNetworkPolicy", "lock-down", "cilium.io/v2"),
    (3, "NetworkPolicy", "shop/db-only-from-web", "projectcalico.org/v3"),
    (4, "NetworkPolicy", "shop/default.deny-web", "crd.projectcalico.org/v1"),
    (5, "GlobalNetworkPolicy", "deny-egress", "projectcalico.org/v3"),
    (6, "GlobalNetworkPolicy", "default.allow-dns", "crd.projectcalico.org/v1"),
    (10, "AuthorizationPolicy", "shop/deny-all", "security.istio.io/v1"),
    (11, "EgressNetworkPolicy", "shop/default", "network.openshift.io/v1"),
    (12, "EgressFirewall", "shop/default", "k8s.ovn.org/v1"),
]


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_each_unmodelled_policy_is_named_once_with_file_kind_and_name():
    c = build(read_paths([str(SCENARIO)]))
    # the ANP and the Admin ClusterNetworkPolicy share priority 10 and a subject: one warning
    unmodelled = [w for w in c.warnings if "both have priority 10" not in w]
    assert len(c.warnings) - len(unmodelled) == 1
    assert len(unmodelled) == len(EXPECTED), c.warnings
    for w, (doc, kind, ident, api) in zip(unmodelled, EXPECTED, strict=True):
        assert w.startswith(f"{POLICIES} (document {doc}), {kind} {ident} ({api}): "), w
        assert w.endswith("policy kind not modelled by podnet; "
                          "reach/explain/connlist/trace answers ignore it")
    # the staged Calico policy (document 13) previews and enforces nothing: no warning
    assert not any("StagedNetworkPolicy" in w for w in c.warnings)
    # documents 7 and 8 (network-policy-api v1alpha1 admin tiers) and 9 (v1alpha2) are modelled now
    assert [(a.kind, a.name) for a in c.admin_policies] == [
        ("ClusterNetworkPolicy", "admin-deny"), ("AdminNetworkPolicy", "isolate-shop"),
        ("BaselineAdminNetworkPolicy", "default")]


def test_calico_network_policy_is_not_read_as_a_kubernetes_one():
    # Calico's schema (spec.selector, action rules) is not Kubernetes': read as Kubernetes'
    # NetworkPolicy it was rejected for a missing spec.podSelector, or, with one, would
    # have isolated pods under Kubernetes' rules
    c = build(read_paths([str(SCENARIO)]))
    assert c.policies == ()
    assert sorted(o.name for o in c.ignored if o.kind == "NetworkPolicy") == [
        "db-only-from-web", "default.deny-web"]


def test_calico_network_policy_that_looks_like_a_kubernetes_one_stays_calico():
    text = textwrap.dedent("""
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: looks-native, namespace: shop}
        spec: {podSelector: {}, policyTypes: [Ingress], selector: all()}
        """)
    c = build(read_texts([("t.yaml", text)]))
    assert c.policies == () and len(c.warnings) == 1 and "Calico" in c.warnings[0]


@pytest.mark.parametrize("api", ["networking.k8s.io/v1", "extensions/v1beta1", "v1", None])
def test_kubernetes_network_policy_is_still_modelled(api):
    head = f"apiVersion: {api}\n" if api else ""
    text = (head + "kind: NetworkPolicy\nmetadata: {name: deny, namespace: shop}\n"
            "spec: {podSelector: {}, policyTypes: [Ingress]}\n")
    c = build(read_texts([("t.yaml", text)]))
    assert [p.name for p in c.policies] == ["deny"] and not c.warnings


@pytest.mark.parametrize("api,want", [("cilium.io/v2", "cilium.io"), ("v1", ""), ("", ""),
                                      ("policy.networking.k8s.io/v1alpha1",
                                       "policy.networking.k8s.io")])
def test_group_of_api_version(api, want):
    from podnet.model.unmodelled import group

    assert group(api) == want


def test_reach_warns_on_stderr_and_keeps_stdout_clean():
    r = podnet("reach", "-f", str(SCENARIO.relative_to(ROOT)), "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["pods"] == ["shop/db-0", "shop/web-0"]
    lines = r.stderr.splitlines()
    assert len(lines) == len(EXPECTED) + 1  # and the shared-priority warning
    assert lines[0] == (f"podnet: warning: {POLICIES.relative_to(ROOT)} (document 1), "
                        "CiliumNetworkPolicy shop/deny-all (cilium.io/v2): Cilium policy kind "
                        "not modelled by podnet; reach/explain/connlist/trace answers ignore it")


def test_connlist_output_is_unchanged_by_the_warnings():
    r = podnet("reach", "-f", str(SCENARIO), "-o", "connlist")
    assert r.returncode == 0
    assert "All Connections" in r.stdout and "warning" not in r.stdout
    assert r.stderr.count("podnet: warning: ") == len(EXPECTED) + 1
