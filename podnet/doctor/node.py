"""``podnet node check``, pure half: what the numbers read from a node mean. The seeds'
"before you blame the firewall" list, answered with the node's own values: forwarding,
bridge netfilter, reverse-path filtering, the conntrack table and its timeouts, interface MTUs
against the CNI's, rule counts and the kernel features CNIs and kube-proxy need.

Reference values: kernel defaults from Documentation/networking/nf_conntrack-sysctl.rst and
ip-sysctl.rst; kube-proxy's from pkg/proxy/apis/config/v1alpha1/defaults.go (conntrack
maxPerCore 32768, min 131072, established 24 h, close-wait 1 h).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podnet.dataplane.mtu import OVERHEAD
from podnet.doctor.finding import Finding, host_finding

KERNEL_ESTABLISHED = 432000  # nf_conntrack_tcp_timeout_established default: 5 days
KUBE_PROXY_ESTABLISHED = 86400  # conntrack.tcpEstablishedTimeout 24h
KERNEL_CLOSE_WAIT = 60
KUBE_PROXY_CLOSE_WAIT = 3600  # conntrack.tcpCloseWaitTimeout 1h (kubernetes#32551)
KUBE_PROXY_MAX_PER_CORE = 32768
KUBE_PROXY_MIN = 131072
FILL_WARNING, FILL_ERROR = 0.75, 0.90

SYSCTLS = (
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.ipv4.conf.all.rp_filter",
    "net.ipv4.conf.default.rp_filter",
    "net.netfilter.nf_conntrack_max",
    "net.netfilter.nf_conntrack_count",
    "net.netfilter.nf_conntrack_buckets",
    "net.netfilter.nf_conntrack_tcp_timeout_established",
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait",
)
# Kernel features: the module name, and what needs it.
FEATURES = {
    "br_netfilter": "bridged pod traffic through iptables (Flannel's cni0, bridge CNIs)",
    "ip_vs": "kube-proxy in IPVS mode",
    "ipip": "Calico IPIP encapsulation",
    "nf_conntrack": "Service NAT, NetworkPolicy, masquerade",
    "vxlan": "Flannel vxlan, Calico VXLAN",
    "wireguard": "Calico/Cilium/Flannel WireGuard encryption",
}
CNI_FEATURES = {"vxlan": ("vxlan",), "ipip": ("ipip",), "wireguard": ("wireguard",),
                "host-gw": (), "bgp": ()}
# Interfaces the CNIs create on a node, by name: their MTU is the pod (or tunnel) MTU.
TUNNEL_PREFIXES = ("flannel.", "vxlan.calico", "tunl0", "wireguard.cali", "flannel-wg", "cilium_vxlan")
POD_PREFIXES = ("cni0", "cali", "veth", "lxc", "cbr0", "docker0")


@dataclass(frozen=True, slots=True)
class Interface:
    name: str
    mtu: int
    devtype: str = ""  # DEVTYPE from uevent: bridge, vxlan, wireguard... ("" for plain NICs)


@dataclass(frozen=True, slots=True)
class NodeReadings:
    """Everything ``podnet.host.node`` read, with where it read it."""

    hostname: str
    cpus: int
    sysctls: dict[str, int | None]  # dotted name -> value, None when the file is absent
    features: dict[str, tuple[str, str]]  # module -> (state, evidence); state: loaded,
    #                                        built-in, not loaded, absent
    interfaces: tuple[Interface, ...]
    default_route_interface: str | None
    conntrack_stats: dict[str, int] | None  # /proc/net/stat/nf_conntrack, summed over CPUs
    rule_counts: dict[str, int | str] = field(default_factory=dict)  # tool -> rules, or why not
    hashsize: int | None = None  # /sys/module/nf_conntrack/parameters/hashsize

    def to_json(self) -> dict[str, Any]:
        return {"hostname": self.hostname, "cpus": self.cpus,
                "sysctls": dict(sorted(self.sysctls.items())),
                "features": {k: {"state": s, "evidence": e}
                             for k, (s, e) in sorted(self.features.items())},
                "interfaces": {i.name: {"mtu": i.mtu, "type": i.devtype}
                               for i in sorted(self.interfaces, key=lambda i: i.name)},
                "defaultRouteInterface": self.default_route_interface,
                "conntrackStats": (dict(sorted(self.conntrack_stats.items()))
                                   if self.conntrack_stats is not None else None),
                "conntrackHashsize": self.hashsize,
                "ruleCounts": dict(sorted(self.rule_counts.items()))}


def _proc(name: str) -> str:
    return "/proc/sys/" + name.replace(".", "/")


def count_iptables_rules(save_output: str) -> int:
    """Rules in ``iptables-save`` output: its ``-A`` lines."""
    return sum(1 for line in save_output.splitlines() if line.startswith("-A "))


def count_nft_rules(ruleset: str) -> int:
    """Rules in ``nft list ruleset``: the statements inside chain blocks, not a base chain's
    ``type ... hook ...; policy ...;`` line and not sets, maps or their elements."""
    rules, depth, chain_depth = 0, 0, -1
    for raw in ruleset.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("}"):
            if depth == chain_depth:
                chain_depth = -1
            depth -= 1
            continue
        in_chain = depth == chain_depth
        if line.startswith("chain ") and line.endswith("{"):
            depth += 1
            chain_depth = depth
            continue
        if in_chain and not line.startswith(("type ", "policy ", "comment ", "devices ")):
            rules += 1  # a rule; one that opens a multi-line set still counts once
        if line.endswith("{"):
            depth += 1
    return rules


def node_findings(r: NodeReadings, cni: str | None = None) -> list[Finding]:
    obj = f"node {r.hostname}"
    out: list[Finding] = []
    out += _forwarding(r, obj, cni)
    out += _rp_filter(r, obj)
    out += _conntrack(r, obj)
    out += _mtu(r, cni)
    out += _features(r, obj, cni)
    out += _rules(r, obj)
    return out


def _forwarding(r: NodeReadings, obj: str, cni: str | None) -> list[Finding]:
    out = []
    name = "net.ipv4.ip_forward"
    fwd = r.sysctls.get(name)
    ev = f"{_proc(name)} = {fwd}"
    if fwd == 1:
        out.append(host_finding("node-ip-forward", "info", obj, name, "IPv4 forwarding is on", ev))
    else:
        out.append(host_finding("node-ip-forward", "error", obj, name,
                           "IPv4 forwarding is off: this node drops every packet between pods "
                           "and the network it would route (the one sysctl Kubernetes' container "
                           "runtime prerequisites still list)", ev,
                           "sysctl -w net.ipv4.ip_forward=1 and persist it in /etc/sysctl.d/ "
                           "(most CNIs set it themselves when they start)"))
    name = "net.bridge.bridge-nf-call-iptables"
    bridged = cni in ("vxlan", "host-gw")  # Flannel puts pods on the cni0 bridge
    value = r.sysctls.get(name)
    if value is None:
        sev = "warning" if bridged else "info"
        out.append(host_finding("node-bridge-nf-call-iptables", sev, obj, name,
                           "br_netfilter is not loaded: traffic between pods on one bridge does "
                           "not pass iptables, so Service NAT and policy for it are skipped"
                           + ("" if bridged else " (only matters for CNIs that bridge pods)"),
                           f"{_proc(name)} absent", "modprobe br_netfilter; "
                           "sysctl -w net.bridge.bridge-nf-call-iptables=1" if bridged else ""))
    elif value == 1:
        out.append(host_finding("node-bridge-nf-call-iptables", "info", obj, name,
                           "bridged traffic passes iptables", f"{_proc(name)} = 1"))
    else:
        out.append(host_finding("node-bridge-nf-call-iptables", "warning" if bridged else "info", obj,
                           name, "br_netfilter is loaded but bridged traffic skips iptables: "
                           "kube-proxy logs 'Missing br-netfilter module or unset sysctl "
                           "br-nf-call-iptables, proxy may not work as intended'",
                           f"{_proc(name)} = {value}",
                           "sysctl -w net.bridge.bridge-nf-call-iptables=1"))
    return out


def _rp_filter(r: NodeReadings, obj: str) -> list[Finding]:
    out = []
    meaning = {0: "off", 1: "strict", 2: "loose"}
    for scope in ("all", "default"):
        name = f"net.ipv4.conf.{scope}.rp_filter"
        v = r.sysctls.get(name)
        ev = f"{_proc(name)} = {v}"
        if v is None:
            out.append(host_finding("node-rp-filter", "info", obj, name, "not readable", ev))
        elif v == 1:
            out.append(host_finding(
                "node-rp-filter", "warning", obj, name,
                f"reverse-path filtering is strict in conf/{scope} (the maximum of conf/all and "
                "conf/<interface> applies): a packet that arrives on an interface other than the "
                "route back to its source is dropped, as tunnelled traffic on multi-NIC "
                "underlays and asymmetric routes do", ev,
                f"sysctl -w net.ipv4.conf.{scope}.rp_filter=2 (loose) where routing is asymmetric"))
        else:
            note = (" (Calico <= v3.11 Felix refused to start on loose; v3.12 and later do not)"
                    if v == 2 else "")
            out.append(host_finding("node-rp-filter", "info", obj, name,
                               f"reverse-path filtering is {meaning.get(v, str(v))} in "
                               f"conf/{scope}{note}", ev))
    return out


def _conntrack(r: NodeReadings, obj: str) -> list[Finding]:
    mx = r.sysctls.get("net.netfilter.nf_conntrack_max")
    count = r.sysctls.get("net.netfilter.nf_conntrack_count")
    buckets = r.sysctls.get("net.netfilter.nf_conntrack_buckets")
    if mx is None or count is None:
        return [host_finding("node-conntrack", "warning", obj, "net.netfilter.nf_conntrack_max",
                        "nf_conntrack is not loaded in this kernel: no connection table to read "
                        "(kube-proxy and every CNI's NAT load it; a node running them has it)",
                        "/proc/sys/net/netfilter/nf_conntrack_max absent")]
    out = []
    fill = count / mx if mx else 0.0
    ev = (f"nf_conntrack_count {count}, nf_conntrack_max {mx}, nf_conntrack_buckets {buckets}"
          + (f", hashsize {r.hashsize}" if r.hashsize is not None else ""))
    floor = max(KUBE_PROXY_MAX_PER_CORE * r.cpus, KUBE_PROXY_MIN)
    if mx and fill >= FILL_WARNING:
        sev = "error" if fill >= FILL_ERROR else "warning"
        out.append(host_finding("node-conntrack-fill", sev, obj, "net.netfilter.nf_conntrack_count",
                           f"the conntrack table is {fill:.0%} full: when it is full the kernel "
                           "drops packets of new connections ('nf_conntrack: table full, dropping "
                           "packet'); established ones keep working", ev,
                           f"raise net.netfilter.nf_conntrack_max (kube-proxy sets "
                           f"max(32768 x {r.cpus} CPUs, 131072) = {floor}) or find what opens "
                           "so many connections"))
    else:
        limit = "no limit (0)" if mx == 0 else f"{fill:.1%} full"
        out.append(host_finding("node-conntrack-fill", "info", obj, "net.netfilter.nf_conntrack_count",
                           f"conntrack table {limit}", ev))
    if mx and mx < floor:
        out.append(host_finding("node-conntrack-max", "info", obj, "net.netfilter.nf_conntrack_max",
                           f"nf_conntrack_max {mx} is below the {floor} kube-proxy writes on a "
                           f"{r.cpus}-CPU node (max(32768 x CPUs, 131072)); it will be raised "
                           "when kube-proxy starts", ev))
    if buckets and mx:
        out.append(host_finding("node-conntrack-buckets", "info", obj, "net.netfilter.nf_conntrack_buckets",
                           f"{mx / buckets:g} entries per hash bucket when full (each entry is "
                           "hashed twice, original and reply)", ev))
    stats = r.conntrack_stats or {}
    drops = {k: stats[k] for k in ("drop", "early_drop", "insert_failed") if stats.get(k)}
    if drops:
        out.append(host_finding("node-conntrack-drops", "warning", obj, "/proc/net/stat/nf_conntrack",
                           "conntrack has dropped packets since boot: 'drop' counts new "
                           "connections refused on a full table or an unresolved clash, "
                           "'insert_failed' clashes (parallel A/AAAA DNS queries over UDP)",
                           ", ".join(f"{k} {v}" for k, v in sorted(drops.items())),
                           "check the fill above; for insert_failed on DNS use "
                           "'options single-request-reopen' or NodeLocal DNSCache"))
    elif r.conntrack_stats is not None:
        out.append(host_finding("node-conntrack-drops", "info", obj, "/proc/net/stat/nf_conntrack",
                           "no conntrack drops since boot", "drop 0, early_drop 0, insert_failed 0"))
    out += _timeouts(r, obj)
    return out


def _timeouts(r: NodeReadings, obj: str) -> list[Finding]:
    out = []
    for name, kernel, kube, what in (
            ("net.netfilter.nf_conntrack_tcp_timeout_established", KERNEL_ESTABLISHED,
             KUBE_PROXY_ESTABLISHED, "an idle established connection keeps its entry"),
            ("net.netfilter.nf_conntrack_tcp_timeout_close_wait", KERNEL_CLOSE_WAIT,
             KUBE_PROXY_CLOSE_WAIT, "a half-closed connection keeps its entry (and its NAT)")):
        v = r.sysctls.get(name)
        if v is None:
            continue
        origin = ("the kernel default" if v == kernel else
                  "kube-proxy's value" if v == kube else "set by someone else")
        out.append(host_finding("node-conntrack-timeout", "info", obj, name,
                           f"{what} for {v} s: {origin} (kernel {kernel} s, kube-proxy {kube} s)",
                           f"{_proc(name)} = {v}"))
    return out


def _mtu(r: NodeReadings, cni: str | None) -> list[Finding]:
    out = []
    by_name = {i.name: i for i in r.interfaces}
    under = by_name.get(r.default_route_interface or "")
    overhead = OVERHEAD[cni] if cni else 0
    expected = under.mtu - overhead if under is not None and cni else None
    for i in sorted(r.interfaces, key=lambda i: i.name):
        obj, ev = f"interface {i.name}", f"/sys/class/net/{i.name}/mtu = {i.mtu}"
        if i.name == "lo":
            continue
        if i is under:
            extra = (f"; a {cni} pod MTU should be {i.mtu} - {overhead} = {expected}"
                     if cni else "")
            out.append(host_finding("node-mtu", "info", obj, "mtu",
                               f"underlay (default route) MTU {i.mtu}{extra}", ev))
            continue
        cni_made = i.name.startswith(TUNNEL_PREFIXES + POD_PREFIXES)
        if expected is None or not cni_made:
            role = "a CNI interface" if cni_made else "not a CNI interface"
            out.append(host_finding("node-mtu", "info", obj, "mtu", f"MTU {i.mtu} ({role})", ev))
        elif i.mtu > expected:
            out.append(host_finding("node-mtu", "error", obj, "mtu",
                               f"MTU {i.mtu} exceeds the {expected} a {cni} path carries "
                               f"(underlay {under.mtu if under else '?'} - {overhead}): "
                               "full-size packets are fragmented, or dropped when DF is set and "
                               "the ICMP 'fragmentation needed' is lost", ev,
                               f"set the CNI's MTU to {expected} (Flannel derives it from the "
                               "underlay; Calico: veth_mtu in calico-config)"))
        elif i.mtu < expected:
            out.append(host_finding("node-mtu", "info", obj, "mtu",
                               f"MTU {i.mtu} is below the {expected} a {cni} path carries: safe, "
                               f"{expected - i.mtu} bytes per packet unused", ev))
        else:
            out.append(host_finding("node-mtu", "info", obj, "mtu",
                               f"MTU {i.mtu} matches {cni} (underlay - {overhead})", ev))
    if cni and under is None:
        out.append(host_finding("node-mtu", "warning", f"node {r.hostname}", "mtu",
                           "no default route: the underlay interface, and so the expected pod "
                           "MTU, is unknown", "/proc/net/route has no 0.0.0.0/0 entry"))
    return out


def _features(r: NodeReadings, obj: str, cni: str | None) -> list[Finding]:
    out = []
    needed = set(CNI_FEATURES.get(cni or "", ()))
    for name in sorted(r.features):
        state, ev = r.features[name]
        present = state in ("loaded", "built-in")
        if present:
            out.append(host_finding("node-kernel-feature", "info", obj, name,
                               f"{name} is {state} ({FEATURES.get(name, '')})", ev))
        elif name in needed:
            out.append(host_finding("node-kernel-feature", "error" if state == "absent" else "info",
                               obj, name, f"{name} is {state}, and --cni {cni} needs it "
                               f"({FEATURES.get(name, '')})" + (
                                   "; the kernel loads it on demand" if state == "not loaded"
                                   else ""), ev,
                               "" if state == "not loaded" else "use a kernel built with it"))
        else:
            out.append(host_finding("node-kernel-feature", "info", obj, name,
                               f"{name} is {state} (needed for {FEATURES.get(name, '')})", ev))
    return out


def _rules(r: NodeReadings, obj: str) -> list[Finding]:
    out = []
    for tool in sorted(r.rule_counts):
        v = r.rule_counts[tool]
        if isinstance(v, int):
            note = (" (iptables-nft rules are nf_tables rules: `nft list ruleset` counts them too)"
                    if tool == "nft" else "")
            out.append(host_finding("node-rule-count", "info", obj, tool,
                               f"{v} rules{note}", f"{tool}: {v} rules"))
        else:
            out.append(host_finding("node-rule-count", "info", obj, tool, f"not counted: {v}", v))
    return out
