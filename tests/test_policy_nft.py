"""The NetworkPolicy ruleset the lab loads, golden-tested like kube-proxy's, parsed back, checked
for consistency, and walked for every pod pair: it must say what the analyzer says."""

from __future__ import annotations

import pytest

from podnet import names
from podnet.errors import PodnetError
from podnet.model import load
from podnet.netfilter.check import nft_problems
from podnet.netfilter.nft_parse import parse_nft
from podnet.netfilter.policy_walk import Packet, forward_verdict
from podnet.policy import Evaluator, compile_cluster
from podnet.policy.nft import render_node, render_nodes
from podnet.policy.query import parse_ports
from tests.conftest import EXAMPLES, ROOT

INPUTS = {"oslo": EXAMPLES / "oslo", "lab-basic": ROOT / "tests" / "manifests" / "lab-basic",
          "lab-services": ROOT / "tests" / "manifests" / "lab-services",
          "lab-admin": ROOT / "tests" / "manifests" / "lab-admin"}


def rulesets(path, log_group=None):  # type: ignore[no-untyped-def]
    cluster = load([str(path)])
    compiled = compile_cluster(cluster)
    if log_group is not None:  # as the lab loads them
        return cluster, compiled, render_nodes(cluster, compiled, [n.name for n in cluster.nodes],
                                               log_group)
    return cluster, compiled, {n.name: render_node(cluster, compiled, n.name)
                               for n in cluster.nodes}


def test_oslo_policy_rulesets_golden(golden):
    _, _, texts = rulesets(INPUTS["oslo"])
    for node, text in texts.items():
        golden(f"policy/oslo-{node}.nft", text)


def test_admin_tiers_rulesets_golden(golden):
    _, _, texts = rulesets(INPUTS["lab-admin"])
    for node, text in texts.items():
        golden(f"policy/lab-admin-{node}.nft", text)


@pytest.mark.parametrize("case", sorted(INPUTS))
def test_rendered_policy_parses_back_and_is_consistent(case):
    _, _, texts = rulesets(INPUTS[case])
    for text in texts.values():
        rs = parse_nft(text)
        assert nft_problems(rs) == []
        assert list(rs.base) == ["forward"]


@pytest.mark.parametrize("log_group", [None, 7], ids=["analyzer", "lab-logs-drops"])
@pytest.mark.parametrize("case", sorted(INPUTS))
def test_the_ruleset_agrees_with_the_analyzer_for_every_pod_pair(case, log_group):
    cluster, compiled, texts = rulesets(INPUTS[case], log_group)
    parsed = {node: parse_nft(text) for node, text in texts.items()}
    ev = Evaluator(cluster, compiled)
    pods = [p for p in cluster.pods if p.ip and not p.host_network]
    ports = parse_ports(None, cluster)
    checked = denied = 0
    for src in pods:
        for dst in pods:
            if src.key == dst.key:
                continue
            allowed = ev.allowed(src, dst)
            sveth, dveth = (names.pod_veth(p.namespace, p.name) for p in (src, dst))
            for port, proto in ports:
                if src.node == dst.node:
                    hops = [(src.node, sveth, dveth)]
                else:
                    hops = [(src.node, sveth, "eth0"), (dst.node, "eth0", dveth)]
                got = all(forward_verdict(parsed[node], Packet(iif, oif, src.ip, dst.ip,
                                                               proto.lower(), port)) == "accept"
                          for node, iif, oif in hops)
                assert got == allowed.allows(proto, port), (src.key, dst.key, port, proto)
                checked += 1
                denied += not got
    assert checked
    assert bool(denied) == (case != "lab-basic")  # lab-basic's policies allow every declared port


@pytest.mark.parametrize("case", ["oslo", "lab-admin"])
def test_the_labs_rulesets_log_every_policy_drop_and_nothing_else(case):
    _, _, plain = rulesets(INPUTS[case])
    _, _, logged = rulesets(INPUTS[case], 7)
    for node, text in logged.items():
        drops = [line.strip() for line in text.splitlines() if " drop" in f" {line.strip()}"]
        assert drops, node
        for line in drops:
            assert (line == "ct state invalid drop"
                    or " log group 7 snaplen 64 drop " in f" {line} "), line
        # the same ruleset otherwise
        assert text.replace("log group 7 snaplen 64 drop", "drop") == plain[node]
        assert nft_problems(parse_nft(text)) == []


def test_the_walk_refuses_grammar_it_does_not_know():
    rs = parse_nft("table inet t {\n\tchain forward {\n\t\ttype filter hook forward priority 0; "
                   "policy accept;\n\t\tmeta mark 0x1 drop\n\t}\n}\n")
    with pytest.raises(PodnetError, match="cannot read"):
        forward_verdict(rs, Packet("a", "b", "10.0.0.1", "10.0.0.2", "tcp", 80))
