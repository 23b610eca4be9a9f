"""A trace computes the data-plane state of the nodes its flow crosses, not of every node: on a
generated cluster of 60 nodes each flow builds the state of its two or three nodes, that state
is what ``desired_state`` gives for them, and a flow between pods resolves no Service's
endpoints. The host-gw segment check, which every trace still runs, is checked against the
pairwise rule it replaces."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

import pytest

from podnet.analysis import Analysis
from podnet.dataplane import cni
from podnet.errors import InputError
from podnet.model import Cluster, build, read_texts
from podnet.model.objects import Node, Pod
from podnet.policy.query import parse_port
from podnet.predict.translate import trace_flow

NODES = 60


def generated(mode: str | None = None, nodes: int = NODES, namespaces: int = 6,
              replicas: int = 20) -> Cluster:
    """``namespaces`` namespaces, each one Deployment spread over ``nodes`` nodes on one /24, a
    ClusterIP Service in each, one NodePort Service, and a default deny with one allow rule."""
    items: list[dict[str, object]] = [
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"node-{i:03d}"},
         "status": {"addresses": [{"type": "InternalIP", "address": f"192.168.10.{i + 1}"}]}}
        for i in range(nodes)]
    for n in range(namespaces):
        ns = f"ns-{n}"
        items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        items.append({"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": "web", "namespace": ns},
                      "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                               "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                                   "containers": [{"name": "c", "ports": [
                                       {"name": "http", "containerPort": 8080}]}]}}}})
        items.append({"apiVersion": "v1", "kind": "Service",
                      "metadata": {"name": "web", "namespace": ns},
                      "spec": {"selector": {"app": "web"}, "type": "NodePort" if n == 1 else
                               "ClusterIP", "ports": [{"port": 80, "targetPort": "http"}]}})
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": "allow-web", "namespace": ns},
                      "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                               "ingress": [{"ports": [{"port": "http"}]}]}})
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
    return build(read_texts([("generated.json", text)]),
                 overrides={"cni": mode} if mode else None)


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    c = generated()
    assert len(c.nodes) == NODES and len(c.pods) == 120
    return c


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The nodes whose state is built, in order (every NodeState comes from ``_node_state``)."""
    names: list[str] = []
    real = cni._node_state

    def counting(cluster: Cluster, node: Node, mode: str, prefix: int) -> cni.NodeState:
        names.append(node.name)
        return real(cluster, node, mode, prefix)

    monkeypatch.setattr(cni, "_node_state", counting)
    yield names


def run(c: Cluster, src: str, to: str, a: Analysis | None = None) -> dict[str, object]:
    target, _, port = to.rpartition(":")
    number, proto = parse_port(port)
    source: Pod | str = c.pod(src) or src
    return trace_flow(a or Analysis(c), source, target, port, number, proto).as_dict()


def on_other_nodes(c: Cluster) -> tuple[Pod, Pod]:
    a = c.pod("ns-0/web-0")
    assert a is not None
    b = next(p for p in c.pods if p.namespace == "ns-2" and p.node != a.node)
    return a, b


@pytest.mark.parametrize("mode", ["vxlan", "host-gw", "bgp", "ipip", "wireguard"])
def test_a_pod_to_pod_trace_builds_two_nodes_and_resolves_no_service(built, mode):
    c = generated(mode)
    a_pod, b_pod = on_other_nodes(c)
    analysis = Analysis(c)
    path = run(c, a_pod.key, f"{b_pod.key}:8080/TCP", analysis)
    assert path["verdict"] == "delivered"
    assert sorted(built) == sorted({a_pod.node, b_pod.node})
    # no Service is on the way, so none of the 6 Services' endpoints were looked for
    assert "plans" not in analysis.__dict__


def test_the_states_a_trace_builds_are_desired_states(cluster):
    a_pod, b_pod = on_other_nodes(cluster)
    everything = {s.node: s for s in cni.desired_state(cluster)}
    some = cni.node_states(cluster, [b_pod.node, a_pod.node, "no-such-node"])
    assert some == {n: everything[n] for n in (a_pod.node, b_pod.node)}
    assert len(some[a_pod.node].routes) == NODES - 1  # a whole route table, not a summary


def test_a_service_trace_builds_the_source_and_endpoint_nodes(cluster, built):
    a_pod, _ = on_other_nodes(cluster)
    path = run(cluster, a_pod.key, "ns-3/web:80/TCP")
    assert path["verdict"] == "delivered"
    endpoint = cluster.pod(str(path["to"]))
    assert endpoint is not None and endpoint.namespace == "ns-3"
    assert sorted(built) == sorted({a_pod.node, endpoint.node})


def test_a_trace_to_a_nodes_address_builds_that_node(cluster, built):
    a_pod, _ = on_other_nodes(cluster)
    far = next(n for n in cluster.nodes if n.name != a_pod.node)
    path = run(cluster, a_pod.key, f"{far.internal_ip}:22/TCP")
    assert path["verdict"] == "delivered"
    assert sorted(built) == sorted({a_pod.node, far.name})


def test_from_outside_builds_the_attracting_and_endpoint_nodes(cluster, built):
    analysis = Analysis(cluster)
    node_port = next(p.node_port for p in analysis.plans if p.namespace == "ns-1")
    entry = cluster.nodes[NODES // 2]
    path = run(cluster, "198.51.100.7", f"{entry.internal_ip}:{node_port}/TCP", analysis)
    endpoint = cluster.pod(str(path["to"]))
    assert path["verdict"] == "delivered" and endpoint is not None
    assert sorted(built) == sorted({entry.name, endpoint.node})


def pairwise_l2(c: Cluster) -> str | None:
    """The rule as first written: every node against every other (the first offender's text)."""
    import ipaddress
    for n in c.nodes:
        own = cni.node_subnet(n)
        for o in c.nodes:
            if o.name != n.name and ipaddress.ip_address(o.internal_ip or "0.0.0.0") not in own:
                return f"node {o.name} ({o.internal_ip}) is not on node {n.name}'s subnet {own}"
    return None


def test_the_host_gw_segment_check_finds_what_the_pairwise_check_found():
    rng = random.Random(17)
    refused = 0
    for case in range(80):
        items = []
        for i in range(rng.randint(1, 7)):
            ip = f"10.{rng.choice((0, 1))}.{rng.choice((1, 2, 3))}.{rng.randint(1, 254)}"
            meta: dict[str, object] = {"name": f"n{i}"}
            if rng.random() < 0.3:  # a Calico annotation: a wider (or narrower) own segment
                meta["annotations"] = {"projectcalico.org/IPv4Address":
                                       f"{ip}/{rng.choice((8, 15, 16, 24, 28))}"}
            items.append({"apiVersion": "v1", "kind": "Node", "metadata": meta,
                          "status": {"addresses": [{"type": "InternalIP", "address": ip}]}})
        text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items})
        try:
            c = build(read_texts([(f"case{case}.json", text)]))
        except InputError:
            continue  # two nodes drew one address
        want = pairwise_l2(c)
        if want is None:
            assert len(cni.desired_state(c, "host-gw")) == len(c.nodes)
            continue
        refused += 1
        with pytest.raises(InputError) as err:
            cni.node_states(c, [c.nodes[0].name], "host-gw")
        assert want in str(err.value)
    assert 10 < refused < 70  # both outcomes drawn
