"""NetworkPolicy objects → matcher targets, once, with provenance on every node."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from podnet.model.objects import NetworkPolicy, Peer, PolicyRule
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
)


@dataclass(frozen=True, slots=True)
class Compiled:
    ingress: tuple[Target, ...]
    egress: tuple[Target, ...]
    ipblock_matches_pods: bool = True


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


def compile_policies(policies: Iterable[NetworkPolicy], *,
                     ipblock_matches_pods: bool = True) -> Compiled:
    """Compile every policy into per-direction targets (sorted by policy name)."""
    ordered = sorted(policies, key=lambda p: (p.namespace, p.name))
    return Compiled(
        ingress=tuple(_target(p, "ingress") for p in ordered if "Ingress" in p.policy_types),
        egress=tuple(_target(p, "egress") for p in ordered if "Egress" in p.policy_types),
        ipblock_matches_pods=ipblock_matches_pods)
