"""Vectorised reachability over equivalence classes (numpy), expanded to pods on output.

For one destination port (number, protocol) and classes c (source), d (destination):
    E[d, c]  may the source's egress policies let c reach d
    I[d, c]  may the destination's ingress policies let c in
    allowed  = E & I, and every pod may reach itself.
Matrices are kept destination-major so an ingress rule (the common kind) ORs its peer vector
into whole rows; classes not isolated in a direction start all-true in it.
Admin tiers (``tiermatrix``) wrap each direction: what the ANPs allow, or else what the
NetworkPolicies allow minus what the ANPs deny (a Pass is neither) and, for classes no
NetworkPolicy isolates, minus what the BANP denies.
``verdict.Evaluator`` is the per-pair reference; a property test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from podnet.model.cluster import Cluster
from podnet.model.objects import Namespace, PolicyPort
from podnet.model.selectors import LabelSelector
from podnet.policy.behaviours import Direction, Vectors, direction
from podnet.policy.classes import Classes, classify, ip_blocks
from podnet.policy.classes import _block_bits as block_bits
from podnet.policy.compile import Compiled
from podnet.policy.labelindex import LabelIndex
from podnet.policy.matcher import (
    AllPeers,
    ExactNamespace,
    IPPeer,
    PeerMatcher,
    Rule,
    Target,
    TierTarget,
)
from podnet.policy.packedbits import column_ids, popcount, take_bits

Port = tuple[int, str]  # (number, protocol)


class ClassSpace:
    """Per-class vectors that rules are evaluated against, cached across ports."""

    def __init__(self, cluster: Cluster, compiled: Compiled, classes: Classes,
                 namespaces: Mapping[str, Namespace] | None = None) -> None:
        """``namespaces``: the cluster's, when the caller has them without reading the
        cluster's (a model read lazily keeps them with the pods)."""
        self.classes = classes
        reps = classes.representatives
        self.n = len(reps)
        spaces = cluster.namespaces if namespaces is None else namespaces
        ns_names = sorted(spaces)
        self.ns_index = {n: i for i, n in enumerate(ns_names)}
        self.ns_labels = LabelIndex([spaces[n].labels for n in ns_names])
        self.class_ns = np.array([self.ns_index[p.namespace] for p in reps], dtype=np.int64)
        self.pod_labels = LabelIndex([p.labels for p in reps])
        # the classes of each namespace, ascending: _by_ns[_ns_start[i]:_ns_start[i + 1]]
        self._by_ns = np.argsort(self.class_ns, kind="stable")
        self._ns_start = np.searchsorted(self.class_ns[self._by_ns], np.arange(len(ns_names) + 1))
        # hostNetwork pods are never an admin policy's subject (classify keeps them apart)
        self.host_network = np.array([p.host_network for p in reps], dtype=bool)
        self.blocks = ip_blocks(compiled) if compiled.ipblock_matches_pods else ()
        self.block_pos = {b: i for i, b in enumerate(self.blocks)}
        self.bits = block_bits(reps, self.blocks)
        self._peer_cache: dict[object, np.ndarray] = {}
        self._named: dict[tuple[str, str], np.ndarray] = {}
        self._named_is: dict[tuple[str, str, int], np.ndarray] = {}
        self._selected: dict[tuple[str, LabelSelector], np.ndarray] = {}

    def selected(self, target: Target) -> np.ndarray:
        # Keyed by what selects, not by the Target: hashing a Target hashes all its rules.
        key = (target.namespace, target.pod_selector)
        hit = self._selected.get(key)
        if hit is None:
            ns = self.ns_index.get(target.namespace)
            if ns is None:
                hit = np.empty(0, dtype=np.int64)
            else:  # only the namespace's classes: a few dozen, not every class
                inside = self._by_ns[self._ns_start[ns]:self._ns_start[ns + 1]]
                hit = inside[self.pod_labels.match(target.pod_selector)[inside]]
            self._selected[key] = hit
        return hit

    def tier_selected(self, target: TierTarget) -> np.ndarray:
        """Which classes an admin policy's subject selects (a bool vector)."""
        key = ("tier", target.namespace_selector, target.pod_selector)
        hit = self._peer_cache.get(key)
        if hit is None:
            hit = (self.ns_labels.match(target.namespace_selector)[self.class_ns]
                   & self.pod_labels.match(target.pod_selector) & ~self.host_network)
            self._peer_cache[key] = hit
        return hit

    def peer(self, pm: PeerMatcher) -> np.ndarray:
        key: object = ("all",) if isinstance(pm, AllPeers) else (
            ("ip", pm.block) if isinstance(pm, IPPeer) else ("pod", pm.namespaces, pm.pods))
        hit = self._peer_cache.get(key)
        if hit is not None:
            return hit
        if isinstance(pm, AllPeers):
            hit = np.ones(self.n, dtype=bool)
        elif isinstance(pm, IPPeer):
            pos = self.block_pos.get(pm.block)
            hit = self.bits[:, pos].copy() if pos is not None else np.zeros(self.n, dtype=bool)
        else:
            if isinstance(pm.namespaces, ExactNamespace):
                ns_mask = np.zeros(len(self.ns_index), dtype=bool)
                i = self.ns_index.get(pm.namespaces.name)
                if i is not None:
                    ns_mask[i] = True
            else:
                ns_mask = self.ns_labels.match(pm.namespaces.selector)
            hit = ns_mask[self.class_ns] & self.pod_labels.match(pm.pods)
        self._peer_cache[key] = hit
        return hit

    def rule_peers(self, rule: Rule) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for pm in rule.peers:
            out |= self.peer(pm)
        return out

    def named_port(self, name: str, protocol: str) -> np.ndarray:
        hit = self._named.get((name, protocol))
        if hit is None:
            hit = np.array([p.named_port(name, protocol) or -1
                            for p in self.classes.representatives], dtype=np.int64)
            self._named[(name, protocol)] = hit
        return hit

    def port_ok(self, ports: Sequence[PolicyPort], port: Port) -> np.ndarray | bool:
        """Which destination classes a rule's ``ports`` admit for this port (bool = all/none)."""
        if not ports:
            return True
        number, proto = port
        out: np.ndarray | bool = False
        for p in ports:
            if p.protocol != proto:
                continue
            if p.port is None:
                return True
            if isinstance(p.port, int):
                if p.port <= number <= (p.end_port or p.port):
                    return True
                continue
            named = self._named_is.get((p.port, proto, number))
            if named is None:  # asked by thousands of rules: one read-only vector each
                named = self.named_port(p.port, proto) == number
                named.setflags(write=False)
                self._named_is[(p.port, proto, number)] = named
            out = named if out is False else out | named
        return out


@dataclass(frozen=True)
class PortMatrix:
    """One port's matrix over behaviours: destination classes that every rule treats alike
    share a row, source classes a column. Columns are laid out by weight (pods in them), each
    weight's run starting on a byte, so counting pairs is a popcount per run."""

    bits: np.ndarray  # packed [row, bit position]
    row_of: np.ndarray  # destination class -> row
    pos_of: np.ndarray  # source class -> bit position
    row_weights: np.ndarray  # pods per row (int64)
    run_starts: np.ndarray  # first byte of each run of equal weight
    run_weights: np.ndarray  # that weight (int64)


@dataclass(frozen=True)
class ClassMatrix:
    space: ClassSpace
    ports: tuple[Port, ...]
    allowed: dict[Port, PortMatrix]

    def block(self, port: Port, dst: np.ndarray, src: np.ndarray) -> np.ndarray:
        """Bool [destination class, source class] for the classes ``dst`` and ``src``."""
        pm = self.allowed[port]
        return take_bits(pm.bits, pm.row_of[dst], pm.pos_of[src])


_CELLS = 1 << 22  # bool cells of a row block while combining the two directions


def _combine(ing: Direction, egr: Direction, sizes: np.ndarray) -> PortMatrix:
    """allowed[d, s] = ingress[row(d), s] & egress[row(s), d], over distinct behaviours: a
    destination is its ingress row and its column in the egress rows, a source its egress row
    and its column in the ingress rows."""
    n = sizes.size
    src_sig, _ = column_ids(ing.rows, n)
    dst_sig, _ = column_ids(egr.rows, n)
    dst_key = ing.row_of * (int(dst_sig.max(initial=0)) + 1) + dst_sig
    src_key = egr.row_of * (int(src_sig.max(initial=0)) + 1) + src_sig
    _, d_rep, row_of = np.unique(dst_key, return_index=True, return_inverse=True)
    _, s_rep, col_of = np.unique(src_key, return_index=True, return_inverse=True)
    row_of, col_of = row_of.reshape(-1), col_of.reshape(-1)
    row_w = np.bincount(row_of, weights=sizes, minlength=d_rep.size).astype(np.int64)
    col_w = np.bincount(col_of, weights=sizes, minlength=s_rep.size).astype(np.int64)
    # Runs of equal weight, each padded to whole bytes: pos[c] is column c's bit position.
    order = np.argsort(col_w, kind="stable")
    pos = np.empty(s_rep.size, dtype=np.int64)
    starts: list[int] = []
    weights: list[int] = []
    bit = 0
    for w in np.unique(col_w).tolist():
        run = order[col_w[order] == w]
        starts.append(bit // 8)
        weights.append(int(w))
        pos[run] = bit + np.arange(run.size)
        bit += -(-run.size // 8) * 8
    bits = np.zeros((d_rep.size, bit // 8), dtype=np.uint8)
    step = max(1, _CELLS // max(1, s_rep.size))
    for r0 in range(0, d_rep.size, step):
        d = d_rep[r0:r0 + step]
        allowed = (take_bits(ing.rows, ing.row_of[d], s_rep)
                   & take_bits(egr.rows, egr.row_of[s_rep], d).T)
        wide = np.zeros((d.size, bit), dtype=bool)
        wide[:, pos] = allowed
        bits[r0:r0 + step] = np.packbits(wide, axis=1)
    return PortMatrix(bits, row_of.astype(np.int64), pos[col_of], row_w,
                      np.array(starts, dtype=np.int64), np.array(weights, dtype=np.int64))


def class_matrix(cluster: Cluster, compiled: Compiled, ports: Sequence[Port],
                 classes: Classes | None = None,
                 namespaces: Mapping[str, Namespace] | None = None) -> ClassMatrix:
    cls = classes or classify(cluster.pods, compiled)
    space = ClassSpace(cluster, compiled, cls, namespaces)
    vectors = Vectors(space)
    allowed = {}
    for port in ports:
        ing = direction(space, vectors, compiled.ingress, compiled.admin_ingress, port, True)
        egr = direction(space, vectors, compiled.egress, compiled.admin_egress, port, False)
        allowed[port] = _combine(ing, egr, cls.sizes)
    return ClassMatrix(space, tuple(ports), allowed)


def pod_matrix(cm: ClassMatrix, port: Port, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Expand to pods: rows ``src`` and columns ``dst`` are pod indices in cluster order."""
    of = cm.space.classes.of_pod
    out: np.ndarray = cm.block(port, of[dst], of[src]).T
    out |= src[:, None] == dst[None, :]
    return out


def count_allowed(cm: ClassMatrix, port: Port) -> int:
    """Ordered pairs of distinct pods allowed on this port, without expanding to pods: per row,
    the set bits of each run times its weight, in integers."""
    pm = cm.allowed[port]
    if pm.bits.size == 0:
        return 0
    total = 0
    step = max(1, _CELLS // pm.bits.shape[1])
    for r0 in range(0, pm.bits.shape[0], step):
        runs = np.add.reduceat(popcount(pm.bits[r0:r0 + step]), pm.run_starts, axis=1,
                               dtype=np.int64)
        total += int((runs @ pm.run_weights) @ pm.row_weights[r0:r0 + step])
    # a pod and itself: its class's own cell, counted once per pod above
    sizes = cm.space.classes.sizes
    own = (pm.bits[pm.row_of, pm.pos_of >> 3] >> (7 - (pm.pos_of & 7)).astype(np.uint8)) & 1
    return total - int(sizes[own.astype(bool)].sum())
