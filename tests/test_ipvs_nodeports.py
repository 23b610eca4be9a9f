"""IPVS mode's NodePort virtual servers, after kube-proxy's pkg/proxy/ipvs/proxier_test.go
TestNodePortIPv4: one virtual server (and, for SCTP, one KUBE-NODE-PORT-SCTP-HASH entry) per
node address that nodePortAddresses selects; unset, every node address (podnet knows a node's
addresses from its status, so those stand for the local ones)."""

from __future__ import annotations

import pytest

from podnet.model import load
from podnet.services.render import render_for_node

NODE = """apiVersion: v1
kind: Node
metadata: {{name: test-node}}
status:
  addresses: [{{type: InternalIP, address: 100.101.102.103}},
              {{type: InternalIP, address: 100.101.102.104}},
              {{type: ExternalIP, address: 100.101.102.105}}]
---
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clusterCIDR: 10.0.0.0/8
{extra}
---
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking: {{podSubnet: 10.0.0.0/8, serviceSubnet: 10.20.0.0/16}}
---
apiVersion: v1
kind: Service
metadata: {{name: svc1, namespace: ns1}}
spec:
  type: NodePort
  clusterIP: 10.20.30.41
  ports: [{{name: p80, port: 80, protocol: {proto}, nodePort: 3001}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: svc1-1, namespace: ns1, labels: {{kubernetes.io/service-name: svc1}}}}
addressType: IPv4
endpoints: [{{addresses: [10.180.0.1]}}]
ports: [{{name: p80, port: 80, protocol: {proto}}}]
"""

ALL = ["100.101.102.103", "100.101.102.104", "100.101.102.105"]


def _ipvs(tmp_path, proto: str, extra: str = "") -> str:
    (tmp_path / "c.yaml").write_text(NODE.format(proto=proto, extra=extra))
    return render_for_node("ipvs", load([str(tmp_path / "c.yaml")]), "test-node")


def _servers(text: str, flag: str) -> list[str]:
    return sorted(line.split()[2].rpartition(":")[0] for line in text.splitlines()
                  if line.startswith(f"-A {flag} ") and line.split()[2].endswith(":3001"))


@pytest.mark.parametrize(("extra", "want"), [
    # "node port service with protocol sctp on a node with multiple nodeIPs": unset, every one
    ("", ALL),
    ("nodePortAddresses: ['100.101.102.104/32', '2001:db8::/64']", ["100.101.102.104"]),
    ("nodePortAddresses: [primary]", ["100.101.102.103"]),
    ("nodePortAddresses: ['0.0.0.0/0']", ALL),
])
def test_sctp_node_port_per_selected_address(tmp_path, extra, want):
    text = _ipvs(tmp_path, "SCTP", extra)
    assert _servers(text, "--sctp-service") == want
    for ip in want:  # each with the endpoint behind it
        assert f"-a --sctp-service {ip}:3001 -r 10.180.0.1:80 -m -w 1" in text
    entries = sorted(line.split()[2] for line in text.splitlines()
                     if line.startswith("add KUBE-NODE-PORT-SCTP-HASH "))
    assert entries == [f"{ip},sctp:3001" for ip in want]


def test_tcp_node_port_set_is_by_port_alone(tmp_path):
    """"1 service with node port, has 2 endpoints": the bitmap set holds the port; the virtual
    servers follow the selected addresses."""
    text = _ipvs(tmp_path, "TCP", "nodePortAddresses: ['100.101.102.105/32']")
    assert _servers(text, "-t") == ["100.101.102.105"]
    assert "add KUBE-NODE-PORT-TCP 3001" in text
    assert "-A -t 10.20.30.41:80 -s rr" in text
