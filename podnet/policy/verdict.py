"""The per-flow verdict: the reference semantics, with the explanation a person needs.

For a source and a destination (a pod, or an IP outside the cluster) the allowed connections
are the egress set of the source AND the ingress set of the destination. A side is isolated
when at least one policy of that direction selects the pod; then its set is the union of what
the selecting policies' rules allow, else everything. An IP outside the cluster is never
isolated. A pod may always reach itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from podnet.model.cluster import Cluster
from podnet.model.defaults import NAMESPACE_NAME_LABEL
from podnet.model.objects import IPBlock, Pod, PolicyPort
from podnet.policy.compile import Compiled
from podnet.policy.connset import ALL, NONE, ConnSet
from podnet.policy.matcher import (
    ANP,
    BANP,
    AllPeers,
    ExactNamespace,
    IPPeer,
    Origin,
    PodPeer,
    Rule,
    Target,
    TierTarget,
)

Endpoint = Pod | str  # a pod, or an IP address outside the cluster


@lru_cache(maxsize=4096)
def _block_nets(block: IPBlock) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                         tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    return (ipaddress.ip_network(block.cidr, strict=False),
            tuple(ipaddress.ip_network(e, strict=False) for e in block.excepts))


def block_contains(block: IPBlock, ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    net, excepts = _block_nets(block)
    if addr.version != net.version or addr not in net:
        return False
    return not any(addr in e for e in excepts)


def target_selects(target: Target, pod: Pod) -> bool:
    return pod.namespace == target.namespace and target.pod_selector.matches(pod.labels)


def tier_selects(target: TierTarget, pod: Pod, ns_labels: Mapping[str, Mapping[str, str]]) -> bool:
    """An admin policy's subject (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
    ClusterNetworkPolicy): network-policy-api's types say "host-networked pods are not included
    in subject selection"."""
    return (not pod.host_network and target.pod_selector.matches(pod.labels)
            and target.namespace_selector.matches(
                ns_labels.get(pod.namespace) or {NAMESPACE_NAME_LABEL: pod.namespace}))


def peer_matches(peer: AllPeers | PodPeer | IPPeer, ep: Endpoint,
                 ns_labels: Mapping[str, Mapping[str, str]], ipblock_matches_pods: bool) -> bool:
    if isinstance(peer, AllPeers):
        return True
    if isinstance(peer, IPPeer):
        if isinstance(ep, str):
            return block_contains(peer.block, ep)
        return ipblock_matches_pods and bool(ep.ip) and block_contains(peer.block, ep.ip)
    if isinstance(ep, str):
        return False
    if isinstance(peer.namespaces, ExactNamespace):
        if ep.namespace != peer.namespaces.name:
            return False
    elif not peer.namespaces.selector.matches(
            ns_labels.get(ep.namespace) or {NAMESPACE_NAME_LABEL: ep.namespace}):
        return False
    return peer.pods.matches(ep.labels)


def port_set(port: PolicyPort, dst: Endpoint) -> ConnSet:
    """What one ``ports`` entry admits towards ``dst`` (named ports resolve on the dst pod)."""
    if port.port is None:
        return ConnSet.port(port.protocol, 1, 65535)
    if isinstance(port.port, int):
        return ConnSet.port(port.protocol, port.port, port.end_port)
    if isinstance(dst, str):
        return NONE
    number = dst.named_port(port.port, port.protocol)
    return NONE if number is None else ConnSet.port(port.protocol, number)


def rule_ports(rule: Rule, dst: Endpoint) -> ConnSet:
    if not rule.ports:
        return ALL
    out = NONE
    for p in rule.ports:
        out = out | port_set(p, dst)
    return out


@dataclass(frozen=True, slots=True)
class RuleMatch:
    origin: Origin  # the peer (or the rule, for an empty from/to) that matched
    allowed: ConnSet


@dataclass(frozen=True, slots=True)
class TargetResult:
    policy: str
    matches: tuple[RuleMatch, ...]
    allowed: ConnSet


@dataclass(frozen=True, slots=True)
class TierDecision:
    """An admin rule that decided part of a flow: the connections no earlier rule took."""

    tier: str  # ANP | BANP
    policy: str
    rule: int
    name: str
    action: str
    ports: ConnSet

    def __str__(self) -> str:
        named = f" {self.name!r}" if self.name else ""
        return f"{self.tier} {self.policy} {self.action} rule [{self.rule}]{named}"


@dataclass(frozen=True, slots=True)
class DirectionResult:
    direction: str
    applies: bool  # False when the pod is outside the cluster
    selecting: tuple[TargetResult, ...]  # the NetworkPolicies selecting the pod
    allowed: ConnSet
    tiers: tuple[TierDecision, ...] = ()  # admin rules that decided, in evaluation order

    @property
    def isolated(self) -> bool:
        return bool(self.selecting)


@dataclass(frozen=True, slots=True)
class Verdict:
    src: Endpoint
    dst: Endpoint
    egress: DirectionResult
    ingress: DirectionResult
    allowed: ConnSet
    self_traffic: bool = False


class Evaluator:
    """Answers flows against compiled policies for one cluster."""

    def __init__(self, cluster: Cluster, compiled: Compiled,
                 ns_labels: Mapping[str, Mapping[str, str]] | None = None) -> None:
        """``ns_labels``: the labels of at least every namespace a flow asked about has an
        endpoint in (default: of all of them)."""
        self.cluster = cluster
        self.compiled = compiled
        self.ns_labels = ({n: ns.labels for n, ns in cluster.namespaces.items()}
                          if ns_labels is None else ns_labels)
        # The targets selecting each pod, per direction: a pod asked about against many peers
        # (the report's matrix, connlist's Ingress lines) is matched against every target once.
        self._selecting: dict[tuple[str, str], tuple[Target, ...]] = {}

    def _targets_of(self, targets: tuple[Target, ...], direction: str, pod: Pod) -> tuple[Target, ...]:
        key = (direction, pod.key)
        hit = self._selecting.get(key)
        if hit is None:
            hit = self._selecting[key] = tuple(t for t in targets if target_selects(t, pod))
        return hit

    def _tiers(self, targets: tuple[TierTarget, ...], tier: str, subject: Pod, peer: Endpoint,
               dst: Endpoint, decided: ConnSet) -> tuple[list[TierDecision], ConnSet, ConnSet]:
        """The rules of one tier, each taking what earlier rules (and ``decided``) left open:
        (decisions, allowed by this tier, denied by this tier); what a Pass took is in neither."""
        out: list[TierDecision] = []
        allow = deny = NONE
        for t in targets:
            if t.tier != tier or not tier_selects(t, subject, self.ns_labels):
                continue
            for i, rule in enumerate(t.rules):
                if not any(peer_matches(pm, peer, self.ns_labels, self.compiled.ipblock_matches_pods)
                           for pm in rule.peers):
                    continue
                ports = rule_ports(rule, dst) - decided
                if ports.is_empty():
                    continue
                decided = decided | ports
                if rule.action == "Allow":
                    allow = allow | ports
                elif rule.action == "Deny":
                    deny = deny | ports
                out.append(TierDecision(t.tier, t.policy, i, rule.name, rule.action, ports))
                if decided.is_all():
                    return out, allow, deny
        return out, allow, deny

    def _side(self, targets: tuple[Target, ...], admin: tuple[TierTarget, ...], direction: str,
              subject: Endpoint, peer: Endpoint, dst: Endpoint) -> DirectionResult:
        if isinstance(subject, str):
            return DirectionResult(direction, False, (), ALL)
        np_side = self._np_side(targets, direction, subject, peer, dst)
        if not admin:
            return np_side
        decisions, anp_allow, anp_deny = self._tiers(admin, ANP, subject, peer, dst, NONE)
        final = anp_allow | anp_deny
        rest = np_side.allowed
        if not np_side.isolated:
            banp, _, banp_deny = self._tiers(admin, BANP, subject, peer, dst, final)
            decisions += banp
            rest = ~banp_deny
        allowed = anp_allow | (rest - final)
        return DirectionResult(direction, True, np_side.selecting, allowed, tuple(decisions))

    def _np_side(self, targets: tuple[Target, ...], direction: str, subject: Pod,
                 peer: Endpoint, dst: Endpoint) -> DirectionResult:
        results = []
        total = NONE
        for t in self._targets_of(targets, direction, subject):
            matches = []
            allowed = NONE
            for rule in t.rules:
                for pm in rule.peers:
                    if peer_matches(pm, peer, self.ns_labels, self.compiled.ipblock_matches_pods):
                        ports = rule_ports(rule, dst)
                        matches.append(RuleMatch(pm.origin, ports))
                        allowed = allowed | ports
                        break
            results.append(TargetResult(t.policy, tuple(matches), allowed))
            total = total | allowed
        if not results:
            return DirectionResult(direction, True, (), ALL)
        return DirectionResult(direction, True, tuple(results), total)

    def verdict(self, src: Endpoint, dst: Endpoint) -> Verdict:
        c = self.compiled
        egress = self._side(c.egress, c.admin_egress, "egress", src, dst, dst)
        ingress = self._side(c.ingress, c.admin_ingress, "ingress", dst, src, dst)
        same = isinstance(src, Pod) and isinstance(dst, Pod) and src.key == dst.key
        allowed = ALL if same else egress.allowed & ingress.allowed
        return Verdict(src, dst, egress, ingress, allowed, same)

    def allowed(self, src: Endpoint, dst: Endpoint) -> ConnSet:
        return self.verdict(src, dst).allowed
