"""``connlist --explain``: for every pair of peers, the allowed and denied connections and the
policies and rules behind each, in netpol-analyzer's ``list --explain`` layout.

Each direction is evaluated the way netpol-analyzer evaluates it (pkg/netpol/eval/check.go):
the AdminNetworkPolicies in priority order (Allow, Deny, Pass; a rule takes only what earlier
rules left), then the NetworkPolicies selecting the pod, then the BaselineAdminNetworkPolicy or
the system default; the two directions are intersected, collecting the rules of both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.compile import Compiled
from podnet.policy.connlist import (
    INGRESS_CONTROLLER,
    INGRESS_PEER,
    Peer,
    ip_peer,
    representatives,
    workload_peer,
)
from podnet.policy.connmatrix import ConnSpace
from podnet.policy.explain_ingress import ingress_pairs
from podnet.policy.explconn import (
    ANP,
    BANP,
    MAX_PORT,
    NP,
    SYSTEM_DEFAULT,
    Rules,
    Seg,
    XConnSet,
    add_interval,
    explanation,
    focus_conn,
    full,
)
from podnet.policy.matcher import Rule, Target, TierTarget
from podnet.policy.verdict import Endpoint, peer_matches, target_selects, tier_selects

SEPARATOR = "-" * 160 + "\n"


@dataclass
class Layer:
    allowed: XConnSet = field(default_factory=XConnSet)
    denied: XConnSet = field(default_factory=XConnSet)
    passed: XConnSet = field(default_factory=XConnSet)

    def is_empty(self) -> bool:
        return self.allowed.is_empty() and self.denied.is_empty() and self.passed.is_empty()

    def take(self, conns: XConnSet, action: str) -> None:
        if action == "Allow":
            conns.subtract(self.denied)
            conns.subtract(self.passed)
            self.allowed.union(conns, False)
        elif action == "Deny":
            conns.subtract(self.allowed)
            conns.subtract(self.passed)
            self.denied.union(conns, False)
        else:
            conns.subtract(self.allowed)
            conns.subtract(self.denied)
            self.passed.union(conns, False)

    def collect_anp(self, new: Layer) -> None:
        plain_pass = self.passed.copy()
        plain_pass.clean_rules()
        new.denied.subtract(self.allowed)
        new.denied.subtract(plain_pass)
        new.allowed.subtract(self.denied)
        new.allowed.subtract(plain_pass)
        new.passed.subtract(self.denied)
        new.passed.subtract(self.allowed)
        self.denied.union(new.denied, False)
        self.allowed.union(new.allowed, False)
        self.passed.union(new.passed, False)

    def determines_all(self) -> bool:
        both = self.allowed.copy()
        both.union(self.denied, False)
        return both.allow_all


def _name(ep: Endpoint, names: dict[str, str]) -> str:
    return names[ep.key] if isinstance(ep, Pod) else names[ep]


class Explainer:
    def __init__(self, cluster: Cluster, compiled: Compiled, names: dict[str, str]) -> None:
        self.compiled = compiled
        self.ns_labels = {n: ns.labels for n, ns in cluster.namespaces.items()}
        self.names = names

    def _selects(self, rule: Rule, peer: Endpoint) -> bool:
        return any(peer_matches(pm, peer, self.ns_labels, self.compiled.ipblock_matches_pods)
                   for pm in rule.peers)

    def _np_rule(self, t: Target, idx: int, rule: Rule, dst: Endpoint, ingress: bool,
                 subject: str, other: str) -> XConnSet:
        full_name = f"{NP} '{t.policy}'"
        rname = f"{'Ingress' if ingress else 'Egress'} rule #{idx + 1}"
        allowed = f"{full_name} allows connections by {rname}"
        if not rule.ports:
            return XConnSet.with_rule(True, NP, allowed, ingress)
        head = f"{full_name} selects {subject}, and {rname} selects {other}, "
        unmatched = Rules.of(NP, head + "but the protocols and ports do not match", ingress)
        res = XConnSet(False, {}, unmatched.copy())
        for p in rule.ports:
            segs: list[Seg] = full(False, unmatched)
            if p.port is None:
                segs = full(True, Rules.of(NP, allowed, ingress))
            else:
                lo: int | None = None
                hi: int | None = None
                if isinstance(p.port, int):
                    lo, hi = p.port, p.end_port or p.port
                elif isinstance(dst, Pod):
                    lo = hi = dst.named_port(p.port, p.protocol)
                if lo is not None and hi is not None and 1 <= lo <= hi <= MAX_PORT:
                    segs = add_interval(segs, lo, hi, True, Rules.of(NP, allowed, ingress), 0)
            res.add_connection(p.protocol, segs)
        if res.is_empty():
            return XConnSet.with_rule(False, NP, head + "but named ports of the rule have no match "
                                      "in the configuration of the destination peer", ingress)
        return res

    def _np_policy(self, t: Target, src: Endpoint, dst: Endpoint, ingress: bool) -> XConnSet:
        peer, subject = (src, dst) if ingress else (dst, src)
        subject_s, peer_s = _name(subject, self.names), _name(peer, self.names)
        direction = "Ingress" if ingress else "Egress"
        res = XConnSet()
        base = f"{NP} '{t.policy}' selects {subject_s}, but {peer_s} is not allowed by any {direction} rule"
        if not t.rules:
            res.common = Rules.of(NP, base + " (no rules defined)", ingress)
            return res
        selected = False
        for i, rule in enumerate(t.rules):
            if not self._selects(rule, peer):
                continue
            selected = True
            res.union(self._np_rule(t, i, rule, dst, ingress, subject_s, peer_s), False)
            if res.allow_all:
                return res
        if not selected:
            (res.common.ingress if ingress else res.common.egress).add(NP, base)
        return res

    def _admin(self, t: TierTarget, peer: Endpoint, dst: Endpoint, ingress: bool) -> Layer:
        layer = Layer()
        direction = "Ingress" if ingress else "Egress"
        for rule in t.rules:
            if not self._selects(rule, peer):
                continue
            verb = {"Allow": "allows", "Deny": "denies"}.get(rule.action, "passes")
            text = f"{t.tier} '{t.policy}' {verb} connections by {direction} rule {rule.name}"
            if not rule.ports:
                conns = XConnSet.with_rule(True, t.tier, text, ingress)
            else:
                conns = XConnSet()
                for p in rule.ports:
                    if isinstance(p.port, int) or p.port is None:
                        lo, hi = (1, MAX_PORT) if p.port is None else (p.port, p.end_port or p.port)
                    elif isinstance(dst, Pod) and dst.named_port(p.port, p.protocol) is not None:
                        lo = hi = dst.named_port(p.port, p.protocol) or 0
                    else:
                        continue
                    conns.add_connection(p.protocol, add_interval(
                        full(False, Rules()), lo, hi, True, Rules.of(t.tier, text, ingress), 0))
            layer.take(conns, rule.action)
        return layer

    def side(self, src: Endpoint, dst: Endpoint, ingress: bool) -> XConnSet:
        subject, peer = (dst, src) if ingress else (src, dst)
        if not isinstance(subject, Pod):
            return XConnSet.with_rule(True, "", SYSTEM_DEFAULT, ingress)
        c = self.compiled
        admin = c.admin_ingress if ingress else c.admin_egress
        anp = Layer()
        for t in admin:
            if t.tier == ANP and tier_selects(t, subject, self.ns_labels):
                single = self._admin(t, peer, dst, ingress)
                if not single.is_empty():
                    anp.collect_anp(single)
        anp_captured = not anp.is_empty()
        anp.passed.union(XConnSet(True), False)
        if anp.determines_all():
            anp.allowed.subtract(anp.denied)
            return anp.allowed
        selecting = [n for n in (c.ingress if ingress else c.egress) if target_selects(n, subject)]
        if selecting:
            allowed = XConnSet()
            for n in selecting:
                allowed.union(self._np_policy(n, src, dst, ingress), True)
            if not anp_captured:
                return allowed
            new = anp.passed.copy()
            new.intersection(allowed)
            new.subtract(anp.denied)
            anp.allowed.union(new, False)
            return anp.allowed
        banp = Layer()
        for t in admin:
            if t.tier == BANP and tier_selects(t, subject, self.ns_labels):
                banp = self._admin(t, peer, dst, ingress)
        banp.allowed = XConnSet.with_rule(True, "", SYSTEM_DEFAULT, ingress)
        new_denied = anp.passed.copy()
        new_denied.intersection(banp.denied)
        new_denied.subtract(anp.allowed)
        anp.denied.union(new_denied, False)
        new_allowed = anp.passed.copy()
        new_allowed.intersection(banp.allowed)
        anp.allowed.union(new_allowed, False)
        anp.allowed.subtract(anp.denied)
        return anp.allowed

    def pair(self, src: Endpoint, dst: Endpoint, src_name: str = "", dst_name: str = "") -> XConnSet:
        # An external range is named by the range it stands for, which differs by direction.
        for ep, name in ((src, src_name), (dst, dst_name)):
            if name:
                self.names[ep if isinstance(ep, str) else ep.key] = name
        conn = self.side(src, dst, False)
        conn.set_result(False)
        ingress = self.side(src, dst, True)
        ingress.set_result(True)
        conn.intersection(ingress)
        return conn


def _header(text: str) -> str:
    line = f"# {text} #"
    return "\n" + "#" * len(line) + "\n" + line + "\n" + "#" * len(line) + "\n"


Pair = tuple[Peer, Peer, Endpoint, Endpoint]


def pairs(cluster: Cluster, compiled: Compiled) -> tuple[list[Pair], dict[str, str]]:
    """Every ordered pair of distinct peers (src, dst, the endpoints evaluated for them), and
    the name of each endpoint: workloads, then external ranges as sources and destinations."""
    reps = list(representatives(cluster).values())
    peers: dict[str, Peer] = {p.key: workload_peer(p) for p in reps}
    cs = ConnSpace(cluster, compiled, reps)
    ext_in = [(_ip(lo), ip_peer(lo, hi)) for lo, hi in cs.ext_in]
    ext_out = [(_ip(lo), ip_peer(lo, hi)) for lo, hi in cs.ext_out]
    names = {k: v.text for k, v in peers.items()}
    out: list[Pair] = [(peers[a.key], peers[b.key], a, b) for a in reps for b in reps
                       if a.key != b.key]
    out += [(peer, peers[p.key], ip, p) for ip, peer in ext_in for p in reps]
    out += [(peers[p.key], peer, p, ip) for ip, peer in ext_out for p in reps]
    return out, names


def _ip(value: int) -> str:
    return ".".join(str((value >> s) & 255) for s in (24, 16, 8, 0))


def explain_report(cluster: Cluster, compiled: Compiled, only: str | None = None,
                   keep: Callable[[Peer, Peer], bool] | None = None,
                   conn: tuple[str, int] | None = None) -> str:
    """The report; ``only`` (allow|deny) keeps the pairs with some allowed (denied) connection
    and only that part of their explanation; ``keep`` limits the pairs (focus options);
    ``conn`` (protocol, port) explains that one connection of each pair."""
    found, names = pairs(cluster, compiled)
    explained: list[tuple[str, str, str]] = []
    default: list[tuple[str, str]] = []
    names[INGRESS_CONTROLLER.key] = INGRESS_PEER.text
    ex = Explainer(cluster, compiled, names)
    wanted = keep or (lambda s, d: True)
    results = [(s, d, ex.pair(src, dst, s.text, d.text)) for s, d, src, dst in found
               if wanted(s, d)]
    results += [(INGRESS_PEER, d, c) for d, c in ingress_pairs(cluster, ex.pair, wanted)]
    for s, d, got in results:
        if conn is not None:
            got = focus_conn(got, *conn)
        if got.only_default():
            if only != "deny":
                default.append((s.text, d.text))
            continue
        text = explanation(got)
        if only is not None:
            text = _only(text, only)
            if not text:
                continue
        explained.append((s.text, d.text, text))
    out = ""
    if explained:
        out = _header("Specific connections and their reasons") + "".join(
            f"{SEPARATOR}Connections between {s} => {d}:\n\n{t}" for s, d, t in sorted(explained))
    if default:
        out += _header("All Connections due to the system default (Allow all)") + "".join(
            f"{s} => {d}\n" for s, d in sorted(default))
    return out


def _only(text: str, only: str) -> str:
    allowed, sep, denied = text.partition("Denied connections:")
    if only == "deny":
        return sep + denied
    return allowed if allowed.startswith("Allowed") else ""


