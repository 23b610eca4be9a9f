"""Walk a packet through kube-proxy's nftables ruleset, hook by hook as the kernel does for a
new connection arriving at a node: ``filter-prerouting-pre-dnat`` (priority -110, the
LoadBalancerSourceRanges firewall), ``nat-prerouting`` (priority dstnat, the service maps),
then ``filter-input`` or ``filter-forward`` for what was not DNATed (no-endpoint REJECT/DROP,
unallocated ClusterIPs). ``numgen`` splits the walk evenly; affinity sets start empty, so
their lookups do not match. The result has the same shape as the iptables trace.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from podnet.netfilter.nft_parse import NftRuleset
from podnet.netfilter.trace import Outcome


@dataclass(frozen=True)
class _Pkt:
    src: str
    dst: str
    port: int
    proto: str
    local: frozenset[str]

    def field(self, a: str, b: str) -> str:
        return {("ip", "daddr"): self.dst, ("ip", "saddr"): self.src, ("meta", "l4proto"): self.proto,
                ("th", "dport"): str(self.port)}[(a, b)]


_SELECTORS = {("ip", "daddr"), ("ip", "saddr"), ("meta", "l4proto"), ("th", "dport")}


def _member(value: str, spec: list[str], rs: NftRuleset) -> bool:
    if spec[0].startswith("@"):
        return value in rs.sets.get(spec[0][1:], set())
    items = [s for s in spec if s not in ("{", "}", ",")]
    for item in items:
        if "/" in item or item[0].isdigit():
            try:
                if ipaddress.ip_address(value) in ipaddress.ip_network(item, strict=False):
                    return True
            except ValueError:
                if value == item:
                    return True
        elif value == item:
            return True
    return False


def _value_tokens(t: list[str], i: int) -> tuple[list[str], int]:
    if t[i] == "{":
        j = t.index("}", i)
        return t[i:j + 1], j + 1
    return [t[i]], i + 1


class _Walker:
    def __init__(self, rs: NftRuleset, pkt: _Pkt, out: Outcome) -> None:
        self.rs, self.pkt, self.out = rs, pkt, out

    def chain(self, name: str, p: float, depth: int = 0) -> str:
        """Run a chain; '' when it falls through or returns, else the final verdict."""
        self.out.chains.append(name)
        for tokens in self.rs.rules(name):
            verdict = self.rule(tokens, p, depth)
            if verdict == "return":
                return ""
            if verdict:
                return verdict
        return ""

    def verdict(self, words: list[str], p: float, depth: int) -> str:
        kind = words[0]
        if kind in ("jump", "goto") and depth < 32:
            got = self.chain(words[1], p, depth + 1)
            return got or ("return" if kind == "goto" else "")
        return {"drop": "drop", "reject": "reject", "return": "return", "accept": "accept"}.get(kind, "")

    def rule(self, t: list[str], p: float, depth: int) -> str:
        i, pkt = 0, self.pkt
        while i < len(t):
            w = t[i]
            if i + 1 < len(t) and (w, t[i + 1]) in _SELECTORS:
                key = [pkt.field(w, t[i + 1])]
                i += 2
                while i < len(t) and t[i] == ".":
                    key.append(pkt.field(t[i + 1], t[i + 2]))
                    i += 3
                if t[i] == "vmap":
                    hit = self.rs.maps.get(t[i + 1].lstrip("@"), {}).get(tuple(key))
                    return self.verdict(hit.split(), p, depth) if hit else ""
                negate = t[i] == "!="
                i += negate
                spec, i = _value_tokens(t, i)
                if _member(key[0], spec, self.rs) == negate:
                    return ""
            elif w == "fib":  # fib saddr type local
                if (pkt.src in pkt.local) != (t[i + 3] == "local"):
                    return ""
                i += 4
            elif w == "ct":  # ct state new: every traced packet opens a connection
                i += 3
            elif w == "numgen":  # numgen random mod N vmap { i : goto c , ... }
                n = int(t[i + 3])
                body = [x for x in t[t.index("{", i) + 1:t.index("}", i)] if x not in (",", ":")]
                for k in range(0, len(body), 3):
                    self.verdict(body[k + 1:k + 3], p / n, depth)
                return "dnat"
            elif w == "mark":  # mark set mark or 0x4000 (KUBE-MARK-MASQ's nft form)
                self.out.masquerade = True
                return ""
            elif w == "update":
                i = t.index("}", i) + 1
            elif w == "dnat":
                self.out.endpoints.append((t[i + 2], p))
                self.out.verdict = "DNAT"
                return "dnat"
            else:
                return self.verdict(t[i:], p, depth)
        return ""


def trace_nft(rs: NftRuleset, src: str, dst: str, port: int, proto: str,
              node_ips: tuple[str, ...] = ()) -> Outcome:
    pkt = _Pkt(src, dst, port, proto.lower(), frozenset(node_ips))
    out = Outcome()
    w = _Walker(rs, pkt, out)
    if w.chain("filter-prerouting-pre-dnat", 1.0) == "drop":
        out.verdict = "DROP"
        return out
    w.chain("nat-prerouting", 1.0)
    if out.verdict != "DNAT":
        hook = "filter-input" if dst in pkt.local else "filter-forward"
        got = w.chain(hook, 1.0)
        if got in ("drop", "reject"):
            out.verdict = got.upper()
    out.endpoints = [(e, round(pr, 10)) for e, pr in out.endpoints]
    return out
