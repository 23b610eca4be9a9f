"""The pure halves of `lab doctor` and `lab conntrack`: the checklist's questions and their
predicted answers (podnet.predict.checklist), the judging of what the lab saw, and what a
conntrack flood's readings mean (podnet.doctor.ctflood). The lab halves run in
tests/lab/test_lab_doctor.py."""

from __future__ import annotations

import textwrap
from dataclasses import replace

from podnet.analysis import Analysis
from podnet.doctor.ctflood import Flood, by_flow, parse_stats, report, seeds_max, settable
from podnet.model import build, load, read_texts
from podnet.predict.checklist import HTTP_SERVER, Question, judge, questions, routes_seen
from podnet.predict.probe import ingress_controller_pods, probed_pods
from podnet.predict.services import expect
from tests.conftest import ROOT
from tests.test_doctor import DENY_EGRESS, DNS, deploy

OSLO = str(ROOT / "examples" / "oslo")


def _asked(a: Analysis, src: str) -> dict[str, object]:
    pod = a.cluster.pod(src)
    return {q.step: q for q in questions(a, "iptables", pod, probed_pods(a))}


def test_oslo_questions_from_frontend() -> None:
    a = Analysis(load([OSLO]))
    q = _asked(a, "production/frontend-0")
    assert list(q) == ["dns", "routes", "pod-to-pod", "service"]
    assert q["dns"].predicted == "10.96.0.1"  # type: ignore[attr-defined]
    assert q["routes"].predicted == "169.254.1.1 dev eth0; default via 169.254.1.1 dev eth0"  # type: ignore[attr-defined]
    p2p = q["pod-to-pod"]
    dst = next(p for p in a.cluster.pods if p.ip == p2p.ip)  # type: ignore[attr-defined]
    assert dst.node != a.cluster.pod("production/frontend-0").node  # crosses the underlay
    allowed = a.evaluator.allowed(a.cluster.pod("production/frontend-0"), dst).allows("TCP", p2p.port)  # type: ignore[attr-defined]
    assert p2p.predicted == ("allowed" if allowed else "denied")  # type: ignore[attr-defined]
    # a Service in front of workloads is chosen before the ingress controller's
    assert not q["service"].target.startswith("ingress-nginx/")  # type: ignore[attr-defined]


def test_dns_predicted_unanswered_when_egress_blocks_it() -> None:
    docs = read_texts([("t.yaml", textwrap.dedent(DNS + deploy("web") + deploy("api")
                                                  + DENY_EGRESS))])
    a = Analysis(build(docs, nodes=2))
    src = next(p for p in a.cluster.pods if p.namespace == "shop")
    q = _asked(a, src.key)
    assert q["dns"].predicted.startswith("no answer (the cluster DNS ")  # type: ignore[attr-defined]
    assert q["pod-to-pod"].predicted == "denied"  # type: ignore[attr-defined]
    # the lab's getent timing out agrees; an answer would not
    assert judge(q["dns"], "no answer")["agrees"]  # type: ignore[arg-type]
    assert not judge(q["dns"], "10.96.0.1")["agrees"]  # type: ignore[arg-type]
    assert judge(q["pod-to-pod"], "dropped")["agrees"]  # type: ignore[arg-type]
    assert not judge(q["pod-to-pod"], "reachable")["agrees"]  # type: ignore[arg-type]


def test_judging_a_service_answer() -> None:
    a = Analysis(load([OSLO]))
    svc = _asked(a, "production/frontend-0")["service"]
    endpoints = sorted(svc.service.allowed)  # type: ignore[attr-defined]
    assert judge(svc, endpoints[0])["agrees"] == svc.service.allowed[endpoints[0]]  # type: ignore[arg-type,attr-defined]
    assert not judge(svc, "default/optimization-test")["agrees"]  # type: ignore[arg-type]  # no endpoint of it
    # nginx answers without its pod's name: it counts as the controller pod when that is allowed
    src = a.cluster.pod("default/optimization-test")
    e = expect(a, "iptables", src.node or "", src, "10.96.0.100", 80, "TCP")  # ingress-nginx
    assert e.allowed == {"ingress-nginx/ingress-nginx-controller-7d9f6c5b8-x2x9q": True}
    lb = Question("service", src.key, "ingress-nginx", "10.96.0.100", 80, e.summary(), e,
                  frozenset(ingress_controller_pods(a)))
    assert judge(lb, HTTP_SERVER)["agrees"]
    assert not judge(replace(lb, http_pods=frozenset()), HTTP_SERVER)["agrees"]


def test_routes_seen_from_ip_json() -> None:
    rows = [{"dst": "default", "gateway": "169.254.1.1", "dev": "eth0", "flags": ["onlink"]},
            {"dst": "169.254.1.1", "dev": "eth0", "scope": "link"}]
    assert routes_seen(rows) == "169.254.1.1 dev eth0; default via 169.254.1.1 dev eth0"
    assert routes_seen(rows[1:]) == "169.254.1.1 dev eth0"  # the default route is gone
    extra = rows + [{"dst": "10.0.0.0/8", "gateway": "169.254.1.1", "dev": "eth0"}]
    assert routes_seen(extra).endswith("; 10.0.0.0/8 via 169.254.1.1 dev eth0")


# this kernel's /proc/net/stat/nf_conntrack layout (6.x), two CPUs
STAT = "\n".join([
    "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop "
    "early_drop icmp_error  expect_new expect_create expect_delete search_restart",
    "00000bb8  00000001 00000000 00000000 00000002 00000000 00000000 00000000 00000000 00000003 "
    "0000000a 00000000 00000000  00000000 00000000 00000000 00000000",
    "00000bb8  00000000 00000000 00000000 00000001 00000000 00000000 00000000 00000000 00000001 "
    "00000005 00000002 00000000  00000000 00000000 00000000 00000000"]) + "\n"


def test_parse_stats_sums_cpus_but_not_entries() -> None:
    s = parse_stats(STAT)
    assert s["entries"] == 3000  # one table total, repeated per CPU
    assert (s["insert_failed"], s["drop"], s["early_drop"], s["invalid"]) == (4, 15, 2, 3)
    assert parse_stats("") == {}


def test_by_flow_counts_protocol_and_port() -> None:
    table = (
        "ipv4     2 tcp      6 431999 ESTABLISHED src=10.244.0.4 dst=10.244.1.100 sport=40000 "
        "dport=80 src=10.244.1.100 dst=10.244.0.4 sport=80 dport=40000 [ASSURED] mark=0 zone=0 use=2\n"
        "ipv4     2 udp      17 20 src=10.0.0.1 dst=10.0.0.2 sport=35027 dport=8472 [UNREPLIED] "
        "src=10.0.0.2 dst=10.0.0.1 sport=8472 dport=35027 mark=0 zone=0 use=2\n"
        "ipv4     2 udp      17 20 src=10.0.0.2 dst=10.0.0.1 sport=60279 dport=8472 [UNREPLIED] "
        "src=10.0.0.1 dst=10.0.0.2 sport=8472 dport=60279 mark=0 zone=0 use=2\n"
        "ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=1 src=10.0.0.2 "
        "dst=10.0.0.1 type=0 code=0 id=1 mark=0 zone=0 use=2\n")
    assert by_flow(table) == {"tcp/80": 1, "udp/8472": 2, "icmp": 1}  # original direction's port


def test_overflow_is_never_settable_by_guessing() -> None:
    # read-only: the limit is global; writable: could be the host's, so never written either
    assert settable(0o444, "6.18")[0] is False and "mode 0444" in settable(0o444, "6.18")[1]
    assert settable(0o644, "4.19")[0] is False and "writable (mode 0644)" in settable(0o644, "4.19")[1]
    assert "not loaded" in settable(None, "6.18")[1]


def test_flood_report() -> None:
    f = Flood("oslo-1", connections=1000, failed=0, count_before=12, count_after=3012,
              limit=262144, buckets=262144, cpus=2,
              stats_before={"drop": 1, "early_drop": 0, "insert_failed": 2},
              stats_after={"drop": 1, "early_drop": 0, "insert_failed": 5},
              by_flow={"udp/8472": 2000, "tcp/80": 1000})
    r = report(f, (False, "read-only"))
    assert r["entries"] == {"before": 12, "after": 3012, "added": 3000, "per_connection": 3.0}
    assert r["connections_until_full"] == (262144 - 3012) // 3
    assert seeds_max(2) == 131072 and seeds_max(8) == 262144  # max(32768 x CPUs, 131072)
    assert r["seeds"]["connections_until_full"] == (131072 - 3012) // 3
    assert r["drops"] == {"drop": 0, "early_drop": 0, "insert_failed": 3}  # during the flood only
    assert list(r["by_flow"]) == ["udp/8472", "tcp/80"]  # largest first
    assert r["overflow"] == {"possible": False, "reason": "read-only"}
