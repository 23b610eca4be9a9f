"""The seeds' debugging checklist (DNS, the pod's routes, pod to pod, a Service), as questions
`lab doctor` asks from one pod, each with the analyzer's answer, and the comparison with what
the lab saw. The lab runs them; what they are compared against is decided here.

- DNS: ``kubernetes.default`` through the pod's resolv.conf, glibc's search-list walk against
  the cluster's zone; no answer when the pod's policy keeps it from the cluster DNS Service.
- Routes: the pod's table as the CNI writes it (dataplane/cni.py): the link-local gateway on
  eth0, and the default route through it.
- Pod to pod: a TCP connect to another pod's first TCP port, preferably on another node (the
  flow that crosses the underlay), allowed or denied as NetworkPolicy says.
- Service: a TCP connect to a ClusterIP, expected as kube-proxy's rules on the pod's node and
  the endpoints' policies say (predict/services.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podnet.analysis import Analysis
from podnet.dataplane.cni import POD_GATEWAY
from podnet.dns.records import build_zone
from podnet.dns.resolvconf import dns_service_ip, resolv_conf
from podnet.dns.resolver import lookup
from podnet.dns.server import answer
from podnet.model.objects import Pod
from podnet.predict.probe import HTTP_SERVER, ingress_controller_pods
from podnet.predict.services import Expected, expect
from podnet.services.resolve import ServicePlan

DNS_NAME = "kubernetes.default"
NO_ANSWER = "no answer"
# the pod's table, as `ip -j route show` lists it: (destination, gateway, device)
POD_ROUTES = (("169.254.1.1", "", "eth0"), ("default", POD_GATEWAY, "eth0"))


@dataclass(frozen=True)
class Question:
    step: str  # dns | routes | pod-to-pod | service
    source: str
    target: str  # what is asked for: a name, "routes", ip:port
    ip: str = ""
    port: int = 0
    predicted: str = ""
    service: Expected | None = None  # a Service's expectation, judged by its own rule
    http_pods: frozenset[str] = frozenset()  # endpoints whose nginx answers, not the workload


def _first_tcp_port(pod: Pod) -> int | None:
    found = sorted(p.port for p in pod.ports if p.protocol == "TCP")
    return found[0] if found else None


def pick_target(a: Analysis, src: Pod, pods: list[Pod]) -> tuple[Pod, int] | None:
    """Another pod with a TCP port, on another node when there is one."""
    cands = [(p, port) for p in pods if p.key != src.key
             and (port := _first_tcp_port(p)) is not None]
    cands.sort(key=lambda c: (c[0].node == src.node, c[0].key))
    return cands[0] if cands else None


def pick_service(a: Analysis) -> ServicePlan | None:
    """A TCP ClusterIP Service with endpoints, not the API server's (the seeds' 'curl the
    Service' is about a workload behind it), one in front of workloads before one in front of
    an ingress controller."""
    nginx = ingress_controller_pods(a)
    plans = sorted((p for p in a.plans if p.protocol == "TCP" and p.cluster_ip
                    and p.cluster_ip != "None" and p.endpoints
                    and (p.namespace, p.name) != ("default", "kubernetes")),
                   key=lambda p: (any(e.pod in nginx for e in p.endpoints), p.key))
    return plans[0] if plans else None


def _dns_prediction(a: Analysis, mode: str, src: Pod) -> str:
    cluster = a.cluster
    server = dns_service_ip(cluster)
    reach = expect(a, mode, src.node, src, server, 53, "UDP")
    if reach.summary() in ("denied", "dropped", "rejected", "no service"):
        return f"{NO_ANSWER} (the cluster DNS {server}:53/UDP is {reach.summary()} for this pod)"
    zone = build_zone(cluster)
    found = lookup(DNS_NAME, resolv_conf(cluster, src), lambda n, t: answer(zone, n, t))
    ips = [r.value for r in found.answer if r.type == "A"]
    return ips[0] if ips else NO_ANSWER


def questions(a: Analysis, mode: str, src: Pod, pods: list[Pod]) -> list[Question]:
    out = [Question("dns", src.key, DNS_NAME, predicted=_dns_prediction(a, mode, src)),
           Question("routes", src.key, "routes",
                    predicted="; ".join(_route_text(r) for r in POD_ROUTES))]
    target = pick_target(a, src, pods)
    if target is not None:
        dst, port = target
        ok = a.evaluator.allowed(src, dst).allows("TCP", port)
        out.append(Question("pod-to-pod", src.key, f"{dst.key} {dst.ip}:{port}", dst.ip, port,
                            "allowed" if ok else "denied"))
    plan = pick_service(a)
    if plan is not None:
        e = expect(a, mode, src.node, src, plan.cluster_ip, plan.port, "TCP")
        out.append(Question("service", src.key, f"{plan.key} {plan.cluster_ip}:{plan.port}",
                            plan.cluster_ip, plan.port, e.summary(), e,
                            frozenset(ingress_controller_pods(a))))
    return out


def _route_text(r: tuple[str, str, str]) -> str:
    dst, via, dev = r
    return f"{dst} via {via} dev {dev}" if via else f"{dst} dev {dev}"


def routes_seen(rows: list[dict[str, Any]]) -> str:
    """`ip -j route show`'s rows in the prediction's words, sorted as the prediction is."""
    seen = sorted(((r.get("dst", ""), r.get("gateway", ""), r.get("dev", "")) for r in rows),
                  key=lambda r: (POD_ROUTES.index(r) if r in POD_ROUTES else len(POD_ROUTES), r))
    return "; ".join(_route_text(r) for r in seen)


def judge(q: Question, observed: str) -> dict[str, Any]:
    """One checklist row: the question, both answers, and whether they agree. ``observed`` for
    the connects is 'reachable'/'dropped' (pod) or the answering pod/'rejected'/'dropped'
    (Service); for DNS the first address or 'no answer'."""
    if q.step == "service" and q.service is not None:
        seen = observed
        if seen == HTTP_SERVER:  # nginx does not say its pod's name: any allowed one of them
            seen = next((k for k, ok in q.service.allowed.items() if ok and k in q.http_pods),
                        seen)
        agrees = q.service.agrees(seen)
    elif q.step == "pod-to-pod":
        agrees = (observed == "reachable") == (q.predicted == "allowed")
    elif q.step == "dns":
        agrees = q.predicted.split(" (")[0] == observed
    else:
        agrees = q.predicted == observed
    return {"step": q.step, "from": q.source, "to": q.target, "predicted": q.predicted,
            "observed": observed, "agrees": agrees}
