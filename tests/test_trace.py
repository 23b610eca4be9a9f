"""podnet trace: hop-by-hop paths, goldens per case, JSON contract, MTU findings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import EXAMPLES

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
    assert "kube-proxy (ipvs) DNAT" in dnat() and "ipvs tcp 10.96.0.11:80" in dnat()
    ipt = dnat("--proxy", "iptables")
    assert "KUBE-SVC-VBGUGA6MFPPL5OJN" in ipt and "(p=0.5)" in ipt
    assert "service-ips" not in ipt and "numgen" not in ipt
    assert "nat-prerouting -> services -> service-" in dnat("--proxy", "nftables")
    r = podnet("trace", "-f", OSLO, "--from", "production/frontend-1", "--to",
               "production/backend-service:81/TCP")
    assert r.returncode == 2 and "no port 81/TCP" in r.stderr
