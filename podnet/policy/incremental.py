"""The connectivity diff between two versions of a cluster, recomputed only where it can change.

A connection between workloads a -> b depends on a's and b's pods (namespace, labels, named
ports), their namespaces' labels, the policies that select b (ingress) and those that select a
(egress). So when some policies change, only the *rows* (destinations) the changed ingress
targets select and the *columns* (sources) the changed egress targets select can change; when
a workload's pods change, its row and column. Both versions are computed over those rows and
columns only and compared with ``diff.diff``: every other pair answers alike on both sides and
would only add unchanged entries, which no line format prints.

External ranges need no care: ``diff`` compares them address by address, so the coarser
ranges cut by the few policies a row or column sees give the same pieces as the cluster-wide
cut. Each side is computed on a ``ConnSpace`` of a reduced ``Compiled``: for rows, the ingress
targets of the rows' namespaces and every egress target (any source's egress reaches them);
for columns, the egress targets of the columns' namespaces and every ingress target.

When only NetworkPolicies changed (the pods, hence the class space, shared), the policy-edit
path (``policyedit``) takes over: the targets both versions share stay compiled across
versions (``grants``), are computed once for both sides, and the next version inherits them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from operator import itemgetter

import numpy as np

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.classes import classify, ip_blocks
from podnet.policy.compile import Compiled
from podnet.policy.connlist import (
    Conn,
    Peer,
    _conns,
    exposures,
    ingress_conns,
    representatives,
    workload_peer,
)
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.connset import ConnSet
from podnet.policy.diff import ConnDiff, Side, diff
from podnet.policy.extranges import range_name
from podnet.policy.grants import Indexes, indexes
from podnet.policy.matcher import Rule, Target, TierTarget
from podnet.policy.matrix import ClassSpace
from podnet.policy.policyedit import edit_lines
from podnet.policy.tiermasks import Triple, with_tiers
from podnet.policy.verdict import Evaluator

Line = tuple[str, str, str]


@dataclass
class Version:
    """One version of the cluster as ``podnet watch`` keeps it in memory."""

    cluster: Cluster
    compiled: Compiled
    names: list[str]  # workload names, in representative order
    reps: list[Pod]
    peers: list[Peer]
    space: ClassSpace  # over ``reps``
    workloads: frozenset[str]
    index: dict[str, int] = field(default_factory=dict)
    _ingress_lines: list[Line] | None = None
    # This version's NetworkPolicy targets compiled over ``space``; handed on to the next
    # version by ``incremental_diff`` (it then no longer describes this one)
    grants: Indexes | None = None

    def prepare(self) -> Indexes:
        """The compiled targets (built once; ``LiveModel`` builds them before any edit)."""
        if self.grants is None:
            self.grants = indexes(self.space, self.compiled.ingress, self.compiled.egress)
        return self.grants

    def ingress_lines(self) -> list[Line]:
        """The ingress controller's connections (few; recomputed per version)."""
        if self._ingress_lines is None and not exposures(self.cluster):
            self._ingress_lines = []  # no Ingress or Route: skip the walk over every workload
        if self._ingress_lines is None:
            conns = ingress_conns(self.cluster, Evaluator(self.cluster, self.compiled))
            self._ingress_lines = [(c.src.text, c.dst.text, c.text) for c in conns]
        return self._ingress_lines


# A pod without where it was read: two files that declare the same pods give the same
# connectivity, though each pod's ``source`` names its own file. (itemgetter: a C call per
# pod, where 150,000 pods are compared.)
_content = itemgetter(*(k for k, f in enumerate(Pod._fields) if f != "source"))


def same_pods(a: Cluster, b: Cluster) -> bool:
    """The two models hold the same pods (in order) and namespaces (with their labels),
    wherever each was read: what a class space is built from."""
    if a.pods is not b.pods and (len(a.pods) != len(b.pods) or
                                 list(map(_content, a.pods)) != list(map(_content, b.pods))):
        return False
    return a.namespaces is b.namespaces or (
        a.namespaces.keys() == b.namespaces.keys()
        and all(n.labels == b.namespaces[k].labels for k, n in a.namespaces.items()))


def version(cluster: Cluster, compiled: Compiled, previous: Version | None = None) -> Version:
    """The in-memory version; the class space is the previous one's when the pods and the
    namespaces are the same (the same objects, or read alike from other files, as ``podnet
    diff`` reads its two versions) and the policies classify them alike (ipBlocks only count
    when they select pods)."""
    if (previous is not None and _blocks(previous.compiled) == _blocks(compiled)
            and same_pods(previous.cluster, cluster)):
        return replace(previous, cluster=cluster, compiled=compiled, _ingress_lines=None,
                       grants=None)
    reps_by_name = representatives(cluster)
    reps = list(reps_by_name.values())
    space = ClassSpace(cluster, compiled, classify(reps, compiled))
    names = list(reps_by_name)
    return Version(cluster, compiled, names, reps, [workload_peer(p) for p in reps], space,
                   frozenset(names), {n: i for i, n in enumerate(names)})


def _blocks(compiled: Compiled) -> object:
    return ip_blocks(compiled) if compiled.ipblock_matches_pods else ()


def _by_key(targets: Iterable[Target | TierTarget]) -> dict[str, Target | TierTarget]:
    return {t.policy: t for t in targets}


def _changed(old: Sequence[Target | TierTarget], new: Sequence[Target | TierTarget]
             ) -> tuple[list[Target | TierTarget], list[Target | TierTarget]]:
    """(old targets, new targets) of the policies whose target differs, appeared or went."""
    a, b = _by_key(old), _by_key(new)
    gone = [t for k, t in a.items() if k not in b or (b[k] is not t and b[k] != t)]
    came = [t for k, t in b.items() if k not in a or (a[k] is not t and a[k] != t)]
    return gone, came


def _selected_names(v: Version, targets: Iterable[Target | TierTarget]) -> set[str]:
    classes = np.zeros(v.space.n, dtype=bool)
    for t in targets:
        if isinstance(t, TierTarget):
            classes |= v.space.tier_selected(t)
        else:
            classes[v.space.selected(t)] = True
    of = v.space.classes.of_pod
    return {v.names[i] for i in np.flatnonzero(classes[of]).tolist()}


Changes = dict[str, tuple[list[Target | TierTarget], list[Target | TierTarget]]]
ATTRS = ("ingress", "egress", "admin_ingress", "admin_egress")


def changes(old: Version, new: Version) -> Changes:
    """Per direction (``Compiled``'s attribute), the (old, new) targets of the policies
    that differ."""
    return {a: _changed(getattr(old.compiled, a), getattr(new.compiled, a)) for a in ATTRS}


def affected(old: Version, new: Version, changed: Changes | None = None
             ) -> tuple[set[str], set[str]]:
    """(rows, columns): the destination and the source workloads whose connections may differ."""
    changed = changed or changes(old, new)
    rows: set[str] = set()
    cols: set[str] = set()
    for attr, (gone, came) in changed.items():
        out = rows if attr.endswith("ingress") else cols
        out |= _selected_names(old, gone) | _selected_names(new, came)
    if old.space is not new.space:
        moved = set(old.workloads ^ new.workloads)
        relabelled = {ns for ns in old.cluster.namespaces.keys() | new.cluster.namespaces.keys()
                      if old.cluster.namespace_labels(ns) != new.cluster.namespace_labels(ns)}
        for v, other in ((old, new), (new, old)):
            for name, pod in zip(v.names, v.reps, strict=True):
                j = other.index.get(name)
                if (j is None or _content(other.reps[j]) != _content(pod)
                        or pod.namespace in relabelled):
                    moved.add(name)
        rows |= moved
        cols |= moved
    return rows, cols


def _reduced(compiled: Compiled, ingress_ns: set[str], egress_ns: set[str]) -> Compiled:
    return replace(compiled,
                   ingress=tuple(t for t in compiled.ingress if t.namespace in ingress_ns),
                   egress=tuple(t for t in compiled.egress if t.namespace in egress_ns))


def _classes(v: Version, names: Iterable[str]) -> tuple[np.ndarray, list[int]]:
    """The workloads' indices, and the sorted distinct classes they fall in."""
    idx = sorted(v.index[n] for n in names if n in v.index)
    return np.unique(v.space.classes.of_pod[idx]) if idx else np.zeros(0, np.int64), idx


def _rows(v: Version, names: set[str]) -> list[Conn]:
    """Every connection toward the workloads ``names``: from workloads and external ranges."""
    dcls, idx = _classes(v, names)
    if not idx:
        return []
    every_ns = set(v.cluster.namespaces)
    cs = ConnSpace(v.cluster, _reduced(v.compiled, {v.reps[i].namespace for i in idx}, every_ns),
                   v.reps, v.space)
    sets: dict[bytes, tuple[ConnSet, str]] = {}  # per ConnSpace: its atoms give masks meaning
    cls = v.space.classes.of_pod
    inv = np.searchsorted(dcls, cls[idx])
    ingress = cs.ingress(dcls)
    pairs = (ingress[:, :cs.n] & cs.egress(dcls))[inv][:, cls]
    pairs[np.arange(len(idx)), idx] = 0
    dst = [v.peers[i] for i in idx]
    ext_in = [Peer(range_name(lo, hi), ip=True) for lo, hi in cs.ext_in]
    return (_conns(cs, pairs, dst, v.peers, sets)
            + _conns(cs, np.ascontiguousarray(ingress[inv, cs.n:]), dst, ext_in, sets))


def _cols(v: Version, names: set[str]) -> list[Conn]:
    """Every connection from the workloads ``names``: toward workloads and external ranges."""
    scls, idx = _classes(v, names)
    if not idx:
        return []
    every_ns = set(v.cluster.namespaces)
    cs = ConnSpace(v.cluster, _reduced(v.compiled, every_ns, {v.reps[i].namespace for i in idx}),
                   v.reps, v.space)
    sets: dict[bytes, tuple[ConnSet, str]] = {}  # per ConnSpace: its atoms give masks meaning
    cls = v.space.classes.of_pod
    inv = np.searchsorted(scls, cls[idx])
    m = _ingress_cols(cs, scls) & _egress_cols(cs, scls)  # [dst class, src of scls]
    pairs = m[cls][:, inv]
    pairs[idx, np.arange(len(idx))] = 0
    src = [v.peers[i] for i in idx]
    ext_out = [Peer(range_name(lo, hi), ip=True) for lo, hi in cs.ext_out]
    ext = cs.egress_ext(np.arange(len(cs.ext_out)))[:, cls[idx]]
    return (_conns(cs, np.ascontiguousarray(pairs), v.peers, src, sets)
            + _conns(cs, np.ascontiguousarray(ext), ext_out, src, sets))


def _rule_peers(cs: ConnSpace, rule: Rule, src: np.ndarray) -> np.ndarray:
    out = np.zeros(len(src), dtype=bool)
    for pm in rule.peers:
        out |= cs.space.peer(pm)[src]
    return out


def _ingress_cols(cs: ConnSpace, src: np.ndarray) -> np.ndarray:
    """[d, i]: what destination class d's ingress admits from source class ``src[i]``."""
    m = cs._start((cs.n, len(src)), cs.isolated["ingress"][:, None])
    for t in cs.compiled.ingress:
        rows = cs.space.selected(t)
        if rows.size == 0:
            continue
        for rule in t.rules:
            peers = _rule_peers(cs, rule, src)
            if not peers.any():
                continue
            fixed, per = cs.port_masks(rule.ports)
            mask = fixed[None, :] if per is None else per[rows]
            at = np.flatnonzero(peers)
            m[np.ix_(rows, at)] |= mask[:, None, :]
    if not cs.compiled.admin_ingress:
        return m
    open_ = ~cs.isolated["ingress"]

    def match(t: TierTarget, rule: Rule, baseline: bool) -> Triple:
        rows = cs.space.tier_selected(t)
        fixed, per = cs.port_masks(rule.ports)
        return (rows & open_ if baseline else rows, _rule_peers(cs, rule, src),
                fixed if per is None else per)
    return with_tiers(m, cs.compiled.admin_ingress, match)


def _egress_cols(cs: ConnSpace, src: np.ndarray) -> np.ndarray:
    """[d, i]: what source class ``src[i]``'s egress lets out toward destination class d."""
    m = cs._start((cs.n, len(src)), cs.isolated["egress"][src][None, :])
    pos = np.full(cs.n, -1, dtype=np.int64)
    pos[src] = np.arange(len(src))
    for t in cs.compiled.egress:
        cols = pos[cs.space.selected(t)]
        cols = cols[cols >= 0]
        if cols.size == 0:
            continue
        vec = np.zeros((cs.n, cs.atoms.words), dtype=np.uint64)
        for rule in t.rules:
            fixed, per = cs.port_masks(rule.ports)
            np.bitwise_or(vec, fixed if per is None else per, out=vec,
                          where=cs.space.rule_peers(rule)[:, None])
        m[:, cols] |= vec[:, None, :]
    if not cs.compiled.admin_egress:
        return m
    open_ = ~cs.isolated["egress"][src]

    def match(t: TierTarget, rule: Rule, baseline: bool) -> Triple:
        cols = cs.space.tier_selected(t)[src]
        fixed, per = cs.port_masks(rule.ports)
        return (cs.space.rule_peers(rule), cols & open_ if baseline else cols,
                fixed if per is None else per)
    return with_tiers(m, cs.compiled.admin_egress, match)


def restricted_side(v: Version, rows: set[str], cols: set[str]) -> Side:
    """The connections of ``v`` toward ``rows`` and from ``cols`` (and the ingress
    controller's), with all of its workloads."""
    lines = {(c.src.text, c.dst.text): c.text for c in (*_rows(v, rows), *_cols(v, cols))}
    out = [(s, d, t) for (s, d), t in lines.items()]
    out += v.ingress_lines()
    return Side(tuple(out), v.workloads)


def incremental_diff(old: Version, new: Version, changed: Changes | None = None) -> ConnDiff:
    """What ``diff.diff`` of the two versions' full sides reports, from their affected rows
    and columns only (unchanged pairs are left out). ``changed``: what ``changes`` would
    find, when the caller knows it (``LiveModel`` after an edit in place)."""
    changed = changed or changes(old, new)
    rows, cols = affected(old, new, changed)
    if old.space is new.space and not any(getattr(v.compiled, a) for v in (old, new)
                                          for a in ATTRS[2:]):
        return _policy_edit(old, new, changed, rows, cols)
    return diff(restricted_side(old, rows, cols), restricted_side(new, rows, cols))


def _targets(ts: list[Target | TierTarget]) -> list[Target]:
    return [t for t in ts if isinstance(t, Target)]


def _policy_edit(old: Version, new: Version, changed: Changes, rows: set[str],
                 cols: set[str]) -> ConnDiff:
    """Only NetworkPolicies changed: the targets both versions share are ``old``'s compiled
    targets less the changed ones, computed once for both sides and handed on to ``new``."""
    base = old.prepare()
    old.grants = None
    (gone_in, came_in), (gone_eg, came_eg) = changed["ingress"], changed["egress"]
    try:
        for t in _targets(gone_in):
            base.ingress.remove(t)
        for t in _targets(gone_eg):
            base.egress.remove(t)
        sides = (indexes(old.space, _targets(gone_in), _targets(gone_eg)),
                 indexes(new.space, _targets(came_in), _targets(came_eg)))
        lines = edit_lines(old.space, old.peers, base, sides,
                           sorted(old.index[n] for n in rows if n in old.index),
                           sorted(old.index[n] for n in cols if n in old.index))
        for t in _targets(came_in):
            base.ingress.add(t)
        for t in _targets(came_eg):
            base.egress.add(t)
    except BaseException:
        new.grants = None  # half updated: rebuilt on the next edit
        raise
    new.grants = base
    return diff(Side(tuple(lines[0] + old.ingress_lines()), old.workloads),
                Side(tuple(lines[1] + new.ingress_lines()), new.workloads))


# Past this many (affected workload, workload) cells, the rows and columns cost more than the
# columnar table of every pair (``conntable``), which ``podnet diff`` then uses instead: the
# general path makes a Python object per allowed pair of an affected row or column.
MAX_CELLS = 1 << 22


def files_diff(old: tuple[Cluster, Compiled], new: tuple[Cluster, Compiled]) -> ConnDiff | None:
    """``podnet diff`` of two versions read from their own files (without unchanged pairs),
    from the rows and columns that can differ: one class space for both when the pods and
    namespaces read alike (a pull request that changes policies), else each version's own.
    None when so much changed that the whole tables are cheaper."""
    v1 = version(*old)
    v2 = version(*new, v1)
    changed = changes(v1, v2)
    rows, cols = affected(v1, v2, changed)
    if (len(rows) + len(cols)) * max(len(v1.names), len(v2.names), 1) > MAX_CELLS:
        return None
    return incremental_diff(v1, v2, changed)
