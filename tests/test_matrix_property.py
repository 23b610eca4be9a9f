"""The vectorised matrix must equal the per-pair reference verdict on random clusters."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.model import build, read_texts
from podnet.policy import Evaluator, class_matrix, compile_cluster, count_allowed, pod_matrix
from tests.admin_gen import admin_docs, strategies
from tests.helpers import policy_docs

APPS = ["a", "b", "c"]
NSS = ["x", "y"]
sel = st.one_of(st.none(), st.just({}), st.builds(lambda v: {"matchLabels": {"app": v}},
                                                 st.sampled_from(APPS)),
                st.builds(lambda v: {"matchExpressions": [{"key": "app", "operator": "NotIn",
                                                           "values": [v]}]},
                          st.sampled_from(APPS)))
nssel = st.one_of(st.none(), st.just({}), st.builds(lambda v: {"matchLabels": {"team": v}},
                                                    st.sampled_from(NSS)))


def mk_peer(pod_sel, ns_sel, cidr):
    if cidr:
        return {"ipBlock": {"cidr": cidr[0], "except": cidr[1]}}
    peer = {}
    if pod_sel is not None:
        peer["podSelector"] = pod_sel
    if ns_sel is not None:
        peer["namespaceSelector"] = ns_sel
    return peer or {"podSelector": {}}


peer = st.builds(mk_peer, sel, nssel, st.one_of(
    st.none(), st.sampled_from([("10.244.0.0/16", []), ("10.244.0.0/23", ["10.244.1.0/24"])])))
port = st.one_of(st.builds(lambda p: {"port": p}, st.sampled_from([80, 81])),
                 st.just({"port": "http"}), st.just({"protocol": "UDP"}),
                 st.just({"port": 79, "endPort": 80}))
rule = st.fixed_dictionaries({}, optional={"peers": st.lists(peer, max_size=2),
                                           "ports": st.lists(port, max_size=2)})
policy = st.fixed_dictionaries({
    "ns": st.sampled_from(NSS), "sel": sel.map(lambda s: s if s is not None else {}),
    "types": st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
    "ingress": st.lists(rule, max_size=2), "egress": st.lists(rule, max_size=2)})
anp, banp = strategies(APPS, NSS, ["10.244.0.0/16", "10.244.0.0/23", "0.0.0.0/0"])
podspec = st.tuples(st.sampled_from(NSS), st.sampled_from(APPS), st.sampled_from([80, 81]))


def manifest(pods, policies, anps=(), banp_spec=None):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"team": n}}}
            for n in NSS]
    for i, (ns, app, p) in enumerate(pods):
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"p{i}", "namespace": ns, "labels": {"app": app}},
                     "spec": {"containers": [{"name": "c", "ports": [
                         {"containerPort": p, "name": "http"}]}]}})
    docs += policy_docs(policies) + admin_docs(list(anps), banp_spec)
    import json
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


@settings(max_examples=120, deadline=None)
@given(st.lists(podspec, min_size=1, max_size=7), st.lists(policy, max_size=4), st.booleans(),
       st.lists(anp, max_size=3), banp)
def test_matrix_equals_reference(pods, policies, ipb, anps, banp_spec):
    cluster = build(read_texts([("gen.json", manifest(pods, policies, anps, banp_spec))]), nodes=2)
    compiled = compile_cluster(cluster, ipblock_matches_pods=ipb)
    ev = Evaluator(cluster, compiled)
    ports = [(79, "TCP"), (80, "TCP"), (81, "TCP"), (80, "UDP"), (53, "UDP")]
    cm = class_matrix(cluster, compiled, ports)
    idx = np.arange(len(cluster.pods))
    for port in ports:
        m = pod_matrix(cm, port, idx, idx)
        assert count_allowed(cm, port) == int(m.sum()) - len(idx)
        for i, s in enumerate(cluster.pods):
            for j, d in enumerate(cluster.pods):
                assert m[i, j] == ev.allowed(s, d).allows(port[1], port[0]), (s.key, d.key, port)
