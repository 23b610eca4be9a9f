"""Exposure with admin tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy), as
netpol-analyzer computes it.

A representative (the pods one rule names by selector) is evaluated like a pod, in the three
layers of one direction, except that a selector matches it only when the selector is empty or
requires the same as the representative (``Representative.named_by``); no NetworkPolicy ever
selects one, but an admin policy whose subject matches it that way does, so its egress (or
ingress) rules shape what a real workload is exposed to. Per layer:
- ANP: the rules of the policies selecting the subject, by priority then rule order; the first
  rule that matches a connection decides it (Allow, Deny or Pass); the layer *captures* the
  flow when some rule matched at all;
- NetworkPolicy: captures when a policy selects the subject; allows the union of its rules;
- BANP: its Deny rules (after its earlier rules) deny; everything else is allowed.
Combined: NetworkPolicy captured and ANP not: what NetworkPolicy allows; both: ANP-allowed
plus what NetworkPolicy allows minus ANP-denied (passed connections fall to NetworkPolicy);
NetworkPolicy not captured: ANP-allowed plus everything neither the ANP nor the BANP denies.

The entire-cluster set is the same three layers over the rules that name every pod (an empty
``namespaces``, or ``pods`` with both selectors empty); a rule naming specific pods does not
shadow it. A workload is protected on a direction when a NetworkPolicy or an admin policy with
rules in that direction selects it. A representative line is reported when its set differs
from the entire-cluster one, including "No Connections" when the entire cluster is exposed
but a Deny takes this representative out.

Named ports toward a representative stay names (``NamedConns``); a name is in a set that
holds it, or that holds every connection.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from podnet.model.objects import Pod
from podnet.model.selectors import LabelSelector
from podnet.policy.compile import Compiled
from podnet.policy.exposure import Representative, canonical
from podnet.policy.matcher import ANP, BANP, PeerMatcher, Rule, Target, TierTarget
from podnet.policy.namedconns import EMPTY, EVERY, NamedConns, port_conns, resolve_by_name
from podnet.policy.verdict import peer_matches, target_selects, tier_selects

Party = Pod | Representative  # a workload (one of its pods), or a representative


def _holds(name: tuple[str, str], s: NamedConns) -> bool:
    return name in s.names or s.nums.is_all()


def conns_and(a: NamedConns, b: NamedConns) -> NamedConns:
    return NamedConns(a.nums & b.nums,
                      frozenset(x for x in a.names | b.names if _holds(x, a) and _holds(x, b)))


def conns_sub(a: NamedConns, b: NamedConns) -> NamedConns:
    return NamedConns(a.nums - b.nums, frozenset(x for x in a.names if not _holds(x, b)))


@dataclass(frozen=True, slots=True)
class Walk:
    """One tier's first-match walk: what its rules allow and deny; ``captured`` when any rule
    matched (a Pass captures too, deciding nothing)."""

    allow: NamedConns = EMPTY
    deny: NamedConns = EMPTY
    captured: bool = False


def walk(decisions: Iterable[tuple[str, NamedConns]]) -> Walk:
    decided = allow = deny = EMPTY
    for action, conns in decisions:
        new = conns_sub(conns, decided)
        if new.is_empty():
            continue
        decided = decided | new
        if action == "Allow":
            allow = allow | new
        elif action == "Deny":
            deny = deny | new
    return Walk(allow, deny, not decided.is_empty())


def combine(anp: Walk, np_captured: bool, np_allowed: NamedConns, banp_deny: NamedConns) -> NamedConns:
    if np_captured and not anp.captured:
        return np_allowed
    if np_captured:
        return anp.allow | conns_sub(np_allowed, anp.deny)
    return anp.allow | conns_sub(conns_sub(EVERY, anp.deny), banp_deny)


def _full(rule_sel: LabelSelector, rep_sel: LabelSelector) -> bool:
    return rule_sel.empty or canonical(rule_sel) == canonical(rep_sel)


class TierExposure:
    """Answers, for one cluster's compiled policies, the three-layer sets of exposure."""

    def __init__(self, compiled: Compiled, ns_labels: Mapping[str, Mapping[str, str]],
                 wide: Mapping[int, NamedConns],
                 selects_all: Callable[[PeerMatcher], bool]) -> None:
        self.compiled = compiled
        self.ns_labels = ns_labels
        self.wide = wide  # per NetworkPolicy target (by id): what its entire-cluster rules admit
        self._selects_all = selects_all

    def _admin(self, direction: str) -> tuple[TierTarget, ...]:
        c = self.compiled
        return c.admin_ingress if direction == "ingress" else c.admin_egress

    def _np(self, direction: str) -> tuple[Target, ...]:
        c = self.compiled
        return c.ingress if direction == "ingress" else c.egress

    def _subject_selected(self, t: TierTarget, subject: Party) -> bool:
        if isinstance(subject, Pod):
            return tier_selects(t, subject, self.ns_labels)
        return (_full(t.namespace_selector, subject.ns_selector)
                and _full(t.pod_selector, subject.pod_selector))

    def _peer_named(self, pm: PeerMatcher, peer: Party) -> bool:
        if isinstance(peer, Pod):
            return peer_matches(pm, peer, self.ns_labels, self.compiled.ipblock_matches_pods)
        return peer.named_by(pm)

    def _tier_rules(self, direction: str, tier: str, subject: Party) -> Iterator[Rule]:
        for t in self._admin(direction):
            if t.tier == tier and self._subject_selected(t, subject):
                yield from t.rules

    def protected(self, pod: Pod, direction: str) -> bool:
        return (any(target_selects(t, pod) for t in self._np(direction))
                or any(tier_selects(t, pod, self.ns_labels) for t in self._admin(direction)))

    def side(self, direction: str, subject: Party, peer: Party, dst: Pod | None) -> NamedConns:
        """What the policies of ``direction`` on ``subject``'s side let through toward (or
        from) ``peer``; ports resolve on ``dst`` when it is a pod."""
        def decisions(tier: str) -> Iterator[tuple[str, NamedConns]]:
            for rule in self._tier_rules(direction, tier, subject):
                if any(self._peer_named(pm, peer) for pm in rule.peers):
                    yield rule.action, port_conns(rule.ports, dst)

        anp = walk(decisions(ANP))
        np_captured, np_allowed = False, EMPTY
        if isinstance(subject, Pod):
            for t in self._np(direction):
                if not target_selects(t, subject):
                    continue
                np_captured = True
                for rule in t.rules:
                    if any(self._peer_named(pm, peer) for pm in rule.peers):
                        np_allowed = np_allowed | port_conns(rule.ports, dst)
        banp = walk(decisions(BANP)) if not np_captured else Walk()
        return combine(anp, np_captured, np_allowed, banp.deny)

    def entire_cluster(self, pod: Pod, direction: str) -> NamedConns:
        def decisions(tier: str) -> Iterator[tuple[str, NamedConns]]:
            for rule in self._tier_rules(direction, tier, pod):
                if any(self._selects_all(pm) for pm in rule.peers):
                    yield rule.action, port_conns(rule.ports, None)

        anp = walk(decisions(ANP))
        selecting = [t for t in self._np(direction) if target_selects(t, pod)]
        np_allowed = EMPTY
        for t in selecting:
            np_allowed = np_allowed | self.wide[id(t)]
        if direction == "ingress":
            np_allowed = resolve_by_name(np_allowed, pod)
        banp = walk(decisions(BANP)) if not selecting else Walk()
        return combine(anp, bool(selecting), np_allowed, banp.deny)

    def toward(self, pod: Pod, direction: str, rep: Representative) -> NamedConns:
        """What ``pod`` admits from (ingress) or sends to (egress) the representative: both
        ends' sides, as for any pair."""
        if direction == "ingress":
            return conns_and(self.side("egress", rep, pod, pod), self.side("ingress", pod, rep, pod))
        return conns_and(self.side("egress", pod, rep, None), self.side("ingress", rep, pod, None))


def items_for(tiers: TierExposure, pod: Pod, direction: str,
              reps: Sequence[Representative]) -> list[tuple[NamedConns, Representative | None]]:
    """(connections, representative or None for the entire cluster), in report order."""
    wide = tiers.entire_cluster(pod, direction)
    out: list[tuple[NamedConns, Representative | None]] = [(wide, None)] if not wide.is_empty() else []
    for rep in reps:
        got = tiers.toward(pod, direction, rep)
        if (got.key() == wide.key()) if not wide.is_empty() else got.is_empty():
            continue
        out.append((got, rep))
    return out
