"""One analysis of one cluster: the compiled policies, the per-pair evaluator, kube-proxy's
Service plans, each node's rendered rules and MetalLB's address map, each computed once, on
first use, and shared by every question asked of it (a command, a trace, a lab probe).

Pure like the rest of the core: it holds the immutable Cluster and values derived from it.
Each part's modules are imported when it is first asked for: a question that needs no policy
(``podnet http`` through a controller without pods) pays for no policy code."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from podnet.model.cluster import Cluster

if TYPE_CHECKING:
    from podnet.model.objects import Node
    from podnet.policy.compile import Compiled
    from podnet.policy.verdict import Evaluator
    from podnet.services import ServicePlan


class Analysis:
    def __init__(self, cluster: Cluster, *, ipblock_matches_pods: bool = True,
                 iptables_features: frozenset[str] | None = None) -> None:
        self.cluster = cluster
        self.ipblock_matches_pods = ipblock_matches_pods
        self._features = iptables_features
        self._rules: dict[tuple[str, str], str] = {}

    @property
    def iptables_features(self) -> frozenset[str]:
        """The nodes' capabilities (see IptablesOptions); today's kernel and iptables unless
        given."""
        if self._features is None:
            from podnet.services.iptables import CURRENT_NODE_FEATURES

            self._features = CURRENT_NODE_FEATURES
        return self._features

    @cached_property
    def compiled(self) -> Compiled:
        from podnet.policy.compile import compile_cluster

        return compile_cluster(self.cluster, ipblock_matches_pods=self.ipblock_matches_pods)

    @cached_property
    def evaluator(self) -> Evaluator:
        from podnet.policy.verdict import Evaluator

        return Evaluator(self.cluster, self.compiled)

    @cached_property
    def plans(self) -> tuple[ServicePlan, ...]:
        from podnet.services import resolve

        return tuple(resolve(self.cluster))

    @cached_property
    def addresses(self) -> tuple[ServicePlan, ...]:
        """The plans without their endpoints (``plans`` when already computed): which
        addresses and ports kube-proxy translates, for a trace that may need no Service."""
        if "plans" in self.__dict__:
            return self.plans
        from podnet.services import resolve

        return tuple(resolve(self.cluster, endpoints=False))

    @cached_property
    def attracted(self) -> dict[str, str]:
        """LoadBalancer and external IP -> the node that attracts it (MetalLB's L2 leader)."""
        from podnet.services.metallb import external_addresses

        return external_addresses(self.cluster, self.plans)

    @property
    def proxy_mode(self) -> str:
        return self.cluster.net.proxy_mode

    def rules_to(self, node: Node, dst: str) -> str:
        """kube-proxy's ruleset for ``node`` cut down to the Services a packet to ``dst`` can
        meet: those with ``dst`` among their addresses (every port: nftables rejects other
        ports of a ClusterIP), and every NodePort when ``dst`` is the node's. One packet walks it
        exactly as the whole ruleset; a trace then resolves the endpoints of those Services
        only, not of the cluster's 10,000."""
        if (self.proxy_mode, node.name) in self._rules:
            return self._rules[(self.proxy_mode, node.name)]
        local = dst in (node.addresses or (node.internal_ip,))
        keys = frozenset(f"{p.namespace}/{p.name}" for p in self.addresses
                         if dst in (p.cluster_ip, *p.external_ips, *p.load_balancer_ips)
                         or (local and p.node_port))
        from podnet.services import resolve
        from podnet.services.render import render_for_node

        plans = (tuple(p for p in self.plans if f"{p.namespace}/{p.name}" in keys)
                 if "plans" in self.__dict__ else resolve(self.cluster, only=keys))
        return render_for_node(self.proxy_mode, self.cluster, node.name, plans,
                               self.iptables_features)

    def rules(self, node: str, mode: str | None = None) -> str:
        """kube-proxy's ruleset for ``node`` in ``mode`` (default: the cluster's)."""
        key = (mode or self.proxy_mode, node)
        if key not in self._rules:
            from podnet.services.render import render_for_node

            self._rules[key] = render_for_node(key[0], self.cluster, node, self.plans,
                                               self.iptables_features)
        return self._rules[key]
