"""Exposure analysis: what each workload admits from, or lets out to, pods the input does not
hold (netpol-analyzer's ``list --exposure``).

NetworkPolicy rules name peers by selector, so a workload may be open to pods that do not
exist yet. Per workload and direction:
- not selected by any policy of that direction: unprotected, open to the entire cluster;
- else the *entire-cluster* set: the union of its policies' rules that name every pod in
  every namespace (no peers, or ``namespaceSelector: {}`` with an empty or absent
  ``podSelector``); named ports stay names on egress, and on ingress resolve on the workload;
- and per *representative* peer (one per distinct (namespace selector, pod selector) pair a
  rule names; a rule without namespaceSelector names its own namespace), the union of the
  rules that name it exactly: a rule's selector matches a representative when it is empty or
  has the same requirements (``app in (x)`` equals ``app=x``), not when it merely overlaps.
  A set equal to the entire-cluster set adds nothing and is left out.
A representative made of matchLabels only, both selectors non-empty, that some workload in the
input matches is dropped: that exposure is a real connection and connlist lists it.
External addresses come from connlist's own lines (the ``[External]`` ranges).
With AdminNetworkPolicies or a BaselineAdminNetworkPolicy in the input, their rules name
representatives too, and each set is computed through the three tiers
(``exposure_tiers``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from podnet.model.cluster import Cluster
from podnet.model.defaults import NAMESPACE_NAME_LABEL
from podnet.model.objects import Pod
from podnet.model.selectors import LabelSelector, selector
from podnet.policy.compile import Compiled
from podnet.policy.connlist import representatives
from podnet.policy.connset import ConnSet
from podnet.policy.matcher import (
    AllPeers,
    ExactNamespace,
    IPPeer,
    PeerMatcher,
    PodPeer,
    Rule,
    SelectedNamespaces,
    Target,
    TierTarget,
)
from podnet.policy.namedconns import EMPTY, NamedConns, port_conns, resolve_by_name
from podnet.policy.verdict import target_selects

ENTIRE_CLUSTER = "entire-cluster"
EXTERNAL_SUFFIX = "[External]"


def _req_text(key: str, op: str, values: Sequence[str]) -> str:
    if op in ("In", "=") and len(values) == 1:
        return f"{key}={values[0]}"
    if op == "Exists":
        return key
    if op == "DoesNotExist":
        return f"!{key}"
    word = "in" if op == "In" else "notin"
    return f"{key} {word} ({','.join(sorted(values))})"


def canonical(sel: LabelSelector) -> tuple[str, ...]:
    """The selector's requirements as apimachinery prints them, sorted by key: equal for
    selectors that require the same (matchLabels ``app: x`` and ``app In [x]``)."""
    reqs = [(k, _req_text(k, "=", (v,))) for k, v in sel.match_labels]
    reqs += [(r.key, _req_text(r.key, r.operator, r.values)) for r in sel.match_expressions]
    return tuple(text for _, text in sorted(reqs))


@dataclass(frozen=True, slots=True)
class Representative:
    """The pods one rule names by selector. ``namespace`` is the policy's own namespace when
    the rule had no namespaceSelector (then ``ns_selector`` requires that namespace's name),
    else empty."""

    namespace: str
    ns_selector: LabelSelector
    pod_selector: LabelSelector

    @property
    def key(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return canonical(self.ns_selector), canonical(self.pod_selector)

    def named_by(self, peer: PeerMatcher) -> bool:
        if isinstance(peer, AllPeers):
            return True
        if isinstance(peer, IPPeer):
            return False
        ns = peer.namespaces
        if isinstance(ns, ExactNamespace):
            if ns.name != self.namespace:
                return False
        elif not ns.selector.empty and canonical(ns.selector) != canonical(self.ns_selector):
            return False
        return peer.pods.empty or canonical(peer.pods) == canonical(self.pod_selector)

    def refined_by(self, pod: Pod, ns_labels: Mapping[str, str]) -> bool:
        """A real pod stands for it (matchLabels only, neither selector empty)."""
        ns, pods = self.ns_selector, self.pod_selector
        if ns.match_expressions or pods.match_expressions or ns.empty or pods.empty:
            return False
        return pods.matches(pod.labels) and ns.matches(ns_labels)


@dataclass(frozen=True, slots=True)
class ExposureItem:
    """One line of a workload's exposure: toward the entire cluster, a representative, or an
    external range (``external`` holds connlist's name of the range)."""

    conns: str
    representative: Representative | None = None
    external: str = ""
    # the set behind ``conns`` on a protected side, which a focus connection is checked against
    conn_set: NamedConns | None = field(default=None, compare=False)

    @property
    def entire_cluster(self) -> bool:
        return self.representative is None and not self.external


@dataclass(frozen=True, slots=True)
class ExposedPeer:
    workload: str
    ingress_protected: bool
    egress_protected: bool
    ingress: tuple[ExposureItem, ...]
    egress: tuple[ExposureItem, ...]


def _selects_all(peer: PeerMatcher) -> bool:
    return isinstance(peer, AllPeers) or (
        isinstance(peer, PodPeer) and isinstance(peer.namespaces, SelectedNamespaces)
        and peer.namespaces.selector.empty and peer.pods.empty)


def _representative(peer: PodPeer) -> Representative:
    if isinstance(peer.namespaces, ExactNamespace):
        name = peer.namespaces.name
        return Representative(name, selector({NAMESPACE_NAME_LABEL: name}), peer.pods)
    return Representative("", peer.namespaces.selector, peer.pods)


@dataclass(frozen=True, slots=True)
class _Scan:
    representatives: tuple[Representative, ...]
    wide: dict[int, NamedConns]  # per target (by id): what its entire-cluster rules admit


def _scan(cluster: Cluster, compiled: Compiled) -> _Scan:
    """Representatives in netpol-analyzer's order (policies as read, ingress rules before
    egress; NetworkPolicies and admin policies alike), so the first of equivalent selectors
    is the one printed."""
    by_policy: dict[tuple[str, str], Target] = {
        (t.policy, t.direction): t for t in (*compiled.ingress, *compiled.egress)}
    by_admin: dict[tuple[str, str, str], TierTarget] = {
        (t.tier, t.policy, t.direction): t for t in (*compiled.admin_ingress, *compiled.admin_egress)}
    reps: dict[object, Representative] = {}
    wide: dict[int, NamedConns] = {}
    read = sorted([*((p.source.file, p.source.doc, p.key, "") for p in cluster.policies),
                   *((a.source.file, a.source.doc, a.name, a.kind) for a in cluster.admin_policies)])
    for _, _, name, kind in read:
        for direction in ("ingress", "egress"):
            target = by_admin.get((kind, name, direction)) if kind else by_policy.get((name, direction))
            if target is None:
                continue
            total = EMPTY
            for rule in target.rules:
                if any(_selects_all(pm) for pm in rule.peers):
                    total = total | port_conns(rule.ports, None)
                    if kind:  # an admin rule's other peers still name representatives
                        _add_reps(reps, (pm for pm in rule.peers if not _selects_all(pm)))
                    continue
                _add_reps(reps, rule.peers)
            if not kind:
                wide[id(target)] = total
    return _Scan(tuple(reps.values()), wide)


def _add_reps(reps: dict[object, Representative], peers: Iterable[PeerMatcher]) -> None:
    for pm in peers:
        if isinstance(pm, PodPeer):
            rep = _representative(pm)
            reps.setdefault(rep.key, rep)


def _unrefined(reps: Sequence[Representative], cluster: Cluster, workloads: Iterable[Pod]
               ) -> list[Representative]:
    """The representatives no workload of the input stands for (``refined_by``), each checked
    against the workloads carrying one of its pod labels only (at 150,000 pods, thousands of
    representatives times every workload took minutes)."""
    by_label: dict[tuple[str, str], list[Pod]] = {}
    for p in workloads:
        for kv in p.labels.items():
            by_label.setdefault(kv, []).append(p)
    out = []
    for r in reps:
        ns, pods = r.ns_selector, r.pod_selector
        if not (ns.match_expressions or pods.match_expressions or ns.empty or pods.empty):
            fewest = min((by_label.get(kv, []) for kv in pods.match_labels), key=len)
            if any(r.refined_by(p, cluster.namespace_labels(p.namespace)) for p in fewest):
                continue
        out.append(r)
    return out


def _naming_index(targets: Iterable[Target], reps: Sequence[Representative]
                  ) -> dict[int, tuple[list[Rule], dict[int, list[Rule]]]]:
    """Per target (by id): its rules that name every representative, and per representative
    (by position) the other rules that name it (``Representative.named_by``), looked up by
    selector instead of tried on every pair."""
    by_ns: dict[str, list[int]] = {}
    by_pods: dict[tuple[str, ...], list[int]] = {}
    by_nsc: dict[tuple[str, ...], list[int]] = {}
    by_both: dict[tuple[tuple[str, ...], tuple[str, ...]], list[int]] = {}
    for i, r in enumerate(reps):
        cn, cp = r.key
        by_ns.setdefault(r.namespace, []).append(i)
        by_pods.setdefault(cp, []).append(i)
        by_nsc.setdefault(cn, []).append(i)
        by_both.setdefault((cn, cp), []).append(i)

    def named(pm: PeerMatcher) -> list[int] | None:  # None: every representative
        if isinstance(pm, AllPeers):
            return None
        if isinstance(pm, IPPeer):
            return []
        if not isinstance(pm, PodPeer):
            return [i for i, r in enumerate(reps) if r.named_by(pm)]
        cp = None if pm.pods.empty else canonical(pm.pods)
        if isinstance(pm.namespaces, ExactNamespace):
            here = by_ns.get(pm.namespaces.name, [])
            return here if cp is None else [i for i in here if reps[i].key[1] == cp]
        if pm.namespaces.selector.empty:
            return None if cp is None else by_pods.get(cp, [])
        cn = canonical(pm.namespaces.selector)
        return by_nsc.get(cn, []) if cp is None else by_both.get((cn, cp), [])

    out: dict[int, tuple[list[Rule], dict[int, list[Rule]]]] = {}
    for t in targets:
        every: list[Rule] = []
        some: dict[int, list[Rule]] = {}
        for rule in t.rules:
            found = [named(pm) for pm in rule.peers]
            if any(f is None for f in found):
                every.append(rule)
                continue
            for i in sorted({i for f in found if f is not None for i in f}):
                some.setdefault(i, []).append(rule)
        out[id(t)] = (every, some)
    return out


def _external(conns: Iterable[tuple[str, str, str]]) -> dict[tuple[str, bool], list[ExposureItem]]:
    """connlist's lines with an external range, by (workload, is ingress)."""
    out: dict[tuple[str, bool], list[ExposureItem]] = {}
    for src, dst, text in conns:
        if src.endswith(EXTERNAL_SUFFIX):
            out.setdefault((dst, True), []).append(ExposureItem(text, external=src))
        elif dst.endswith(EXTERNAL_SUFFIX):
            out.setdefault((src, False), []).append(ExposureItem(text, external=dst))
    return out


def is_focus(workload: str, focus: Collection[str]) -> bool:
    """netpol-analyzer's ``--focusworkload`` test: the workload's name, or namespace/name."""
    if not focus:
        return True
    ns_name = workload.rsplit("[", 1)[0]
    return ns_name in focus or ns_name.split("/", 1)[-1] in focus


def exposure(cluster: Cluster, compiled: Compiled, conns: Sequence[tuple[str, str, str]], *,
             focus: Collection[str] = (), direction: str | None = None,
             conn: tuple[str, int] | None = None) -> tuple[ExposedPeer, ...]:
    """Every workload with some exposure, sorted by name. ``conns`` are connlist's
    (src, dst, connections) triples (already focused, if a focus applies), whose external
    ranges join the report. With ``focus`` only those workloads are reported, and with
    ``direction`` ("ingress" or "egress") only that side of them (the other reads as
    protected and unexposed, as netpol-analyzer leaves it). With ``conn`` (protocol, port: a
    focus connection) a protected side keeps only the lines that admit it (``focused``)."""
    scan = _scan(cluster, compiled)
    workloads = representatives(cluster)
    reps = _unrefined(scan.representatives, cluster, workloads.values())
    index = _naming_index((*compiled.ingress, *compiled.egress), reps)
    external = _external(conns)
    # Workloads selected by the same policies (and, on ingress, declaring the same ports, on
    # which named ports resolve) are exposed alike: computed once per such class.
    memo: dict[tuple[object, ...], list[ExposureItem]] = {}

    def protected_side(selecting: list[Target], dst: Pod | None) -> list[ExposureItem]:
        key = (tuple(id(t) for t in selecting), None if dst is None else dst.ports)
        hit = memo.get(key)
        if hit is not None:
            return hit
        wide = EMPTY
        for t in selecting:
            wide = wide | scan.wide[id(t)]
        if dst is not None:
            wide = resolve_by_name(wide, dst)
        items = [ExposureItem(str(wide), conn_set=wide)] if not wide.is_empty() else []
        # what the rules naming every representative admit, then per representative some
        # rule names, that and its own rules
        base = EMPTY
        for t in selecting:
            for rule in index[id(t)][0]:
                base = base | port_conns(rule.ports, dst)
        own: dict[int, NamedConns] = {}
        for t in selecting:
            for i, rules in index[id(t)][1].items():
                for rule in rules:
                    own[i] = own.get(i, base) | port_conns(rule.ports, dst)

        def shown(got: NamedConns) -> bool:  # not nothing beyond the entire-cluster set
            return not ((got.key() == wide.key()) if not wide.is_empty() else got.is_empty())

        for i in range(len(reps)) if shown(base) else sorted(own):
            got = own.get(i, base)
            if shown(got):
                items.append(ExposureItem(str(got), representative=reps[i], conn_set=got))
        memo[key] = items
        return items

    tiers = None
    if compiled.admin_ingress or compiled.admin_egress:
        from podnet.policy.exposure_tiers import TierExposure, items_for

        ns_labels = {n: ns.labels for n, ns in cluster.namespaces.items()}
        tiers = TierExposure(compiled, ns_labels, scan.wide, _selects_all)

    def tiered_side(pod: Pod, side: str) -> tuple[bool, list[ExposureItem]]:
        assert tiers is not None
        key = (side, pod.namespace, tuple(sorted(pod.labels.items())), pod.ports)
        hit = tier_memo.get(key)
        if hit is None:
            if not tiers.protected(pod, side):
                hit = (False, [ExposureItem("All Connections")])
            else:
                hit = (True, [ExposureItem(str(c), representative=r, conn_set=c)
                              for c, r in items_for(tiers, pod, side, reps)])
            tier_memo[key] = hit
        return hit

    tier_memo: dict[tuple[object, ...], tuple[bool, list[ExposureItem]]] = {}
    # A NetworkPolicy selects pods of its own namespace only: look there, not at every target.
    by_namespace: dict[str, dict[str, list[Target]]] = {"ingress": {}, "egress": {}}
    for side_name, targets in (("ingress", compiled.ingress), ("egress", compiled.egress)):
        for t in targets:
            by_namespace[side_name].setdefault(t.namespace, []).append(t)
    out = []
    for name in sorted(w for w in workloads if is_focus(w, focus)):
        pod = workloads[name]
        sides: dict[str, tuple[bool, list[ExposureItem]]] = {}
        for side in ("ingress", "egress"):
            if direction is not None and side != direction:
                sides[side] = (True, [])
                continue
            if tiers is not None:
                sides[side] = tiered_side(pod, side)
                continue
            selecting = [t for t in by_namespace[side].get(pod.namespace, ())
                         if target_selects(t, pod)]
            if not selecting:
                sides[side] = (False, [ExposureItem("All Connections")])
            else:
                sides[side] = (True, protected_side(selecting, pod if side == "ingress" else None))
        if conn is not None:
            sides = {k: (prot, focused(items, conn) if prot else items)
                     for k, (prot, items) in sides.items()}
        if all(protected and not items for protected, items in sides.values()):
            continue
        # the side a direction leaves out gets no external lines either, as a focused
        # connlist would have none
        (ing_protected, ing), (eg_protected, eg) = sides["ingress"], sides["egress"]
        if direction != "egress":
            ing = ing + external.get((name, True), [])
        if direction != "ingress":
            eg = eg + external.get((name, False), [])
        out.append(ExposedPeer(name, ing_protected, eg_protected, tuple(ing), tuple(eg)))
    return tuple(out)


def focused(items: Sequence[ExposureItem], conn: tuple[str, int]) -> list[ExposureItem]:
    """A protected side's lines under netpol-analyzer's ``--focus-conn``: the entire-cluster
    line when it admits the connection, else each representative that admits it, each reported
    as that connection alone (an exception line, admitting nothing, goes too)."""
    proto, port = conn
    text = str(ConnSet.port(proto, port))

    def admits(item: ExposureItem) -> bool:
        return item.conn_set is not None and item.conn_set.nums.allows(proto, port)

    if any(i.entire_cluster and admits(i) for i in items):
        return [ExposureItem(text, conn_set=NamedConns(ConnSet.port(proto, port)))]
    return [ExposureItem(text, representative=i.representative,
                         conn_set=NamedConns(ConnSet.port(proto, port)))
            for i in items if i.representative is not None and admits(i)]


def split_line(line: str) -> tuple[str, str, str]:
    """connlist's ``src => dst : conns`` back into its parts."""
    src, rest = line.split(" => ", 1)
    dst, text = rest.split(" : ", 1)
    return src, dst, text

