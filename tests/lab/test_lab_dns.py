"""Real glibc lookups inside lab pods: the queries the lab DNS receives equal the prediction."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from podnet.dns.records import build_zone
from podnet.dns.resolvconf import resolv_conf
from podnet.dns.resolver import lookup
from podnet.dns.server import answer
from podnet.lab import ledger
from podnet.model import load
from tests.conftest import ROOT

OSLO = str(ROOT / "examples" / "oslo")


def podnet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "podnet", *args], capture_output=True, text=True,
                          timeout=300)


CASES = [
    ("production/frontend-0", "backend-service", "10.96.0.11"),  # service, first search domain
    ("production/frontend-0", "database-0.database", "10.244.2.3"),  # StatefulSet pod name
    ("production/frontend-0", "kube-dns.kube-system", "10.96.0.10"),  # another namespace
    ("production/backend-0", "api.github.com", None),  # external, ndots:5 walks the search list
    ("default/optimization-test", "google.com", None),  # the seed's ndots:2: still searched
    ("default/optimization-test", "www.example.org", None),  # 2 dots >= ndots:2: absolute first
    ("production/frontend-0", "kubernetes.default", "10.96.0.1"),  # the built-in Service
    ("production/frontend-0", "foo.invalid", "NXDOMAIN"),  # RFC 6761: never resolves
]


def test_getent_in_pods_matches_the_prediction(lab_name):
    assert podnet("lab", "up", "-f", OSLO, "--name", lab_name, "--cni", "vxlan").returncode == 0
    cluster = load([OSLO])
    zone = build_zone(cluster)
    log = ledger.Ledger(lab_name).dir / "dns-queries.jsonl"
    for pod, name, expected_ip in CASES:
        before = len(log.read_text().splitlines())
        r = podnet("lab", "exec", "--name", lab_name, pod, "--", "getent", "ahosts", name)
        predicted = lookup(name, resolv_conf(cluster, cluster.pod(pod)), lambda n, t: answer(zone, n, t))
        if expected_ip == "NXDOMAIN":  # getent: exit 2, key not found
            assert (r.returncode, r.stdout, predicted.answer) == (2, "", ()), (name, r.stdout)
        else:
            assert r.returncode == 0, (pod, name, r.stderr)
            assert r.stdout.split()[0] == (expected_ip or predicted.answer[0].value)
        seen = [json.loads(line) for line in log.read_text().splitlines()[before:]]
        cluster_side = [(q["name"], q["type"]) for q in seen if q["server"] == "cluster"]
        # glibc sends A and AAAA for a candidate together; their order on the wire may vary
        assert sorted(cluster_side) == sorted((q.name, q.type) for q in predicted.queries), name
        assert [n for n, _ in cluster_side][::2] == [q.name for q in predicted.queries][::2]
        upstream = [(q["name"], q["type"]) for q in seen if q["server"] == "upstream"]
        if expected_ip in (None, "NXDOMAIN"):  # only the name's absolute form leaves the cluster
            assert {n for n, _ in upstream} == {name + "."}
        else:
            assert upstream == []


@pytest.mark.parametrize("pod", ["production/frontend-0", "default/optimization-test"])
def test_pod_resolv_conf_is_kubelets(lab_name, pod):
    assert podnet("lab", "up", "-f", OSLO, "--name", lab_name, "--cni", "host-gw").returncode == 0
    r = podnet("lab", "exec", "--name", lab_name, pod, "--", "cat", "/etc/resolv.conf")
    cluster = load([OSLO])
    assert r.stdout == resolv_conf(cluster, cluster.pod(pod)).text()
