"""Objects defined twice (same kind, namespace and name): the last one read wins, as the API
server keeps the object ``kubectl apply -f DIR`` applies last, with a warning naming both places.

netpol-analyzer keeps the last Service too (its acs-security-demos-added-workloads goldens
define payments/visa-processor-service twice, in visa-processor and visa-processor-v2; they
are byte-equal in tests/test_conformance_cases.py), but refuses a repeated NetworkPolicy
(connlist_test.go TestConnlistAnalyzeFatalErrors, np_bad_path_test_1): podnet follows the API
server there, see tests/test_cli.py.
"""

from __future__ import annotations

from podnet.model import build, read_paths
from podnet.policy import Evaluator, compile_cluster
from tests.helpers import cluster_of, namespace, pod


def svc(name: str, app: str, port: int) -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\n"
            f"spec: {{selector: {{app: {app}}}, ports: [{{port: {port}}}]}}\n---\n")


def netpol(name: str, port: int) -> str:
    return ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
            f"metadata: {{name: {name}, namespace: shop}}\n"
            "spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress], "
            f"ingress: [{{ports: [{{port: {port}}}]}}]}}\n---\n")


PODS = (namespace("shop", {}) + pod("shop", "web", {"app": "web"}, "{containerPort: 80}")
        + pod("shop", "api", {"app": "api"}, "{containerPort: 81}"))


def test_the_later_service_replaces_the_earlier_in_one_file():
    c = cluster_of(PODS + svc("front", "web", 80) + svc("front", "api", 8080))
    [s] = [s for s in c.services if s.name == "front"]
    assert [p.name for p in c.service_pods(s)] == ["api"]
    assert s.source.doc == 4  # the second definition, at its own place
    [warn] = [w for w in c.warnings if "defined twice" in w]
    assert "Service shop/front" in warn and "(document 5) replaces" in warn and "(document 4)" in warn


def test_the_later_file_wins_and_the_warning_names_both_files(tmp_path):
    (tmp_path / "a.yaml").write_text(PODS + netpol("only", 80))
    (tmp_path / "b.yaml").write_text(netpol("only", 81))
    c = build(read_paths([str(tmp_path)]))
    assert len(c.policies) == 1
    ev = Evaluator(c, compile_cluster(c))
    web, api = c.pod("shop/web"), c.pod("shop/api")
    assert web is not None and api is not None
    assert ev.allowed(api, web).allows("TCP", 81) and not ev.allowed(api, web).allows("TCP", 80)
    [warn] = [w for w in c.warnings if "defined twice" in w]
    assert f"{tmp_path / 'b.yaml'} (document 1) replaces {tmp_path / 'a.yaml'} (document 4)" in warn
    assert "NetworkPolicy shop/only" in warn


def test_same_name_in_other_namespaces_or_kinds_is_not_a_duplicate():
    text = (PODS + namespace("other", {}) + svc("web", "web", 80)
            + svc("web", "web", 80).replace("namespace: shop", "namespace: other"))
    c = cluster_of(text)
    assert not [w for w in c.warnings if "defined twice" in w]
    assert len([s for s in c.services if s.name == "web"]) == 2
    assert c.pod("shop/web") is not None  # a Pod named like a Service is another kind


def test_a_baseline_policy_applied_twice_is_the_last():
    banp = ("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\n"
            "metadata: {{name: default}}\nspec:\n  subject: {{namespaces: {{}}}}\n"
            "  ingress: [{{action: {action}, from: [{{namespaces: {{}}}}]}}]\n---\n")
    c = cluster_of(PODS + banp.format(action="Deny") + banp.format(action="Allow"))
    assert len(c.admin_policies) == 1
    ev = Evaluator(c, compile_cluster(c))
    web, api = c.pod("shop/web"), c.pod("shop/api")
    assert web is not None and api is not None
    assert ev.allowed(api, web).allows("TCP", 80)
    assert any("BaselineAdminNetworkPolicy default is defined twice" in w for w in c.warnings)
