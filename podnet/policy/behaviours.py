"""One direction of policy (ingress or egress, admin tiers included) for one port, over the
distinct behaviours of its subjects rather than over every class.

A subject (the destination for ingress, the source for egress) is decided by which rules apply
to it, and each rule contributes a vector over the peer classes. Subjects whose applicable rules
contribute the same vectors in the same order (``Key``) get the same row, whatever policies the
rules came from: a thousand namespaces with "allow from team X" share one row. Rows are packed
bits over the peer classes, and rows equal in content are merged again, so memory follows the
distinct behaviours, not the classes.

The rules, per subject and peer (the reference is ``verdict.Evaluator``):
    NetworkPolicy: a subject that no policy isolates allows every peer; an isolated one allows
        the union of the vectors of the rules that apply (for ingress a rule applies where its
        ports admit the subject's port; for egress its ports cut its vector to the
        destinations whose port they admit).
    Admin tiers: the AdminNetworkPolicy rules, in order, each deciding (Allow, Deny or Pass) only
        what earlier ones left open; then, for subjects no NetworkPolicy isolates, the Baseline
        rules over what the ANPs left undecided (a Pass is undecided there).
    allowed = ANP allow | (NetworkPolicy & ~ANP allow-or-deny & ~BANP deny).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from podnet.policy.matcher import ANP, BANP, Rule, Target, TierTarget
from podnet.policy.packedbits import row_ids

if TYPE_CHECKING:
    from podnet.policy.matrix import ClassSpace

Port = tuple[int, str]
# (isolated, NetworkPolicy vectors (sorted, deduplicated), ANP (vector, action)s in order,
#  BANP (vector, action)s in order)
Key = tuple[bool, tuple[int, ...], tuple[tuple[int, str], ...], tuple[tuple[int, str], ...]]


class Vectors:
    """Distinct peer vectors (packed), numbered by content; shared across ports and directions."""

    def __init__(self, space: ClassSpace) -> None:
        self.space = space
        self.packed: list[np.ndarray] = []
        self._ids: dict[bytes, int] = {}
        self._rules: dict[int, int] = {}  # id(rule) -> its peer vector's number
        self._selected: dict[int, np.ndarray] = {}  # id(target) -> the classes it selects

    def add(self, v: np.ndarray) -> int:
        p = np.packbits(v)
        key = p.tobytes()
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self.packed)
            self.packed.append(p)
        return i

    def selected(self, target: Target) -> np.ndarray:
        # ClassSpace caches by selector, whose hash is slow; a target is asked once per port.
        hit = self._selected.get(id(target))
        if hit is None:
            hit = self._selected[id(target)] = self.space.selected(target)
        return hit

    def rule(self, rule: Rule) -> int:
        # Compiled rules live as long as the matrix is built, so their id() is a stable key.
        i = self._rules.get(id(rule))
        if i is None:
            i = self._rules[id(rule)] = self.add(self.space.rule_peers(rule))
        return i


@dataclass(frozen=True)
class Direction:
    rows: np.ndarray  # packed [row, peer class], distinct rows
    row_of: np.ndarray  # subject class -> row


def direction(space: ClassSpace, vectors: Vectors, targets: Sequence[Target],
              tiers: Sequence[TierTarget], port: Port, ingress: bool) -> Direction:
    n = space.n
    isolated = np.zeros(n, dtype=bool)
    np_vecs: dict[int, set[int]] = {}
    for t in targets:
        sel = vectors.selected(t)
        if sel.size == 0:
            continue
        isolated[sel] = True
        if ingress:
            for rule in t.rules:
                ok = space.port_ok(rule.ports, port)
                if ok is False:
                    continue
                r = sel if ok is True else sel[ok[sel]]
                if r.size:
                    i = vectors.rule(rule)
                    for c in r.tolist():
                        np_vecs.setdefault(c, set()).add(i)
        else:
            # Egress rules cut their destinations by port: one vector per target and port.
            vec: np.ndarray | None = None
            for rule in t.rules:
                ok = space.port_ok(rule.ports, port)
                if ok is False:
                    continue
                dst = space.rule_peers(rule)
                if ok is not True:
                    dst = dst & ok
                vec = dst if vec is None else vec | dst
            if vec is not None:
                i = vectors.add(vec)
                for c in sel.tolist():
                    np_vecs.setdefault(c, set()).add(i)
    anp = _tier_keys(space, vectors, tiers, ANP, port, ingress, np.ones(n, dtype=bool))
    banp = _tier_keys(space, vectors, tiers, BANP, port, ingress, ~isolated)
    keys: dict[Key, int] = {}
    row_of = np.empty(n, dtype=np.int64)
    iso = isolated.tolist()
    for c in range(n):
        vecs = np_vecs.get(c)
        key = (iso[c], tuple(sorted(vecs)) if vecs else (), anp[c], banp[c])
        k = keys.get(key)
        if k is None:
            k = keys[key] = len(keys)
        row_of[c] = k
    rows = np.empty((len(keys), (n + 7) // 8), dtype=np.uint8)
    for key, k in keys.items():
        rows[k] = _row(vectors, key, n)
    same, first = row_ids(rows)
    return Direction(rows[first], same[row_of])


def _tier_keys(space: ClassSpace, vectors: Vectors, tiers: Sequence[TierTarget], tier: str,
               port: Port, ingress: bool, subjects: np.ndarray) -> list[tuple[tuple[int, str], ...]]:
    """Per subject class, the (vector, action) of each rule of one tier that applies, in order."""
    if not any(t.tier == tier for t in tiers):
        return [()] * space.n
    out: list[list[tuple[int, str]]] = [[] for _ in range(space.n)]
    for t in tiers:
        if t.tier != tier:
            continue
        subj = space.tier_selected(t) & subjects
        if not subj.any():
            continue
        for rule in t.rules:
            ok = space.port_ok(rule.ports, port)
            if ok is False:
                continue
            if ingress:  # ports admit subjects (destinations); the vector is the peers
                applies = subj if ok is True else subj & ok
                i = vectors.rule(rule)
            else:  # ports cut the vector (destinations); every subject gets it
                applies = subj
                peers = space.rule_peers(rule)
                i = vectors.rule(rule) if ok is True else vectors.add(peers & ok)
            for c in np.flatnonzero(applies).tolist():
                out[c].append((i, rule.action))
    return [tuple(x) for x in out]


def _row(vectors: Vectors, key: Key, n: int) -> np.ndarray:
    isolated, np_ids, anp, banp = key
    nb = (n + 7) // 8
    if not isolated:
        allowed = np.packbits(np.ones(n, dtype=bool))
    else:
        allowed = np.zeros(nb, dtype=np.uint8)
        for i in np_ids:
            allowed |= vectors.packed[i]
    if not anp and not banp:
        return allowed
    zero = np.zeros(nb, dtype=np.uint8)
    anp_allow, anp_deny, _ = _walk(vectors, anp, zero)
    final = anp_allow | anp_deny
    _, banp_deny, _ = _walk(vectors, banp, final)
    out: np.ndarray = anp_allow | (allowed & ~final & ~banp_deny)
    return out


def _walk(vectors: Vectors, rules: tuple[tuple[int, str], ...], decided: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(allowed, denied, decided) after one tier's rules, each taking only what is open."""
    decided = decided.copy()
    allow = np.zeros_like(decided)
    deny = np.zeros_like(decided)
    for i, action in rules:
        match = vectors.packed[i] & ~decided
        decided |= match
        if action == "Allow":
            allow |= match
        elif action == "Deny":
            deny |= match
    return allow, deny, decided
