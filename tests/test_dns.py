"""Cluster DNS: zone and resolv.conf goldens, glibc/musl expansion tables, the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.dns import answer, build_zone, lookup, resolv_conf
from podnet.dns.resolvconf import ResolvConf
from podnet.model import load
from tests.conftest import EXAMPLES
from tests.helpers import cluster_of

OSLO = str(EXAMPLES / "oslo")


def test_zone_golden(golden):
    golden("dns/oslo.zone", build_zone(load([OSLO])).text())


def test_resolv_conf_goldens(golden):
    cluster = load([OSLO])
    text = "".join(f"# {p.key} (dnsPolicy {p.dns_policy}{', hostNetwork' if p.host_network else ''})\n"
                   f"{resolv_conf(cluster, p).text()}\n" for p in cluster.pods)
    golden("dns/oslo.resolv.conf", text)


SEARCH = ("ns.svc.cluster.local", "svc.cluster.local", "cluster.local")


def rc(ndots: int) -> ResolvConf:
    return ResolvConf(("10.96.0.10",), SEARCH, (("ndots", str(ndots)),))


def fake(exists: dict[str, str]):  # name -> "A" (has an address), "NODATA"
    from podnet.dns.records import Record
    from podnet.dns.server import Answer

    def ask(name: str, qtype: str) -> Answer:
        kind = exists.get(name)
        if kind is None:
            return Answer("NXDOMAIN", (), "test")
        if kind == "A" and qtype == "A":
            return Answer("NOERROR", (Record(name, "A", "192.0.2.1"),), "test")
        return Answer("NOERROR", (), "test")
    return ask


@pytest.mark.parametrize("libc,name,ndots,exists,expected", [
    # one dot, ndots 5: search list first, absolute last (both libcs)
    ("glibc", "google.com", 5, {"google.com.": "A"},
     ["google.com.ns.svc.cluster.local.", "google.com.svc.cluster.local.", "google.com.cluster.local.",
      "google.com."]),
    ("musl", "google.com", 5, {"google.com.": "A"},
     ["google.com.ns.svc.cluster.local.", "google.com.svc.cluster.local.", "google.com.cluster.local.",
      "google.com."]),
    # the seed's ndots:2 does not make google.com absolute: one dot is fewer than two
    ("glibc", "google.com", 2, {"google.com.": "A"},
     ["google.com.ns.svc.cluster.local.", "google.com.svc.cluster.local.", "google.com.cluster.local.",
      "google.com."]),
    # dots >= ndots: absolute first
    ("glibc", "api.github.com", 2, {"api.github.com.": "A"}, ["api.github.com."]),
    # glibc falls back to the search list when the absolute name fails; musl does not
    ("glibc", "db.team", 1, {"db.team.ns.svc.cluster.local.": "A"},
     ["db.team.", "db.team.ns.svc.cluster.local."]),
    ("musl", "db.team", 1, {"db.team.ns.svc.cluster.local.": "A"}, ["db.team."]),
    # trailing dot: the name alone
    ("glibc", "web.", 5, {"web.ns.svc.cluster.local.": "A"}, ["web."]),
    ("musl", "web.", 5, {}, ["web."]),
    # NODATA: glibc keeps searching, musl stops
    ("glibc", "web", 5, {"web.ns.svc.cluster.local.": "NODATA", "web.svc.cluster.local.": "A"},
     ["web.ns.svc.cluster.local.", "web.svc.cluster.local."]),
    ("musl", "web", 5, {"web.ns.svc.cluster.local.": "NODATA", "web.svc.cluster.local.": "A"},
     ["web.ns.svc.cluster.local."]),
])
def test_expansion_tables(libc, name, ndots, exists, expected):
    result = lookup(name, rc(ndots), fake(exists), libc)
    names = list(dict.fromkeys(q.name for q in result.queries))
    assert names == expected
    assert {q.type for q in result.queries} == {"A", "AAAA"}


def test_cluster_answers():
    zone = build_zone(load([OSLO]))
    assert answer(zone, "backend-service.production.svc.cluster.local.", "A").records[0].value == "10.96.0.11"
    assert answer(zone, "backend-service.production.svc.cluster.local.", "AAAA").rcode == "NOERROR"
    assert answer(zone, "nope.production.svc.cluster.local.", "A").rcode == "NXDOMAIN"
    assert answer(zone, "10-244-0-4.production.pod.cluster.local.", "A").records[0].value == "10.244.0.4"
    srv = answer(zone, "_dns._udp.kube-dns.kube-system.svc.cluster.local.", "SRV").records
    assert srv[0].value == "0 100 53 kube-dns.kube-system.svc.cluster.local."
    headless = {r.value for r in answer(zone, "database.production.svc.cluster.local.", "A").records}
    assert headless == {"10.244.2.3"}
    stateful = answer(zone, "database-0.database.production.svc.cluster.local.", "A").records
    assert [r.value for r in stateful] == ["10.244.2.3"]  # StatefulSet hostname.subdomain
    assert answer(zone, "google.com.", "A").records[0].value.split(".")[0] in ("192", "198", "203")


def test_statefulset_pod_hostname_under_headless_service():
    c = cluster_of("""
    apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db, namespace: x}
    spec:
      serviceName: db
      replicas: 2
      selector: {matchLabels: {app: db}}
      template:
        metadata: {labels: {app: db}}
        spec:
          subdomain: db
          containers: [{name: c, ports: [{name: pg, containerPort: 5432}]}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: db, namespace: x}
    spec: {clusterIP: None, selector: {app: db}, ports: [{name: pg, port: 5432}]}
    """)
    zone = build_zone(c)
    ip = c.pod("x/db-1").ip
    assert answer(zone, "db-1.db.x.svc.cluster.local.", "A").records[0].value == ip


def test_resolv_conf_policies_and_limits():
    c = cluster_of("""
    apiVersion: v1
    kind: Pod
    metadata: {name: host, namespace: x}
    spec: {hostNetwork: true, containers: [{name: c}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: custom, namespace: x}
    spec:
      dnsPolicy: None
      dnsConfig:
        nameservers: [1.1.1.1, 8.8.8.8, 9.9.9.9, 10.0.0.9]
        searches: [a.example, a.example, b.example]
        options: [{name: ndots, value: "1"}, {name: edns0}]
      containers: [{name: c}]
    """)
    host = resolv_conf(c, c.pod("x/host"))
    assert "svc.cluster.local" not in host.text()  # ClusterFirst on hostNetwork falls to Default
    custom = resolv_conf(c, c.pod("x/custom"))
    assert custom.nameservers == ("1.1.1.1", "8.8.8.8", "9.9.9.9")
    assert custom.searches == ("a.example", "b.example")
    assert custom.text().endswith("options ndots:1 edns0\n")
    assert any("kubelet keeps the first 3" in w for w in custom.warnings)


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=60)


def test_cli_json_contract():
    r = podnet("dns", "-f", OSLO, "--pod", "default/optimization-test", "google.com", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["resolv_conf"].endswith("options ndots:2\n")
    assert data["queries"][0] == {"name": "google.com.default.svc.cluster.local.", "type": "A",
                                  "rcode": "NXDOMAIN", "result": "NXDOMAIN"}
    assert len(data["queries"]) == 8 and data["answer"][0]["type"] == "A"
    assert "fewer than ndots:2" in data["notes"][0]
    r = podnet("dns", "-f", OSLO, "--pod", "production/nope", "x")
    assert r.returncode == 2 and "production/nope" in r.stderr and "Traceback" not in r.stderr


def test_service_selection_is_one_rule_for_endpoints_and_dns():
    """The EndpointSlice controller's choice, shared by kube-proxy's plans and the DNS zone:
    hostNetwork pods are endpoints at their node's IP, not-ready ones are not (unless the
    Service publishes them), and an empty selector selects nothing."""
    from podnet.services import resolve
    c = cluster_of("""
    apiVersion: v1
    kind: Pod
    metadata: {name: agent, namespace: x, labels: {app: a}}
    spec: {hostNetwork: true, nodeName: node-1, containers: [{name: c, ports: [{containerPort: 9100}]}]}
    ---
    apiVersion: v1
    kind: Pod
    metadata: {name: web, namespace: x, labels: {app: a}}
    spec: {containers: [{name: c, ports: [{containerPort: 9100}]}]}
    status: {conditions: [{type: Ready, status: "False"}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: agents, namespace: x}
    spec: {selector: {app: a}, ports: [{port: 9100}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: agents-hl, namespace: x}
    spec: {clusterIP: None, selector: {app: a}, ports: [{port: 9100}]}
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: manual, namespace: x}
    spec: {selector: {}, ports: [{port: 80}]}
    """)
    agent, web = c.pod("x/agent"), c.pod("x/web")
    assert agent.ip == c.node(agent.node).internal_ip and not web.ready
    plans = {p.name: p for p in resolve(c)}
    assert [e.ip for e in plans["agents"].endpoints] == [agent.ip]
    assert plans["manual"].endpoints == ()
    zone = build_zone(c)
    assert [r.value for r in answer(zone, "agents-hl.x.svc.cluster.local.", "A").records] == [agent.ip]


@pytest.mark.parametrize("name,qtype,rcode,values", [
    # RFC 6761 6.4: .invalid never resolves; 6.2: .test is NXDOMAIN by default
    ("foo.invalid.", "A", "NXDOMAIN", []),
    ("invalid.", "A", "NXDOMAIN", []),
    ("db.staging.test.", "AAAA", "NXDOMAIN", []),
    # 6.3: localhost and below are the loopback addresses, answered without asking anyone
    ("localhost.", "A", "NOERROR", ["127.0.0.1"]),
    ("api.localhost.", "AAAA", "NOERROR", ["::1"]),
    ("localhost.", "TXT", "NOERROR", []),
    # 6.5 + RFC 2606: the .example TLD is not delegated; example.com resolves normally
    ("foo.example.", "A", "NXDOMAIN", []),
    ("example.com.", "A", "NOERROR", ["<documentation range>"]),
    ("localhost.example.com.", "A", "NOERROR", ["<documentation range>"]),
])
def test_special_use_names_upstream(name, qtype, rcode, values):
    zone = build_zone(load([OSLO]))
    a = answer(zone, name, qtype)
    got = [r.value for r in a.records]
    if values == ["<documentation range>"]:
        assert len(got) == 1 and got[0].rsplit(".", 1)[0] in ("192.0.2", "198.51.100", "203.0.113")
    else:
        assert got == values
    assert (a.rcode, a.source) == (rcode, "upstream")


def test_cli_foo_invalid_is_nxdomain():
    r = podnet("dns", "-f", OSLO, "--pod", "default/optimization-test", "foo.invalid", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["answer"] == []
    assert [q["result"] for q in data["queries"][-2:]] == ["NXDOMAIN", "NXDOMAIN"]
    assert data["queries"][-1]["name"] == "foo.invalid."
    r = podnet("dns", "-f", OSLO, "--pod", "default/optimization-test", "localhost", "-o", "json")
    data = json.loads(r.stdout)
    assert [a["value"] for a in data["answer"]] == ["127.0.0.1", "::1"]
    assert any("/etc/hosts" in n for n in data["notes"])
