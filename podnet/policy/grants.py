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

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from podnet.model.objects import IPBlock, PolicyPort
from podnet.policy.matcher import AllPeers, IPPeer, PeerMatcher, Rule, Target
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


# A group whose peers select more classes than this is tested with numpy on each question
# rather than filed under each class (filing costs a dict entry per class).
WIDE = 64


class DirectionIndex:
    def __init__(self, space: ClassSpace, targets: Iterable[Target] = ()) -> None:
        self.space = space
        self.selecting = np.zeros(space.n, dtype=np.int32)
        self.ids: dict[GroupKey, int] = {}
        self.groups: dict[int, Group] = {}
        # per class, the groups that count it and the narrow groups whose peers select it
        # (dicts as ordered sets of group ids), so that a question about a few classes meets
        # only their groups
        self._counting: dict[int, dict[int, None]] = {}
        self._admitting: dict[int, dict[int, None]] = {}
        self._wide: dict[int, None] = {}
        self._next = 0
        for t in targets:
            self.add(t)

    def _new(self, key: GroupKey, rule: Rule) -> int:
        gid = self.ids[key] = self._next
        self._next += 1
        g = self.groups[gid] = Group(
            self.space.rule_peers(rule),
            tuple(pm.block for pm in rule.peers if isinstance(pm, IPPeer)),
            any(isinstance(pm, AllPeers) for pm in rule.peers), rule.ports,
            np.zeros(self.space.n, dtype=np.int32))
        at = np.flatnonzero(g.peers)
        if at.size > WIDE:
            self._wide[gid] = None
            return gid
        for c in at.tolist():
            self._admitting.setdefault(c, {})[gid] = None
        return gid

    def add(self, t: Target, sign: int = 1) -> None:
        sel = self.space.selected(t)
        if sel.size == 0:
            return
        self.selecting[sel] += sign
        where = sel.tolist()
        rules = {(tuple(peer_key(pm) for pm in r.peers), r.ports): r for r in t.rules}
        for key, rule in rules.items():
            gid = self.ids.get(key)
            if gid is None:
                gid = self._new(key, rule)  # a target is removed only after it was added
            g = self.groups[gid]
            g.count[sel] += sign
            for c, k in zip(where, g.count[sel].tolist(), strict=True):
                if k:
                    self._counting.setdefault(c, {})[gid] = None
                else:
                    self._counting[c].pop(gid, None)
            if sign < 0 and not g.count.any():
                self._drop(key, gid)

    def _drop(self, key: GroupKey, gid: int) -> None:
        g = self.groups.pop(gid)
        del self.ids[key]
        if gid in self._wide:
            del self._wide[gid]
            return
        for c in np.flatnonzero(g.peers).tolist():
            self._admitting[c].pop(gid, None)

    def remove(self, t: Target) -> None:
        self.add(t, -1)

    def isolated(self) -> np.ndarray:
        out: np.ndarray = self.selecting > 0
        return out

    def selecting_any(self, classes: np.ndarray) -> list[Group]:
        """The groups some target selecting one of ``classes`` carries."""
        gids: dict[int, None] = {}
        for c in classes.tolist():
            gids |= self._counting.get(c, {})
        return [self.groups[i] for i in gids]

    def admitting_any(self, classes: np.ndarray) -> list[Group]:
        """The groups whose peers select one of ``classes``."""
        gids: dict[int, None] = {}
        for c in classes.tolist():
            gids |= self._admitting.get(c, {})
        gids |= {i: None for i in self._wide if self.groups[i].peers[classes].any()}
        return [self.groups[i] for i in gids]


@dataclass
class Indexes:
    """Both directions' NetworkPolicy targets of one version (or of the part of two versions
    they share, or of what one version changed)."""

    ingress: DirectionIndex
    egress: DirectionIndex


def indexes(space: ClassSpace, ingress: Iterable[Target], egress: Iterable[Target]) -> Indexes:
    return Indexes(DirectionIndex(space, ingress), DirectionIndex(space, egress))
