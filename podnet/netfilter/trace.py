"""Walk a packet through kube-proxy's nat rules (``KUBE-SERVICES`` onwards), as kube-proxy's
own ``tracePacket`` test helper does: which chains it visits, every endpoint it may be DNATed
to with its probability (``statistic`` rules split the walk), whether it is marked for
masquerade, or rejected/dropped by the filter table. Rules that depend on history
(``recent`` affinity) are treated as not matching.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from podnet.netfilter.ipt_parse import Rule, Ruleset


@dataclass
class Outcome:
    endpoints: list[tuple[str, float]] = field(default_factory=list)  # (ip:port, probability)
    masquerade: bool = False
    verdict: str = "ACCEPT"  # ACCEPT (no service matched), DNAT, REJECT, DROP
    chains: list[str] = field(default_factory=list)


def in_net(addr: str, spec: str) -> bool:
    """``addr`` in the network ``spec`` (``!net`` negates, as iptables writes it)."""
    neg = spec.startswith("!")
    net = ipaddress.ip_network(spec.lstrip("!"), strict=False)
    return (ipaddress.ip_address(addr) in net) != neg


def _matches(rule: Rule, src: str, dst: str, port: int, proto: str, local: set[str]) -> bool:
    m = rule.matches
    if "-s" in m and not in_net(src, m["-s"]):
        return False
    if "-d" in m and not in_net(dst, m["-d"]):
        return False
    if "-p" in m and m["-p"] != proto.lower():
        return False
    if "--dport" in m and m["--dport"] != str(port):
        return False
    if "--dst-type" in m and (dst in local) != (m["--dst-type"] == "LOCAL"):
        return False
    if "--src-type" in m and (src in local) != (m["--src-type"] == "LOCAL"):
        return False
    if "--rcheck" in m or "--ctstate" in m or "--mark" in m:
        return False
    return True


def _walk(rs: Ruleset, chain: str, src: str, dst: str, port: int, proto: str, local: set[str],
          p: float, out: Outcome, depth: int = 0) -> bool:
    """Walk one nat chain with probability ``p``; True when the packet was DNATed."""
    out.chains.append(chain)
    for rule in rs.chain("nat", chain):
        if not _matches(rule, src, dst, port, proto, local):
            continue
        share = p
        if "--probability" in rule.matches:
            share = p * float(rule.matches["--probability"])
        if rule.target == "KUBE-MARK-MASQ":
            out.masquerade = True
            continue
        if rule.target == "DNAT":
            out.endpoints.append((rule.target_args.get("--to-destination", ""), share))
            out.verdict = "DNAT"
            return True
        if rule.target == "RETURN":
            return False
        if rule.target in rs.tables.get("nat", {}) and depth < 32:
            done = _walk(rs, rule.target, src, dst, port, proto, local, share, out, depth + 1)
            if "--probability" in rule.matches:
                p -= share  # the rest of the walk carries what the coin flip did not take
                continue
            if done:
                return True
    return False


def trace_packet(rs: Ruleset, src: str, dst: str, port: int, proto: str,
                 node_ips: tuple[str, ...] = ()) -> Outcome:
    out = Outcome()
    local = set(node_ips)
    for rule in rs.chain("filter", "KUBE-SERVICES"):
        if _matches(rule, src, dst, port, proto, local) and rule.target in ("REJECT", "DROP"):
            out.verdict = rule.target
            out.chains.append("KUBE-SERVICES (filter)")
            return out
    _walk(rs, "KUBE-SERVICES", src, dst, port, proto, local, 1.0, out)
    if out.verdict != "DNAT":  # still addressed to a service IP when the filter table sees it
        for rule in (*rs.chain("filter", "KUBE-EXTERNAL-SERVICES"),
                     *rs.chain("filter", "KUBE-PROXY-FIREWALL")):
            if _matches(rule, src, dst, port, proto, local) and rule.target in ("REJECT", "DROP"):
                out.verdict = rule.target
                break
    out.endpoints = [(e, round(pr, 10)) for e, pr in out.endpoints]
    return out
