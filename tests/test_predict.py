"""predict/: the lab probe's questions, expectations and comparison, without root."""

from __future__ import annotations

import numpy as np

from podnet.analysis import Analysis
from podnet.model import load
from podnet.policy import class_matrix, pod_matrix
from podnet.predict import probe as predict
from tests.conftest import ROOT

SERVICES = ROOT / "tests" / "manifests" / "lab-services"


def analysis() -> Analysis:
    return Analysis(load([str(SERVICES)], nodes=2))


def test_compare_pods_reports_exactly_the_disagreements():
    a = analysis()
    pods = predict.probed_pods(a)
    ports = [(80, "TCP")]
    index = {p.key: i for i, p in enumerate(a.cluster.pods)}
    idx = np.array([index[p.key] for p in pods], dtype=np.int64)
    want = pod_matrix(class_matrix(a.cluster, a.compiled, ports), (80, "TCP"), idx, idx)
    seen = {(i, j, 80, "TCP"): bool(want[i, j]) for i in range(len(pods))
            for j in range(len(pods)) if i != j}
    assert predict.compare_pods(a, pods, ports, seen).mismatches == []
    flipped = next(k for k, v in seen.items() if not v)
    seen[flipped] = True
    got = predict.compare_pods(a, pods, ports, seen)
    assert got.mismatches == [{"from": pods[flipped[0]].key, "to": pods[flipped[1]].key,
                               "port": "80/TCP", "predicted": False, "observed": True}]
    assert got.observed["80/TCP"][flipped[0]][flipped[1]] is True


def test_service_probes_cover_every_address_from_pods_and_outside():
    a = analysis()
    pods = predict.probed_pods(a)
    asks = predict.service_probes(a, pods, "10.0.0.254", ("TCP", "UDP"))
    nodeports = [p for p in a.plans if p.node_port and p.protocol in ("TCP", "UDP")]
    outside = [q for q in asks if q.src == -1]
    assert len(outside) >= len(nodeports) * len(a.cluster.nodes)
    node_ip = {n.internal_ip: n.name for n in a.cluster.nodes}
    for q in asks:
        if q.ip in node_ip:  # a NodePort is translated by the node addressed
            assert q.node == node_ip[q.ip]
        elif q.src >= 0 and q.ip not in a.attracted:  # a cluster IP by the pod's own node
            assert q.node == pods[q.src].node


def test_compare_services_agrees_with_its_own_expectation_and_not_with_a_silent_drop():
    a = analysis()
    pods = predict.probed_pods(a)
    asks = predict.service_probes(a, pods, "10.0.0.254", ("TCP",))
    answers = {}
    for q in asks:
        e = predict.expected(a, "iptables", q)
        if e.verdict == "DNAT" and any(e.allowed.values()):
            answers[q] = next(k for k, ok in e.allowed.items() if ok)
        else:
            answers[q] = {"REJECT": "rejected"}.get(e.verdict, "dropped")
    rows = predict.compare_services(a, "iptables", answers, {})
    assert rows and all(r["agrees"] for r in rows)
    served = next(q for q, ans in answers.items() if ans not in ("dropped", "rejected")
                  and all(predict.expected(a, "iptables", q).allowed.values()))
    answers[served] = "dropped"
    bad = predict.service_mismatches(predict.compare_services(a, "iptables", answers, {}))
    assert len(bad) == 1 and bad[0]["observed"] == "dropped"
    # ClientIP affinity: landing elsewhere on a repeat is a mismatch
    sticky = next((q for q in asks if q.sticky and answers[q] not in ("dropped", "rejected")), None)
    if sticky is not None:
        rows = predict.compare_services(a, "iptables", {sticky: answers[sticky]},
                                        {sticky: [answers[sticky], "shop/elsewhere-0",
                                                  answers[sticky]]})
        assert rows[0]["agrees"] is False
