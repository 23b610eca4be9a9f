"""One direction's NetworkPolicy targets, kept compiled over a class space across versions.

``podnet watch`` answers one edited policy at a time. Recompiling every target per version
costs O(policies) numpy calls; instead each rule is filed under its *group*, the pair (what
its peers select, its ports), with a per-class count of the targets that carry it. Groups
repeat across namespaces ("DNS to anywhere"), so a few vectors stand for thousands of rules;
a target is added or removed by adjusting counts over the classes it selects, and the groups
that matter to a few classes are found without touching the others. A class is isolated in
the direction while some target selects it, whatever its rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from podnet.model.objects import IPBlock, PolicyPort
from podnet.policy.matcher import AllPeers, IPPeer, PeerMatcher, Target
from podnet.policy.matrix import ClassSpace

GroupKey = tuple[tuple[object, ...], tuple[PolicyPort, ...]]


def peer_key(pm: PeerMatcher) -> object:
    """What a peer selects, without where it was written (ClassSpace's cache key)."""
    if isinstance(pm, AllPeers):
        return ("all",)
    if isinstance(pm, IPPeer):
        return ("ip", pm.block)
    return ("pod", pm.namespaces, pm.pods)


@dataclass
class Group:
    peers: np.ndarray  # bool per class: the pods the rule's peers select
    blocks: tuple[IPBlock, ...]  # its ipBlocks (addresses outside the cluster)
    every_ip: bool  # no peers written: every address too
    ports: tuple[PolicyPort, ...]
    count: np.ndarray  # int32 per class: targets carrying the rule that select the class


def _hits(vec: np.ndarray, at: np.ndarray, few: list[int]) -> bool:
    # A handful of classes is the usual question: scalar reads beat a fancy-index copy.
    if few:
        return any(vec[i] for i in few)
    return bool(vec[at].any())


class DirectionIndex:
    def __init__(self, space: ClassSpace, targets: Iterable[Target] = ()) -> None:
        self.space = space
        self.selecting = np.zeros(space.n, dtype=np.int32)
        self.groups: dict[GroupKey, Group] = {}
        for t in targets:
            self.add(t)

    def add(self, t: Target, sign: int = 1) -> None:
        sel = self.space.selected(t)
        if sel.size == 0:
            return
        self.selecting[sel] += sign
        rules = {(tuple(peer_key(pm) for pm in r.peers), r.ports): r for r in t.rules}
        for key, rule in rules.items():
            g = self.groups.get(key)
            if g is None:
                g = self.groups[key] = Group(
                    self.space.rule_peers(rule),
                    tuple(pm.block for pm in rule.peers if isinstance(pm, IPPeer)),
                    any(isinstance(pm, AllPeers) for pm in rule.peers), rule.ports,
                    np.zeros(self.space.n, dtype=np.int32))
            g.count[sel] += sign
            if sign < 0 and not g.count.any():
                del self.groups[key]

    def remove(self, t: Target) -> None:
        self.add(t, -1)

    def isolated(self, classes: np.ndarray | None = None) -> np.ndarray:
        sel = self.selecting if classes is None else self.selecting[classes]
        out: np.ndarray = sel > 0
        return out

    def selecting_any(self, classes: np.ndarray) -> Iterator[Group]:
        """The groups some target selecting one of ``classes`` carries."""
        few = classes.tolist() if len(classes) <= 16 else []
        return (g for g in self.groups.values() if _hits(g.count, classes, few))

    def admitting_any(self, classes: np.ndarray) -> Iterator[Group]:
        """The groups whose peers select one of ``classes``."""
        few = classes.tolist() if len(classes) <= 16 else []
        return (g for g in self.groups.values() if _hits(g.peers, classes, few))


@dataclass
class Indexes:
    """Both directions' NetworkPolicy targets of one version (or of the part of two versions
    they share, or of what one version changed)."""

    ingress: DirectionIndex
    egress: DirectionIndex


def indexes(space: ClassSpace, ingress: Iterable[Target], egress: Iterable[Target]) -> Indexes:
    return Indexes(DirectionIndex(space, ingress), DirectionIndex(space, egress))
