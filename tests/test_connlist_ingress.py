"""The ingress controller's connections in ``podnet connlist``: which pod port an Ingress
backend reaches through its Service.

netpol-analyzer (pkg/netpol/connlist/internal/ingressanalyzer/ingress_analyzer.go,
getPeerAccessPort; golden k8s_ingress_test_new_exposure_output.txt) takes the first Service
port whose name, port or targetPort equals the backend's port.
"""

from __future__ import annotations

from podnet.policy.compile import compile_policies
from podnet.policy.connlist import connlist
from tests.helpers import cluster_of

APP = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: default, labels: {app: web}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}, {containerPort: 9090}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: web}
  ports:
  - {name: grpc, port: 5000, targetPort: 8080}
  - {name: metrics, port: 9090}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  rules:
  - http:
      paths:
      - path: /
        pathType: Prefix
        backend: {service: {name: web, port: {%s}}}
"""


def ingress_line(port: str) -> list[str]:
    cluster = cluster_of(APP % port)
    lines = connlist(cluster, compile_policies(cluster.policies))
    return [ln for ln in lines if ln.startswith("{ingress-controller}")]


def test_backend_port_matches_the_service_port():
    assert ingress_line("number: 5000") == ["{ingress-controller} => default/web[Pod] : TCP 8080"]


def test_backend_port_matches_the_target_port_too():
    assert ingress_line("number: 8080") == ["{ingress-controller} => default/web[Pod] : TCP 8080"]


def test_backend_port_by_name():
    assert ingress_line("name: metrics") == ["{ingress-controller} => default/web[Pod] : TCP 9090"]


def test_a_port_no_service_port_has_reaches_nothing():
    assert ingress_line("number: 7000") == []
