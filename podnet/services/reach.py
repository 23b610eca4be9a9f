"""Where a connection to a Service address ends up, with NetworkPolicy applied: what a probe
of that address should observe. kube-proxy's rules for the receiving node are rendered and
walked (so the prediction is per proxy mode), then each endpoint the walk may DNAT to is
judged by policy for the source that endpoint's node sees: the pod itself, or for traffic
from outside the cluster the client's IP, unless it was masqueraded on its way to another
node (SNAT happens after the forward hook, so a same-node endpoint still sees the client).
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.netfilter.walk import trace_rules
from podnet.policy.verdict import Evaluator


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


def expect(cluster: Cluster, ev: Evaluator, mode: str, rules: str, node: str, src: Pod | str,
           dst: str, port: int, proto: str) -> Expected:
    """``rules``: ``mode``'s ruleset for ``node``, the node whose kube-proxy sees the packet."""
    n = cluster.node(node)
    node_ip = (n.internal_ip or "") if n else ""
    src_ip = src.ip if isinstance(src, Pod) else src
    out = trace_rules(mode, rules, src_ip, dst, port, proto, (node_ip,))
    allowed: dict[str, bool] = {}
    for address, _p in out.endpoints:
        ip, _, ep_port = address.rpartition(":")
        pod = cluster.pod_by_ip(ip)
        if pod is None:
            continue
        seen: Pod | str = src
        if not isinstance(src, Pod) and out.masquerade and pod.node != node:
            seen = node_ip
        allowed[pod.key] = ev.allowed(seen, pod).allows(proto, int(ep_port))
    return Expected(out.verdict, allowed)
