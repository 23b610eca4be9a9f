"""`lab probe`'s questions and their expected answers, and the comparison with what the lab
saw. The lab sends the packets; everything it is compared against is decided here.

Pod probes: every (non-hostNetwork) pod to every other on every port, expected as the
NetworkPolicy matrix says. Service probes: every pod, and the outside, to every Service
address (cluster IPs from pods; every NodePort on every node; LoadBalancer and external IPs),
expected as kube-proxy's rules on the node that translates the packet and NetworkPolicy say
(predict/services.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from podnet.analysis import Analysis
from podnet.ingress.controllers import controller_pods, find_controllers
from podnet.model import gateways
from podnet.model.objects import Pod
from podnet.policy import class_matrix, pod_matrix
from podnet.predict.services import Expected, expect

HTTP_SERVER = "http-server"  # what the lab reports when an HTTP server answered a probe
PodKey = tuple[int, int, int, str]  # (source index, destination index, port, protocol)
Answer = str  # the pod key that answered, "rejected" or "dropped"


def ingress_controller_pods(a: Analysis) -> set[str]:
    """Pods that run nginx in the lab (they answer in HTTP): an ingress controller's, and a
    Gateway's data-plane pod."""
    return {p.key for c in find_controllers(a.cluster) if c.declared
            for p in controller_pods(a.cluster, c)} | {p.key for p, _ in _gateway_pods(a)}


def _gateway_pods(a: Analysis) -> list[tuple[Pod, set[int]]]:
    """Each served Gateway's data-plane pod and the ports its nginx listens on (those of its
    programmed listeners)."""
    if not any(p.labels.get(gateways.APP_LABEL) == gateways.APP for p in a.cluster.pods):
        return []  # before the Gateway API's modules: most labs have no Gateway
    from podnet.gateway.attach import build
    from podnet.predict.gateway import data_plane, served

    config = build(a.cluster)
    return [(data_plane(a.cluster, k), {x.listener.port for x in config.gateways[k].listeners
                                         if x.programmed}) for k in served(config)]


def _unserved(a: Analysis) -> set[tuple[str, int]]:
    """(pod IP, port) a Gateway's Service forwards to but its nginx does not listen on (a
    listener not programmed): the Gateway's HTTP probes expect those refused, the Service
    probes' workload model does not."""
    listening = {p.ip: ports for p, ports in _gateway_pods(a)}
    return {(p.ip, port) for p in a.cluster.pods if p.labels.get(gateways.APP_LABEL) == gateways.APP
            for port in {c.port for c in p.ports} - listening.get(p.ip, set())}


def probed_pods(a: Analysis) -> list[Pod]:
    """hostNetwork pods live in their node's namespace; traffic between a node and its own pods
    is always allowed and never crosses the forward hook, so they are not probed directly."""
    return [p for p in a.cluster.pods if not p.host_network]


@dataclass(frozen=True, slots=True)
class PodComparison:
    pods: list[str]
    observed: dict[str, list[list[bool]]]  # "80/TCP" -> matrix, as `reach -o json`
    mismatches: list[dict[str, Any]]


def expected_pods(a: Analysis, pods: list[Pod], ports: list[tuple[int, str]]
                  ) -> dict[str, Any]:
    """The analyzer's pod-to-pod verdicts per port ("80/TCP"), a matrix over ``pods``: what
    ``compare_pods`` holds the probes to, computable before they end."""
    index = {p.key: i for i, p in enumerate(a.cluster.pods)}
    cm = class_matrix(a.cluster, a.compiled, ports)
    idx = np.array([index[p.key] for p in pods], dtype=np.int64)
    return {f"{port}/{proto}": pod_matrix(cm, (port, proto), idx, idx) for port, proto in ports}


def compare_pods(a: Analysis, pods: list[Pod], ports: list[tuple[int, str]],
                 seen: dict[PodKey, bool], expected: dict[str, Any] | None = None
                 ) -> PodComparison:
    """``seen``: reachability the lab observed per (src, dst, port, proto), indices into
    ``pods``; ``expected``: ``expected_pods``, when the caller computed it already. A pod
    reaches itself without a probe."""
    keys = [p.key for p in pods]
    want_all = expected if expected is not None else expected_pods(a, pods, ports)
    observed: dict[str, list[list[bool]]] = {}
    mismatches: list[dict[str, Any]] = []
    for port, proto in ports:
        name = f"{port}/{proto}"
        want = want_all[name]
        m = [[i == j for j in range(len(pods))] for i in range(len(pods))]
        for (i, j, p, pr), ok in seen.items():
            if (p, pr) != (port, proto):
                continue
            m[i][j] = ok
            if ok != bool(want[i, j]):
                mismatches.append({"from": keys[i], "to": keys[j], "port": name,
                                   "predicted": bool(want[i, j]), "observed": ok})
        observed[name] = m
    return PodComparison(keys, observed, mismatches)


@dataclass(frozen=True, slots=True)
class ServiceProbe:
    src: int  # index into the probed pods; -1 for the outside
    source: Pod | str = field(compare=False)  # the pod (src says which), or the outside client
    service: str  # ns/name:port
    ip: str
    port: int
    proto: str
    node: str  # the node whose kube-proxy translates the packet
    sticky: bool  # ClientIP affinity: the client asks again and must land where it did


def service_probes(a: Analysis, pods: list[Pod], external_ip: str,
                   protocols: tuple[str, ...]) -> list[ServiceProbe]:
    unserved = _unserved(a)
    plans = [p for p in a.plans if p.protocol in protocols
             and not (p.endpoints and all((e.ip, e.port) in unserved for e in p.endpoints))]
    out: list[ServiceProbe] = []
    for i, src in enumerate(pods):
        for p in plans:
            sticky = p.affinity_timeout is not None
            # the cluster IP, LoadBalancer and external IPs are translated by the pod's own
            # node; a NodePort by the node addressed
            dests = [(ip, p.port, src.node)
                     for ip in (p.cluster_ip, *p.load_balancer_ips, *p.external_ips)]
            dests += [(n.internal_ip or "", p.node_port, n.name) for n in a.cluster.nodes
                      if p.node_port]
            out += [ServiceProbe(i, src, p.key, ip, port, p.protocol, node, sticky)
                    for ip, port, node in dests]
    for p in plans:
        sticky = p.affinity_timeout is not None
        dests = [(n.internal_ip or "", p.node_port, n.name) for n in a.cluster.nodes
                 if p.node_port]
        dests += [(ip, p.port, a.attracted[ip]) for ip in (*p.load_balancer_ips, *p.external_ips)
                  if ip in a.attracted]
        out += [ServiceProbe(-1, external_ip, p.key, ip, port, p.protocol, node, sticky)
                for ip, port, node in dests]
    return out


def expected(a: Analysis, mode: str, probe: ServiceProbe) -> Expected:
    return expect(a, mode, probe.node, probe.source, probe.ip, probe.port, probe.proto)


def compare_services(a: Analysis, mode: str, answers: dict[ServiceProbe, Answer],
                     repeats: dict[ServiceProbe, list[Answer]]) -> list[dict[str, Any]]:
    """One row per Service probe: what was predicted, what answered, whether they agree.
    ``repeats``: for sticky Services that answered, the answers to the client's next asks."""
    nginx = ingress_controller_pods(a)
    out = []
    for t, answer in sorted(answers.items(), key=lambda kv: (kv[0].src, kv[0].service, kv[0].ip)):
        e = expected(a, mode, t)
        if answer == HTTP_SERVER:  # nginx does not say its pod's name: any allowed one of them
            answer = next((k for k, ok in e.allowed.items() if ok and k in nginx), answer)
        src = t.source
        row: dict[str, Any] = {
            "from": src.key if isinstance(src, Pod) else f"external ({src})",
            "service": t.service, "to": f"{t.ip}:{t.port}", "port": f"{t.port}/{t.proto}",
            "predicted": e.summary(), "observed": answer, "agrees": e.agrees(answer)}
        if t in repeats:
            seen = repeats[t]
            row["repeats"] = seen
            if any(x != answer for x in seen):
                row["agrees"] = False
                row["predicted"] = f"{e.summary()}, the same endpoint every time (ClientIP affinity)"
                row["observed"] = f"{answer}, then {', '.join(seen)}"
        out.append(row)
    return out


def service_mismatches(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"from": s["from"], "to": f"{s['service']} at {s['to']}", "port": s["port"],
             "predicted": s["predicted"], "observed": s["observed"]}
            for s in rows if not s["agrees"]]
