"""The objects every cluster has although manifests leave them out: Service default/kubernetes
(kube-apiserver's kubernetesservice controller: first service address, https 443 -> 6443, no
selector, an EndpointSlice of the API servers' addresses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.analysis import Analysis
from podnet.errors import InputError
from podnet.model import load
from podnet.model.builtin import BUILTIN_FILE
from podnet.predict.services import expect
from podnet.services import resolve
from tests.conftest import EXAMPLES
from tests.helpers import cluster_of

OSLO = str(EXAMPLES / "oslo")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=60)


def _kubernetes(cluster):  # type: ignore[no-untyped-def]
    return next(s for s in cluster.services if s.key == "default/kubernetes")


def test_oslo_has_the_kubernetes_service():
    cluster = load([OSLO])
    svc = _kubernetes(cluster)
    assert svc.source.file == BUILTIN_FILE and svc.selector is None
    assert svc.cluster_ip == "10.96.0.1"  # the first address of 10.96.0.0/12
    assert [(p.name, p.port, p.protocol, p.target_port) for p in svc.ports] == [
        ("https", 443, "TCP", 6443)]
    plan = next(p for p in resolve(cluster) if p.key == "default/kubernetes:https")
    # oslo-1 is the node labelled node-role.kubernetes.io/control-plane
    assert [e.address for e in plan.endpoints] == ["10.0.0.1:6443"]
    assert "default" in cluster.namespaces


@pytest.mark.parametrize("labels,expected", [
    ({"n2": "node-role.kubernetes.io/control-plane"}, ["10.0.0.2:6443"]),
    ({"n3": "node-role.kubernetes.io/master"}, ["10.0.0.3:6443"]),  # the legacy role label
    ({"n1": "node-role.kubernetes.io/control-plane", "n3": "node-role.kubernetes.io/control-plane"},
     ["10.0.0.1:6443", "10.0.0.3:6443"]),  # HA: every API server
    ({}, ["10.0.0.1:6443"]),  # nobody labelled: the first node by name
])
def test_endpoints_are_the_control_plane_nodes(labels, expected):
    nodes = "".join(
        f"apiVersion: v1\nkind: Node\nmetadata: {{name: n{i}, labels: {{{labels.get(f'n{i}', 'x')}: ''}}}}\n"
        f"status: {{addresses: [{{type: InternalIP, address: 10.0.0.{i}}}]}}\n---\n" for i in (1, 2, 3))
    plan = next(p for p in resolve(cluster_of(nodes)) if p.key == "default/kubernetes:https")
    assert [e.address for e in plan.endpoints] == expected


def test_service_cidr_and_a_given_kubernetes_service():
    cluster = load([OSLO], overrides={"service_cidr": "10.100.0.0/16"})
    assert _kubernetes(cluster).cluster_ip == "10.100.0.1"
    given = cluster_of("""
        apiVersion: v1
        kind: Service
        metadata: {name: kubernetes, namespace: default}
        spec: {clusterIP: 10.96.0.1, ports: [{name: https, port: 443, targetPort: 6443}]}
        ---
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata: {name: kubernetes, namespace: default, labels: {kubernetes.io/service-name: kubernetes}}
        addressType: IPv4
        endpoints: [{addresses: [192.168.1.5]}]
        ports: [{name: https, port: 6443, protocol: TCP}]
        """)
    assert [s.source.file for s in given.services if s.key == "default/kubernetes"] == ["test.yaml"]
    plan = next(p for p in resolve(given) if p.key == "default/kubernetes:https")
    assert [e.address for e in plan.endpoints] == ["192.168.1.5:6443"]


def test_another_service_cannot_take_the_first_address():
    with pytest.raises(InputError, match="already allocated to default/kubernetes") as e:
        cluster_of("apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: x}\n"
                   "spec: {clusterIP: 10.96.0.1, ports: [{port: 443}]}\n")
    assert "spec.clusterIP" in str(e.value)


def test_dns_answers_kubernetes_default():
    r = podnet("dns", "-f", OSLO, "--pod", "production/frontend-0", "kubernetes.default", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [(a["type"], a["value"]) for a in data["answer"]] == [("A", "10.96.0.1")]
    assert data["queries"][0]["name"] == "kubernetes.default.production.svc.cluster.local."
    assert data["queries"][0]["rcode"] == "NXDOMAIN"


def test_services_table_shows_it():
    r = podnet("services", "-f", OSLO, "-o", "json")
    rows = {s["service"]: s for s in json.loads(r.stdout)["services"]}
    assert rows["default/kubernetes:https"]["clusterIP"] == "10.96.0.1"
    assert rows["default/kubernetes:https"]["endpoints"] == ["10.0.0.1:6443"]


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_probe_prediction_is_the_api_server(mode):
    """What lab probe expects from 10.96.0.1:443: the API server on oslo-1 (the lab runs a
    stand-in there), from a pod on that node and from one that crosses the underlay."""
    a = Analysis(load([OSLO]))
    for key in ("production/frontend-0", "production/backend-1"):
        pod = a.cluster.pod(key)
        assert pod is not None
        e = expect(a, mode, pod.node, pod, "10.96.0.1", 443, "TCP")
        assert (e.verdict, e.allowed) == ("DNAT", {"kube-apiserver@oslo-1": True})
        assert e.agrees("kube-apiserver@oslo-1") and not e.agrees("rejected")


def test_egress_policy_can_deny_the_api_server():
    cluster = cluster_of("""
        apiVersion: v1
        kind: Pod
        metadata: {name: p, namespace: x, labels: {app: p}}
        spec: {nodeName: n2, containers: [{name: c}]}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: n1, labels: {node-role.kubernetes.io/control-plane: ""}}
        ---
        apiVersion: v1
        kind: Node
        metadata: {name: n2}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: deny-egress, namespace: x}
        spec: {podSelector: {}, policyTypes: [Egress]}
        """)
    pod = cluster.pod("x/p")
    assert pod is not None
    e = expect(Analysis(cluster), "iptables", "n2", pod, "10.96.0.1", 443, "TCP")
    assert e.allowed == {"kube-apiserver@n1": False} and e.agrees("dropped")
