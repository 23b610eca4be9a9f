"""The compiled form of NetworkPolicy: closed, named variants for each corner of the spec.

A peer's (podSelector, namespaceSelector) pair means (Cyclonus' table, apimachinery semantics):

    podSelector  namespaceSelector   selects
    absent       absent              (not allowed: the API rejects an empty peer)
    absent       {}                  every pod in every namespace
    absent       S                   every pod in namespaces matching S
    {}           absent              every pod in the policy's namespace
    P            absent              pods matching P in the policy's namespace
    {}           {}                  every pod in every namespace
    P            S                   pods matching P in namespaces matching S (AND)

Separate peers in one rule are OR-ed; an empty ``from``/``to`` matches every peer (pods and IPs),
an empty ``ports`` every port. Every node keeps its provenance (policy, direction, rule, peer).
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet.model.objects import IPBlock, PolicyPort
from podnet.model.selectors import LabelSelector


@dataclass(frozen=True, slots=True)
class Origin:
    policy: str  # namespace/name
    direction: str  # "ingress" | "egress"
    rule: int
    peer: int | None = None

    def __str__(self) -> str:
        base = f"{self.policy} {self.direction}[{self.rule}]"
        if self.peer is None:
            return base
        field = "from" if self.direction == "ingress" else "to"
        return f"{base}.{field}[{self.peer}]"


@dataclass(frozen=True, slots=True)
class ExactNamespace:
    name: str


@dataclass(frozen=True, slots=True)
class SelectedNamespaces:
    selector: LabelSelector  # empty selector: all namespaces


NamespaceMatch = ExactNamespace | SelectedNamespaces


@dataclass(frozen=True, slots=True)
class PodPeer:
    namespaces: NamespaceMatch
    pods: LabelSelector  # empty: every pod
    origin: Origin


@dataclass(frozen=True, slots=True)
class IPPeer:
    block: IPBlock
    origin: Origin


@dataclass(frozen=True, slots=True)
class AllPeers:
    origin: Origin


PeerMatcher = PodPeer | IPPeer | AllPeers


@dataclass(frozen=True, slots=True)
class Rule:
    peers: tuple[PeerMatcher, ...]
    ports: tuple[PolicyPort, ...]  # empty: all ports
    origin: Origin
    action: str = "Allow"  # an admin rule's: Allow | Deny | Pass
    name: str = ""  # an admin rule's name


@dataclass(frozen=True, slots=True)
class Target:
    """One policy's view of one direction: which pods it isolates and what it lets through."""

    policy: str
    namespace: str
    pod_selector: LabelSelector
    direction: str
    rules: tuple[Rule, ...]


ANP, BANP = "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"


@dataclass(frozen=True, slots=True)
class TierTarget:
    """One admin policy's view of one direction. Its rules are ordered: for each connection
    the first rule whose peers and ports match decides (Allow, Deny or Pass)."""

    tier: str  # ANP | BANP
    policy: str  # the policy's name (cluster-scoped)
    priority: int | None  # None for the BANP
    namespace_selector: LabelSelector
    pod_selector: LabelSelector
    direction: str
    rules: tuple[Rule, ...]
