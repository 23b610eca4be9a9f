"""The fast paths added for scale (not timed here: speed lives in bench/run.py)."""

import ipaddress
import json

import numpy as np
import pytest

from podnet.model import build, read_texts
from podnet.model.ipam import ipv4_int as _ipv4_int
from podnet.model.objects import Pod, evolve
from podnet.policy import Evaluator, class_matrix, compile_policies, pod_matrix


@pytest.mark.parametrize("ip", ["10.0.0.1", "0.0.0.0", "255.255.255.255", "192.168.10.200"])
def test_ipv4_int_matches_ipaddress(ip):
    assert _ipv4_int(ip) == int(ipaddress.IPv4Address(ip))


@pytest.mark.parametrize("ip", ["10.0.0.256", "10.0.0", "010.0.0.1", "a.b.c.d", "10.0.0.-1"])
def test_ipv4_int_rejects_what_ipaddress_rejects(ip):
    with pytest.raises(ValueError):
        _ipv4_int(ip)


def test_evolve_changes_only_named_fields():
    p = Pod("ns", "a", {"app": "x"}, None)  # type: ignore[arg-type]
    q = evolve(p, node="n1", ip="10.0.0.2")
    assert q == p._replace(node="n1", ip="10.0.0.2") and type(q) is Pod
    with pytest.raises(ValueError):
        evolve(p, nope=1)


def test_egress_few_and_many_sources_equal_reference():
    # 40 namespaces with one pod each: a single-source egress policy takes the strided column
    # path, the "DNS anywhere" policy in 30 namespaces the masked full pass.
    items = []
    for i in range(40):
        ns = f"n{i}"
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "p", "namespace": ns, "labels": {"app": f"a{i % 3}"}},
                      "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 53}]}]}})
        if i < 30:
            items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                          "metadata": {"name": "dns", "namespace": ns},
                          "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                              {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53}]}]}})
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                  "metadata": {"name": "one", "namespace": "n35"},
                  "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
                      {"to": [{"podSelector": {"matchLabels": {"app": "a1"}},
                               "namespaceSelector": {}}]}]}})
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    cluster = build(read_texts([("g.json", text)]), nodes=2)
    compiled = compile_policies(cluster.policies)
    ev = Evaluator(cluster, compiled)
    ports = [(53, "TCP"), (80, "TCP")]
    cm = class_matrix(cluster, compiled, ports)
    idx = np.arange(len(cluster.pods))
    for port in ports:
        m = pod_matrix(cm, port, idx, idx)
        for i, s in enumerate(cluster.pods):
            for j, d in enumerate(cluster.pods):
                assert m[i, j] == ev.allowed(s, d).allows(port[1], port[0]), (s.key, d.key, port)
