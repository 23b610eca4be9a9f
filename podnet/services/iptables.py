"""ServicePlans → the iptables-restore input kube-proxy's iptables mode writes, for one node.

Reproduces ``pkg/proxy/iptables/proxier.go`` (v1.31 generation) rule for rule: chain names by
kube-proxy's hashes, its comments (quoted when they contain a space), masquerade mark
0x4000, ``-m statistic --mode random --probability %0.10f`` for all but the last endpoint,
``-m recent`` for ClientIP affinity, REJECT for services without endpoints and DROP for
``Local`` traffic with no local endpoints, the NodePort jump last in ``KUBE-SERVICES``.
Go iterates maps at random, so kube-proxy's own order varies from sync to sync; podnet writes
``KUBE-NODEPORTS`` and ``KUBE-SERVICES`` first and every other chain in name order, as
kube-proxy's test canonicaliser does, which makes the text byte-stable. No nfacct counters
(kube-proxy adds them only where the kernel has nfacct) and ``--random-fully`` masquerade.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from podnet import names
from podnet.services.resolve import EndpointPlan, ServicePlan

MASQ_MARK = "0x4000"
NODEPORTS_LAST = ('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: '
                  'this must be the last rule in this chain" -m addrtype --dst-type LOCAL '
                  "-j KUBE-NODEPORTS")
FIXED_FILTER = ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL",
                "KUBE-FORWARD", "KUBE-PROXY-FIREWALL")
FIXED_NAT = ("KUBE-NODEPORTS", "KUBE-SERVICES", "KUBE-MARK-MASQ", "KUBE-POSTROUTING")


@dataclass(frozen=True, slots=True)
class IptablesOptions:
    node: str
    cluster_cidr: str  # the local-traffic detector: pods are sources inside it


def _q(arg: str) -> str:
    return f'"{arg}"' if " " in arg else arg


def _c(text: str) -> str:
    return f"-m comment --comment {_q(text)}"


def _probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"


class _Tables:
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, list[str]]] = {"filter": defaultdict(list),
                                                        "nat": defaultdict(list)}
        self.chains: dict[str, set[str]] = {"filter": set(FIXED_FILTER), "nat": set(FIXED_NAT)}

    def add(self, table: str, chain: str, rule: str) -> None:
        self.chains[table].add(chain)
        self.rules[table][chain].append(f"-A {chain} {rule}")

    def declare(self, table: str, chain: str) -> None:
        self.chains[table].add(chain)

    def text(self) -> str:
        out: list[str] = []
        for table, fixed in (("filter", ("KUBE-NODEPORTS", "KUBE-SERVICES")),
                             ("nat", ("KUBE-NODEPORTS", "KUBE-SERVICES"))):
            order = [*fixed, *sorted(self.chains[table] - set(fixed))]
            out.append(f"*{table}")
            out += [f":{c} - [0:0]" for c in order]
            for c in order:
                out += self.rules[table].get(c, [])
            out.append("COMMIT")
        return "\n".join(out) + "\n"


def _endpoint_rules(t: _Tables, plan: ServicePlan, chain: str, eps: tuple[EndpointPlan, ...]) -> None:
    spn = plan.spn
    seps = [names.kube_sep_chain(spn, plan.protocol, e.address) for e in eps]
    if plan.affinity_timeout is not None:
        for e, sep in zip(eps, seps, strict=True):
            t.add("nat", chain, f"{_c(f'{spn} -> {e.address}')} -m recent --name {sep} --rcheck "
                                f"--seconds {plan.affinity_timeout} --reap -j {sep}")
    n = len(eps)
    for i, (e, sep) in enumerate(zip(eps, seps, strict=True)):
        stat = (f" -m statistic --mode random --probability {_probability(n - i)}"
                if i < n - 1 else "")
        t.add("nat", chain, f"{_c(f'{spn} -> {e.address}')}{stat} -j {sep}")


def _sep_chains(t: _Tables, plan: ServicePlan, eps: tuple[EndpointPlan, ...]) -> None:
    spn, proto = plan.spn, plan.protocol.lower()
    for e in eps:
        sep = names.kube_sep_chain(spn, plan.protocol, e.address)
        t.add("nat", sep, f"{_c(spn)} -s {e.ip} -j KUBE-MARK-MASQ")
        recent = f" -m recent --name {sep} --set" if plan.affinity_timeout is not None else ""
        t.add("nat", sep, f"{_c(spn)} -m {proto} -p {proto}{recent} -j DNAT --to-destination "
                          f"{e.address}")


def _service(t: _Tables, plan: ServicePlan, opts: IptablesOptions) -> None:
    spn, proto = plan.spn, plan.protocol.lower()
    match = f"-m {proto} -p {proto}"
    svc = names.kube_chain("KUBE-SVC-", spn, plan.protocol)
    svl = names.kube_chain("KUBE-SVL-", spn, plan.protocol)
    ext = names.kube_chain("KUBE-EXT-", spn, plan.protocol)
    fw = names.kube_chain("KUBE-FW-", spn, plan.protocol)
    local_eps = plan.local_endpoints(opts.node)
    has_eps = bool(plan.endpoints)
    # The chain internal traffic goes to, and the one external traffic goes to.
    internal_chain = svl if plan.internal_local else svc
    internal_eps = local_eps if plan.internal_local else plan.endpoints
    external_eps = local_eps if plan.external_local else plan.endpoints
    dest_ips = [(ip, "external IP") for ip in plan.external_ips]
    dest_ips += [(ip, "loadbalancer IP") for ip in plan.load_balancer_ips]

    # Cluster IP.
    if internal_eps:
        t.add("nat", "KUBE-SERVICES", f"{_c(f'{spn} cluster IP')} {match} -d {plan.cluster_ip} "
                                      f"--dport {plan.port} -j {internal_chain}")
    elif not has_eps:
        t.add("filter", "KUBE-SERVICES", f"{_c(f'{spn} has no endpoints')} {match} -d "
                                         f"{plan.cluster_ip} --dport {plan.port} -j REJECT")
    else:
        t.add("filter", "KUBE-SERVICES", f"{_c(f'{spn} has no local endpoints')} {match} -d "
                                         f"{plan.cluster_ip} --dport {plan.port} -j DROP")

    # External destinations: external IPs, load balancer IPs, the node port.
    if plan.external:
        if external_eps:
            for ip, what in dest_ips:
                target = fw if what == "loadbalancer IP" and plan.source_ranges else ext
                t.add("nat", "KUBE-SERVICES", f"{_c(f'{spn} {what}')} {match} -d {ip} "
                                              f"--dport {plan.port} -j {target}")
            if plan.node_port:
                t.add("nat", "KUBE-NODEPORTS", f"{_c(spn)} {match} --dport {plan.node_port} "
                                               f"-j {ext}")
        else:
            verdict, why = ("REJECT", "has no endpoints") if not has_eps else (
                "DROP", "has no local endpoints")
            for ip, _ in dest_ips:
                t.add("filter", "KUBE-EXTERNAL-SERVICES", f"{_c(f'{spn} {why}')} {match} -d {ip} "
                                                          f"--dport {plan.port} -j {verdict}")
            if plan.node_port:
                t.add("filter", "KUBE-EXTERNAL-SERVICES",
                      f"{_c(f'{spn} {why}')} -m addrtype --dst-type LOCAL {match} "
                      f"--dport {plan.node_port} -j {verdict}")
        if plan.health_check_node_port:
            t.add("filter", "KUBE-NODEPORTS", f"{_c(f'{spn} health check node port')} -m tcp -p tcp "
                                              f"--dport {plan.health_check_node_port} -j ACCEPT")

    # Load balancer source ranges.
    if plan.source_ranges and external_eps:
        for src in plan.source_ranges:
            t.add("nat", fw, f"{_c(f'{spn} loadbalancer IP')} -s {src} -j {ext}")
        t.add("nat", fw, _c(f"other traffic to {spn} will be dropped by KUBE-PROXY-FIREWALL"))
        for ip in plan.load_balancer_ips:
            t.add("filter", "KUBE-PROXY-FIREWALL", f"{_c(f'{spn} traffic not accepted by {fw}')} "
                                                   f"{match} -d {ip} --dport {plan.port} -j DROP")

    # KUBE-EXT: masquerade, then to the cluster-wide or node-local endpoint chain.
    if plan.external and external_eps:
        if plan.external_local:
            t.add("nat", ext, f"{_c(f'pod traffic for {spn} external destinations')} -s "
                              f"{opts.cluster_cidr} -j {svc}")
            t.add("nat", ext, f"{_c(f'masquerade LOCAL traffic for {spn} external destinations')} "
                              "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ")
            t.add("nat", ext, f"{_c(f'route LOCAL traffic for {spn} external destinations')} "
                              f"-m addrtype --src-type LOCAL -j {svc}")
            t.add("nat", ext, f"-j {svl}")
        else:
            t.add("nat", ext, f"{_c(f'masquerade traffic for {spn} external destinations')} "
                              "-j KUBE-MARK-MASQ")
            t.add("nat", ext, f"-j {svc}")

    # KUBE-SVC (cluster-wide endpoints), used by internal Cluster policy and by KUBE-EXT.
    # KUBE-EXT always ends in KUBE-SVC for pod traffic, whichever its own policy.
    needs_svc = bool(plan.endpoints) and (not plan.internal_local
                                          or (plan.external and bool(external_eps)))
    if needs_svc:
        t.add("nat", svc, f"{_c(f'{spn} cluster IP')} {match} -d {plan.cluster_ip} --dport "
                          f"{plan.port} ! -s {opts.cluster_cidr} -j KUBE-MARK-MASQ")
        _endpoint_rules(t, plan, svc, plan.endpoints)
    needs_svl = (plan.internal_local and bool(local_eps)) or (plan.external_local and bool(local_eps))
    if needs_svl:
        _endpoint_rules(t, plan, svl, local_eps)
    used = set()
    if needs_svc:
        used |= set(plan.endpoints)
    if needs_svl:
        used |= set(local_eps)
    _sep_chains(t, plan, tuple(e for e in plan.endpoints if e in used))


def render_iptables(plans: tuple[ServicePlan, ...], opts: IptablesOptions) -> str:
    """The full restore payload (``*filter`` then ``*nat``) for one node."""
    t = _Tables()
    for plan in plans:
        _service(t, plan, opts)
    t.add("nat", "KUBE-SERVICES", NODEPORTS_LAST.removeprefix("-A KUBE-SERVICES "))
    t.add("nat", "KUBE-MARK-MASQ", f"-j MARK --or-mark {MASQ_MARK}")
    t.add("nat", "KUBE-POSTROUTING", f"-m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN")
    t.add("nat", "KUBE-POSTROUTING", f"-j MARK --xor-mark {MASQ_MARK}")
    t.add("nat", "KUBE-POSTROUTING", f"{_c('kubernetes service traffic requiring SNAT')} "
                                     "-j MASQUERADE --random-fully")
    t.add("filter", "KUBE-FIREWALL", f"{_c('block incoming localnet connections')} -d 127.0.0.0/8 "
                                     "! -s 127.0.0.0/8 -m conntrack ! --ctstate "
                                     "RELATED,ESTABLISHED,DNAT -j DROP")
    t.add("filter", "KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP")
    t.add("filter", "KUBE-FORWARD", f"{_c('kubernetes forwarding rules')} -m mark --mark "
                                    f"{MASQ_MARK}/{MASQ_MARK} -j ACCEPT")
    t.add("filter", "KUBE-FORWARD", f"{_c('kubernetes forwarding conntrack rule')} -m conntrack "
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
                parts = [f"-I {src}", _c(comment) if comment else "", extra, f"-j {dst}"]
                out.append(" ".join(p for p in parts if p))
        out.append("COMMIT")
    return "\n".join(out) + "\n"
