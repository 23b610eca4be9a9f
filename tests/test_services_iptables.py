"""kube-proxy's iptables mode: hashes, the published golden blocks line for line, goldens."""

from __future__ import annotations

import pytest

from podnet import names
from podnet.errors import InputError
from podnet.model import load
from podnet.services import IptablesOptions, render_iptables, resolve
from tests.conftest import EXAMPLES, ROOT
from tests.helpers import cluster_of

ANCHOR = str(ROOT / "tests" / "manifests" / "kube-proxy-anchor")


@pytest.mark.parametrize("spn,proto,expected", [
    ("ns1/svc1:p80", "TCP", "XPGD46QRK7WJZT7O"),
    ("default/kubernetes:https", "TCP", "NPX46M4PTMTKRN6Y"),
    ("kube-system/kube-dns:dns", "UDP", "TCOU7JCQXEZGVUNU"),
    ("kube-system/kube-dns:dns-tcp", "TCP", "ERIFXISQEP7F7OF4"),
    ("kube-system/kube-dns:metrics", "TCP", "JD5MR3NA4I4DYORP"),
])
def test_chain_hashes(spn, proto, expected):
    assert names.port_proto_hash(spn, proto) == expected


def test_endpoint_chain_hash():
    assert names.kube_sep_chain("ns1/svc1:p80", "TCP", "10.180.0.1:80") == "KUBE-SEP-SXIVWICOYRO3J4NJ"


def anchor_rules() -> list[str]:
    # The anchor blocks were transcribed without the nfacct-only localhost NodePort rule: a
    # node without nfacct (tests/test_kube_proxy_upstream.py compares the whole ruleset).
    cluster = load([ANCHOR])
    return render_iptables(resolve(cluster), IptablesOptions("node-1", "10.0.0.0/8",
                                                            features=frozenset())).splitlines()


# TestOverallIPTablesRules' expected text (../shared/anchors/dataplane.md 1.5), kept verbatim:
# service ns4/svc4 (ClusterIP with two endpoints and an external IP).
SVC4 = (ROOT / "tests" / "golden" / "kube-proxy-anchor" / "svc4.rules").read_text()

# The same test, service ns3/svc3 (NodePort 3003), without the nfacct-only localhost rule.
SVC3 = (ROOT / "tests" / "golden" / "kube-proxy-anchor" / "svc3.rules").read_text()


def _block(rules: list[str], chains: set[str], spn: str) -> list[str]:
    """The lines of one service, in output order: its chains and the rules naming it."""
    return [r for r in rules
            if (r.startswith(":") and r[1:].split()[0] in chains)
            or (r.startswith("-A ") and (r.split()[1] in chains or f" {spn}" in r
                                         or f'"{spn} ' in r or "nodeports; NOTE" in r))]


@pytest.mark.parametrize("block,spn", [(SVC4, "ns4/svc4:p80"), (SVC3, "ns3/svc3:p80")])
def test_published_blocks_line_for_line(block, spn):
    want = block.splitlines()
    chains = {line[1:].split()[0] for line in want if line.startswith(":")}
    got = _block(anchor_rules(), chains, spn)
    if spn == "ns4/svc4:p80":
        want = [w for w in want if "nodeports; NOTE" not in w]
        got = [g for g in got if "nodeports; NOTE" not in g]
    assert got == want


def test_no_endpoints_reject_affinity_and_source_ranges():
    rules = anchor_rules()
    text = "\n".join(rules)
    assert ('-A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp '
            "-d 172.30.0.46 --dport 80 -j REJECT") in text
    fw = names.kube_chain("KUBE-FW-", "ns5/svc5:p80", "TCP")
    sep = names.kube_sep_chain("ns5/svc5:p80", "TCP", "10.180.0.5:80")
    assert f"-m recent --name {sep} --rcheck --seconds 10800 --reap -j {sep}" in text
    # kube-proxy marks the client before the protocol match (TestOverallIPTablesRules, svc5)
    assert (f"-m comment --comment ns5/svc5:p80 -m recent --name {sep} --set -m tcp -p tcp -j DNAT "
            "--to-destination 10.180.0.5:80") in text
    assert f'-A {fw} -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25' in text
    assert (f'-A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by {fw}" '
            "-m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP") in text
    # the NodePort jump stays the last rule of KUBE-SERVICES
    services = [r for r in rules if r.startswith("-A KUBE-SERVICES ")]
    assert "nodeports; NOTE" in services[-1]


@pytest.mark.parametrize("node", ["oslo-1", "oslo-2"])
def test_oslo_golden(golden, node):
    cluster = load([str(EXAMPLES / "oslo")])
    text = render_iptables(resolve(cluster), IptablesOptions(node, cluster.net.cluster_cidr))
    golden(f"services/oslo-{node}.rules", text)


def test_probabilities_for_three_endpoints():
    from podnet.services.iptables import _probability

    assert [_probability(n) for n in (3, 2)] == ["0.3333333333", "0.5000000000"]


LOCAL = """\
apiVersion: v1
kind: Service
metadata: {name: lb, namespace: web}
spec:
  type: LoadBalancer
  clusterIP: 10.96.5.5
  externalTrafficPolicy: Local
  healthCheckNodePort: 30999
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 31080}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.10}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: web-a, namespace: web, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Node
metadata: {name: node-b}
"""


def test_external_traffic_policy_local_per_node():
    from podnet.model import build, read_texts

    cluster = build(read_texts([("local.yaml", LOCAL)]))
    plans = resolve(cluster)
    lb = next(p for p in plans if p.key == "web/lb:http")  # beside the built-in default/kubernetes
    assert lb.endpoints[0].port == 8080  # the named targetPort resolved on the pod
    a = render_iptables(plans, IptablesOptions("node-a", "10.244.0.0/16"))
    b = render_iptables(plans, IptablesOptions("node-b", "10.244.0.0/16"))
    svl = names.kube_chain("KUBE-SVL-", "web/lb:http", "TCP")
    ext = names.kube_chain("KUBE-EXT-", "web/lb:http", "TCP")
    assert f"-A {ext} -j {svl}" in a and f"-A {svl} " in a
    assert '"web/lb:http health check node port" -m tcp -p tcp --dport 30999 -j ACCEPT' in a
    # node-b has no local endpoint: external traffic is dropped there, cluster IP still works
    assert ('"web/lb:http has no local endpoints" -m tcp -p tcp -d 192.0.2.10 --dport 80 -j DROP'
            in b)
    assert "--dport 31080 -j DROP" in b
    assert '"web/lb:http cluster IP" -m tcp -p tcp -d 10.96.5.5 --dport 80 -j KUBE-SVC-' in b


def test_services_cli():
    import json
    import subprocess
    import sys

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "podnet", "services", "-f",
                               str(EXAMPLES / "oslo"), *args], capture_output=True, text=True)

    data = json.loads(run("-o", "json").stdout)
    dns = next(s for s in data["services"] if s["service"] == "kube-system/kube-dns:dns")
    assert dns["clusterIP"] == "10.96.0.10" and dns["port"] == "53/UDP" and len(dns["endpoints"]) == 2
    stats = json.loads(run("--stats", "-o", "json").stdout)["services"]
    positions = [s["position"] for s in stats]  # a LoadBalancer IP's rule takes a place too
    assert positions[0] == 1 and positions == sorted(set(positions))
    assert stats[-1]["iptablesRules"] > stats[0]["iptablesRules"]
    assert all(s["nftablesLookups"] <= 2 for s in stats)
    r = run("--render", "iptables", "--node", "nope")
    assert r.returncode == 2 and "no such node" in r.stderr


SVC = "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: x}}\nspec: {spec}\n{status}"


@pytest.mark.parametrize("spec,status,field,why", [
    ("{type: NodePort, ports: [{port: 80, nodePort: 99999}]}", "", "spec.ports[0].nodePort",
     "between 1 and 65535"),
    ("{externalIPs: [not-ip], ports: [{port: 80}]}", "", "spec.externalIPs[0]", "IP address"),
    ("{type: LoadBalancer, ports: [{port: 80}], loadBalancerSourceRanges: [bogus]}", "",
     "spec.loadBalancerSourceRanges[0]", "CIDR"),
    ("{type: LoadBalancer, ports: [{port: 80}]}", "status: {loadBalancer: {ingress: [{ip: nope}]}}",
     "status.loadBalancer.ingress[0].ip", "IP address"),
    ("{sessionAffinity: ClientIP, sessionAffinityConfig: {clientIP: {timeoutSeconds: 0}}, "
     "ports: [{port: 80}]}", "", "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "86400"),
    ("{type: NodePort, ports: [{name: a, port: 80, nodePort: 30001}, "
     "{name: b, port: 81, nodePort: 30001}]}", "", "spec.ports[1].nodePort", "already allocated"),
])
def test_service_fields_the_api_server_would_reject(spec, status, field, why):
    with pytest.raises(InputError) as e:
        resolve(cluster_of(SVC.format(name="s", spec=spec, status=status)))
    assert f"Service x/s, field {field}:" in str(e.value) and why in str(e.value)


def test_one_node_port_for_udp_and_tcp_of_one_service_is_fine():
    spec = ("{type: NodePort, ports: [{name: u, port: 53, protocol: UDP, nodePort: 30053}, "
            "{name: t, port: 53, protocol: TCP, nodePort: 30053}]}")
    other = SVC.format(name="o", spec="{type: NodePort, ports: [{port: 53, nodePort: 30053}]}",
                       status="")
    plans = resolve(cluster_of(SVC.format(name="s", spec=spec, status="")))
    assert {p.node_port for p in plans if p.name == "s"} == {30053}
    with pytest.raises(InputError, match="30053 is already allocated to x/o"):
        resolve(cluster_of(other + "---\n" + SVC.format(name="s", spec=spec, status="")))
