"""Walk one new connection through the NetworkPolicy ruleset podnet renders (policy/nft.py),
parsed back: the forward hook of one node, with the packet's interfaces, addresses and port.

Only the grammar that renderer writes is understood; anything else is an error, so a renderer
change that the walk does not follow fails loudly in the tests instead of passing silently."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from podnet.errors import PodnetError
from podnet.netfilter.nft_parse import NftRuleset


@dataclass(frozen=True, slots=True)
class Packet:
    iif: str
    oif: str
    saddr: str
    daddr: str
    proto: str  # tcp, udp, sctp
    dport: int


def _values(t: list[str], i: int) -> tuple[list[str], int]:
    """A single value or a ``{ a, b }`` set starting at ``t[i]``; returns them and the next index."""
    if t[i] != "{":
        return [t[i]], i + 1
    j = t.index("}", i)
    return [v.rstrip(",") for v in t[i + 1:j] if v != ","], j + 1


def _in(addr: str, values: list[str]) -> bool:
    a = ipaddress.ip_address(addr)
    return any(a in ipaddress.ip_network(v, strict=False) for v in values)


def _port_in(port: int, spec: str) -> bool:
    lo, _, hi = spec.partition("-")
    return int(lo) <= port <= int(hi or lo)


class _Walk:
    def __init__(self, rs: NftRuleset, pkt: Packet) -> None:
        self.rs, self.pkt = rs, pkt

    def chain(self, name: str, depth: int = 0) -> str:
        """accept, drop, or return (fell off the end / returned)."""
        if depth > 16 or name not in self.rs.chains:
            raise PodnetError(f"policy walk: no chain {name!r}")
        for rule in self.rs.chains[name]:
            verdict = self.rule(rule, depth)
            if verdict:
                return verdict
        return "return"

    def rule(self, t: list[str], depth: int) -> str:
        pkt, i = self.pkt, 0
        while i < len(t):
            w = t[i]
            if w in ("iifname", "oifname"):
                iface = pkt.iif if w == "iifname" else pkt.oif
                if t[i + 1] == "vmap":
                    items, i = _values(t, i + 2)
                    verdicts = dict(zip(items[0::4], items[3::4], strict=True))
                    if iface not in verdicts:
                        return ""
                    got = self.chain(verdicts[iface], depth + 1)
                    return "" if got == "return" else got
                if t[i + 1] != iface:
                    return ""
                i += 2
            elif w == "ct":  # ct state <states>: a new connection is none of those written
                return ""
            elif w == "ip":
                addr = pkt.saddr if t[i + 1] == "saddr" else pkt.daddr
                negate = t[i + 2] == "!="
                values, i = _values(t, i + (3 if negate else 2))
                if _in(addr, values) == negate:
                    return ""
            elif w == "meta" and t[i + 1] == "l4proto":
                protos, i = _values(t, i + 2)
                if pkt.proto not in protos:
                    return ""
            elif w == "log":  # log [group N] [snaplen N] [queue-threshold N] [prefix S]: no verdict
                i += 1
                while i + 1 < len(t) and t[i] in ("group", "snaplen", "queue-threshold", "prefix",
                                                   "level", "flags"):
                    i += 2
            elif w == "add" and t[i + 1].startswith("@"):  # a record in a set: no verdict
                i = t.index("}", i) + 1
            elif w == "th" and t[i + 1] == "dport":
                if not _port_in(pkt.dport, t[i + 2]):
                    return ""
                i += 3
            elif w in ("accept", "drop", "return"):
                return w
            elif w == "jump":
                got = self.chain(t[i + 1], depth + 1)
                return "" if got == "return" else got
            elif w == "goto":  # the target's verdict, its return too, is this chain's
                return self.chain(t[i + 1], depth + 1)
            else:
                raise PodnetError(f"policy walk: cannot read {w!r} in {' '.join(t)!r}")
        return ""


def forward_verdict(rs: NftRuleset, pkt: Packet) -> str:
    """``accept`` or ``drop`` for a new connection crossing this node's forward hook."""
    base = [c for c, how in rs.base.items() if "hook forward" in how]
    if len(base) != 1:
        raise PodnetError("policy walk: expected one forward base chain")
    got = _Walk(rs, pkt).chain(base[0])
    if got == "return":
        return "drop" if "policy drop" in rs.base[base[0]] else "accept"
    return got
