"""kube-proxy's nftables packet-flow tests as the oracle: the tests of
pkg/proxy/nftables/proxier_test.go (kubernetes/kubernetes) that do not compare whole rulesets
but trace packets through them (runPacketFlowTests in pkg/proxy/nftables/helpers_test.go).
Here podnet renders the test's objects and podnet's own nft walker traces each packet; the
expected outcome of every flow is the upstream one: the endpoints a new connection may reach
(in the order of the endpoint map), "REJECT", "DROP" or "" (not handled), and whether the
packet is marked for masquerade. Objects are in tests/manifests/kube-proxy-upstream/nftables/
flows/.
"""

from __future__ import annotations

from functools import cache

import pytest

from podnet.errors import InputError
from podnet.model import load
from podnet.netfilter.nft_parse import NftRuleset, parse_nft
from podnet.netfilter.nft_trace import trace_nft
from podnet.netfilter.walk import trace_rules
from podnet.services import resolve
from podnet.services.render import render_for_node
from tests.test_kube_proxy_nft_upstream import UPSTREAM, fake_render

# testNodeIPs, IPv4: the node's own, its alternate, and an external IP assigned to it
NODE_IPS = ("192.168.0.2", "192.168.1.2", "192.168.99.11")
NODE, NODE_ALT = "192.168.0.2", "192.168.1.2"
EXT, EXT_BLOCKED = "203.0.113.2", "203.0.113.130"  # testExternalClient(Blocked)
POD = "10.0.0.2"


@cache
def _ruleset(manifest: str) -> NftRuleset:
    return parse_nft(fake_render(f"nftables/flows/{manifest}.yaml"))


def trace(manifest: str, src: str, dst: str, port: int, proto: str = "tcp") -> tuple[str, bool]:
    out = trace_nft(_ruleset(manifest), src, dst, port, proto, NODE_IPS)
    if out.endpoints:
        return ", ".join(e for e, _ in out.endpoints), out.masquerade
    return (out.verdict if out.verdict in ("REJECT", "DROP") else ""), out.masquerade


# (upstream test, flow name, source, destination, port, protocol, output, masquerade)
FLOWS = [
    # TestNoEndpointsReject: every address of the Service rejects
    ("TestNoEndpointsReject", "pod to cluster IP", POD, "172.30.0.41", 80, "tcp", "REJECT", False),
    ("TestNoEndpointsReject", "external to external IP", EXT, "192.168.99.11", 80, "tcp", "REJECT",
     False),
    ("TestNoEndpointsReject", "pod to NodePort", POD, NODE, 3001, "tcp", "REJECT", False),
    ("TestNoEndpointsReject", "external to NodePort", EXT, NODE, 3001, "tcp", "REJECT", False),
    ("TestNoEndpointsReject", "pod to LB IP", POD, "1.2.3.4", 80, "tcp", "REJECT", False),
    ("TestNoEndpointsReject", "external to LB IP", EXT, "1.2.3.4", 80, "tcp", "REJECT", False),
    # TestClusterIPGeneral
    ("TestClusterIPGeneral", "simple clusterIP", "10.180.0.2", "172.30.0.41", 80, "tcp",
     "10.180.0.1:80", False),
    ("TestClusterIPGeneral", "hairpin to cluster IP", "10.180.0.1", "172.30.0.41", 80, "tcp",
     "10.180.0.1:80", True),
    ("TestClusterIPGeneral", "multiple endpoints", "10.180.0.2", "172.30.0.42", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestClusterIPGeneral", "TargetPort", "10.180.0.2", "172.30.0.42", 443, "tcp",
     "10.180.0.1:8443, 10.180.2.1:8443", False),
    ("TestClusterIPGeneral", "same port, TCP", "10.180.0.2", "172.30.0.42", 53, "tcp",
     "10.180.0.1:5353, 10.180.2.1:5353", False),
    ("TestClusterIPGeneral", "same port, UDP", "10.180.0.2", "172.30.0.42", 53, "udp",
     "10.180.0.1:53, 10.180.2.1:53", False),
    ("TestClusterIPGeneral", "same port, SCTP", "10.180.0.2", "172.30.0.42", 53, "sctp",
     "10.180.0.1:53, 10.180.2.1:53", False),
    ("TestClusterIPGeneral", "TCP-only port, UDP traffic", "10.180.0.2", "172.30.0.42", 80, "udp",
     "REJECT", False),
    ("TestClusterIPGeneral", "svc1 does not accept svc2's ports", "10.180.0.2", "172.30.0.41", 443,
     "tcp", "REJECT", False),
    ("TestClusterIPGeneral", "unallocated cluster IP", "10.180.0.2", "172.30.0.50", 80, "tcp",
     "DROP", False),
    # TestLoadBalancer: source ranges 192.168.0.0/24 and 203.0.113.0/25
    ("TestLoadBalancer", "pod to cluster IP", POD, "172.30.0.41", 80, "tcp", "10.180.0.1:80", False),
    ("TestLoadBalancer", "external to nodePort", EXT, NODE, 3001, "tcp", "10.180.0.1:80", True),
    ("TestLoadBalancer", "nodePort bypasses source ranges", EXT_BLOCKED, NODE, 3001, "tcp",
     "10.180.0.1:80", True),
    ("TestLoadBalancer", "accepted external to LB1", EXT, "1.2.3.4", 80, "tcp", "10.180.0.1:80",
     True),
    ("TestLoadBalancer", "accepted external to LB2", EXT, "5.6.7.8", 80, "tcp", "10.180.0.1:80",
     True),
    ("TestLoadBalancer", "blocked external to LB1", EXT_BLOCKED, "1.2.3.4", 80, "tcp", "DROP", False),
    ("TestLoadBalancer", "blocked external to LB2", EXT_BLOCKED, "5.6.7.8", 80, "tcp", "DROP", False),
    ("TestLoadBalancer", "pod to LB1", POD, "1.2.3.4", 80, "tcp", "DROP", False),
    ("TestLoadBalancer", "pod to LB2", POD, "5.6.7.8", 80, "tcp", "DROP", False),
    ("TestLoadBalancer", "node to LB1", NODE, "1.2.3.4", 80, "tcp", "10.180.0.1:80", True),
    ("TestLoadBalancer", "node to LB2", NODE, "5.6.7.8", 80, "tcp", "10.180.0.1:80", True),
    ("TestLoadBalancer", "same node to LB1, SNATted to LB1", "1.2.3.4", "1.2.3.4", 80, "tcp",
     "10.180.0.1:80", True),
    ("TestLoadBalancer", "same node to LB2, SNATted to LB2", "5.6.7.8", "5.6.7.8", 80, "tcp",
     "10.180.0.1:80", True),
    # TestNodePorts, case "ipv4" (nodePortAddresses: the node IP only)
    ("TestNodePorts", "pod to cluster IP", POD, "172.30.0.41", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestNodePorts", "external to nodePort", EXT, NODE, 3001, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestNodePorts", "node to nodePort", NODE, NODE, 3001, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestNodePorts", "secondary nodeIP ignores NodePorts", EXT, NODE_ALT, 3001, "tcp", "", False),
    # TestExternalTrafficPolicyLocal: 10.180.2.1 is the local endpoint
    ("TestExternalTrafficPolicyLocal", "pod to cluster IP", POD, "172.30.0.41", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "pod to external IP", POD, "192.168.99.11", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "external to external IP", EXT, "192.168.99.11", 80, "tcp",
     "10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "pod to LB IP", POD, "1.2.3.4", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "external to LB IP", EXT, "1.2.3.4", 80, "tcp",
     "10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "pod to NodePort", POD, NODE, 3001, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestExternalTrafficPolicyLocal", "external to NodePort", EXT, NODE, 3001, "tcp",
     "10.180.2.1:80", False),
    # TestExternalTrafficPolicyCluster
    ("TestExternalTrafficPolicyCluster", "pod to cluster IP", POD, "172.30.0.41", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", False),
    ("TestExternalTrafficPolicyCluster", "pod to external IP", POD, "192.168.99.11", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestExternalTrafficPolicyCluster", "external to external IP", EXT, "192.168.99.11", 80,
     "tcp", "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestExternalTrafficPolicyCluster", "pod to LB IP", POD, "1.2.3.4", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestExternalTrafficPolicyCluster", "external to LB IP", EXT, "1.2.3.4", 80, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestExternalTrafficPolicyCluster", "pod to NodePort", POD, NODE, 3001, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
    ("TestExternalTrafficPolicyCluster", "external to NodePort", EXT, NODE, 3001, "tcp",
     "10.180.0.1:80, 10.180.2.1:80", True),
]

# TestInternalExternalMasquerade, case "base": svc1 plain, svc2 eTP Local, svc3 iTP Local
_ALL1, _ALL2, _ALL3 = ("10.180.0.1:80, 10.180.1.1:80", "10.180.0.2:80, 10.180.1.2:80",
                       "10.180.0.3:80, 10.180.1.3:80")
FLOWS += [("TestInternalExternalMasquerade", name, src, dst, port, "tcp", output, masq)
          for name, src, dst, port, output, masq in [
    ("pod to ClusterIP", POD, "172.30.0.41", 80, _ALL1, False),
    ("pod to NodePort", POD, NODE, 3001, _ALL1, True),
    ("pod to LB", POD, "1.2.3.4", 80, _ALL1, True),
    ("node to ClusterIP", NODE, "172.30.0.41", 80, _ALL1, True),
    ("node to NodePort", NODE, NODE, 3001, _ALL1, True),
    ("node to LB", NODE, "1.2.3.4", 80, _ALL1, True),
    ("external to ClusterIP", EXT, "172.30.0.41", 80, _ALL1, True),
    ("external to NodePort", EXT, NODE, 3001, _ALL1, True),
    ("external to LB", EXT, "1.2.3.4", 80, _ALL1, True),
    ("pod to ClusterIP with eTP:Local", POD, "172.30.0.42", 80, _ALL2, False),
    ("pod to NodePort with eTP:Local", POD, NODE, 3002, _ALL2, False),
    ("pod to LB with eTP:Local", POD, "5.6.7.8", 80, _ALL2, False),
    ("node to ClusterIP with eTP:Local", NODE, "172.30.0.42", 80, _ALL2, True),
    # upstream's flow sends this one to svc1's NodePort 3001, as its comment says
    ("node to NodePort with eTP:Local", NODE, NODE, 3001, _ALL1, True),
    ("node to LB with eTP:Local", NODE, "5.6.7.8", 80, _ALL2, True),
    ("external to ClusterIP with eTP:Local", EXT, "172.30.0.42", 80, _ALL2, True),
    ("external to NodePort with eTP:Local", EXT, NODE, 3002, "10.180.0.2:80", False),
    ("external to LB with eTP:Local", EXT, "5.6.7.8", 80, "10.180.0.2:80", False),
    ("pod to ClusterIP with iTP:Local", POD, "172.30.0.43", 80, "10.180.0.3:80", False),
    ("pod to NodePort with iTP:Local", POD, NODE, 3003, _ALL3, True),
    ("pod to LB with iTP:Local", POD, "9.10.11.12", 80, _ALL3, True),
    ("node to ClusterIP with iTP:Local", NODE, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("node to NodePort with iTP:Local", NODE, NODE, 3003, _ALL3, True),
    ("node to LB with iTP:Local", NODE, "9.10.11.12", 80, _ALL3, True),
    ("external to ClusterIP with iTP:Local", EXT, "172.30.0.43", 80, "10.180.0.3:80", True),
    ("external to NodePort with iTP:Local", EXT, NODE, 3003, _ALL3, True),
    ("external to LB with iTP:Local", EXT, "9.10.11.12", 80, _ALL3, True),
]]

# TestInternalTrafficPolicy, its four cases: a pod to the ClusterIP 172.30.1.1:80
FLOWS += [("TestInternalTrafficPolicy-" + case, name, POD, "172.30.1.1", 80, "tcp", output, False)
          for case, name, output in [
    ("cluster", "hits all endpoints", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"),
    ("local-one", "hits only local endpoint", "10.0.1.1:80"),
    ("local-many", "hits all local endpoints", "10.0.1.1:80, 10.0.1.2:80"),
    ("local-none", "no endpoints", "DROP"),
]]


@pytest.mark.parametrize("test,name,src,dst,port,proto,output,masq", FLOWS,
                         ids=[f"{f[0]}: {f[1]}" for f in FLOWS])
def test_packet_flow(test, name, src, dst, port, proto, output, masq):
    assert trace(test, src, dst, port, proto) == (output, masq)


def _two_address_node(tmp_path, node_port_addresses: str | None) -> tuple[str, str]:
    """The fake proxier's node with its alternate address (testNodeIPAlt) in status, and
    kube-proxy's nodePortAddresses as given: (iptables, nftables) rulesets of TestNodePorts."""
    fake = (UPSTREAM / "fake-proxier.yaml").read_text().replace(
        "addresses: [{type: InternalIP, address: 192.168.0.2}]",
        "addresses: [{type: InternalIP, address: 192.168.0.2}, {type: InternalIP, address: 192.168.1.2}]")
    if node_port_addresses is not None:
        fake = fake.replace("clusterCIDR: 10.0.0.0/8",
                            f"clusterCIDR: 10.0.0.0/8\nnodePortAddresses: {node_port_addresses}")
    (tmp_path / "fake.yaml").write_text(fake)
    cluster = load([str(tmp_path / "fake.yaml"), str(UPSTREAM / "nftables/flows/TestNodePorts.yaml")])
    plans = tuple(p for p in resolve(cluster) if p.namespace == "ns1")
    return tuple(render_for_node(m, cluster, "test-node", plans)  # type: ignore[return-value]
                 for m in ("iptables", "nftables"))


BOTH = "10.180.0.1:80, 10.180.2.1:80"


@pytest.mark.parametrize("mode", ["iptables", "nftables"])
@pytest.mark.parametrize("config,alt_accepted", [
    # TestNodePorts, case "ipv4, multiple nodeport-addresses": the IPv6 CIDR is the other
    # family's and ignored, both IPv4 node addresses accept NodePorts
    ("['192.168.0.0/24', '192.168.1.0/24', '2001:db8::/64']", True),
    # only the primary address
    ("[primary]", False),
    ("['192.168.0.0/24']", False),
])
def test_node_port_addresses(tmp_path, mode, config, alt_accepted):
    rules = dict(zip(("iptables", "nftables"), _two_address_node(tmp_path, config), strict=True))[mode]

    def walk(src: str, dst: str) -> tuple[str, bool]:
        out = trace_rules(mode, rules, src, dst, 3001, "tcp", NODE_IPS)
        return ", ".join(e for e, _ in out.endpoints), out.masquerade

    assert walk(EXT, NODE) == (BOTH, True)
    assert walk(EXT, NODE_ALT) == ((BOTH, True) if alt_accepted else ("", False))


def test_node_port_addresses_defaults(tmp_path):
    """Unset: iptables mode accepts NodePorts on every local address (`-m addrtype --dst-type
    LOCAL`), nftables mode on the primary address only (TestNodePorts, case "ipv4")."""
    ipt, nft = _two_address_node(tmp_path, None)
    assert "--dst-type LOCAL -j KUBE-NODEPORTS" in ipt
    assert trace_rules("nftables", nft, EXT, NODE_ALT, 3001, "tcp", NODE_IPS).endpoints == []
    ipt, nft = _two_address_node(tmp_path, "['192.168.1.0/24']")
    assert "-d 192.168.1.2 -j KUBE-NODEPORTS" in ipt and "--dst-type LOCAL" not in ipt
    assert "nodeport-ips { 192.168.1.2 }" in nft and "nodeport-ips { 192.168.0.2 }" not in nft


@pytest.mark.parametrize("bad", ["['10.0.0.0/33']", "[primary, '10.0.0.0/8']", "'10.0.0.0/8'"])
def test_node_port_addresses_refused(tmp_path, bad):
    with pytest.raises(InputError, match=r"nodePortAddresses"):
        _two_address_node(tmp_path, bad)


# TestTerminatingEndpointsTrafficPolicyLocal and ...Cluster: kube-proxy uses ready endpoints,
# and falls back to serving, terminating ones when none is ready (cluster-wide for the Cluster
# policy, on this node for Local) so that connections drain during a rollout; an endpoint that
# is neither ready nor serving is never used, but a serving one elsewhere still turns REJECT
# into DROP for Local traffic. (fixture, case, pod → cluster IP, external → LB IP, external masq)
TERMINATING = [
    ("Local", "ready", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", "10.0.1.1:80, 10.0.1.2:80", False),
    ("Local", "only-terminating", "10.0.1.5:80", "10.0.1.2:80, 10.0.1.3:80", False),
    ("Local", "remote-terminating", "10.0.1.5:80", "DROP", False),
    ("Local", "none-usable", "REJECT", "REJECT", False),
    ("Cluster", "ready", "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80",
     "10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", True),
    ("Cluster", "only-terminating", "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80",
     "10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", True),
    ("Cluster", "remote-terminating", "10.0.1.5:80", "10.0.1.5:80", True),
    ("Cluster", "none-usable", "REJECT", "REJECT", False),
]


@pytest.mark.parametrize("policy,case,to_cluster_ip,to_lb,masq", TERMINATING,
                         ids=[f"{p}-{c}" for p, c, *_ in TERMINATING])
def test_terminating_endpoints(policy, case, to_cluster_ip, to_lb, masq):
    fixture = f"TestTerminatingEndpointsTrafficPolicy{policy}-{case}"
    assert trace(fixture, POD, "172.30.1.1", 80) == (to_cluster_ip, False)
    assert trace(fixture, EXT, "1.2.3.4", 80) == (to_lb, masq)
