"""The stand-in controller `lab up` runs for Ingresses without a declared controller."""

from __future__ import annotations

from podnet.analysis import Analysis
from podnet.ingress import standin
from podnet.ingress.controllers import find_controllers
from podnet.model.cluster import build
from podnet.model.load import RawDoc, read_paths
from podnet.predict.ingress import entry
from tests.conftest import ROOT

CAFE = str(ROOT / "tests" / "manifests" / "lab-ingress-standin")
POOL = str(ROOT / "tests" / "manifests" / "lab-ingress-standin-pool")
SHOP = str(ROOT / "tests" / "manifests" / "lab-ingress")


def _with_standin(paths: list[str]):
    docs = read_paths(paths)
    extra = standin.documents(build(docs, nodes=2))
    return extra, build([*docs, *(RawDoc(standin.FILE, i, b) for i, b in enumerate(extra))],
                        nodes=2)


def test_no_pool_gives_a_node_port_and_a_declared_controller_with_a_pod():
    extra, cluster = _with_standin([CAFE])
    assert [d["kind"] for d in extra] == ["Deployment", "Service"]
    (ctl,) = find_controllers(cluster)
    assert ctl.declared and ctl.key == "ingress-nginx/ingress-nginx-controller"
    # the stand-in the analyzer assumed and the one the lab runs take the same Ingresses
    assert (ctl.ingress_class, ctl.controller_class, ctl.annotations_prefix) == (
        "nginx", "k8s.io/ingress-nginx", "nginx.ingress.kubernetes.io")
    where = entry(Analysis(cluster), ctl)
    assert where is not None
    assert {s: ip for s, (ip, _) in where.items()} == {"http": "10.0.0.1", "https": "10.0.0.1"}
    assert all(30000 <= port <= 32767 for _, port in where.values())
    assert standin.documents(cluster) == []  # made once


def test_a_pool_gives_a_load_balancer_address_from_it():
    extra, cluster = _with_standin([CAFE, POOL])
    assert extra[-1]["spec"]["type"] == "LoadBalancer"
    (ctl,) = find_controllers(cluster)
    assert entry(Analysis(cluster), ctl) == {"http": ("192.0.2.96", 80),
                                             "https": ("192.0.2.96", 443)}


def test_a_declared_controller_or_no_ingress_needs_no_stand_in():
    assert standin.documents(build(read_paths([SHOP]), nodes=2)) == []
    no_ingress = [d for d in read_paths([CAFE]) if d.body["kind"] != "Ingress"]
    assert standin.documents(build(no_ingress, nodes=2)) == []
