"""Where a connection to a Service address ends up, with NetworkPolicy applied: what a probe
of that address should observe. kube-proxy's rules for the receiving node are rendered and
walked (so the prediction is per proxy mode), then each endpoint the walk may DNAT to is
judged by policy where the lab's (and Calico's) forward hook judges it:

- a pod's egress policy sees the packet after its own node's DNAT: the endpoint when its own
  node translated it (ClusterIPs, LoadBalancer and external IPs, a NodePort on its own node),
  the other node's address when it sent it to another node's NodePort;
- the endpoint's ingress policy sees the source, unless the packet was masqueraded on its
  way to another node (SNAT happens after the forward hook, so an endpoint on the receiving
  node still sees the real source): then it sees the receiving node's IP;
- a connection translated but not masqueraded works only when its reply passes the translating
  node: the endpoint or the client is on it;
- a hostNetwork endpoint is its node's IP, as Kubernetes documents the most common plugin
  behaviour: podSelectors do not pick it and no pod policy isolates it; on the client pod's
  own node it is the node itself, which a pod may always reach (policy/nft.py);
- ``default/kubernetes``'s endpoints are the API servers on the control-plane nodes' IPs:
  judged like a hostNetwork endpoint, answering as ``builtin.apiserver_answer`` (the lab
  runs a stand-in there, so the lab and a real cluster both answer).
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet.analysis import Analysis
from podnet.model.builtin import APISERVER_PORT, apiserver_answer, apiserver_listeners
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.netfilter.walk import trace_rules


@dataclass(frozen=True)
class Expected:
    verdict: str  # DNAT, REJECT, DROP, or ACCEPT (the address is no Service here)
    allowed: dict[str, bool]  # endpoint pod key -> whether policy lets this source in

    def agrees(self, answer: str) -> bool:
        """Does a probe's answer (a pod key, 'rejected' or 'dropped') fit the prediction?"""
        if self.verdict == "REJECT":
            return answer == "rejected"
        if self.verdict != "DNAT":
            return answer == "dropped"
        if answer in ("dropped", "rejected"):
            return not all(self.allowed.values())
        return self.allowed.get(answer, False)

    def summary(self) -> str:
        if self.verdict != "DNAT":
            return {"REJECT": "rejected", "DROP": "dropped"}.get(self.verdict, "no service")
        n = sum(self.allowed.values())
        return "allowed" if n == len(self.allowed) else "denied" if not n else "partly allowed"


def expect(a: Analysis, mode: str, node: str, src: Pod | str, dst: str, port: int,
           proto: str) -> Expected:
    """A connection from ``src`` to ``dst:port`` whose packet ``node``'s kube-proxy, in
    ``mode``, sees first."""
    cluster, ev = a.cluster, a.evaluator
    n = cluster.node(node)
    node_ip = (n.internal_ip or "") if n else ""
    src_ip = src.ip if isinstance(src, Pod) else src
    out = trace_rules(mode, a.rules(node, mode), src_ip, dst, port, proto, (node_ip,))
    # sent to another node's address, the packet leaves its own node as addressed
    leaves = isinstance(src, Pod) and src.node != node
    egress_ok = not leaves or ev.verdict(src, dst).egress.allowed.allows(proto, port)
    allowed: dict[str, bool] = {}
    apiservers = apiserver_listeners(cluster.nodes)
    for address, _p in out.endpoints:
        ip, _, ep_port = address.rpartition(":")
        number = int(ep_port)
        pod = _endpoint_pod(cluster, ip, number, proto)
        if pod is not None:
            key, ep_node, host = pod.key, pod.node, pod.host_network
        elif ip in apiservers and (number, proto) == (APISERVER_PORT, "TCP"):
            # default/kubernetes: the API server on a control-plane node, at the node's IP
            key, ep_node, host = apiserver_answer(apiservers[ip]), apiservers[ip], True
        else:
            continue
        # a hostNetwork endpoint is its node's IP to policy, as most plugins (and the lab) see it
        target: Pod | str = ip if host or pod is None else pod
        seen: Pod | str = node_ip if out.masquerade and ep_node != node else src
        if host and isinstance(src, Pod) and ep_node == src.node:
            ok = True  # to its own node: never crosses forward, allowed as traffic to the node is
        elif seen is src and not leaves:
            ok = ev.allowed(src, target).allows(proto, number)
        else:
            ok = ev.verdict(seen, target).ingress.allowed.allows(proto, number)
            if isinstance(src, Pod) and not leaves:
                ok = ok and ev.verdict(src, target).egress.allowed.allows(proto, number)
        # DNATed without a masquerade, the reply must come back through the translating node to
        # be un-DNATed; from an endpoint on another node to a client that is neither there nor
        # local to it, the reply goes straight to the client, which drops it (kube-proxy sends
        # pod traffic to a Local Service's NodePort cluster-wide without masquerading)
        bypassed = (not out.masquerade and ep_node != node
                    and (not isinstance(src, Pod) or src.node != node))
        allowed[key] = ok and egress_ok and not bypassed
    return Expected(out.verdict, allowed)


def _endpoint_pod(cluster: Cluster, ip: str, port: int, proto: str) -> Pod | None:
    pod = cluster.pod_by_ip(ip)
    if pod is not None:
        return pod
    # hostNetwork pods share their node's IP: the one that declares the port
    return next((p for p in cluster.pods if p.host_network and p.ip == ip
                 and any(cp.port == port and cp.protocol == proto for cp in p.ports)), None)
