"""Where IPVS mode sends a new connection: the virtual server for (proto, daddr, dport), each
real server with an equal share (``rr``), masquerading decided by the ipsets the iptables
part matches, the LoadBalancerSourceRanges firewall, and REJECT for a virtual server without
real servers (IPVS answers ICMP port unreachable). Reads the text ``render_ipvs().text()``
writes."""

from __future__ import annotations

from dataclasses import dataclass, field

from podnet.errors import PodnetError
from podnet.netfilter.trace import Outcome, in_net

_FLAGS = {"-t": "tcp", "-u": "udp", "--sctp-service": "sctp"}


@dataclass
class IpvsTables:
    servers: dict[tuple[str, str, int], list[str]] = field(default_factory=dict)
    sets: dict[str, set[str]] = field(default_factory=dict)
    cluster_cidr: str = ""


def parse_ipvs(text: str) -> IpvsTables:
    t = IpvsTables()
    section = ""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("# "):
            section = line[2:].split()[0]
            continue
        words = line.split()
        if not words:
            continue
        try:
            if section == "ipvsadm-restore":
                ip, _, port = words[2].rpartition(":")
                key = (_FLAGS[words[1]], ip, int(port))
                if words[0] == "-A":
                    t.servers[key] = []
                else:
                    t.servers[key].append(words[4])
            elif section == "ipset" and words[0] == "add":
                t.sets.setdefault(words[1], set()).add(words[2])
            elif section == "iptables-restore" and "KUBE-CLUSTER-IP" in words and "-s" in words:
                t.cluster_cidr = words[words.index("-s") + 1]
        except (KeyError, IndexError, ValueError):
            raise PodnetError(f"line {n}: not IPVS-mode output: {line!r}") from None
    return t


def trace_ipvs(t: IpvsTables, src: str, dst: str, port: int, proto: str,
               node_ips: tuple[str, ...] = ()) -> Outcome:
    proto = proto.lower()
    out = Outcome()
    entry = f"{dst},{proto}:{port}"
    sets = t.sets
    if entry in sets.get("KUBE-LOAD-BALANCER-FW", set()):
        out.chains.append("KUBE-SOURCE-RANGES-FIREWALL")
        cidrs = [e.rsplit(",", 1)[1] for e in sets.get("KUBE-LOAD-BALANCER-SOURCE-CIDR", set())
                 if e.startswith(entry + ",")]
        if not (any(in_net(src, c) for c in cidrs)
                or f"{entry},{src}" in sets.get("KUBE-LOAD-BALANCER-SOURCE-IP", set())):
            out.verdict = "DROP"
            return out
    reals = t.servers.get((proto, dst, port))
    if reals is None:
        return out
    out.chains.append(f"ipvs {proto} {dst}:{port}")
    if not reals:
        out.verdict = "REJECT"
        return out
    out.verdict = "DNAT"
    out.endpoints = [(r, round(1.0 / len(reals), 10)) for r in reals]
    local_np = dst in node_ips and str(port) in sets.get(f"KUBE-NODE-PORT-LOCAL-{proto.upper()}", set())
    out.masquerade = (
        (entry in sets.get("KUBE-CLUSTER-IP", set()) and bool(t.cluster_cidr)
         and not in_net(src, t.cluster_cidr))
        or entry in sets.get("KUBE-EXTERNAL-IP", set())
        or (entry in sets.get("KUBE-LOAD-BALANCER", set())
            and entry not in sets.get("KUBE-LOAD-BALANCER-LOCAL", set()))
        or (dst in node_ips and not local_np)
        or any(r.split(":")[0] == src for r in reals))  # KUBE-LOOP-BACK hairpin
    return out
