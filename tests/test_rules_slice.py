"""``Analysis.rules_to``: a trace walks kube-proxy's ruleset cut down to the Services its
destination can meet. For every address kube-proxy translates (and a node's, with every
NodePort), on every port the Services use and one they do not, from a pod and from outside,
the cut ruleset must give the walk of the whole one, in each proxy mode."""

from __future__ import annotations

from dataclasses import replace

import pytest

from podnet.analysis import Analysis
from podnet.model import load
from podnet.netfilter.walk import trace_rules
from tests.conftest import ROOT

SETS = ["services-edge", "lab-services", "kube-proxy-anchor"]


@pytest.mark.parametrize("mode", ["iptables", "nftables", "ipvs"])
@pytest.mark.parametrize("manifests", SETS)
def test_cut_ruleset_walks_like_the_whole(manifests, mode):
    cluster = load([str(ROOT / "tests" / "manifests" / manifests)])
    cluster = replace(cluster, net=replace(cluster.net, proxy_mode=mode))
    whole = Analysis(cluster)
    plans = whole.plans
    assert plans, "a set with Services"
    node = cluster.nodes[0]
    ips = {ip for p in plans for ip in (p.cluster_ip, *p.external_ips, *p.load_balancer_ips)}
    ips.add(node.internal_ip or "")
    ports = {(p.port, p.protocol) for p in plans} | {(p.node_port, p.protocol) for p in plans
                                                    if p.node_port} | {(9, "TCP")}
    sources = [p.ip for p in cluster.pods[:2]] + ["203.0.113.9"]
    checked, shorter = 0, 0
    for dst in sorted(ips):
        cut = Analysis(cluster).rules_to(node, dst)  # a fresh analysis: no full plans cached
        shorter += len(cut) < len(whole.rules(node.name))
        for number, proto in sorted(ports):
            for src in sources:
                args = (src, dst, number, proto.lower(), (node.internal_ip or "",))
                assert trace_rules(mode, cut, *args) == trace_rules(
                    mode, whole.rules(node.name), *args), (dst, number, proto, src)
                checked += 1
    assert checked >= 20 and shorter > 0
