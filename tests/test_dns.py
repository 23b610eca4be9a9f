"""Cluster DNS: zone and resolv.conf goldens, glibc/musl expansion tables, the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.dns.records import build_zone, zone_data, zone_from_data
from podnet.dns.resolvconf import ResolvConf, resolv_conf
from podnet.dns.resolver import lookup
from podnet.dns.server import answer
from podnet.model import load
from tests.conftest import EXAMPLES
from tests.helpers import cluster_of

OSLO = str(EXAMPLES / "oslo")


def test_zone_golden(golden):
    golden("dns/oslo.zone", build_zone(load([OSLO])).text())


def test_the_zone_handed_to_the_lab_dns_server_reads_back_whole():
    """`lab up` writes the zone as JSON for the lab's DNS server, which no longer builds the
    model: what it reads back must be the zone, every record and the namespaces it knows."""
    zone = build_zone(load([OSLO]))
    back = zone_from_data(json.loads(json.dumps(zone_data(zone))))
    assert back == zone and back.text() == zone.text() and back.namespaces == zone.namespaces
    assert answer(back, "kube-dns.kube-system.svc.cluster.local.", "A") == answer(
        zone, "kube-dns.kube-system.svc.cluster.local.", "A")


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


# --- glibc and musl against their sources -------------------------------------------------
# glibc: resolv/res_query.c __res_context_search / __res_context_query, resolv/res_init.c
# res_vinit_1 / res_setoptions. musl: src/network/lookup_name.c name_from_dns_search /
# name_from_dns, src/network/resolvconf.c __get_resolv_conf, src/network/res_mkquery.c.

def conf(searches=SEARCH, options=(("ndots", "5"),)) -> ResolvConf:
    return ResolvConf(("10.96.0.10",), tuple(searches), tuple(options))


def names_of(result) -> list[str]:
    """Names in the order sent, a name tried twice listed twice."""
    out: list[str] = []
    for q in result.queries:
        if q.type == "A":
            out.append(q.name)
    return out


def rcodes(table: dict[str, tuple[str, ...]]):
    """name -> one rcode per type in (A, AAAA) order; "ADDR" is NOERROR with an address."""
    from podnet.dns.records import Record
    from podnet.dns.server import Answer

    def ask(name: str, qtype: str) -> Answer:
        codes = table.get(name, ("NXDOMAIN", "NXDOMAIN"))
        code = codes[0 if qtype == "A" else 1]
        if code == "ADDR":
            value = "192.0.2.1" if qtype == "A" else "2001:db8::1"
            return Answer("NOERROR", (Record(name, qtype, value),), "test")
        return Answer(code, (), "test")
    return ask


SEARCHED = ["web.ns.svc.cluster.local.", "web.svc.cluster.local.", "web.cluster.local."]


def test_glibc_no_tld_query_never_sends_a_single_label_as_is():
    """res_query.c __res_context_search, last block: the name as is is skipped when
    RES_NOTLDQUERY is set, the name has no dot and a search list was walked; res_init.c
    res_setoptions accepts both spellings. A dotted name, or an empty search list, still goes
    as is; musl has no such option."""
    for spelling in ("no-tld-query", "no_tld_query"):
        rc = conf(options=(("ndots", "5"), (spelling, None)))
        result = lookup("web", rc, rcodes({}), "glibc")
        assert names_of(result) == SEARCHED
        assert any("no-tld-query" in n for n in result.notes)
    rc = conf(options=(("ndots", "5"), ("no-tld-query", None)))
    assert names_of(lookup("db.team", rc, rcodes({}), "glibc"))[-1] == "db.team."
    assert names_of(lookup("web", conf((), rc.options), rcodes({}), "glibc")) == ["web."]
    assert names_of(lookup("web", rc, rcodes({}), "musl")) == [*SEARCHED, "web."]
    # res_setoptions: a leading "-" clears the flag again
    rc = conf(options=(("no-tld-query", None), ("-no-tld-query", None)))
    assert names_of(lookup("web", rc, rcodes({}), "glibc"))[-1] == "web."


def test_ndots_is_capped_at_15_by_both():
    """glibc: res_init.c res_setoptions clamps ndots at RES_MAXNDOTS (resolv.h: 15);
    tst-resolv-res_init-skeleton.c reads "ndots:99" as ndots:15. musl: resolvconf.c
    __get_resolv_conf caps at 15 as well. A name with 15 dots is then tried as is first."""
    name = ".".join("abcdefghijklmnop")  # 16 labels, 15 dots
    assert name.count(".") == 15
    for value in ("20", "99"):
        rc = conf(options=(("ndots", value),))
        assert rc.ndots == 15
        for libc in ("glibc", "musl"):
            result = lookup(name, rc, rcodes({name + ".": ("ADDR", "NOERROR")}), libc)
            assert names_of(result) == [name + "."], libc
            assert any("caps ndots at 15" in n for n in result.notes)
    # 14 dots stay below the cap: the search list comes first
    short = name[2:]
    assert names_of(lookup(short, conf(options=(("ndots", "20"),)), rcodes({}), "glibc"))[0] \
        == f"{short}.ns.svc.cluster.local."


def test_ndots_malformed_values_differ_between_the_libcs():
    """glibc reads ndots with strtol (res_init.c res_setoptions): "ndots:x" is 0, so even a
    single label is tried as is first; the value lands in the 4-bit ndots field of struct
    __res_state (bits/types/res_state.h), so -1 is 15. musl (resolvconf.c) wants a digit after
    "ndots:" and otherwise keeps its default of 1."""
    rc = conf(options=(("ndots", "x"),))
    assert names_of(lookup("web", rc, rcodes({}), "glibc")) == ["web.", *SEARCHED]
    assert names_of(lookup("web", rc, rcodes({}), "musl")) == [*SEARCHED, "web."]
    assert rc.ndots == 0
    rc = conf(options=(("ndots", "-1"),))
    assert names_of(lookup("a.b.c", rc, rcodes({}), "glibc"))[0] == "a.b.c.ns.svc.cluster.local."
    assert names_of(lookup("a.b.c", rc, rcodes({}), "musl")) == ["a.b.c."]  # ndots 1


def test_root_domain_in_the_search_list():
    """glibc (res_query.c __res_context_search): a "." entry (its leading dot is dropped, the
    empty rest is the root) queries the name as is at that point, sets root_on_list, and the
    name is not tried again at the end. musl (lookup_name.c name_from_dns_search) builds
    "web.." for it, which __res_mkquery (res_mkquery.c) refuses: no query, the walk goes on."""
    rc = conf(("ns.svc.cluster.local", ".", "cluster.local"))
    glibc = lookup("web", rc, rcodes({}), "glibc")
    assert names_of(glibc) == ["web.ns.svc.cluster.local.", "web.", "web.cluster.local."]
    assert any("root domain" in n for n in glibc.notes)
    musl = lookup("web", rc, rcodes({}), "musl")
    assert names_of(musl) == ["web.ns.svc.cluster.local.", "web.cluster.local.", "web."]
    # glibc, dots >= ndots: tried as is first, then again at the root entry, not at the end
    rc = conf((".", "cluster.local"), (("ndots", "1"),))
    assert names_of(lookup("a.b", rc, rcodes({}), "glibc")) == ["a.b.", "a.b.", "a.b.cluster.local."]


def test_search_domain_spelling():
    """glibc drops one leading dot of a search entry (res_query.c __res_context_search); musl
    builds "web..example.com", whose empty label __res_mkquery refuses, so it skips the entry.
    A trailing dot is fine for both (res_mkquery.c strips one final dot)."""
    rc = conf((".example.com", "example.net."))
    assert names_of(lookup("web", rc, rcodes({}), "glibc")) == ["web.example.com.", "web.example.net.",
                                                                "web."]
    assert names_of(lookup("web", rc, rcodes({}), "musl")) == ["web.example.net.", "web."]


def search_of_length(n: int) -> tuple[str, ...]:
    """Search domains whose "search ..." line is exactly n characters."""
    domains, line = [], "search"
    while len(line) + 1 + 63 < n:
        domains.append("d" * 59 + f"{len(domains):02d}.io")
        line += " " + domains[-1]
    rest = n - len(line) - 1
    domains.append(("e" * (rest - 3)) + ".io")
    assert len("search " + " ".join(domains)) == n
    return tuple(domains)


def test_musl_skips_a_resolv_conf_line_longer_than_its_buffer():
    """musl's __get_resolv_conf (resolvconf.c) reads lines with fgets into char line[256]; a
    line with no newline in the buffer (255 characters or more) is skipped whole, not
    truncated, so the pod searches nothing. glibc reads with getline (res_init.c res_vinit_1).
    kubelet allows a 2048-character search line (resolvconf.py)."""
    fits = conf(search_of_length(254))
    first = f"web.{fits.searches[0]}."
    assert names_of(lookup("web", fits, rcodes({}), "musl"))[0] == first
    too_long = conf(search_of_length(255))
    musl = lookup("web", too_long, rcodes({}), "musl")
    assert names_of(musl) == ["web."]
    assert any("musl skips the 255-character search line" in n for n in musl.notes)
    glibc = lookup("web", too_long, rcodes({}), "glibc")
    assert len(names_of(glibc)) == len(too_long.searches) + 1
    # a long options line is skipped too: musl falls back to ndots 1
    opts = conf(SEARCH, (("ndots", "5"), *((f"opt{i:03d}" + "x" * 40, None) for i in range(6))))
    assert names_of(lookup("a.b", opts, rcodes({}), "musl")) == ["a.b."]
    assert names_of(lookup("a.b", opts, rcodes({}), "glibc"))[0] == "a.b.ns.svc.cluster.local."


def test_cli_notes_musl_skipping_a_long_search_line(tmp_path):
    domains = [f"team{i:02d}.corp.internal.example.com" for i in range(8)]
    (tmp_path / "pod.yaml").write_text(f"""
apiVersion: v1
kind: Pod
metadata: {{name: app, namespace: shop}}
spec:
  dnsConfig: {{searches: [{", ".join(domains)}]}}
  containers: [{{name: c, image: alpine}}]
""")
    r = podnet("dns", "-f", str(tmp_path), "--pod", "shop/app", "db", "--libc", "musl", "-o", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    line = next(x for x in data["resolv_conf"].splitlines() if x.startswith("search "))
    assert 255 <= len(line) <= 2048
    assert [q["name"] for q in data["queries"] if q["type"] == "A"] == ["db."]
    assert any(f"musl skips the {len(line)}-character search line" in n for n in data["notes"])
    r = podnet("dns", "-f", str(tmp_path), "--pod", "shop/app", "db", "-o", "json")
    assert json.loads(r.stdout)["queries"][0]["name"] == "db.shop.svc.cluster.local."


@pytest.mark.parametrize("libc,table,expected,answered", [
    # glibc tst-resolv-search.c do_test_all: "servfail-usersys" gets SERVFAIL in the first
    # search domain and is found in the second (__res_context_search: SERVFAIL keeps trying)
    ("glibc", {"web.ns.svc.cluster.local.": ("SERVFAIL", "SERVFAIL"),
               "web.svc.cluster.local.": ("ADDR", "NOERROR")},
     ["web.ns.svc.cluster.local.", "web.svc.cluster.local."], True),
    # any other error (REFUSED: NO_RECOVERY) ends the search list; the name as is still goes
    ("glibc", {"web.ns.svc.cluster.local.": ("REFUSED", "REFUSED"),
               "web.svc.cluster.local.": ("ADDR", "NOERROR")},
     ["web.ns.svc.cluster.local.", "web."], False),
    # SERVFAIL on AAAA alone: h_errno TRY_AGAIN, but the search loop looks for SERVFAIL in
    # the first (A) answer's header, finds NOERROR, and ends the list
    ("glibc", {"web.ns.svc.cluster.local.": ("NOERROR", "SERVFAIL"),
               "web.svc.cluster.local.": ("ADDR", "NOERROR")},
     ["web.ns.svc.cluster.local.", "web."], False),
    # __res_context_query: an address in either answer is success, whatever the other says
    ("glibc", {"web.ns.svc.cluster.local.": ("SERVFAIL", "ADDR")}, ["web.ns.svc.cluster.local."], True),
    # musl name_from_dns: rcodes first, in query order: SERVFAIL on AAAA is EAI_AGAIN even
    # though A has an address
    ("musl", {"web.ns.svc.cluster.local.": ("ADDR", "SERVFAIL")}, ["web.ns.svc.cluster.local."], False),
    # ...and NXDOMAIN on AAAA after an empty A answer means "try the next name"
    ("musl", {"web.ns.svc.cluster.local.": ("NOERROR", "NXDOMAIN"),
              "web.svc.cluster.local.": ("ADDR", "NOERROR")},
     ["web.ns.svc.cluster.local.", "web.svc.cluster.local."], True),
    # REFUSED is EAI_FAIL: the walk ends there
    ("musl", {"web.ns.svc.cluster.local.": ("REFUSED", "REFUSED")}, ["web.ns.svc.cluster.local."], False),
])
def test_rcode_handling(libc, table, expected, answered):
    result = lookup("web", conf(), rcodes(table), libc)
    assert names_of(result) == expected
    assert bool(result.answer) is answered


def test_glibc_tst_resolv_search_dotted_name_found_as_is():
    """tst-resolv-search.c do_test_all: "file.corp" (one dot, default ndots 1) is answered as
    is, before the search list, although file.corp.example.com exists too."""
    rc = conf(("usersys.example.com", "corp.example.com", "example.com"), ())
    table = {"file.corp.": ("ADDR", "ADDR"), "file.corp.corp.example.com.": ("ADDR", "ADDR")}
    result = lookup("file.corp", rc, rcodes(table), "glibc")
    assert names_of(result) == ["file.corp."] and result.answer


def test_glibc_no_aaaa_asks_a_alone():
    """resolv/nss_dns/dns-host.c gethostbyname4: under RES_NOAAAA it searches with T_A instead
    of T_QUERY_A_AND_AAAA (tst-resolv-noaaaa.c); musl has no such option."""
    rc = conf(options=(("ndots", "5"), ("no-aaaa", None)))
    glibc = lookup("web", rc, rcodes({}), "glibc")
    assert {q.type for q in glibc.queries} == {"A"} and len(glibc.queries) == 4
    assert {q.type for q in lookup("web", rc, rcodes({}), "musl").queries} == {"A", "AAAA"}


def test_musl_rejects_names_before_any_query():
    """lookup_name.c name_from_dns_search: two final dots is EAI_NONAME; a search domain that
    would not fit the 256-byte name buffer with the name is skipped."""
    result = lookup("web..", conf(), rcodes({}), "musl")
    assert result.queries == () and any("EAI_NONAME" in n for n in result.notes)
    name = "n" * 60 + "." + "m" * 60  # 121 characters, 1 dot
    long_domain = "x" * 60 + "." + "y" * 60 + "." + "z" * 12  # 134: 121 + 134 >= 255
    rc = conf((long_domain, "cluster.local"))
    assert names_of(lookup(name, rc, rcodes({}), "musl")) == [f"{name}.cluster.local.", f"{name}."]
