"""Packets walked through kube-proxy's rendered rules, table-driven like runPacketFlowTests."""

from __future__ import annotations

import pytest

from podnet.model import load
from podnet.netfilter import parse_restore, trace_packet
from podnet.services import IptablesOptions, render_iptables, resolve
from tests.conftest import ROOT

RULES = parse_restore(render_iptables(resolve(load([str(ROOT / "tests" / "manifests" /
                                                           "kube-proxy-anchor")])),
                                      IptablesOptions("node-1", "10.0.0.0/8")))
NODE = ("192.168.0.2",)


@pytest.mark.parametrize("name,src,dst,port,verdict,endpoints,masq", [
    ("pod to cluster IP", "10.0.0.2", "172.30.0.44", 80, "DNAT",
     [("10.180.0.4:80", 0.5), ("10.180.0.5:80", 0.5)], False),
    ("outside to cluster IP is masqueraded", "192.168.0.5", "172.30.0.44", 80, "DNAT",
     [("10.180.0.4:80", 0.5), ("10.180.0.5:80", 0.5)], True),
    ("external IP", "10.0.0.2", "192.168.99.33", 80, "DNAT",
     [("10.180.0.4:80", 0.5), ("10.180.0.5:80", 0.5)], True),
    ("node port on the node IP", "203.0.113.9", "192.168.0.2", 3003, "DNAT", [("10.180.0.3:80", 1.0)],
     True),
    ("no endpoints rejects", "10.0.0.2", "172.30.0.46", 80, "REJECT", [], False),
    ("wrong port matches nothing", "10.0.0.2", "172.30.0.44", 81, "ACCEPT", [], False),
    ("LB IP from an allowed source range", "203.0.113.5", "5.6.7.8", 80, "DNAT",
     [("10.180.0.5:80", 1.0)], True),
    ("LB IP from elsewhere: not DNATed, KUBE-PROXY-FIREWALL drops it", "198.51.100.1", "5.6.7.8",
     80, "DROP", [], False),
])
def test_packet_flows(name, src, dst, port, verdict, endpoints, masq):
    out = trace_packet(RULES, src, dst, port, "TCP", NODE)
    assert (out.verdict, out.endpoints, out.masquerade) == (verdict, endpoints, masq), out.chains


def test_three_endpoints_split_evenly():
    from podnet.model import build, read_texts

    svc = """apiVersion: v1
kind: Service
metadata: {name: s, namespace: n}
spec: {clusterIP: 10.96.0.50, ports: [{name: p, port: 80}]}
---
apiVersion: v1
kind: Endpoints
metadata: {name: s, namespace: n}
subsets: [{addresses: [{ip: 10.1.0.1}, {ip: 10.1.0.2}, {ip: 10.1.0.3}], ports: [{name: p, port: 80}]}]
"""
    cluster = build(read_texts([("s.yaml", svc)]))
    rs = parse_restore(render_iptables(resolve(cluster), IptablesOptions("node-1", "10.244.0.0/16")))
    out = trace_packet(rs, "10.244.0.9", "10.96.0.50", 80, "TCP")
    assert [round(p, 6) for _, p in out.endpoints] == [0.333333, 0.333333, 0.333333]


def test_rendered_rulesets_are_consistent():
    from podnet.netfilter.check import problems
    from tests.conftest import EXAMPLES

    cluster = load([str(EXAMPLES / "oslo")])
    for node in cluster.nodes:
        rs = parse_restore(render_iptables(resolve(cluster), IptablesOptions(node.name, "10.244.0.0/16")))
        assert problems(rs) == []
    assert problems(RULES) == []
    broken = parse_restore("*nat\n:KUBE-SERVICES - [0:0]\n:KUBE-SVC-THIS-NAME-IS-FAR-TOO-LONG-X - [0:0]\n"
                           "-A KUBE-SERVICES -j KUBE-SVC-MISSING\nCOMMIT\n")
    found = problems(broken)
    assert any("undefined chain KUBE-SVC-MISSING" in p for p in found)
    assert any("longer than 28" in p for p in found)


def test_nft_check_on_every_rendered_ruleset_and_on_broken_ones():
    from podnet.netfilter.check import nft_problems
    from podnet.netfilter.nft_parse import parse_nft
    from podnet.services.render import render_for_node
    from tests.conftest import EXAMPLES, ROOT

    for path in (EXAMPLES / "oslo", ROOT / "tests" / "manifests" / "services-edge",
                 ROOT / "tests" / "manifests" / "lab-services"):
        cluster = load([str(path)])
        for node in cluster.nodes:
            assert nft_problems(parse_nft(render_for_node("nftables", cluster, node.name))) == []
    broken = parse_nft("add table ip kube-proxy\n"
                       "add chain ip kube-proxy services\n"
                       "add map ip kube-proxy service-ips { type ipv4_addr : verdict ; }\n"
                       "add element ip kube-proxy service-ips { 10.0.0.1 : goto service-GONE }\n"
                       "add rule ip kube-proxy services ip daddr vmap @no-such-map\n"
                       f"add rule ip kube-proxy services jump {'x' * 256}\n"
                       f"add chain ip kube-proxy {'y' * 256}\n")
    found = nft_problems(broken)
    assert any("goto to undefined chain service-GONE" in p for p in found)
    assert any("no set or map named no-such-map" in p for p in found)
    assert any("jump to undefined chain xxx" in p for p in found)
    assert any(p.startswith("yyy") and "longer than 255" in p for p in found)
