"""Connection sets that remember why: netpol-analyzer's explanation model, for ``connlist --explain``.

Every port range of every protocol carries, per direction, the rules that decided it (grouped
by kind: AdminNetworkPolicy, NetworkPolicy, BaselineAdminNetworkPolicy, the system default),
the highest layer among them and the direction's result. The set operations decide, port by
port, whether the rules of the other operand are collected, override or are ignored, exactly
as netpol-analyzer's augmented interval sets do (np-guard/netpol-analyzer,
pkg/netpol/internal/common/augmented_intervalset.go): the report groups ports whose rules read
the same, so only each port's rules matter, not how the ranges were split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# netpol-analyzer lists protocols in this order (TCP, UDP, SCTP), as the vocabulary does.
from podnet.model.vocabulary import PROTOCOLS

MIN_PORT, MAX_PORT = 1, 65535
NP, ANP, BANP = "NetworkPolicy", "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"
_LAYER = {"": 0, BANP: 1, NP: 2, "Ingress": 2, "Route": 2, ANP: 3}
NEVER, SAME_INCLUSION, ALWAYS = 0, 1, 2  # how an update collects the other operand's rules
NO_RESULT, ALLOWED, DENIED = 0, 1, 2
SYSTEM_DEFAULT = "the system default (Allow all)"


@dataclass
class XRules:
    """The rules of one direction behind one port range."""

    rules: dict[str, list[str]] = field(default_factory=dict)
    dominant: int = 0
    result: int = NO_RESULT

    def copy(self) -> XRules:
        return XRules({k: list(v) for k, v in self.rules.items()}, self.dominant, self.result)

    def add(self, kind: str, rule: str) -> None:
        names = self.rules.setdefault(kind, [])
        if rule not in names:
            names.append(rule)
            names.sort()
        self.dominant = max(self.dominant, _LAYER[kind])

    def union(self, other: XRules) -> None:
        for kind, names in other.rules.items():
            self.rules[kind] = sorted(set(self.rules.get(kind, ())) | set(names))
        self.dominant = max(self.dominant, other.dominant)
        if other.result != NO_RESULT:
            self.result = other.result

    def only_default(self) -> bool:
        return len(self.rules) == 1 and self.dominant == 0

    def update(self, other: XRules, same: bool, style: int) -> XRules:
        if style == ALWAYS or (style == SAME_INCLUSION and same):
            out = self.copy()
            out.union(other)
            return out
        if not same or not self.rules or self.dominant < other.dominant:
            return other.copy()
        return self.copy()

    def text(self) -> str:
        res = {ALLOWED: "(Allowed)", DENIED: "(Denied)"}.get(self.result, "")
        if not self.rules:
            return res
        if self.only_default():
            return f"{res} due to {self.rules[''][0]}"
        kinds = sorted(self.rules, key=lambda k: (-_LAYER[k], k))
        for kind in kinds:
            names = self.rules[kind]
            res += "\n\t\t\t" + (names[0] if len(names) == 1 else f"{kind} list:\n" + "".join(
                f"\t\t\t\t- {n}\n" for n in names))
        return res


@dataclass
class Rules:
    ingress: XRules = field(default_factory=XRules)
    egress: XRules = field(default_factory=XRules)

    @staticmethod
    def of(kind: str, rule: str, ingress: bool) -> Rules:
        r = Rules()
        (r.ingress if ingress else r.egress).add(kind, rule)
        return r

    def copy(self) -> Rules:
        return Rules(self.ingress.copy(), self.egress.copy())

    def update(self, other: Rules, same: bool, style: int) -> Rules:
        return Rules(self.ingress.update(other.ingress, same, style),
                     self.egress.update(other.egress, same, style))

    def text(self) -> str:
        if self.ingress.only_default() and self.egress.only_default():
            return f" due to {SYSTEM_DEFAULT}\n"
        res = "".join(f"\t\t{name} {x.text()}\n" for name, x in
                      (("Egress", self.egress), ("Ingress", self.ingress)) if x.rules)
        return " due to the following policies and rules:\n" + res if res else "\n"


Seg = tuple[int, int, bool, Rules]  # start, end, in the set, rules


def add_interval(segs: list[Seg], lo: int, hi: int, inset: bool, rules: Rules, style: int) -> list[Seg]:
    out: list[Seg] = []
    for s, e, i, r in segs:
        if e < lo or s > hi:
            out.append((s, e, i, r))
            continue
        if s < lo:
            out.append((s, lo - 1, i, r))
        out.append((max(s, lo), min(e, hi), inset, r.update(rules, i == inset, style)))
        if e > hi:
            out.append((hi + 1, e, i, r))
    return out


def full(inset: bool, rules: Rules) -> list[Seg]:
    return [(MIN_PORT, MAX_PORT, inset, rules.copy())]


def _fold(a: list[Seg], b: list[Seg], order: tuple[bool, bool], style: int) -> list[Seg]:
    """Both sides' segments laid over an all-excluded range, one inclusion value after the
    other: the value laid last wins where they overlap (union lays included last, so any
    inclusion covers; intersection lays excluded last, so any exclusion does)."""
    res = full(False, Rules())
    for want in order:
        for s, e, i, r in (*a, *b):
            if i == want:
                res = add_interval(res, s, e, i, r, style)
    return res


def seg_union(a: list[Seg], b: list[Seg], collect: bool) -> list[Seg]:
    return _fold(a, b, (False, True), SAME_INCLUSION if collect else NEVER)


def seg_intersect(a: list[Seg], b: list[Seg]) -> list[Seg]:
    return _fold(a, b, (True, False), ALWAYS)


def seg_subtract(a: list[Seg], b: list[Seg]) -> list[Seg]:
    res = list(a)
    for s, e, i, r in b:
        if i:
            res = add_interval(res, s, e, False, r, NEVER)
    return res


def seg_empty(segs: list[Seg]) -> bool:
    return not any(i for _, _, i, _ in segs)


def seg_all(segs: list[Seg]) -> bool:
    return all(i for _, _, i, _ in segs)


@dataclass
class XConnSet:
    """netpol-analyzer's ConnectionSet: uniform (``protos`` empty, ``common`` rules) or explicit."""

    allow_all: bool = False
    protos: dict[str, list[Seg]] = field(default_factory=dict)
    common: Rules = field(default_factory=Rules)

    @staticmethod
    def with_rule(allow: bool, kind: str, rule: str, ingress: bool) -> XConnSet:
        return XConnSet(allow, {}, Rules.of(kind, rule, ingress))

    def copy(self) -> XConnSet:
        return XConnSet(self.allow_all, {p: list(s) for p, s in self.protos.items()},
                        self.common.copy())

    def is_empty(self) -> bool:
        return not self.allow_all and all(seg_empty(s) for s in self.protos.values())

    def clean_rules(self) -> None:
        self.common = Rules()
        self.protos = {p: [(s, e, i, Rules()) for s, e, i, _ in segs]
                       for p, segs in self.protos.items()}

    def add_connection(self, proto: str, segs: list[Seg]) -> None:
        mine = self.protos.get(proto)
        self.protos[proto] = list(segs) if mine is None else seg_union(mine, segs, True)

    def _rebuild(self) -> None:
        for p in PROTOCOLS:
            if p not in self.protos:
                self.protos[p] = full(self.allow_all, self.common)
        self.common = Rules()

    def _update_if_all(self) -> None:
        if not self.allow_all and all(p in self.protos and seg_all(self.protos[p]) for p in PROTOCOLS):
            self.allow_all = True

    def intersection(self, other: XConnSet) -> None:
        if not self.protos and not other.protos:
            if other.is_empty():
                self.allow_all = False
            self.common = self.common.update(other.common, True, ALWAYS)
            return
        self._rebuild()
        other._rebuild()
        self.allow_all = False
        for p in self.protos:
            self.protos[p] = seg_intersect(self.protos[p], other.protos[p])
        self._update_if_all()

    def union(self, other: XConnSet, collect: bool) -> None:
        style = SAME_INCLUSION if collect else NEVER
        if not self.protos and not other.protos:
            if self.allow_all and other.is_empty():
                return
            self.common = self.common.update(other.common, self.allow_all == other.allow_all, style)
            self.allow_all = self.allow_all or other.allow_all
            return
        if other.is_empty() and not collect:
            return
        self._rebuild()
        other._rebuild()
        for p in list(self.protos):
            if p in other.protos:
                self.protos[p] = seg_union(self.protos[p], other.protos[p], collect)
        for p, segs in other.protos.items():
            self.protos.setdefault(p, list(segs))
        self.common = Rules()
        self._update_if_all()

    def subtract(self, other: XConnSet) -> None:
        if other.is_empty():
            return
        if other.allow_all and not other.protos:
            self.common = self.common.update(other.common, False, NEVER)
            self.allow_all = False
            self.protos = {}
            return
        self._rebuild()
        self.allow_all = False
        for p in self.protos:
            if p in other.protos:
                self.protos[p] = seg_subtract(self.protos[p], other.protos[p])

    def set_result(self, ingress: bool) -> None:
        def mark(r: Rules, ok: bool) -> Rules:
            r = r.copy()
            (r.ingress if ingress else r.egress).result = ALLOWED if ok else DENIED
            return r
        if not self.protos:
            self.common = mark(self.common, self.allow_all)
            return
        self.protos = {p: [(s, e, i, mark(r, i)) for s, e, i, r in segs]
                       for p, segs in self.protos.items()}

    def only_default(self) -> bool:
        return (self.allow_all and not self.protos and self.common.ingress.only_default()
                and self.common.egress.only_default())


def focus_conn(conn: XConnSet, proto: str, port: int) -> XConnSet:
    """One protocol and port of ``conn``, with the rules that decided it (netpol-analyzer's
    explanation under --focus-conn)."""
    if not conn.protos:
        return XConnSet(False, {proto: [(port, port, conn.allow_all, conn.common.copy())]})
    for s, e, i, r in conn.protos.get(proto, []):
        if s <= port <= e:
            return XConnSet(False, {proto: [(port, port, i, r.copy())]})
    return XConnSet(False, {proto: [(port, port, False, Rules())]})


def _ports_text(ranges: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for s, e in sorted(ranges):
        if merged and s <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    if merged == [[MIN_PORT, MAX_PORT]]:
        return ""
    return ":[" + ",".join(f"{s}" if s == e else f"{s}-{e}" for s, e in merged) + "]"


def explanation(conn: XConnSet) -> str:
    """The "Allowed connections:" / "Denied connections:" text of one pair."""
    classes: dict[bool, dict[str, dict[str, list[tuple[int, int]]]]] = {True: {}, False: {}}
    if not conn.protos:
        classes[conn.allow_all][conn.common.text()] = {
            p: [(MIN_PORT, MAX_PORT)] for p in PROTOCOLS}
    for proto, segs in conn.protos.items():
        for s, e, i, r in segs:
            classes[i].setdefault(r.text(), {}).setdefault(proto, []).append((s, e))
    out = ""
    for allowed in (True, False):
        word = "Allowed" if allowed else "Denied"
        lines = sorted(("\t" + word + " " + ", ".join(
            p + _ports_text(by_proto[p]) for p in PROTOCOLS if p in by_proto), rules)
            for rules, by_proto in classes[allowed].items())
        if lines:
            out += f"{word} connections:\n" + "".join(c + r + "\n" for c, r in lines)
    return out
