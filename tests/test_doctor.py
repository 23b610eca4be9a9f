"""doctor's checks: each one tripped by a manifest that has the problem, and silent on one that
does not. Numbers in findings are asserted, not just their presence."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from podnet.doctor import CATALOGUE, diagnose
from podnet.doctor.finding import Finding
from podnet.errors import InputError, UsageError
from podnet.model import build, read_paths, read_texts
from tests.conftest import EXAMPLES, ROOT

CLEAN = str(ROOT / "tests" / "manifests" / "doctor-clean")

DNS = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      dnsPolicy: Default
      containers:
      - name: coredns
        ports:
        - {name: dns, containerPort: 53, protocol: UDP}
        - {name: dns-tcp, containerPort: 53, protocol: TCP}
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  selector: {k8s-app: kube-dns}
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
---
"""


def deploy(name: str, ns: str = "shop", labels: str = "", replicas: int = 1, port: int = 8080,
           port_name: str = "http", extra: str = "") -> str:
    labels = labels or f"app: {name}"
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{{labels}}}}}\n"
            f"  template:\n    metadata: {{labels: {{{labels}}}}}\n    spec:{extra}\n"
            f"      containers:\n"
            f"      - {{name: c, ports: [{{name: {port_name}, containerPort: {port}}}]}}\n---\n")


def run(text: str, check: str, nodes: int = 3, **kw: object) -> list[Finding]:
    docs = read_texts([("test.yaml", textwrap.dedent(text))])
    return diagnose(build(docs, nodes=nodes), docs, only=[check], **kw)  # type: ignore[arg-type]


def one(text: str, check: str, **kw: object) -> Finding:
    found = run(text, check, **kw)
    assert len(found) == 1, [f.message for f in found]
    return found[0]


# -- the catalogue and the clean cluster -------------------------------------------------------

def test_catalogue_holds_the_contract_names():
    assert set(CATALOGUE) >= {
        "mtu-exceeds-path", "mtu-below-optimal", "nodeport-exposed",
        "namespace-without-default-deny", "pod-unprotected", "policy-selects-nothing",
        "peer-selects-nothing", "egress-blocks-dns", "ndots-amplification", "iptables-at-scale",
        "ipvs-metallb-strictarp", "removed-apiversion", "service-without-endpoints",
        "selector-matches-nothing", "lb-pending", "local-policy-no-endpoint",
        "hostnetwork-bypasses-policy", "cidr-overlap", "conntrack-sizing", "conntrack-timeouts",
        "conntrack-module-name", "ingress-controller-not-admitted", "ingress-annotation-ignored",
        "ingress-backend-missing"}
    for c in CATALOGUE.values():
        assert c.summary and c.example and c.concern


def test_clean_cluster_has_no_warning_or_error():
    docs = read_paths([CLEAN])
    found = diagnose(build(docs), docs)
    assert [f for f in found if f.severity != "info"] == []


def test_unknown_check_is_a_usage_error():
    docs = read_paths([CLEAN])
    with pytest.raises(UsageError):
        diagnose(build(docs), docs, only=["no-such-check"])


# -- MTU ---------------------------------------------------------------------------------------

FLANNEL = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: kube-flannel-cfg, namespace: kube-flannel}}
data:
  net-conf.json: '{{"Network": "10.244.0.0/16", "Backend": {{"Type": "vxlan"}}{mtu}}}'
"""


def test_mtu_exceeds_path_under_vxlan():
    f = one(FLANNEL.format(mtu=', "MTU": 1500'), "mtu-exceeds-path")
    assert f.severity == "error" and f.field == "data.net-conf.json"
    assert f.evidence["pathCarries"] == 1450 and f.evidence["podMTU"] == 1500
    assert run(FLANNEL.format(mtu=""), "mtu-exceeds-path") == []
    assert run(FLANNEL.format(mtu=', "MTU": 1450'), "mtu-exceeds-path") == []


CALICO = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: calico-config, namespace: kube-system}}
data: {{veth_mtu: "{mtu}"}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {{name: calico-node, namespace: kube-system}}
spec:
  selector: {{matchLabels: {{k8s-app: calico-node}}}}
  template:
    metadata: {{labels: {{k8s-app: calico-node}}}}
    spec:
      hostNetwork: true
      containers:
      - name: calico-node
        env: [{{name: CALICO_IPV4POOL_IPIP, value: "{ipip}"}}]
"""


def test_mtu_below_optimal_counts_the_bytes():
    f = one(CALICO.format(mtu=1440, ipip="Never"), "mtu-below-optimal")
    assert f.severity == "info" and f.field == "data.veth_mtu"
    assert f.evidence["bytesUnused"] == 60
    assert f.evidence["extraPackets"] == pytest.approx((1500 - 40) / (1440 - 40) - 1, abs=1e-4)
    assert yaml.safe_load(f.fix) == {"data": {"veth_mtu": "1500"}}
    # the same 1440 is right under IPIP (1500 - 20 = 1480 carried): below, but by 40
    assert one(CALICO.format(mtu=1440, ipip="Always"), "mtu-below-optimal").evidence[
        "bytesUnused"] == 40
    assert run(CALICO.format(mtu=1480, ipip="Always"), "mtu-below-optimal") == []


# -- policy ------------------------------------------------------------------------------------

def test_namespace_without_default_deny():
    text = deploy("web", replicas=2)
    f = one(text, "namespace-without-default-deny")
    assert f.object == "Namespace shop" and f.evidence["openPods"] == 2
    assert f.file == "test.yaml" and f.field == "metadata.namespace"  # implicit: points at the pods
    fix = yaml.safe_load(f.fix)
    assert fix["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    # the fix, applied, silences it
    assert run(text + f.fix, "namespace-without-default-deny") == []


POLICY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: {name}, namespace: shop}}
spec:
  podSelector: {{matchLabels: {{{selects}}}}}
  ingress: [{{from: [{{podSelector: {{matchLabels: {{{peer}}}}}}}]}}]
---
"""


def test_pod_unprotected_in_a_namespace_that_uses_policy():
    text = deploy("web") + deploy("legacy", replicas=3) + POLICY.format(
        name="p", selects="app: web", peer="app: web")
    f = one(text, "pod-unprotected")
    assert f.object == "Deployment shop/legacy" and f.evidence["pods"] == 3
    assert f.evidence["policiesInNamespace"] == ["shop/p"]
    assert run(deploy("web") + POLICY.format(name="p", selects="app: web", peer="app: web"),
               "pod-unprotected") == []


def test_policy_selects_nothing_names_the_labels_pods_carry():
    f = one(deploy("web") + POLICY.format(name="p", selects="app: wbe", peer="app: web"),
            "policy-selects-nothing")
    assert f.field == "spec.podSelector" and "app=wbe" in f.message
    assert f.evidence["labelValuesInNamespace"] == {"app": ["web"]}
    assert run(deploy("web") + POLICY.format(name="p", selects="app: web", peer="app: web"),
               "policy-selects-nothing") == []


def test_peer_selects_nothing():
    f = one(deploy("api") + POLICY.format(name="p", selects="app: api", peer="app: frontend"),
            "peer-selects-nothing")
    assert f.field == "spec.ingress[0].from[0]" and "app=frontend" in f.message
    assert run(deploy("api") + deploy("frontend")
               + POLICY.format(name="p", selects="app: api", peer="app: frontend"),
               "peer-selects-nothing") == []
    by_ns = deploy("api") + """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p, namespace: shop}
spec:
  podSelector: {}
  egress: [{to: [{namespaceSelector: {matchLabels: {team: payments}}}]}]
"""
    f = one(by_ns, "peer-selects-nothing")
    assert f.field == "spec.egress[0].to[0]" and "matches no namespace" in f.message


def test_hostnetwork_bypasses_policy():
    agent = deploy("agent", extra="\n      hostNetwork: true")
    text = agent + POLICY.format(name="lock", selects="app: agent", peer="app: agent")
    f = one(text, "hostnetwork-bypasses-policy")
    assert f.evidence["policies"] == ["shop/lock"]
    assert run(agent, "hostnetwork-bypasses-policy") == []
    # and the policy is not also called empty: it selects, just to no effect
    assert run(text, "policy-selects-nothing") == []


# -- DNS ---------------------------------------------------------------------------------------

DENY_EGRESS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
"""

ALLOW_DNS = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {{name: allow-dns, namespace: shop}}
spec:
  podSelector: {{}}
  policyTypes: [Egress]
  egress:
  - to: [{{namespaceSelector: {{}}, podSelector: {{matchLabels: {{k8s-app: kube-dns}}}}}}]
    ports: [{ports}]
---
"""


def test_egress_default_deny_without_dns_cannot_resolve():
    f = one(DNS + deploy("web") + DENY_EGRESS, "egress-blocks-dns")
    assert f.severity == "error" and "cannot resolve names" in f.message
    assert f.evidence["dnsEndpointsReachable"] == {"UDP": "0/2", "TCP": "0/2"}
    # the fix is a policy that, added, makes the finding go away
    assert run(DNS + deploy("web") + DENY_EGRESS + f.fix, "egress-blocks-dns") == []


def test_egress_dns_udp_only_is_a_warning_and_both_are_fine():
    udp = ALLOW_DNS.format(ports="{protocol: UDP, port: 53}")
    f = one(DNS + deploy("web") + DENY_EGRESS + udp, "egress-blocks-dns")
    assert f.severity == "warning" and f.evidence["dnsEndpointsReachable"]["TCP"] == "0/2"
    both = ALLOW_DNS.format(ports="{protocol: UDP, port: 53}, {protocol: TCP, port: 53}")
    assert run(DNS + deploy("web") + DENY_EGRESS + both, "egress-blocks-dns") == []
    # a named port resolves on the DNS pods: 'dns' is their UDP 53
    named = ALLOW_DNS.format(ports="{protocol: UDP, port: dns}, {protocol: TCP, port: dns-tcp}")
    assert run(DNS + deploy("web") + DENY_EGRESS + named, "egress-blocks-dns") == []
    # a rule to port 53 of pods that are not the DNS pods does not count
    wrong = ALLOW_DNS.format(ports="{protocol: UDP, port: 53}").replace("k8s-app: kube-dns",
                                                                         "app: resolver")
    assert one(DNS + deploy("web") + DENY_EGRESS + wrong, "egress-blocks-dns").severity == "error"


def test_egress_dns_without_dns_pods_in_the_input_judges_the_ports():
    assert one(deploy("web") + DENY_EGRESS, "egress-blocks-dns").severity == "error"
    udp = ALLOW_DNS.format(ports="{protocol: UDP, port: 53}")
    assert one(deploy("web") + DENY_EGRESS + udp, "egress-blocks-dns").severity == "warning"
    assert run(deploy("web"), "egress-blocks-dns") == []  # not isolated for egress


def test_ndots_counts_queries_like_glibc():
    # glibc resolv/res_query.c __res_context_search: fewer dots than ndots -> every search
    # domain first (A and AAAA each), then the name as given (the glibc tests in
    # resolv/tst-resolv-search.c walk the same order).
    f = one(deploy("web"), "ndots-amplification")
    assert f.severity == "info" and f.object == "Namespace shop"
    assert (f.evidence["namesTried"], f.evidence["queries"], f.evidence["nxdomainQueries"]) == (4, 8, 6)
    more = deploy("web", extra="\n      dnsConfig: {searches: [a.example, b.example]}")
    f = one(more, "ndots-amplification")
    assert f.object == "Deployment shop/web"
    assert (f.evidence["namesTried"], f.evidence["queries"], f.evidence["nxdomainQueries"]) == (6, 12, 10)
    two = deploy("web", extra="\n      dnsConfig: {options: [{name: ndots, value: '2'}]}")
    f = one(two, "ndots-amplification")
    assert "ndots:2 does not make google.com absolute" in f.message
    one_dot = deploy("web", extra="\n      dnsConfig: {options: [{name: ndots, value: '1'}]}")
    assert run(one_dot, "ndots-amplification") == []
    host = deploy("web", extra="\n      dnsPolicy: Default")
    assert run(host, "ndots-amplification") == []


# -- Services ----------------------------------------------------------------------------------

def svc(name: str, selector: str, type_: str = "ClusterIP", target: str = "http",
        extra: str = "") -> str:
    return (f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\n"
            f"spec:\n  type: {type_}\n  selector: {{{selector}}}\n"
            f"  ports: [{{name: http, port: 80, targetPort: {target}}}]{extra}\n---\n")


def test_nodeport_exposed_on_every_node():
    f = one(deploy("web") + svc("web", "app: web", "NodePort"), "nodeport-exposed")
    assert f.severity == "warning" and f.evidence["nodes"] == 3
    assert len(f.evidence["nodePorts"]) == 1 and f.evidence["nodePorts"][0].endswith("/TCP")
    assert run(deploy("web") + svc("web", "app: web"), "nodeport-exposed") == []


def test_selector_matches_nothing_and_endpoints():
    f = one(deploy("web") + svc("web", "app: wbe"), "selector-matches-nothing")
    assert f.evidence["labelValuesInNamespace"] == {"app": ["web"]}
    assert run(deploy("web") + svc("web", "app: web"), "selector-matches-nothing") == []
    # selector matches, but the named targetPort is not declared by the pods
    f = one(deploy("web") + svc("web", "app: web", target="www"), "service-without-endpoints")
    assert f.severity == "error" and f.field == "spec.ports[0].targetPort"
    assert "http" in f.message and yaml.safe_load(f.fix)["spec"]["ports"][0]["targetPort"] == "http"
    assert run(deploy("web") + svc("web", "app: web"), "service-without-endpoints") == []


def test_service_without_ready_endpoints():
    pod = """\
apiVersion: v1
kind: Pod
metadata: {name: web-0, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {conditions: [{type: Ready, status: "False"}]}
---
"""
    f = one(pod + svc("web", "app: web"), "service-without-endpoints")
    assert f.severity == "warning" and f.evidence["podsMatched"] == 1
    assert f.evidence["podsReady"] == 0


def test_service_with_only_terminating_endpoints_drains():
    """kube-proxy falls back to serving, terminating endpoints (pkg/proxy/topology.go,
    TestTerminatingEndpointsTrafficPolicyCluster): not refused, but a warning that says so."""
    def given(conditions: str) -> str:
        return f"""\
apiVersion: v1
kind: Service
metadata: {{name: ext, namespace: shop}}
spec: {{clusterIP: 10.96.0.50, ports: [{{port: 80}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: ext-1, namespace: shop, labels: {{kubernetes.io/service-name: ext}}}}
addressType: IPv4
endpoints: [{{addresses: [10.244.1.9], conditions: {conditions}}}]
ports: [{{name: '', port: 8080, protocol: TCP}}]
"""
    f = one(given("{ready: false, serving: true, terminating: true}"), "service-without-endpoints")
    assert f.severity == "warning" and f.evidence["terminating"] == ["10.244.1.9:8080"]
    assert "terminating" in f.message and "refused" not in f.message.split(":")[0]
    # neither ready nor serving: refused
    f = one(given("{ready: false, serving: false, terminating: true}"), "service-without-endpoints")
    assert "are refused" in f.message
    # absent conditions mean ready (discovery/v1): no finding
    assert run(given("{}"), "service-without-endpoints") == []


def test_local_policy_drops_on_nodes_without_an_endpoint():
    text = deploy("web") + svc("web", "app: web", "NodePort",
                               extra="\n  externalTrafficPolicy: Local")
    f = one(text, "local-policy-no-endpoint")
    assert f.severity == "warning"
    assert len(f.evidence["nodesWithEndpoints"]) == 1 and len(f.evidence["nodesWithout"]) == 2
    everywhere = deploy("web", replicas=3) + svc("web", "app: web", "NodePort",
                                                 extra="\n  externalTrafficPolicy: Local")
    assert run(everywhere, "local-policy-no-endpoint") == []  # 3 replicas over 3 nodes


def many_services(n: int, mode: str = "iptables") -> str:
    docs = [f"apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
            f"mode: {mode}\n---\n", deploy("web")]
    docs += [svc(f"s{i}", "app: web") for i in range(n)]
    return "".join(docs)


def test_iptables_at_scale_uses_the_measured_cost():
    # 999 Services and the built-in default/kubernetes: 1,000 rules
    f = one(many_services(999), "iptables-at-scale")
    assert f.severity == "info" and f.evidence["kubeServicesRules"] == 1000
    # (n+1)/2 rules of KUBE-SERVICES, then masquerade, one endpoint rule, the endpoint chain
    assert f.evidence["rulesPerNewConnection"]["average"] == pytest.approx(500.5 + 1 + 1 + 2)
    assert f.evidence["expectedGainMicroseconds"]["average"] == pytest.approx(
        (504.5 - 2) * 21 / 1000, abs=0.1)
    assert run(many_services(998), "iptables-at-scale") == []
    assert run(many_services(1000, "nftables"), "iptables-at-scale") == []


# -- MetalLB -----------------------------------------------------------------------------------

METALLB = """\
apiVersion: v1
kind: ConfigMap
metadata: {{namespace: metallb-system, name: config}}
data:
  config: |
    address-pools:
    - name: default
      protocol: layer2
      addresses: [{addresses}]
---
"""
PROXY = """\
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: {mode}
ipvs: {{strictARP: {strict}}}
---
"""


def test_ipvs_without_strictarp_under_metallb_layer2():
    pool = METALLB.format(addresses="192.168.1.240-192.168.1.250")
    f = one(PROXY.format(mode="ipvs", strict="false") + pool, "ipvs-metallb-strictarp")
    assert f.severity == "error" and f.field == "ipvs.strictARP"
    assert f.evidence["addresses"] == ["192.168.1.240-192.168.1.250"]
    assert run(PROXY.format(mode="ipvs", strict="true") + pool, "ipvs-metallb-strictarp") == []
    assert run(PROXY.format(mode="iptables", strict="false") + pool, "ipvs-metallb-strictarp") == []
    assert run(PROXY.format(mode="ipvs", strict="false"), "ipvs-metallb-strictarp") == []


def test_lb_pending_when_the_pool_is_exhausted():
    pool = METALLB.format(addresses="192.168.1.240/32")
    two = svc("a", "app: web", "LoadBalancer") + svc("b", "app: web", "LoadBalancer")
    f = one(deploy("web") + pool + two, "lb-pending")
    assert f.severity == "error" and f.object == "Service shop/b"
    assert f.evidence["pools"] == {"default": {"addresses": 1, "assigned": 1}}
    assert run(deploy("web") + METALLB.format(addresses="192.168.1.240/31") + two,
               "lb-pending") == []
    assert one(deploy("web") + two[: two.index("---") + 4], "lb-pending").severity == "warning"


# -- address plan ------------------------------------------------------------------------------

def test_cidr_overlap_between_pods_and_services():
    conf = """\
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
networking: {podSubnet: 10.96.0.0/16, serviceSubnet: 10.96.0.0/12}
"""
    f = one(conf, "cidr-overlap")
    assert f.severity == "error" and f.evidence["addresses"] == 65536
    assert f.field == "networking.podSubnet"
    assert run(conf.replace("10.96.0.0/16", "10.244.0.0/16"), "cidr-overlap") == []


def test_cidr_overlap_pool_holding_a_node_address():
    node = """\
apiVersion: v1
kind: Node
metadata: {name: n1}
status: {addresses: [{type: InternalIP, address: 192.168.1.241}]}
---
"""
    f = one(node + METALLB.format(addresses="192.168.1.240-192.168.1.250"), "cidr-overlap")
    assert f.object == "Node n1" and "node n1's address" in f.message
    assert run(node + METALLB.format(addresses="192.168.1.242-192.168.1.250"), "cidr-overlap") == []


# -- apiVersions -------------------------------------------------------------------------------

LEGACY_INGRESS = """\
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  backend: {serviceName: default-http, servicePort: http}
  rules:
  - host: a.example
    http:
      paths:
      - path: /
        backend: {serviceName: web, servicePort: 80}
"""


def test_removed_apiversion_fix_is_the_same_ingress_in_v1():
    f = one(LEGACY_INGRESS, "removed-apiversion")
    assert f.severity == "error" and f.evidence["removedIn"] == "1.22"
    converted = f.fix.split("\n", 1)[1]
    assert yaml.safe_load(converted)["apiVersion"] == "networking.k8s.io/v1"
    old = build(read_texts([("a.yaml", LEGACY_INGRESS)])).ingresses[0]
    new = build(read_texts([("b.yaml", converted)])).ingresses[0]
    assert (new.rules, new.default_backend) == (old.rules, old.default_backend)
    assert run(converted, "removed-apiversion") == []


def test_removed_apiversion_workload_gets_its_selector():
    legacy = deploy("web").replace("apps/v1", "apps/v1beta1").replace(
        "  selector: {matchLabels: {app: web}}\n", "")
    f = one(legacy, "removed-apiversion")
    fixed = yaml.safe_load(f.fix.split("\n", 1)[1])
    assert fixed["apiVersion"] == "apps/v1"
    assert fixed["spec"]["selector"] == {"matchLabels": {"app": "web"}}


# -- conntrack ---------------------------------------------------------------------------------

SYSCTL = """\
apiVersion: v1
kind: ConfigMap
metadata: {{name: node-tuning, namespace: kube-system}}
data:
  sysctl.conf: |
{body}
---
"""


def sysctl(body: str) -> str:
    return SYSCTL.format(body=textwrap.indent(textwrap.dedent(body), "    "))


SEED_SYSCTL = """\
# Increase connection tracking max
net.netfilter.nf_conntrack_max = 131072

# Reduce timeout to clear the table faster
net.netfilter.nf_conntrack_tcp_timeout_established = 86400
net.netfilter.nf_conntrack_tcp_timeout_close_wait = 3600
"""


def test_conntrack_timeouts_says_when_reduce_raises():
    found = run(sysctl(SEED_SYSCTL), "conntrack-timeouts")
    assert [f.evidence["sysctl"] for f in found] == ["nf_conntrack_tcp_timeout_close_wait"]
    f = found[0]
    assert f.severity == "warning" and "raises it 60-fold" in f.message
    assert f.evidence["kernelDefault"] == 60 and f.evidence["kubeProxy"] == 3600
    # below kube-proxy's value, a "reduce" is undone when kube-proxy starts (it only raises)
    found = run(sysctl("# lower it\nnet.netfilter.nf_conntrack_tcp_timeout_close_wait = 600\n"),
                "conntrack-timeouts")
    undone = next(f for f in found if f.field == "data.sysctl.conf")
    assert undone.severity == "warning" and "raises it back to 1 h" in undone.message
    # without any sysctl: kube-proxy's 24h does not shorten the kernel's 5 days
    f = one(deploy("web"), "conntrack-timeouts")
    assert f.severity == "info" and f.evidence["effective"] == 432000
    off = ("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
           "conntrack: {tcpEstablishedTimeout: 0s}\n")
    assert run(off, "conntrack-timeouts") == []


def test_conntrack_bad_duration_is_an_input_error():
    bad = ("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
           "conntrack: {tcpCloseWaitTimeout: soon}\n")
    with pytest.raises(InputError, match="conntrack.tcpCloseWaitTimeout"):
        run(bad, "conntrack-timeouts")


def test_conntrack_sizing_follows_kube_proxy_max():
    # kube-proxy: max(maxPerCore x CPUs, min) (cmd/kube-proxy/app/conntrack_test.go
    # TestGetConntrackMax: maxPerCore 1 with min 123456 gives 123456)
    f = one(sysctl(SEED_SYSCTL), "conntrack-sizing")
    assert f.severity == "warning" and "changes nothing" in f.message
    assert run(sysctl("net.netfilter.nf_conntrack_max = 1048576\n"), "conntrack-sizing") == []
    node = ("apiVersion: v1\nkind: Node\nmetadata: {{name: n1}}\n"
            "status: {{capacity: {{cpu: '{cpu}'}}}}\n---\n")
    pods = deploy("web", replicas=20)
    # 20 pods x 7000 = 140,000 entries: over 131,072 (1 CPU), under 262,144 (8 CPUs)
    f = one(node.format(cpu=1) + pods, "conntrack-sizing", conns_per_pod=7000)
    assert f.severity == "error" and f.evidence["max"] == 131072
    assert f.evidence["expectedEntries"] == 140000
    assert run(node.format(cpu=8) + pods, "conntrack-sizing", conns_per_pod=7000) == []
    per_core = ("apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n"
                "conntrack: {maxPerCore: 1, min: 123456}\n---\n")
    f = one(per_core + node.format(cpu=8) + pods, "conntrack-sizing", conns_per_pod=7000)
    assert f.evidence["max"] == 123456


def test_conntrack_module_name():
    script = deploy("prep", extra="\n      initContainers:\n      - name: m\n        command: "
                    "[sh, -c, 'modprobe ip_vs && modprobe nf_conntrack_ipv4']")
    f = one(script, "conntrack-module-name")
    assert f.field == "spec.template.spec.initContainers[0].command[2]"
    assert f.fix == "modprobe ip_vs && modprobe nf_conntrack"
    assert run(script.replace("nf_conntrack_ipv4", "nf_conntrack"), "conntrack-module-name") == []


# -- oslo: what the seeds deserve ---------------------------------------------------------------

def test_oslo_findings():
    docs = read_paths([str(EXAMPLES / "oslo")])
    found = diagnose(build(docs), docs)
    got = sorted((f.severity, f.check, f.object) for f in found)
    ignored = [("warning", "ingress-annotation-ignored", f"Ingress production/{i}")
               for i in ["media-ingress"] * 4 + ["production-ingress"] * 2]
    assert got == sorted([
        *ignored,
        ("error", "ingress-controller-not-admitted", "Ingress production/production-ingress"),
        ("warning", "namespace-without-default-deny", "Namespace ingress-nginx"),
        ("info", "local-policy-no-endpoint", "Service ingress-nginx/ingress-nginx-controller"),
        ("info", "ndots-amplification", "Namespace ingress-nginx"),
        ("info", "nodeport-exposed", "Service ingress-nginx/ingress-nginx-controller"),
        ("error", "removed-apiversion", "Ingress production/production-ingress"),
        ("warning", "conntrack-module-name", "ConfigMap kube-system/node-tuning"),
        ("warning", "conntrack-sizing", "ConfigMap kube-system/node-tuning"),
        ("warning", "conntrack-timeouts", "ConfigMap kube-system/node-tuning"),
        ("warning", "namespace-without-default-deny", "Namespace default"),
        ("warning", "namespace-without-default-deny", "Namespace kube-system"),
        ("info", "mtu-below-optimal", "ConfigMap kube-system/calico-config"),
        ("info", "ndots-amplification", "Namespace production"),
        ("info", "ndots-amplification", "Pod default/optimization-test"),
    ])


@pytest.mark.parametrize("path", [EXAMPLES / "oslo", ROOT / "tests" / "manifests" / "services-edge"])
def test_kube_services_count_matches_the_rendered_rules(path):
    from podnet.analysis import Analysis
    from podnet.doctor.services import kube_services_rules
    analysis = Analysis(build(read_paths([str(path)])))
    for node in analysis.cluster.nodes:
        text = analysis.rules(node.name, "iptables")
        nat = text[text.index("*nat"):]
        rendered = sum(1 for line in nat.splitlines()
                       if line.startswith("-A KUBE-SERVICES ") and "--dport" in line)
        assert kube_services_rules(analysis.plans, node.name) == rendered > 0
