"""kube-proxy's nftables and IPVS modes: the published nftables blocks, goldens per node, and
the three modes traced side by side on the same packets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.model import load
from podnet.names import nft_hash_and_truncate as hash_and_truncate
from podnet.netfilter.walk import trace_rules
from podnet.services import NftablesOptions, render_nftables, resolve
from podnet.services.render import PROXY_MODES, render_for_node
from tests.conftest import EXAMPLES, ROOT

ANCHOR = ROOT / "tests" / "manifests" / "kube-proxy-anchor"
EDGE = ROOT / "tests" / "manifests" / "services-edge"
ANCHOR_GOLDEN = ROOT / "tests" / "golden" / "kube-proxy-anchor"


def anchor_nft() -> str:
    # TestOverallNFTablesRules' fixture: node IP 192.168.0.2, service CIDR 172.30.0.0/16.
    return render_nftables(resolve(load([str(ANCHOR)])),
                           NftablesOptions("node-1", "192.168.0.2", "10.0.0.0/8", "172.30.0.0/16"))


@pytest.mark.parametrize("name,expected", [
    ("ns1/svc1/tcp/p80", "ULMVA6XW"), ("ns4/svc4/tcp/p80", "LAUZTJTB"),
    ("ns4/svc4/tcp/p80__10.180.0.4/80", "UNZV3OEC"), ("ns4/svc4/tcp/p80__10.180.0.5/80", "5RFCDDV7"),
    ("ns3/svc3/tcp/p80", "4AT6LBPK"),
])
def test_nft_chain_hashes(name, expected):
    assert hash_and_truncate(name) == f"{expected}-{name}"


def test_nft_long_names_are_truncated():
    name = "n" * 300
    got = hash_and_truncate(name)
    assert len(got) == 240 and got.endswith("...")


def test_nft_base_ruleset_is_kube_proxys_byte_for_byte():
    want = (ANCHOR_GOLDEN / "nft-base.rules").read_text().splitlines()
    assert anchor_nft().splitlines()[:len(want)] == want


def test_nft_published_service_lines():
    """Every line of the published per-service block is ours, in the same order per chain."""
    got = anchor_nft().splitlines()
    want = [w for w in (ANCHOR_GOLDEN / "nft-svc.rules").read_text().splitlines()
            if w and not w.startswith("#")]
    missing = [w for w in want if w not in got]
    assert missing == []
    for chain in {w.split()[4] for w in want if w.startswith("add rule ")}:
        order = [w for w in want if w.startswith(f"add rule ip kube-proxy {chain} ")]
        ours = [g for g in got if g.startswith(f"add rule ip kube-proxy {chain} ")]
        assert ours == order


def test_nft_affinity_firewall_and_local():
    text = anchor_nft()
    assert ("add set ip kube-proxy affinity-QR2OSYWX-ns5/svc5/tcp/p80__10.180.0.5/80 { type "
            "ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; }") in text
    assert "update @affinity-QR2OSYWX-ns5/svc5/tcp/p80__10.180.0.5/80 { ip saddr }" in text
    assert "firewall-HVFWP5L3-ns5/svc5/tcp/p80 ip saddr != { 203.0.113.0/25 } drop" in text
    edge = load([str(EDGE)])
    a, b = (render_for_node("nftables", edge, n) for n in ("node-a", "node-b"))
    # the ranges cover the node, so the LB IP itself is admitted (hairpin from the node)
    assert "ip saddr != { 192.168.10.0/24 , 198.51.100.0/24 , 192.0.2.51 } drop" in a
    # Local with the only endpoint on node-a: node-b short-circuits pods and drops the rest
    assert 'ip saddr 10.244.0.0/16 goto service-' in b and "goto local-" not in b.split("lb-local")[-1]
    assert 'comment "edge/lb-local:http" : drop }' in b
    assert 'comment "edge/lb-local:http" : drop }' not in a
    assert 'no-endpoint-nodeports { tcp . 31005 comment "edge/empty:http" : goto reject-chain }' in a


@pytest.mark.parametrize("mode", ["nftables", "ipvs"])
@pytest.mark.parametrize("node", ["oslo-1", "oslo-2"])
def test_oslo_goldens(golden, mode, node):
    cluster = load([str(EXAMPLES / "oslo")])
    golden(f"services/oslo-{node}.{'nft' if mode == 'nftables' else 'ipvs'}",
           render_for_node(mode, cluster, node))


@pytest.mark.parametrize("mode", PROXY_MODES)
@pytest.mark.parametrize("node", ["node-a", "node-b"])
def test_edge_goldens(golden, mode, node):
    ext = {"iptables": "rules", "nftables": "nft", "ipvs": "ipvs"}[mode]
    golden(f"services/edge-{node}.{ext}", render_for_node(mode, load([str(EDGE)]), node))


def _flows(cluster, node, plan):
    srcs = [p.ip for p in cluster.pods[:3]] + ["198.51.100.9", "203.0.113.7", node.internal_ip]
    dsts = [(plan.cluster_ip, plan.port)] + [(ip, plan.port) for ip in
                                             plan.external_ips + plan.load_balancer_ips]
    if plan.node_port:
        dsts.append((node.internal_ip, plan.node_port))
    return [(s, d, port) for s in srcs for d, port in dsts]


@pytest.mark.parametrize("manifests", [ANCHOR, EXAMPLES / "oslo", EDGE], ids=lambda p: p.name)
def test_three_modes_agree(manifests):
    """The same packets through each mode's rendered text: iptables and nftables agree on
    every flow; IPVS agrees except where its design differs (Local policies: no short-circuit
    for pods, no local endpoint means no real server, which IPVS answers with a reject)."""
    cluster = load([str(manifests)])
    plans = resolve(cluster)
    checked = 0
    for node in cluster.nodes:
        texts = {m: render_for_node(m, cluster, node.name, plans) for m in PROXY_MODES}
        for plan in plans:
            for src, dst, port in _flows(cluster, node, plan):
                got = {m: trace_rules(m, texts[m], src, dst, port, plan.protocol, (node.internal_ip,))
                       for m in PROXY_MODES}
                ipt, nft, ipvs = ((o.verdict, sorted(o.endpoints), o.masquerade) for o in got.values())
                assert ipt == nft, (node.name, plan.key, src, dst, port)
                if not (plan.external_local or plan.internal_local):
                    assert ipvs == ipt, (node.name, plan.key, src, dst, port)
                checked += 1
    assert checked > 50


def test_ipvs_local_policy_differences():
    edge = load([str(EDGE)])
    plans = resolve(edge)
    b = render_for_node("ipvs", edge, "node-b", plans)
    a = render_for_node("ipvs", edge, "node-a", plans)
    pod = "10.244.2.10"
    # iptables/nftables let node-b's pods reach an externalTrafficPolicy=Local LB IP
    ipt = trace_rules("iptables", render_for_node("iptables", edge, "node-b", plans),
                      pod, "192.0.2.50", 80, "TCP", ("192.168.10.2",))
    assert ipt.verdict == "DNAT"
    assert trace_rules("ipvs", b, pod, "192.0.2.50", 80, "TCP", ("192.168.10.2",)).verdict == "REJECT"
    assert trace_rules("ipvs", a, pod, "192.0.2.50", 80, "TCP", ("192.168.10.1",)).endpoints == [
        ("10.244.1.11:8080", 1.0)]
    assert "add KUBE-LOAD-BALANCER-LOCAL 192.0.2.50,tcp:80 -exist" in b
    assert "add KUBE-NODE-PORT-SCTP-HASH 192.168.10.2,sctp:31868 -exist" in b
    assert "-A --sctp-service 10.96.20.4:3868 -s rr" in b
    assert "-A -u 10.96.20.4:53 -s rr" in b
    assert "ip addr add 192.0.2.51/32 dev kube-ipvs0" in b


def test_services_cli_renders_every_mode():
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "podnet", "services", "-f", str(EXAMPLES / "oslo"),
                               *args], capture_output=True, text=True)

    nft = run("--render", "nftables", "--node", "oslo-2")
    assert nft.returncode == 0 and nft.stdout.startswith("add table ip kube-proxy")
    ipvs = run("--render", "ipvs")
    assert ipvs.returncode == 0 and "# ipvsadm-restore" in ipvs.stdout
    bad = run("--render", "userspace")
    assert bad.returncode == 2 and "choose one of iptables, nftables, ipvs" in bad.stderr
    data = json.loads(run("-o", "json").stdout)
    assert data["node"] == "oslo-1"


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
def test_probe_prediction_judges_policy_where_the_forward_hook_does(mode):
    """A pod whose egress admits only the web pods: a NodePort on its own node is DNATed before
    its egress check (allowed), one on another node leaves as addressed (denied by egress); an
    endpoint behind a masquerade to another node sees the receiving node's IP (denied by an
    ingress policy that admits only the outside client)."""
    from podnet.analysis import Analysis
    from podnet.predict.services import expect

    cluster = load([str(ROOT / "tests" / "manifests" / "lab-services")], nodes=2)
    plans = resolve(cluster)
    a = Analysis(cluster)
    client, web = cluster.pod("shop/client-0"), cluster.pod("shop/web-0")
    ip = {n.name: n.internal_ip for n in cluster.nodes}
    own, far = client.node, next(n for n in ip if n != client.node)

    def at(node, src, dst, port):
        return expect(a, mode, node, src, dst, port, "TCP")

    assert at(own, client, ip[own], 30080).summary() == "allowed"
    assert at(far, client, ip[far], 30080).summary() == "denied"
    assert at(own, client, "192.0.2.80", 80).summary() == "allowed"
    api_node = cluster.pod("shop/api-0").node
    other = next(n for n in ip if n != api_node)
    # web has no egress policy; api admits only 10.0.0.254, and 30083 masquerades on the way
    assert at(other, web, ip[other], 30083).summary() == "denied"
    assert at(other, "10.0.0.254", ip[other], 30083).summary() == "denied"
    assert at(api_node, "10.0.0.254", ip[api_node], 30083).summary() == "allowed"
    # hostNetwork endpoints are their nodes' IPs to policy: outside the client's egress, except
    # on the client's own node
    exporter = next(p for p in plans if p.key == "shop/exporter:metrics")
    assert sorted(e.ip for e in exporter.endpoints) == sorted(ip.values())
    assert at(web.node, web, exporter.cluster_ip, 9100).summary() == "allowed"
    # the exporter on the client's own node is the node itself, always reachable
    assert at(own, client, exporter.cluster_ip, 9100).allowed == {
        f"shop/exporter-{own}": True, f"shop/exporter-{far}": False}


def test_renderers_leave_the_garbage_collector_as_they_found_it():
    import gc

    plans = resolve(load([str(EDGE)]))
    seen = []
    for enabled in (True, False):
        (gc.enable if enabled else gc.disable)()
        try:
            for mode in PROXY_MODES:
                render_for_node(mode, load([str(EDGE)]), "node-a", plans)
                seen.append(gc.isenabled())
        finally:
            gc.enable()
    assert seen == [True] * len(PROXY_MODES) + [False] * len(PROXY_MODES)
