"""ServicePlans → the iptables-restore input kube-proxy's iptables mode writes, for one node.

Reproduces ``pkg/proxy/iptables/proxier.go`` (v1.31 generation) rule for rule: chain names by
kube-proxy's hashes, its comments (quoted when they contain a space), masquerade mark
0x4000, ``-m statistic --mode random --probability %0.10f`` for all but the last endpoint,
``-m recent`` for ClientIP affinity, REJECT for services without endpoints and DROP for
``Local`` traffic with no local endpoints, the NodePort jump last in ``KUBE-SERVICES``.
Go iterates maps at random, so kube-proxy's own order varies from sync to sync; podnet writes
``KUBE-NODEPORTS`` and ``KUBE-SERVICES`` first and every other chain in name order, as
kube-proxy's test canonicaliser does, which makes the text byte-stable.

Two facts about the node change the text, and are options (``IptablesOptions.features``):
``nfacct`` (kube-proxy counts dropped INVALID packets and accepted localhost NodePort packets
with nfacct objects it creates at start, where the kernel has nfnetlink_acct) and
``random-fully`` (``MASQUERADE --random-fully``, where iptables supports it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from podnet import names
from podnet.gcpause import gc_paused
from podnet.model.vocabulary import DEFAULT_IPTABLES_FEATURES, IPTABLES_FEATURES
from podnet.services.categorize import allowed_sources, view
from podnet.services.resolve import ServicePlan

MASQ_MARK = "0x4000"
NODEPORTS_LAST = ('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: '
                  'this must be the last rule in this chain" -m addrtype --dst-type LOCAL '
                  "-j KUBE-NODEPORTS")
FIXED_FILTER = ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL",
                "KUBE-FORWARD", "KUBE-PROXY-FIREWALL")
FIXED_NAT = ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING")


# A current node (kernel with nfnetlink_acct, iptables >= 1.6.2) has both.
CURRENT_NODE_FEATURES = frozenset(DEFAULT_IPTABLES_FEATURES)
NFACCT_INVALID = "ct_state_invalid_dropped_pkts"  # kube-proxy's metrics names the counters
NFACCT_LOCALHOST_NODEPORT = "localhost_nps_accepted_pkts"


@dataclass(frozen=True, slots=True)
class IptablesOptions:
    node: str
    cluster_cidr: str  # the local-traffic detector: pods are sources inside it
    node_ip: str = ""  # lets LB source ranges that cover the node admit the node itself
    features: frozenset[str] = CURRENT_NODE_FEATURES  # of IPTABLES_FEATURES, the node's
    # the addresses accepting NodePorts (``podnet.services.nodeports``); None: every local one
    node_port_ips: tuple[str, ...] | None = None


def parse_features(text: str) -> frozenset[str]:
    """``nfacct,random-fully`` -> the set; '' is neither. Unknown names are a ValueError."""
    found = frozenset(f.strip() for f in text.split(",") if f.strip())
    unknown = sorted(found - set(IPTABLES_FEATURES))
    if unknown:
        raise ValueError(f"unknown iptables feature {', '.join(map(repr, unknown))}: "
                         f"choose from {', '.join(IPTABLES_FEATURES)}")
    return found


def _q(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def ipt_comment(text: str) -> str:
    return f"-m comment --comment {_q(text)}"


@functools.lru_cache(maxsize=4096)
def _probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"


class _Tables:
    """Rules per table and chain; a chain exists once it is a key (possibly with no rules)."""

    def __init__(self) -> None:
        self.rules: dict[str, dict[str, list[str]]] = {
            "filter": {c: [] for c in FIXED_FILTER}, "nat": {c: [] for c in FIXED_NAT}}

    def add(self, table: str, chain: str, rule: str) -> None:
        self.chain(table, chain).append(f"-A {chain} {rule}")

    def declare(self, table: str, chain: str) -> None:
        self.rules[table].setdefault(chain, [])

    def chain(self, table: str, chain: str) -> list[str]:
        """The rule list of a chain (declared), for loops that append many rules to it."""
        return self.rules[table].setdefault(chain, [])

    def text(self) -> str:
        out: list[str] = []
        fixed = ("KUBE-NODEPORTS", "KUBE-SERVICES")
        for table in ("filter", "nat"):
            chains = self.rules[table]
            order = [*fixed, *sorted(c for c in chains if c not in fixed)]
            out.append(f"*{table}")
            out += [f":{c} - [0:0]" for c in order]
            for c in order:
                out += chains[c]
            out.append("COMMIT")
        return "\n".join(out) + "\n"


def _endpoint_rules(t: _Tables, plan: ServicePlan, chain: str, seps: list[tuple[str, str]]) -> None:
    """The service chain's jumps to its endpoints, ``seps`` being (ip:port, KUBE-SEP chain)."""
    spn = plan.spn
    rules = t.chain("nat", chain)
    head = f"-A {chain} -m comment --comment "
    if plan.affinity_timeout is not None:
        rules += [f'{head}"{spn} -> {address}" -m recent --name {sep} --rcheck '
                  f"--seconds {plan.affinity_timeout} --reap -j {sep}" for address, sep in seps]
    n = len(seps)
    for i, (address, sep) in enumerate(seps):
        stat = (f" -m statistic --mode random --probability {_probability(n - i)}"
                if i < n - 1 else "")
        rules.append(f'{head}"{spn} -> {address}"{stat} -j {sep}')


def _sep_chains(t: _Tables, plan: ServicePlan, seps: dict[str, str]) -> None:
    comment, proto = ipt_comment(plan.spn), plan.protocol.lower()
    # kube-proxy writes the affinity mark before the protocol match
    mark = " -m recent --name {} --set" if plan.affinity_timeout is not None else ""
    nat = t.rules["nat"]
    for address, sep in seps.items():
        ip = address.rpartition(":")[0]
        nat[sep] = [f"-A {sep} {comment} -s {ip} -j KUBE-MARK-MASQ",
                    f"-A {sep} {comment}{mark.format(sep)} -m {proto} -p {proto} -j DNAT "
                    f"--to-destination {address}"]


def _service(t: _Tables, plan: ServicePlan, opts: IptablesOptions) -> None:
    """One service port, in the order ``syncProxyRules`` writes it."""
    v = view(plan, opts.node)
    spn, proto = plan.spn, plan.protocol.lower()
    match = f"-m {proto} -p {proto}"
    svc, svl, ext, fw = names.kube_service_chains(spn, plan.protocol)
    seps = {e.address: names.kube_sep_chain(spn, plan.protocol, e.address) for e in v.reachable}
    internal_chain = svl if plan.internal_local else svc
    external_policy_chain = svl if plan.external_local else svc
    lb_chain = fw if v.uses_fw else ext

    def filtered(what: str) -> tuple[str, str]:
        return (("REJECT", f"{spn} has no endpoints") if what == "reject"
                else ("DROP", f"{spn} has no local endpoints"))

    # Cluster IP.
    if v.has_internal:
        t.add("nat", "KUBE-SERVICES", f"{ipt_comment(f'{spn} cluster IP')} {match} -d {plan.cluster_ip} "
                                      f"--dport {plan.port} -j {internal_chain}")
    else:
        verdict, why = filtered(v.internal_filter)
        t.add("filter", "KUBE-SERVICES", f"{ipt_comment(why)} {match} -d {plan.cluster_ip} "
                                         f"--dport {plan.port} -j {verdict}")
    ext_verdict, ext_why = filtered(v.external_filter) if not v.has_external else ("", "")
    for ip in plan.external_ips:
        if v.has_eps:
            t.add("nat", "KUBE-SERVICES", f"{ipt_comment(f'{spn} external IP')} {match} -d {ip} "
                                          f"--dport {plan.port} -j {ext}")
        if not v.has_external:
            t.add("filter", "KUBE-EXTERNAL-SERVICES", f"{ipt_comment(ext_why)} {match} -d {ip} "
                                                      f"--dport {plan.port} -j {ext_verdict}")
    for ip in plan.load_balancer_ips:
        if v.has_eps:
            t.add("nat", "KUBE-SERVICES", f"{ipt_comment(f'{spn} loadbalancer IP')} {match} -d {ip} "
                                          f"--dport {plan.port} -j {lb_chain}")
        if v.uses_fw:
            t.add("filter", "KUBE-PROXY-FIREWALL", f"{ipt_comment(f'{spn} traffic not accepted by {fw}')} "
                                                   f"{match} -d {ip} --dport {plan.port} -j DROP")
    if not v.has_external:
        for ip in plan.load_balancer_ips:
            t.add("filter", "KUBE-EXTERNAL-SERVICES", f"{ipt_comment(ext_why)} {match} -d {ip} "
                                                      f"--dport {plan.port} -j {ext_verdict}")
    if plan.node_port:
        if v.has_eps:
            if "nfacct" in opts.features:  # localhostNodePorts (IPv4): counted apart
                t.add("nat", "KUBE-NODEPORTS", f"{ipt_comment(spn)} {match} -d 127.0.0.0/8 --dport "
                                               f"{plan.node_port} -m nfacct --nfacct-name "
                                               f"{NFACCT_LOCALHOST_NODEPORT} -j {ext}")
            t.add("nat", "KUBE-NODEPORTS", f"{ipt_comment(spn)} {match} --dport {plan.node_port} -j {ext}")
        if not v.has_external:
            t.add("filter", "KUBE-EXTERNAL-SERVICES",
                  f"{ipt_comment(ext_why)} -m addrtype --dst-type LOCAL {match} "
                  f"--dport {plan.node_port} -j {ext_verdict}")
    if plan.health_check_node_port:
        t.add("filter", "KUBE-NODEPORTS", f"{ipt_comment(f'{spn} health check node port')} -m tcp -p tcp "
                                          f"--dport {plan.health_check_node_port} -j ACCEPT")

    # Off-cluster sources to the cluster IP are masqueraded, in the internal chain.
    if v.has_internal:
        t.add("nat", internal_chain, f"{ipt_comment(f'{spn} cluster IP')} {match} -d {plan.cluster_ip} "
                                     f"--dport {plan.port} ! -s {opts.cluster_cidr} -j KUBE-MARK-MASQ")
    if v.uses_ext_chain:
        t.declare("nat", ext)
        if not plan.external_local:
            t.add("nat", ext, f"{ipt_comment(f'masquerade traffic for {spn} external destinations')} "
                              "-j KUBE-MARK-MASQ")
        else:
            t.add("nat", ext, f"{ipt_comment(f'pod traffic for {spn} external destinations')} -s "
                              f"{opts.cluster_cidr} -j {svc}")
            t.add("nat", ext, f"{ipt_comment(f'masquerade LOCAL traffic for {spn} external destinations')} "
                              "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ")
            t.add("nat", ext, f"{ipt_comment(f'route LOCAL traffic for {spn} external destinations')} "
                              f"-m addrtype --src-type LOCAL -j {svc}")
        if v.has_external:
            t.add("nat", ext, f"-j {external_policy_chain}")
    if v.uses_fw:
        for src in allowed_sources(plan, opts.node_ip):
            t.add("nat", fw, f"{ipt_comment(f'{spn} loadbalancer IP')} -s {src} -j {ext}")
        t.add("nat", fw, ipt_comment(f"other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL"))
    if v.uses_cluster_chain:
        _endpoint_rules(t, plan, svc, [(e.address, seps[e.address]) for e in v.cluster_eps])
    if v.uses_local_chain:
        _endpoint_rules(t, plan, svl, [(e.address, seps[e.address]) for e in v.local_eps])
    _sep_chains(t, plan, seps)


@gc_paused
def render_iptables(plans: tuple[ServicePlan, ...], opts: IptablesOptions) -> str:
    """The full restore payload (``*filter`` then ``*nat``) for one node."""
    t = _Tables()
    for plan in plans:
        _service(t, plan, opts)
    if opts.node_port_ips is None:
        t.add("nat", "KUBE-SERVICES", NODEPORTS_LAST.removeprefix("-A KUBE-SERVICES "))
    for ip in opts.node_port_ips or ():  # nodePortAddresses: one jump per selected address
        t.add("nat", "KUBE-SERVICES", NODEPORTS_LAST.removeprefix("-A KUBE-SERVICES ").replace(
            "-m addrtype --dst-type LOCAL", f"-d {ip}"))
    t.add("nat", "KUBE-MARK-MASQ", f"-j MARK --or-mark {MASQ_MARK}")
    t.add("nat", "KUBE-POSTROUTING", f"-m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN")
    t.add("nat", "KUBE-POSTROUTING", f"-j MARK --xor-mark {MASQ_MARK}")
    fully = " --random-fully" if "random-fully" in opts.features else ""
    t.add("nat", "KUBE-POSTROUTING", f"{ipt_comment('kubernetes service traffic requiring SNAT')} "
                                     f"-j MASQUERADE{fully}")
    t.add("filter", "KUBE-FIREWALL", f"{ipt_comment('block incoming localnet connections')} -d 127.0.0.0/8 "
                                     "! -s 127.0.0.0/8 -m conntrack ! --ctstate "
                                     "RELATED,ESTABLISHED,DNAT -j DROP")
    # a liberal conntrack marks only out-of-window RSTs INVALID: nothing worth dropping
    if "tcp-be-liberal" not in opts.features:
        count = f" -m nfacct --nfacct-name {NFACCT_INVALID}" if "nfacct" in opts.features else ""
        t.add("filter", "KUBE-FORWARD", f"-m conntrack --ctstate INVALID{count} -j DROP")
    t.add("filter", "KUBE-FORWARD", f"{ipt_comment('kubernetes forwarding rules')} -m mark --mark "
                                    f"{MASQ_MARK}/{MASQ_MARK} -j ACCEPT")
    t.add("filter", "KUBE-FORWARD", f"{ipt_comment('kubernetes forwarding conntrack rule')} -m conntrack "
                                    "--ctstate RELATED,ESTABLISHED -j ACCEPT")
    return t.text()


# kube-proxy installs these with `iptables -I` on full syncs (iptablesJumpChains); they are not
# part of the restore payload, so the lab loads them as a second, --noflush payload.
JUMP_CHAINS = (
    ("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals",
     "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals",
     "-m conntrack --ctstate NEW"),
    ("filter", "INPUT", "KUBE-NODEPORTS", "kubernetes health check service ports", ""),
    ("filter", "FORWARD", "KUBE-SERVICES", "kubernetes service portals", "-m conntrack --ctstate NEW"),
    ("filter", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules", ""),
    ("filter", "INPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall",
     "-m conntrack --ctstate NEW"),
    ("filter", "OUTPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall",
     "-m conntrack --ctstate NEW"),
    ("filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall",
     "-m conntrack --ctstate NEW"),
    ("nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules", ""),
    ("filter", "INPUT", "KUBE-FIREWALL", "", ""),
    ("filter", "OUTPUT", "KUBE-FIREWALL", "", ""),
)


def render_jumps() -> str:
    """The jump rules from the built-in chains, as an iptables-restore --noflush payload."""
    out = []
    for table in ("filter", "nat"):
        out.append(f"*{table}")
        for tbl, src, dst, comment, extra in JUMP_CHAINS:
            if tbl == table:
                parts = [f"-I {src}", ipt_comment(comment) if comment else "", extra, f"-j {dst}"]
                out.append(" ".join(p for p in parts if p))
        out.append("COMMIT")
    return "\n".join(out) + "\n"
