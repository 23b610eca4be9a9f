"""Per-node NetworkPolicy enforcement as an nftables ruleset, in the style of Calico Felix.

One table ``inet podnet-policy`` per node. Its ``forward`` base chain accepts established and
related traffic, then sends packets *from* a local pod's veth to that pod's egress chain
(``fw-<veth>``, Felix's from-workload) and packets *to* a local pod's veth to its ingress chain
(``tw-<veth>``, to-workload), dispatching on the interface name with verdict maps. A pod
chain exists only for pods some policy isolates in that direction: each rule of each
selecting policy becomes ``<peer addresses> <ports> return`` with a comment naming the policy
rule and peer, and the chain ends in ``drop``. Peers are resolved to pod IPs now (as Felix
fills ipsets); named ports resolve on the destination pod, so an egress rule with a named port
is split by the number each destination pod gives that name.

Admin tiers (network-policy-api AdminNetworkPolicy, BaselineAdminNetworkPolicy and
ClusterNetworkPolicy) wrap that, where one selects the pod: the pod chain then holds the admin
tier's rules in evaluation order (Allow ``return``, Deny ``drop``, Pass ``goto`` the rest) and
ends in ``goto <chain>-np``, which holds the NetworkPolicy rules as above or, where no
NetworkPolicy isolates the pod, the baseline tier's rules (Allow and Pass ``return``, Deny
``drop``) and nothing else, so what no rule decides is allowed. ``return`` from either leaves
the direction allowed and the forward chain goes on to the other direction; ``goto`` makes the
``-np`` chain's return the pod chain's own. A packet has one port and one address pair, so the
first nft rule that matches it is the first admin rule that decides it, as the API orders them.

Traffic between a node and its own pods never crosses ``forward``: it is allowed, as the
Kubernetes documentation says traffic to and from the node is.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable

from podnet import names
from podnet.model.cluster import Cluster
from podnet.model.objects import Pod, PolicyPort
from podnet.policy.compile import Compiled
from podnet.policy.matcher import ANP, BANP, AllPeers, IPPeer, PeerMatcher, Rule, Target, TierTarget
from podnet.policy.verdict import peer_matches, target_selects, tier_selects

TABLE = "podnet-policy"
L4 = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp"}
# What an admin rule's action does to a packet in each tier; "goto" is completed with the
# pod's NetworkPolicy chain. A baseline Pass leaves the connection to the default: allowed.
ADMIN_VERDICT = {"Allow": "return", "Deny": "drop", "Pass": "goto"}
BASELINE_VERDICT = {"Allow": "return", "Deny": "drop", "Pass": "return"}


def _set(items: Iterable[str]) -> str:
    values = sorted(set(items), key=lambda a: (ipaddress.ip_network(a, strict=False), a))
    return values[0] if len(values) == 1 else "{ " + ", ".join(values) + " }"


def _port_match(p: PolicyPort, number: int | None) -> str:
    proto = L4[p.protocol]
    if p.port is None:
        return f"meta l4proto {proto}"
    if isinstance(p.port, int):
        ports = f"{p.port}-{p.end_port}" if p.end_port and p.end_port != p.port else f"{p.port}"
        return f"meta l4proto {proto} th dport {ports}"
    return f"meta l4proto {proto} th dport {number}"


class _Renderer:
    def __init__(self, cluster: Cluster, compiled: Compiled, log_group: int | None = None) -> None:
        self.cluster = cluster
        self.compiled = compiled
        # the lab logs every policy drop to an NFLOG group: its prober learns of a dropped
        # probe at once (podnet.lab.droplog); the packets' fate is the same
        self.drop = ("drop" if log_group is None
                     else f"log group {log_group} snaplen {names.DROP_LOG_SNAPLEN} drop")
        self.ns_labels = {n: ns.labels for n, ns in cluster.namespaces.items()}
        self.pods = [p for p in cluster.pods if not p.host_network and p.ip]
        # by identity: one policy's peer is matched against every pod once, not once for each
        # pod the policy selects (200 pods on 10 nodes matched 40,000 times, ~1 s)
        self._ips: dict[int, tuple[PeerMatcher, list[str]]] = {}
        self._matches: dict[tuple[int, str], tuple[PeerMatcher, str | None]] = {}

    def _peer_ips(self, pm: PeerMatcher) -> list[str] | None:
        """Pod IPs a pod peer matches; None for 'any address' (an empty from/to)."""
        if isinstance(pm, AllPeers):
            return None
        known = self._ips.get(id(pm))
        if known is not None and known[0] is pm:
            return known[1]
        ips = [p.ip for p in self.pods
               if peer_matches(pm, p, self.ns_labels, self.compiled.ipblock_matches_pods)]
        self._ips[id(pm)] = (pm, ips)  # holding pm keeps its id from being reused
        return ips

    @staticmethod
    def _block(pm: IPPeer, field: str) -> str:
        m = f"ip {field} {pm.block.cidr}"
        if pm.block.excepts:
            m += f" ip {field} != {_set(pm.block.excepts)}"
        return m

    def _peer(self, pm: PeerMatcher, field: str) -> str | None:
        """The address match of one peer on ``saddr`` or ``daddr``: '' for any address, None
        when it selects no pod at all."""
        if isinstance(pm, IPPeer):
            return self._block(pm, field)
        known = self._matches.get((id(pm), field))
        if known is not None and known[0] is pm:
            return known[1]
        ips = self._peer_ips(pm)
        match = "" if ips is None else f"ip {field} {_set(ips)}" if ips else None
        self._matches[(id(pm), field)] = (pm, match)  # the sorted set, once a peer
        return match

    @staticmethod
    def _verdict(verdict: str, note: str, *matches: str) -> str:
        match = " ".join(m for m in matches if m)
        return f'{match + " " if match else ""}{verdict} comment "{note}"'

    def _ingress_rule(self, rule: Rule, pod: Pod, verdict: str = "return", action: str = "") -> list[str]:
        """Each peer's match of ``rule`` ending in ``verdict``; ``action`` (an admin rule's)
        is appended to the comment."""
        lines = []
        for pm in rule.peers:
            if isinstance(pm, IPPeer) and ":" in pm.block.cidr:
                continue
            peer = self._peer(pm, "saddr")
            if peer is None:
                lines.append(f"# {pm.origin}: selects no pod")
                continue
            note = f"{pm.origin}{' ' + action if action else ''}"
            lines += [self._verdict(verdict, note, peer, ports) for ports in self._ports(rule.ports, pod)]
        return lines

    def _ports(self, ports: tuple[PolicyPort, ...], dst: Pod) -> list[str]:
        if not ports:
            return [""]
        out = []
        for p in ports:
            number = dst.named_port(p.port, p.protocol) if isinstance(p.port, str) else None
            if isinstance(p.port, str) and number is None:
                continue
            out.append(_port_match(p, number))
        return out

    def _egress_rule(self, rule: Rule, verdict: str = "return", action: str = "") -> list[str]:
        lines = []
        for pm in rule.peers:
            note = f"{pm.origin}{' ' + action if action else ''}"
            named = any(isinstance(p.port, str) for p in rule.ports)
            if isinstance(pm, IPPeer) and ":" in pm.block.cidr:
                continue
            if not named:
                peer = self._peer(pm, "daddr")
                if peer is None:
                    lines.append(f"# {pm.origin}: selects no pod")
                    continue
                lines += [self._verdict(verdict, note, peer, _port_match(p, None) if p else "")
                          for p in rule.ports or (None,)]
                continue
            # Named ports: the number depends on the destination pod, so group destinations.
            by_match: dict[str, list[str]] = defaultdict(list)
            for dst in self.pods:
                if not peer_matches(pm, dst, self.ns_labels, self.compiled.ipblock_matches_pods):
                    continue
                for p in rule.ports:
                    number = dst.named_port(p.port, p.protocol) if isinstance(p.port, str) else None
                    if isinstance(p.port, str) and number is None:
                        continue
                    by_match[_port_match(p, number)].append(dst.ip)
            for ports, ips in sorted(by_match.items()):
                lines.append(self._verdict(verdict, note, f"ip daddr {_set(ips)}", ports))
            if not by_match:
                lines.append(f"# {pm.origin}: no destination pod has these named ports")
        return lines

    def chain(self, pod: Pod, targets: tuple[Target, ...], ingress: bool) -> list[str] | None:
        selecting = [t for t in targets if target_selects(t, pod)]
        if not selecting:
            return None
        body = []
        for t in selecting:
            if not t.rules:
                body.append(f"# {t.policy}: no {t.direction} rule, isolates only")
            for rule in t.rules:
                body += self._ingress_rule(rule, pod) if ingress else self._egress_rule(rule)
        body.append(f'{self.drop} comment "no policy allows this {"ingress" if ingress else "egress"}"')
        return body

    def _tier_rules(self, t: TierTarget, pod: Pod, ingress: bool, verdicts: dict[str, str],
                    rest: str) -> list[str]:
        prio = "" if t.priority is None else f" (priority {t.priority})"
        body = [f"# {t.tier} {t.policy}{prio}"]
        for rule in t.rules:
            verdict = verdicts[rule.action]
            if verdict == "drop":
                verdict = self.drop
            if verdict == "goto":
                verdict = f"goto {rest}"
            if not rule.peers:
                body.append(f"# {rule.origin}: no peer podnet can resolve, matches nothing")
            body += (self._ingress_rule(rule, pod, verdict, rule.action) if ingress
                     else self._egress_rule(rule, verdict, rule.action))
        return body

    def admin_chains(self, pod: Pod, targets: tuple[Target, ...], admin: tuple[TierTarget, ...],
                     ingress: bool, rest: str) -> tuple[list[str], list[str]] | None:
        """(the admin tier's part, the ``rest`` chain: NetworkPolicy or baseline tier) of one
        pod's chain for one direction, or None when no admin policy selects the pod."""
        selecting = [t for t in admin if tier_selects(t, pod, self.ns_labels)]
        if not selecting:
            return None
        head: list[str] = []
        for t in selecting:
            if t.tier == ANP:
                head += self._tier_rules(t, pod, ingress, ADMIN_VERDICT, rest)
        head.append(f'goto {rest} comment "no admin rule decided"')
        np_part = self.chain(pod, targets, ingress)
        if np_part is not None:
            return head, np_part
        tail: list[str] = []
        for t in selecting:
            if t.tier == BANP:
                tail += self._tier_rules(t, pod, ingress, BASELINE_VERDICT, rest)
        tail.append("# no NetworkPolicy selects the pod and no rule decided: allowed")
        return head, tail


def render_node(cluster: Cluster, compiled: Compiled, node: str) -> str:
    """The enforcement ruleset for one node's pods, as ``nft -f`` input."""
    return _render_node(_Renderer(cluster, compiled), node)


def render_nodes(cluster: Cluster, compiled: Compiled, nodes: list[str],
                 log_group: int | None = None) -> dict[str, str]:
    """``render_node`` for each of ``nodes``, sharing what the nodes' rulesets have in common
    (which pods each peer selects); with ``log_group``, every drop is logged to that NFLOG
    group first."""
    r = _Renderer(cluster, compiled, log_group)
    return {node: _render_node(r, node) for node in nodes}


def _render_node(r: _Renderer, node: str) -> str:
    compiled = r.compiled
    local = [p for p in r.pods if p.node == node]
    chains: list[tuple[str, list[str]]] = []
    to_map: list[str] = []
    from_map: list[str] = []
    for pod in local:
        veth = names.pod_veth(pod.namespace, pod.name)
        for ingress in (False, True):
            chain = (names.policy_ingress_chain if ingress else names.policy_egress_chain)(veth)
            targets = compiled.ingress if ingress else compiled.egress
            head = [f"# {'ingress' if ingress else 'egress'} of {pod.key}"]
            if ingress:
                # A pod may always reach itself, also when a Service sends it back to itself.
                head.append(f'iifname "{veth}" return comment "{pod.key} reaching itself"')
            admin = compiled.admin_ingress if ingress else compiled.admin_egress
            rest = names.policy_rest_chain(chain)
            tiers = r.admin_chains(pod, targets, admin, ingress, rest)
            if tiers is not None:
                chains += [(chain, head + tiers[0]), (rest, tiers[1])]
            else:
                body = r.chain(pod, targets, ingress)
                if body is None:
                    continue
                chains.append((chain, head + body))
            (to_map if ingress else from_map).append(f'"{veth}" : jump {chain}')
    out = [f"# NetworkPolicy enforcement for node {node} (podnet)", f"table inet {TABLE} {{"]
    fwd = ["type filter hook forward priority filter; policy accept;",
           "ct state established,related accept",
           "ct state invalid drop"]
    if from_map:
        fwd.append("iifname vmap { " + ", ".join(from_map) + " }")
    if to_map:
        fwd.append("oifname vmap { " + ", ".join(to_map) + " }")
    out.append("\tchain forward {")
    out += [f"\t\t{line}" for line in fwd]
    out.append("\t}")
    for name, body in chains:
        out.append(f"\tchain {name} {{")
        out += [f"\t\t{line}" for line in body]
        out.append("\t}")
    out.append("}")
    return "\n".join(out) + "\n"
