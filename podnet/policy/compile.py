"""NetworkPolicy and admin policy objects → matcher targets, once, with provenance on every
node. An admin rule's ``nodes`` peer becomes the /32 (or /128) of each matching node's
InternalIP, so it is matched like a ``networks`` CIDR."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from podnet.model.objects import AdminPolicy, AdminRule, IPBlock, NetworkPolicy, Node, Peer, PolicyRule
from podnet.model.selectors import EVERYTHING
from podnet.policy.matcher import (
    AllPeers,
    ExactNamespace,
    IPPeer,
    Origin,
    PeerMatcher,
    PodPeer,
    Rule,
    SelectedNamespaces,
    Target,
    TierTarget,
)

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster


@dataclass(frozen=True, slots=True)
class Compiled:
    ingress: tuple[Target, ...]
    egress: tuple[Target, ...]
    ipblock_matches_pods: bool = True
    # AdminNetworkPolicies in the order they apply, then the BaselineAdminNetworkPolicy
    admin_ingress: tuple[TierTarget, ...] = ()
    admin_egress: tuple[TierTarget, ...] = ()

    def all_rules(self) -> Iterator[Rule]:
        """Every rule of every target, NetworkPolicy and admin, both directions."""
        for group in (self.ingress, self.egress, self.admin_ingress, self.admin_egress):
            for t in group:
                yield from t.rules


def _peer(policy: NetworkPolicy, peer: Peer, origin: Origin) -> PeerMatcher:
    if peer.ip_block is not None:
        return IPPeer(peer.ip_block, origin)
    ns = (SelectedNamespaces(peer.namespace_selector) if peer.namespace_selector is not None
          else ExactNamespace(policy.namespace))
    return PodPeer(ns, peer.pod_selector if peer.pod_selector is not None else EVERYTHING, origin)


def _rule(policy: NetworkPolicy, direction: str, index: int, rule: PolicyRule) -> Rule:
    origin = Origin(policy.key, direction, index)
    if not rule.peers:
        peers: tuple[PeerMatcher, ...] = (AllPeers(origin),)
    else:
        peers = tuple(_peer(policy, p, Origin(policy.key, direction, index, i))
                      for i, p in enumerate(rule.peers))
    return Rule(peers, rule.ports, origin)


def _target(policy: NetworkPolicy, direction: str) -> Target:
    rules = policy.ingress if direction == "ingress" else policy.egress
    return Target(policy.key, policy.namespace, policy.pod_selector, direction,
                  tuple(_rule(policy, direction, i, r) for i, r in enumerate(rules)))


def _admin_peers(peer: Peer, nodes: Iterable[Node], origin: Origin) -> tuple[PeerMatcher, ...]:
    if peer.node_selector is not None:
        sel = peer.node_selector
        return tuple(IPPeer(IPBlock(f"{n.internal_ip}/{128 if ':' in n.internal_ip else 32}"), origin)
                     for n in nodes if n.internal_ip and sel.matches(n.labels))
    if peer.ip_block is not None:
        return (IPPeer(peer.ip_block, origin),)
    assert peer.namespace_selector is not None
    return (PodPeer(SelectedNamespaces(peer.namespace_selector),
                    peer.pod_selector if peer.pod_selector is not None else EVERYTHING, origin),)


def _admin_rule(policy: AdminPolicy, direction: str, index: int, rule: AdminRule,
                nodes: tuple[Node, ...]) -> Rule:
    peers = tuple(pm for i, p in enumerate(rule.peers)
                  for pm in _admin_peers(p, nodes, Origin(policy.key, direction, index, i)))
    return Rule(peers, rule.ports, Origin(policy.key, direction, index), rule.action, rule.name)


def _tier_target(policy: AdminPolicy, direction: str, nodes: tuple[Node, ...]) -> TierTarget:
    rules = policy.ingress if direction == "ingress" else policy.egress
    return TierTarget(policy.tier, policy.key, policy.priority, policy.namespace_selector,
                      policy.pod_selector, direction,
                      tuple(_admin_rule(policy, direction, i, r, nodes) for i, r in enumerate(rules)))


def compile_policies(policies: Iterable[NetworkPolicy], *,
                     ipblock_matches_pods: bool = True, admin: Iterable[AdminPolicy] = (),
                     nodes: Iterable[Node] = ()) -> Compiled:
    """Compile every policy into per-direction targets (sorted by policy name); admin
    policies in the order they apply (``AdminPolicy.order``)."""
    ordered = sorted(policies, key=lambda p: (p.namespace, p.name))
    tiers = sorted(admin, key=lambda a: a.order)
    node_list = tuple(nodes)
    return Compiled(
        ingress=tuple(_target(p, "ingress") for p in ordered if "Ingress" in p.policy_types),
        egress=tuple(_target(p, "egress") for p in ordered if "Egress" in p.policy_types),
        ipblock_matches_pods=ipblock_matches_pods,
        admin_ingress=tuple(_tier_target(a, "ingress", node_list) for a in tiers if a.ingress),
        admin_egress=tuple(_tier_target(a, "egress", node_list) for a in tiers if a.egress))


def compile_cluster(cluster: Cluster, *, ipblock_matches_pods: bool = True) -> Compiled:
    """Every policy of a cluster, NetworkPolicies and admin tiers."""
    return compile_policies(cluster.policies, ipblock_matches_pods=ipblock_matches_pods,
                            admin=cluster.admin_policies, nodes=cluster.nodes)
