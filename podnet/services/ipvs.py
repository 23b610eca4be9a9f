"""ServicePlans → what kube-proxy's IPVS mode programs on one node (``pkg/proxy/ipvs/``).

IPVS mode has no single payload: it creates virtual servers over netlink, fills ipsets, binds
every service IP to the dummy device ``kube-ipvs0`` and still loads a constant-size iptables
ruleset that matches those ipsets. podnet renders each part in the form its tool restores:
``ipvsadm-restore`` (``-A``/``-a`` lines, scheduler ``rr``, ``-p`` for ClientIP affinity,
masquerading forwarders of weight 1), ``ipset restore`` (every set kube-proxy creates, with
its entries), ``iptables-restore`` (``writeIptablesRules``), and the kube-ipvs0 addresses.

NodePort virtual servers are made for each address ``nodePortAddresses`` selects; left unset
(every local address), for each of the Node's InternalIP and ExternalIP addresses: a real node
also has them on cni0, flannel.1, ..., which a manifest does not name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podnet.gcpause import gc_paused
from podnet.services.categorize import allowed_sources, view
from podnet.services.iptables import MASQ_MARK, ipt_comment
from podnet.services.resolve import EndpointPlan, ServicePlan

DUMMY = "kube-ipvs0"
_HASH = "family inet hashsize 1024 maxelem 65536"

# (name, type, comment) in kube-proxy's ipsetInfo order; every one is created on every sync.
SETS = (
    ("KUBE-LOOP-BACK", "hash:ip,port,ip",
     "Kubernetes endpoints dst ip:port, source ip for solving hairpin purpose"),
    ("KUBE-CLUSTER-IP", "hash:ip,port", "Kubernetes service cluster ip + port for masquerade purpose"),
    ("KUBE-EXTERNAL-IP", "hash:ip,port",
     "Kubernetes service external ip + port for masquerade and filter purpose"),
    ("KUBE-EXTERNAL-IP-LOCAL", "hash:ip,port",
     "Kubernetes service external ip + port with externalTrafficPolicy=local"),
    ("KUBE-LOAD-BALANCER", "hash:ip,port", "Kubernetes service lb portal"),
    ("KUBE-LOAD-BALANCER-FW", "hash:ip,port",
     "Kubernetes service load balancer ip + port for load balancer with sourceRange"),
    ("KUBE-LOAD-BALANCER-LOCAL", "hash:ip,port",
     "Kubernetes service load balancer ip + port with externalTrafficPolicy=local"),
    ("KUBE-LOAD-BALANCER-SOURCE-IP", "hash:ip,port,ip",
     "Kubernetes service load balancer ip + port + source IP for packet filter purpose"),
    ("KUBE-LOAD-BALANCER-SOURCE-CIDR", "hash:ip,port,net",
     "Kubernetes service load balancer ip + port + source cidr for packet filter purpose"),
    ("KUBE-NODE-PORT-TCP", "bitmap:port", "Kubernetes nodeport TCP port for masquerade purpose"),
    ("KUBE-NODE-PORT-LOCAL-TCP", "bitmap:port",
     "Kubernetes nodeport TCP port with externalTrafficPolicy=local"),
    ("KUBE-NODE-PORT-UDP", "bitmap:port", "Kubernetes nodeport UDP port for masquerade purpose"),
    ("KUBE-NODE-PORT-LOCAL-UDP", "bitmap:port",
     "Kubernetes nodeport UDP port with externalTrafficPolicy=local"),
    ("KUBE-NODE-PORT-SCTP-HASH", "hash:ip,port",
     "Kubernetes nodeport SCTP port for masquerade purpose with type 'hash ip:port'"),
    ("KUBE-NODE-PORT-LOCAL-SCTP-HASH", "hash:ip,port",
     "Kubernetes nodeport SCTP port with externalTrafficPolicy=local with type 'hash ip:port'"),
    ("KUBE-HEALTH-CHECK-NODE-PORT", "bitmap:port", "Kubernetes health check node port"),
    ("KUBE-IPVS-IPS", "hash:ip", "Addresses on the ipvs interface"),
)
COMMENT = {name: comment for name, _, comment in SETS}

# ipsetWithIptablesChain: (set, table, from chain, target, match type, protocol match).
SET_RULES = (
    ("KUBE-LOOP-BACK", "nat", "KUBE-POSTROUTING", "MASQUERADE", "dst,dst,src", ""),
    ("KUBE-LOAD-BALANCER", "nat", "KUBE-SERVICES", "KUBE-LOAD-BALANCER", "dst,dst", ""),
    ("KUBE-LOAD-BALANCER-LOCAL", "nat", "KUBE-LOAD-BALANCER", "RETURN", "dst,dst", ""),
    ("KUBE-NODE-PORT-LOCAL-TCP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "tcp"),
    ("KUBE-NODE-PORT-TCP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "tcp"),
    ("KUBE-NODE-PORT-LOCAL-UDP", "nat", "KUBE-NODE-PORT", "RETURN", "dst", "udp"),
    ("KUBE-NODE-PORT-UDP", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst", "udp"),
    ("KUBE-NODE-PORT-LOCAL-SCTP-HASH", "nat", "KUBE-NODE-PORT", "RETURN", "dst,dst", "sctp"),
    ("KUBE-NODE-PORT-SCTP-HASH", "nat", "KUBE-NODE-PORT", "KUBE-MARK-MASQ", "dst,dst", "sctp"),
    ("KUBE-LOAD-BALANCER-FW", "filter", "KUBE-PROXY-FIREWALL", "KUBE-SOURCE-RANGES-FIREWALL",
     "dst,dst", ""),
    ("KUBE-LOAD-BALANCER-SOURCE-CIDR", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN",
     "dst,dst,src", ""),
    ("KUBE-LOAD-BALANCER-SOURCE-IP", "filter", "KUBE-SOURCE-RANGES-FIREWALL", "RETURN",
     "dst,dst,src", ""),
)
NAT_CHAINS = ("KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-NODE-PORT", "KUBE-LOAD-BALANCER",
              "KUBE-MARK-MASQ")
FILTER_CHAINS = ("KUBE-FORWARD", "KUBE-NODE-PORT", "KUBE-PROXY-FIREWALL", "KUBE-SOURCE-RANGES-FIREWALL",
                 "KUBE-IPVS-FILTER", "KUBE-IPVS-OUT-FILTER")
_PROTO_FLAG = {"TCP": "-t", "UDP": "-u", "SCTP": "--sctp-service"}


@dataclass(frozen=True, slots=True)
class IpvsOptions:
    node: str
    node_ip: str
    cluster_cidr: str
    scheduler: str = "rr"
    node_port_ips: tuple[str, ...] | None = None  # nodePortAddresses' pick; None: node_ip


@dataclass(frozen=True)
class IpvsRuleset:
    virtual_servers: str  # ipvsadm-restore input
    ipsets: str  # ipset restore input
    iptables: str  # iptables-restore input
    addresses: tuple[str, ...]  # bound to kube-ipvs0

    def text(self) -> str:
        addrs = "".join(f"ip addr add {a}/32 dev {DUMMY}\n" for a in self.addresses)
        return (f"# ipvsadm-restore\n{self.virtual_servers}\n# ipset restore\n{self.ipsets}\n"
                f"# iptables-restore\n{self.iptables}\n# {DUMMY} (type dummy)\n{addrs}")


@dataclass
class _State:
    opts: IpvsOptions
    entries: dict[str, set[str]] = field(default_factory=lambda: {n: set() for n, _, _ in SETS})
    vs: list[str] = field(default_factory=list)
    bound: dict[str, None] = field(default_factory=dict)  # ordered set
    no_node_access: list[tuple[str, str, int]] = field(default_factory=list)

    def server(self, plan: ServicePlan, ip: str, port: int, eps: tuple[EndpointPlan, ...],
               bind: bool) -> None:
        addr = f"{_PROTO_FLAG[plan.protocol]} {ip}:{port}"
        persist = f" -p {plan.affinity_timeout}" if plan.affinity_timeout is not None else ""
        self.vs.append(f"-A {addr} -s {self.opts.scheduler}{persist}")
        self.vs += [f"-a {addr} -r {e.ip}:{e.port} -m -w 1" for e in eps]
        if bind:
            self.bound[ip] = None


def _service(s: _State, plan: ServicePlan) -> None:
    node, proto = s.opts.node, plan.protocol.lower()
    v = view(plan, node)
    local = v.local_eps
    internal = local if plan.internal_local else v.cluster_eps
    external = local if plan.external_local else v.cluster_eps
    for e in (*plan.local_endpoints(node), *plan.local_terminating(node)):
        s.entries["KUBE-LOOP-BACK"].add(f"{e.ip},{proto}:{e.port},{e.ip}")
    s.entries["KUBE-CLUSTER-IP"].add(f"{plan.cluster_ip},{proto}:{plan.port}")
    s.server(plan, plan.cluster_ip, plan.port, internal, bind=True)
    for ip in plan.external_ips:
        key = "KUBE-EXTERNAL-IP-LOCAL" if plan.external_local else "KUBE-EXTERNAL-IP"
        s.entries[key].add(f"{ip},{proto}:{plan.port}")
        s.server(plan, ip, plan.port, external, bind=ip != s.opts.node_ip)
    for ip in plan.load_balancer_ips:
        entry = f"{ip},{proto}:{plan.port}"
        s.entries["KUBE-LOAD-BALANCER"].add(entry)
        if plan.external_local:
            s.entries["KUBE-LOAD-BALANCER-LOCAL"].add(entry)
        if plan.source_ranges:
            s.entries["KUBE-LOAD-BALANCER-FW"].add(entry)
            s.entries["KUBE-LOAD-BALANCER-SOURCE-CIDR"].update(
                f"{entry},{cidr}" for cidr in plan.source_ranges)
            if ip in allowed_sources(plan, s.opts.node_ip):
                s.entries["KUBE-LOAD-BALANCER-SOURCE-IP"].add(f"{entry},{ip}")
            else:
                s.no_node_access.append((ip, proto, plan.port))
        s.server(plan, ip, plan.port, external, bind=ip != s.opts.node_ip)
    if plan.node_port:
        suffix = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP-HASH"}[proto]
        ips = (s.opts.node_ip,) if s.opts.node_port_ips is None else s.opts.node_port_ips
        # SCTP's set is keyed by address and port, the others' by port alone
        entries = ([f"{ip},{proto}:{plan.node_port}" for ip in ips] if proto == "sctp"
                   else [str(plan.node_port)])
        s.entries[f"KUBE-NODE-PORT-{suffix}"].update(entries)
        if plan.external_local:
            s.entries[f"KUBE-NODE-PORT-LOCAL-{suffix}"].update(entries)
        for ip in ips:
            s.server(plan, ip, plan.node_port, external, bind=False)
    if plan.health_check_node_port:
        s.entries["KUBE-HEALTH-CHECK-NODE-PORT"].add(str(plan.health_check_node_port))


def _sort_key(entry: str) -> tuple[object, ...]:
    head = entry.split(",")[0]
    if "." in head:
        return (0, tuple(int(x) for x in head.split(".")), entry)
    return (1, int(head) if head.isdigit() else 0, entry)


def _ipsets(s: _State) -> str:
    out = []
    for name, kind, _ in SETS:
        opts = "range 0-65535" if kind.startswith("bitmap") else _HASH
        out.append(f"create {name} {kind} {opts} -exist")
    for name, _, _ in SETS:
        out += [f"add {name} {e} -exist" for e in sorted(s.entries[name], key=_sort_key)]
    return "\n".join(out) + "\n"


def _iptables(s: _State) -> str:
    nat: list[str] = ["-A KUBE-SERVICES -s 127.0.0.0/8 -j RETURN"]
    flt: list[str] = []

    def set_match(name: str, match: str) -> str:
        return f"{ipt_comment(COMMENT[name])} -m set --match-set {name} {match}"

    for name, table, src, target, match, proto in SET_RULES:
        if s.entries[name]:
            p = f"-p {proto} " if proto else ""
            (nat if table == "nat" else flt).append(f"-A {src} {p}{set_match(name, match)} -j {target}")
    if s.entries["KUBE-CLUSTER-IP"]:
        nat.append(f"-A KUBE-SERVICES {set_match('KUBE-CLUSTER-IP', 'dst,dst')} ! -s "
                   f"{s.opts.cluster_cidr} -j KUBE-MARK-MASQ")
    for name in ("KUBE-EXTERNAL-IP", "KUBE-EXTERNAL-IP-LOCAL"):
        if s.entries[name]:
            head = f"-A KUBE-SERVICES {set_match(name, 'dst,dst')}"
            if name == "KUBE-EXTERNAL-IP":
                nat.append(f"{head} -j KUBE-MARK-MASQ")
            nat += [f"{head} -m physdev ! --physdev-is-in -m addrtype ! --src-type LOCAL -j ACCEPT",
                    f"{head} -m addrtype --dst-type LOCAL -j ACCEPT"]
    nat += ["-A KUBE-SERVICES -m addrtype --dst-type LOCAL -j KUBE-NODE-PORT",
            "-A KUBE-LOAD-BALANCER -j KUBE-MARK-MASQ"]
    flt.append("-A KUBE-SOURCE-RANGES-FIREWALL -j DROP")
    flt += [f"-A KUBE-IPVS-OUT-FILTER -s {ip} -m ipvs --vaddr {ip} --vproto {proto} --vport {port} -j DROP"
            for ip, proto, port in s.no_node_access]
    nat += [f"-A KUBE-SERVICES -m set --match-set {name} dst,dst -j ACCEPT"
            for name in ("KUBE-CLUSTER-IP", "KUBE-LOAD-BALANCER") if s.entries[name]]
    flt += [f"-A KUBE-FORWARD {ipt_comment('kubernetes forwarding rules')} -m mark --mark "
            f"{MASQ_MARK}/{MASQ_MARK} -j ACCEPT",
            f"-A KUBE-FORWARD {ipt_comment('kubernetes forwarding conntrack rule')} -m conntrack "
            "--ctstate RELATED,ESTABLISHED -j ACCEPT",
            f"-A KUBE-NODE-PORT {set_match('KUBE-HEALTH-CHECK-NODE-PORT', 'dst')} -j ACCEPT"]
    flt += [f"-A KUBE-IPVS-FILTER -m set --match-set {name} {match} -j RETURN"
            for name, match in (("KUBE-LOAD-BALANCER", "dst,dst"), ("KUBE-CLUSTER-IP", "dst,dst"),
                                ("KUBE-EXTERNAL-IP", "dst,dst"), ("KUBE-EXTERNAL-IP-LOCAL", "dst,dst"),
                                ("KUBE-HEALTH-CHECK-NODE-PORT", "dst"))]
    flt.append("-A KUBE-IPVS-FILTER -m conntrack --ctstate NEW -m set --match-set KUBE-IPVS-IPS dst "
               "-j REJECT")
    nat += [f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK}/{MASQ_MARK} -j RETURN",
            f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ_MARK}",
            f"-A KUBE-POSTROUTING {ipt_comment('kubernetes service traffic requiring SNAT')} "
            "-j MASQUERADE --random-fully",
            f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ_MARK}"]
    return "\n".join(["*filter", *(f":{c} - [0:0]" for c in FILTER_CHAINS), *flt, "COMMIT",
                      "*nat", *(f":{c} - [0:0]" for c in NAT_CHAINS), *nat, "COMMIT"]) + "\n"


@gc_paused
def render_ipvs(plans: tuple[ServicePlan, ...], opts: IpvsOptions) -> IpvsRuleset:
    s = _State(opts)
    for plan in plans:
        _service(s, plan)
    s.entries["KUBE-IPVS-IPS"].update(s.bound)
    return IpvsRuleset("\n".join(s.vs) + "\n", _ipsets(s), _iptables(s), tuple(s.bound))


# kube-proxy's iptablesJumpChain for IPVS mode, prepended to the built-in chains.
JUMP_CHAINS = (
    ("nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals"),
    ("nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals"),
    ("nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules"),
    ("filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules"),
    ("filter", "INPUT", "KUBE-NODE-PORT", "kubernetes health check rules"),
    ("filter", "INPUT", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"),
    ("filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kube-proxy firewall rules"),
    ("filter", "INPUT", "KUBE-IPVS-FILTER", "kubernetes ipvs access filter"),
    ("filter", "OUTPUT", "KUBE-IPVS-OUT-FILTER", "kubernetes ipvs access filter"),
)
