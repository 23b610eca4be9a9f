"""podnet trace: hop-by-hop paths, goldens per case, JSON contract, MTU findings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES, ROOT

OSLO = str(EXAMPLES / "oslo")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=60)


CASES = {
    # frontend-0 and backend-0 share node oslo-1 (round-robin scheduling in name order)
    "same-node": ("production/frontend-0", "production/backend-0:8080/TCP", "vxlan"),
    "cross-node-vxlan": ("production/frontend-0", "production/backend-1:8080/TCP", "vxlan"),
    "cross-node-bgp": ("production/frontend-0", "production/backend-1:8080/TCP", "bgp"),
    "cross-node-host-gw": ("production/frontend-0", "production/backend-1:8080/TCP", "host-gw"),
    "policy-denied": ("production/database-0", "production/backend-0:8080/TCP", "ipip"),
    "external": ("production/backend-0", "203.0.113.10:443/TCP", "vxlan"),
    "service": ("production/frontend-1", "production/backend-service:80/TCP", "bgp"),
    "service-ip-denied": ("production/database-0", "10.96.0.11:80/TCP", "vxlan"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_trace_golden(golden, case):
    src, dst, cni = CASES[case]
    r = podnet("trace", "-f", OSLO, "--from", src, "--to", dst, "--cni", cni, "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"hops", "path_mtu", "encapsulation", "verdict", "dropped_by"} <= set(data)
    golden(f"trace/{case}.json", json.dumps(data, indent=1) + "\n")


def test_trace_verdicts_and_mtu():
    r = json.loads(podnet("trace", "-f", OSLO, "--from", "production/database-0", "--to",
                          "production/backend-0:8080/TCP", "-o", "json").stdout)
    assert r["verdict"] == "dropped" and r["dropped_by"] == "ingress policy of production/backend-0"
    r = json.loads(podnet("trace", "-f", OSLO, "--from", "production/frontend-0", "--to",
                          "production/backend-1:8080/TCP", "--cni", "vxlan", "-o", "json").stdout)
    assert (r["verdict"], r["encapsulation"], r["path_mtu"]) == ("delivered", "vxlan", 1440)
    # The seed's veth_mtu 1440 no longer fits once the underlay shrinks to 1450.
    r = json.loads(podnet("trace", "-f", OSLO, "--from", "production/frontend-0", "--to",
                          "production/backend-1:8080/TCP", "--cni", "vxlan", "--underlay-mtu",
                          "1450", "-o", "json").stdout)
    assert r["path_mtu"] == 1400 and "exceeds" in r["notes"][0]


def test_trace_table_and_errors():
    r = podnet("trace", "-f", OSLO, "--from", "production/frontend-0", "--to",
               "production/backend-1:8080/TCP")
    assert r.returncode == 0 and "verdict: delivered" in r.stdout
    r = podnet("trace", "-f", OSLO, "--from", "production/nope", "--to", "production/backend-1:80/TCP")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "production/nope" in r.stderr
    r = podnet("trace", "-f", OSLO, "--from", "production/frontend-0", "--to", "production/backend-1")
    assert r.returncode == 2 and "PORT/PROTO" in r.stderr


def test_trace_through_a_service():
    def dnat(*extra: str) -> str:
        r = json.loads(podnet("trace", "-f", OSLO, "--from", "production/frontend-1", "--to",
                              "production/backend-service:80/TCP", "-o", "json", *extra).stdout)
        assert r["port"] == "8080/TCP" and r["verdict"] == "delivered"
        return str([h for h in r["hops"] if h["device"] == "nat PREROUTING"][0]["action"])

    # oslo's KubeProxyConfiguration says ipvs; --proxy overrides it
    assert "kube-proxy (ipvs) on oslo-2 DNAT" in dnat() and "ipvs tcp 10.96.0.11:80" in dnat()
    ipt = dnat("--proxy", "iptables")
    assert "KUBE-SVC-VBGUGA6MFPPL5OJN" in ipt and "(p=0.5)" in ipt
    assert "service-ips" not in ipt and "numgen" not in ipt
    assert "nat-prerouting -> services -> service-" in dnat("--proxy", "nftables")
    r = podnet("trace", "-f", OSLO, "--from", "production/frontend-1", "--to",
               "production/backend-service:81/TCP")
    assert r.returncode == 2 and "no port 81/TCP" in r.stderr


def test_trace_load_balancer_ip_nodeport_and_node_addresses():
    """The addresses kube-proxy translates besides cluster IPs, the node that translates each,
    and what the endpoint's policy sees (the same predictions the lab checks for real)."""
    services = str(ROOT / "tests" / "manifests" / "lab-services")

    def run(src: str, to: str) -> dict:
        r = podnet("trace", "-f", services, "--nodes", "2", "--from", src, "--to", to, "-o", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    # a LoadBalancer IP from a pod: its own node translates it, before its egress check
    lb = run("shop/client-0", "192.0.2.96:80/TCP")
    assert lb["verdict"] == "delivered" and lb["to"].startswith("shop/web-")
    assert any("on node-2 DNAT 192.0.2.96:80" in h["action"] for h in lb["hops"])
    # another node's NodePort leaves as addressed: egress sees node-1's IP
    far = run("shop/client-0", "10.0.0.1:30080/TCP")
    assert far["verdict"] == "dropped" and far["dropped_by"] == "egress policy of shop/client-0"
    far = run("shop/web-1", "10.0.0.1:30080/TCP")
    assert far["verdict"] == "delivered" and far["hops"][-1]["at"] == "node node-1"
    assert any(n.startswith("then kube-proxy (iptables) on node-1 DNAT") for n in far["notes"])
    # masqueraded on the way to another node: api-0 admits only the outside client
    masq = run("shop/web-1", "10.0.0.2:30083/TCP")
    assert masq["verdict"] == "dropped" and any("sees 10.0.0.2" in n for n in masq["notes"])
    # a pod to its own node's address never crosses forward
    own = run("shop/client-0", "10.0.0.2:22/TCP")
    assert own["verdict"] == "delivered" and "node itself" in own["hops"][-1]["action"]


def test_trace_from_outside_matches_what_the_lab_observes():
    """The external client of tests/manifests/lab-services (10.0.0.254): the same outcomes
    test_services_from_outside observes with real packets."""
    services = str(ROOT / "tests" / "manifests" / "lab-services")

    def run(to: str) -> dict:
        r = podnet("trace", "-f", services, "--nodes", "2", "--from", "10.0.0.254", "--to", to,
                   "-o", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    # api-0 runs on node-1; its policy admits only the client's own address
    same = run("10.0.0.1:30083/TCP")
    assert same["verdict"] == "delivered" and same["to"] == "shop/api-0"
    other = run("10.0.0.2:30083/TCP")
    assert other["verdict"] == "dropped" and any("sees 10.0.0.2" in n for n in other["notes"])
    assert any("1500-byte packet from outside does not fit" in n for n in other["notes"])
    local = run("10.0.0.2:30082/TCP")  # externalTrafficPolicy Local, no endpoint on node-2
    assert local["verdict"] == "dropped" and local["dropped_by"] == "kube-proxy on node-2"
    lb = run("192.0.2.81:8080/TCP")  # Local: only node-1 announces it, the client is kept
    assert lb["verdict"] == "delivered" and "node-1, which answers ARP" in lb["hops"][0]["action"]
    r = podnet("trace", "-f", services, "--nodes", "2", "--from", "10.0.0.254", "--to",
               "10.96.0.11:8080/TCP")
    assert r.returncode == 2 and "from outside the cluster" in r.stderr


CROSS = str(ROOT / "tests" / "manifests" / "cross-subnet")


@pytest.mark.parametrize("case,dst,encapsulation", [
    ("cross-subnet-same", "shop/web-a2:8080/TCP", "none"),  # a1, a2: both in 10.0.0.0/24
    ("cross-subnet-across", "shop/web-b1:8080/TCP", "ipip"),  # b1: 10.0.1.0/24
])
def test_trace_cross_subnet_golden(golden, case, dst, encapsulation):
    r = podnet("trace", "-f", CROSS, "--from", "shop/web-a1", "--to", dst, "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    devices = [h["device"] for h in data["hops"]]
    assert data["encapsulation"] == encapsulation
    assert ("tunl0" in devices) == (encapsulation == "ipip")
    golden(f"trace/{case}.json", json.dumps(data, indent=1) + "\n")


def test_trace_cross_subnet_mtu(tmp_path):
    """With the veths at the underlay's 1500 (calico-config veth_mtu), a same-subnet path
    carries full-size packets; only the path across subnets loses IPIP's 20 bytes."""
    (tmp_path / "c.yaml").write_text((ROOT / "tests/manifests/cross-subnet/cluster.yaml").read_text()
                                     + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: "
                                     "{name: calico-config, namespace: kube-system}\n"
                                     "data: {veth_mtu: \"1500\"}\n")

    def trace(dst: str) -> dict:
        r = podnet("trace", "-f", str(tmp_path), "--from", "shop/web-a1", "--to", dst, "-o", "json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    same, across = trace("shop/web-a2:8080/TCP"), trace("shop/web-b1:8080/TCP")
    assert (same["encapsulation"], same["path_mtu"], same["notes"]) == ("none", 1500, [])
    assert all(h["mtu"] in (None, 1500) for h in same["hops"])
    assert (across["encapsulation"], across["path_mtu"]) == ("ipip", 1480)
    assert "exceeds the 1480 bytes" in across["notes"][0]
