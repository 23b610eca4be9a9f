"""Allowed connection sets between pod classes and external ranges, vectorised (for connlist).

``matrix.py`` answers one port at a time; connlist needs whole sets ("TCP 80,UDP 53"), so a
set is a bitmask over port atoms (``portatoms``) and, for source class c and destination
class d, the allowed set is
    ingress[d, c] & egress[d, c]
kept destination-major as in ``matrix.py``: an ingress target ORs one vector into whole rows,
an egress target one vector into columns. IP ranges outside the cluster (``extranges``) are
extra source columns of ingress and extra destination rows of egress: such an IP is never
isolated, no pod selector picks it, and a named port never resolves on it. Destinations are
taken in blocks so memory stays bounded by the block, not by the square of the class count.
``verdict.Evaluator`` is the per-pair reference; a property test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from podnet.model.cluster import Cluster
from podnet.model.objects import IPBlock, Pod, PolicyPort
from podnet.policy.classes import classify
from podnet.policy.compile import Compiled
from podnet.policy.extranges import holds, lows, ranges
from podnet.policy.matcher import AllPeers, IPPeer, Rule, Target, TierTarget
from podnet.policy.matrix import ClassSpace
from podnet.policy.portatoms import PortAtoms
from podnet.policy.tiermasks import Triple, with_tiers

ZERO = np.uint64(0)
PortMasks = tuple[np.ndarray, np.ndarray | None]  # (for any destination, per class or None)
# A target's classes, and per rule its peers and what its ports admit (one row, or per class).
Plan = tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]


class ConnSpace:
    def __init__(self, cluster: Cluster, compiled: Compiled, pods: Sequence[Pod],
                 space: ClassSpace | None = None) -> None:
        """``space``: a ClassSpace already built over ``pods`` (its selections are cached, so
        versions of the policies that classify the pods alike share it: ``incremental``)."""
        self.compiled = compiled
        self.space = space or ClassSpace(cluster, compiled, classify(pods, compiled))
        self.classes = self.space.classes
        self.n = len(self.classes)
        named = {(pp.protocol, pp.port) for r in compiled.all_rules() for pp in r.ports
                 if isinstance(pp.port, str)}
        numbers = set()
        for proto, name in named:
            found = self.space.named_port(name, proto)
            numbers |= {(proto, int(v)) for v in np.unique(found[found >= 0])}
        self.atoms = PortAtoms(compiled, numbers)
        # sources and destinations outside the cluster
        self.ext_in = ranges((*compiled.ingress, *compiled.admin_ingress))
        self.ext_out = ranges((*compiled.egress, *compiled.admin_egress))
        self._lows = {"ingress": lows(self.ext_in), "egress": lows(self.ext_out)}
        self.isolated = {d: self._isolated(ts) for d, ts in
                         (("ingress", compiled.ingress), ("egress", compiled.egress))}
        self._masks: dict[tuple[PolicyPort, ...], PortMasks] = {}
        self._named: dict[tuple[str, str], np.ndarray] = {}
        self._ext: dict[tuple[str, IPBlock], np.ndarray] = {}
        self._peers: dict[tuple[str, int], np.ndarray] = {}
        self._ingress_plan: list[Plan] | None = None
        self._ingress_span = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        self._egress_plan: list[Plan] | None = None

    def _isolated(self, targets: Sequence[Target]) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for t in targets:
            out[self.space.selected(t)] = True
        return out

    def _start(self, shape: tuple[int, ...], isolated: np.ndarray) -> np.ndarray:
        """Everything where not isolated, nothing where isolated (``isolated`` broadcasts to
        ``shape``)."""
        m = np.empty((*shape, self.atoms.words), dtype=np.uint64)
        m[:] = np.where(isolated[..., None], ZERO, self.atoms.all)
        return m

    def _named_mask(self, name: str, proto: str) -> np.ndarray:
        """Per class, the port a named port resolves to there (nothing where it does not)."""
        hit = self._named.get((name, proto))
        if hit is None:
            hit = np.zeros((self.n, self.atoms.words), dtype=np.uint64)
            found = self.space.named_port(name, proto)
            for v in np.unique(found[found >= 0]).tolist():
                hit[found == v] = self.atoms.span(proto, v, v)
            self._named[(name, proto)] = hit
        return hit

    def port_masks(self, ports: tuple[PolicyPort, ...]) -> PortMasks:
        hit = self._masks.get(ports)
        if hit is None:
            fixed = self.atoms.fixed(ports)
            per = None
            for pp in ports:
                if isinstance(pp.port, str):
                    named = self._named_mask(pp.port, pp.protocol)
                    per = (fixed | named) if per is None else (per | named)
            hit = self._masks[ports] = (fixed, per)
        return hit

    def _ext_peers(self, rule: Rule, direction: str) -> np.ndarray:
        """Which external ranges of a direction the rule's peers hold (by each range's start)."""
        addrs = self._lows[direction]
        out = np.zeros(addrs.shape, dtype=bool)
        for pm in rule.peers:
            if isinstance(pm, AllPeers):
                out[:] = True
            elif isinstance(pm, IPPeer):
                key = (direction, pm.block)
                hit = self._ext.get(key)
                if hit is None:
                    hit = self._ext[key] = holds(pm.block, addrs)
                out |= hit
        return out

    def _rule_peers(self, rule: Rule, direction: str) -> np.ndarray:
        """Peers over classes, then (ingress) over the external source ranges."""
        key = (direction, id(rule))  # rules live as long as ``compiled``, which self holds
        hit = self._peers.get(key)
        if hit is None:
            hit = self.space.rule_peers(rule)
            if direction == "ingress":
                hit = np.concatenate([hit, self._ext_peers(rule, direction)])
            self._peers[key] = hit
        return hit

    def _plan(self, targets: Sequence[Target], direction: str) -> list[Plan]:
        """Per group of targets whose rules admit alike, the classes they select, and per rule
        that may admit anything its peers and its ports mask. An ingress rule's mask is one row
        when its named ports resolve alike on every class the target selects (the usual case),
        so its target ORs a single vector into all its rows. Targets are grouped by what their
        rules hold (every namespace's copy of one policy is one group), and a target without
        such a rule is left out (it only isolates): the per-target work of a block of
        destinations was most of connlist's matrix time at 150,000 pods."""
        groups: dict[tuple[object, ...], tuple[list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]] = {}
        for t in targets:
            sel = self.space.selected(t)
            if sel.size == 0:
                continue
            rules = []
            for rule in t.rules:
                fixed, per = self.port_masks(rule.ports)
                if per is not None and direction == "ingress" and (per[sel] == per[sel[0]]).all():
                    fixed, per = per[sel[0]], None
                if per is None and not fixed.any():
                    continue
                rules.append((self._rule_peers(rule, direction), fixed if per is None else per))
            if not rules:
                continue
            key = tuple((p.tobytes(), m.shape, m.tobytes()) for p, m in rules)
            groups.setdefault(key, ([], rules))[0].append(sel)
        return [(np.unique(np.concatenate(sels)), rules) for sels, rules in groups.values()]

    def _row_mask(self, rule: Rule, dst: np.ndarray) -> np.ndarray:
        """What a rule's ports admit toward each destination class in ``dst`` (one row when
        no named port varies)."""
        fixed, per = self.port_masks(rule.ports)
        return fixed if per is None else per[dst]

    def ingress(self, dst: np.ndarray) -> np.ndarray:
        """[i, s]: what destination class ``dst[i]``'s ingress admits from source s, where s
        is a class or (from ``n`` on) an ``ext_in`` range. ``dst``: sorted, distinct."""
        m = self._np_ingress(dst)
        if not self.compiled.admin_ingress:
            return m
        open_ = ~self.isolated["ingress"][dst]

        def match(t: TierTarget, rule: Rule, baseline: bool) -> Triple:
            rows = self.space.tier_selected(t)[dst]
            return (rows & open_ if baseline else rows, self._rule_peers(rule, "ingress"),
                    self._row_mask(rule, dst))
        return with_tiers(m, self.compiled.admin_ingress, match)

    def egress(self, dst: np.ndarray) -> np.ndarray:
        """[i, c]: what source class c's egress lets out toward destination class ``dst[i]``.
        ``dst``: sorted, distinct."""
        m = self._np_egress(dst)
        if not self.compiled.admin_egress:
            return m
        open_ = ~self.isolated["egress"]

        def match(t: TierTarget, rule: Rule, baseline: bool) -> Triple:
            cols = self.space.tier_selected(t)
            return (self.space.rule_peers(rule)[dst], cols & open_ if baseline else cols,
                    self._row_mask(rule, dst))
        return with_tiers(m, self.compiled.admin_egress, match)

    def egress_ext(self, ext: np.ndarray) -> np.ndarray:
        """[i, c]: what source class c's egress lets out toward range ``ext_out[ext[i]]``."""
        m = self._np_egress_ext(ext)
        if not self.compiled.admin_egress:
            return m
        open_ = ~self.isolated["egress"]

        def match(t: TierTarget, rule: Rule, baseline: bool) -> Triple:
            cols = self.space.tier_selected(t)
            # Named ports resolve on pods only: toward an IP a rule admits its numbers.
            return (self._ext_peers(rule, "egress")[ext], cols & open_ if baseline else cols,
                    self.atoms.fixed(rule.ports))
        return with_tiers(m, self.compiled.admin_egress, match)

    def _np_ingress(self, dst: np.ndarray) -> np.ndarray:
        n_src = self.n + len(self.ext_in)
        whole = len(dst) == self.n
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[dst] = np.arange(len(dst))
        m = self._start((len(dst), n_src), self.isolated["ingress"][dst][:, None])
        if self._ingress_plan is None:
            self._ingress_plan = self._plan(self.compiled.ingress, "ingress")
            self._ingress_span = (np.array([sel[0] for sel, _ in self._ingress_plan], dtype=np.int64),
                                  np.array([sel[-1] for sel, _ in self._ingress_plan], dtype=np.int64))
        plan = self._ingress_plan
        if not whole and len(dst):  # only the groups with a class in dst's span
            lo, hi = self._ingress_span
            plan = [plan[k] for k in np.flatnonzero((hi >= dst[0]) & (lo <= dst[-1])).tolist()]
        for sel, rules in plan:
            rows = sel if whole else pos[sel]
            if not whole:
                rows = rows[rows >= 0]
                if rows.size == 0:
                    continue
            vec: np.ndarray | None = None  # what the target admits, alike for all its rows
            for peers, mask in rules:
                if mask.ndim == 2:  # named ports that resolve differently per row
                    m[rows] |= np.where(peers[None, :, None], mask[dst[rows]][:, None, :], ZERO)
                    continue
                if vec is None:
                    vec = np.zeros((n_src, self.atoms.words), dtype=np.uint64)
                np.bitwise_or(vec, mask, out=vec, where=peers[:, None])
            if vec is not None:
                m[rows] |= vec
        return m

    def _np_egress(self, dst: np.ndarray) -> np.ndarray:
        whole = len(dst) == self.n
        m = self._start((len(dst), self.n), self.isolated["egress"][None, :])
        if self._egress_plan is None:
            self._egress_plan = self._plan(self.compiled.egress, "egress")
        for cols, rules in self._egress_plan:
            vec = np.zeros((len(dst), self.atoms.words), dtype=np.uint64)
            for peers, mask in rules:
                toward = peers if whole else peers[dst]
                if mask.ndim == 2:
                    mask = mask if whole else mask[dst]
                np.bitwise_or(vec, mask, out=vec, where=toward[:, None])
            m[:, cols] |= vec[:, None, :]
        return m

    def _np_egress_ext(self, ext: np.ndarray) -> np.ndarray:
        m = self._start((len(ext), self.n), self.isolated["egress"][None, :])
        for t in self.compiled.egress:
            cols = self.space.selected(t)
            if cols.size == 0:
                continue
            vec = np.zeros((len(ext), self.atoms.words), dtype=np.uint64)
            for rule in t.rules:
                # Named ports resolve on pods only, so toward an IP a rule admits its numbers.
                fixed = self.atoms.fixed(rule.ports)
                np.bitwise_or(vec, fixed, out=vec, where=self._ext_peers(rule, "egress")[ext][:, None])
            m[:, cols] |= vec[:, None, :]
        return m

    def text(self, mask: np.ndarray) -> str:
        return str(self.atoms.conns(mask))
