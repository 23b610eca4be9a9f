"""ServicePlans → the nft script kube-proxy's nftables mode loads, for one node.

Reproduces ``pkg/proxy/nftables/proxier.go`` of the generation the anchors quote
(``filter-prerouting-pre-dnat`` at priority -110, NodePorts on the ``nodeport-ips`` set): one
``table ip kube-proxy``; dispatch through the ``service-ips`` / ``service-nodeports`` verdict
maps, so a new connection costs one map lookup whatever the number of Services; endpoint
choice by ``numgen random mod N vmap``; ClientIP affinity with a dynamic set per endpoint;
``no-endpoint-services`` / ``no-endpoint-nodeports`` for REJECT (``goto reject-chain``) and
DROP. Chain names are ``<prefix><base32(sha256(name))[:8]>-<name>``.

The text is kube-proxy's first full-sync transaction without the ``flush`` commands (they are
no-ops on a fresh table): base objects first, then, service port by service port in name
order, its chains, map elements and rules, each chain declared before anything names it, so
``nft -f`` loads it as is.
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet import names
from podnet.gcpause import gc_paused
from podnet.services.categorize import NodeView, allowed_sources, view
from podnet.services.resolve import EndpointPlan, ServicePlan

TABLE = "ip kube-proxy"
MASQ_MARK = "0x4000"


@dataclass(frozen=True, slots=True)
class NftablesOptions:
    node: str
    node_ip: str
    cluster_cidr: str  # the local-traffic detector
    service_cidr: str  # unallocated ClusterIPs in it are dropped
    # the addresses accepting NodePorts (``podnet.services.nodeports``); None: node_ip only
    node_port_ips: tuple[str, ...] | None = None


def service_base(plan: ServicePlan) -> str:
    return names.nft_service_base(plan.namespace, plan.name, plan.protocol, plan.port_name)


def endpoint_chain(plan: ServicePlan, ep: EndpointPlan) -> str:
    return names.nft_endpoint_chain(plan.namespace, plan.name, plan.protocol, plan.port_name,
                                    ep.ip, ep.port)


def base_ruleset(opts: NftablesOptions) -> list[str]:
    t = TABLE
    vm = "ipv4_addr . inet_proto . inet_service : verdict"
    return [
        f'add table {t} {{ comment "rules for kube-proxy" ; }}',
        f'add set {t} cluster-ips {{ type ipv4_addr ; comment "Active ClusterIPs" ; }}',
        f'add set {t} nodeport-ips {{ type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }}',
        f'add map {t} firewall-ips {{ type {vm} ; comment "destinations that are subject to '
        'LoadBalancerSourceRanges" ; }',
        f"add map {t} no-endpoint-nodeports {{ type inet_proto . inet_service : verdict ; comment "
        '"vmap to drop or reject packets to service nodeports with no endpoints" ; }',
        f'add map {t} no-endpoint-services {{ type {vm} ; comment "vmap to drop or reject packets to '
        'services with no endpoints" ; }',
        f'add map {t} service-ips {{ type {vm} ; comment "ClusterIP, ExternalIP and LoadBalancer IP '
        'traffic" ; }',
        f'add map {t} service-nodeports {{ type inet_proto . inet_service : verdict ; comment '
        '"NodePort traffic" ; }',
        f"add chain {t} cluster-ips-check",
        f"add chain {t} filter-prerouting-pre-dnat {{ type filter hook prerouting priority -110 ; }}",
        f"add chain {t} filter-output-pre-dnat {{ type filter hook output priority -110 ; }}",
        f"add chain {t} filter-forward {{ type filter hook forward priority 0 ; }}",
        f"add chain {t} filter-input {{ type filter hook input priority 0 ; }}",
        f"add chain {t} filter-output {{ type filter hook output priority 0 ; }}",
        f"add chain {t} firewall-check",
        f"add chain {t} mark-for-masquerade",
        f"add chain {t} masquerading",
        f"add chain {t} nat-output {{ type nat hook output priority -100 ; }}",
        f"add chain {t} nat-postrouting {{ type nat hook postrouting priority 100 ; }}",
        f"add chain {t} nat-prerouting {{ type nat hook prerouting priority -100 ; }}",
        f"add chain {t} nodeport-endpoints-check",
        f'add chain {t} reject-chain {{ comment "helper for @no-endpoint-services / '
        '@no-endpoint-nodeports" ; }',
        f"add chain {t} services",
        f"add chain {t} service-endpoints-check",
        f'add rule {t} cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to '
        'invalid ports of ClusterIPs"',
        f"add rule {t} cluster-ips-check ip daddr {{ {opts.service_cidr} }} drop comment "
        '"Drop traffic to unallocated ClusterIPs"',
        f"add rule {t} filter-prerouting-pre-dnat ct state new jump firewall-check",
        f"add rule {t} filter-forward ct state new jump service-endpoints-check",
        f"add rule {t} filter-forward ct state new jump cluster-ips-check",
        f"add rule {t} filter-input ct state new jump nodeport-endpoints-check",
        f"add rule {t} filter-input ct state new jump service-endpoints-check",
        f"add rule {t} filter-output ct state new jump service-endpoints-check",
        f"add rule {t} filter-output-pre-dnat ct state new jump firewall-check",
        f"add rule {t} filter-output ct state new jump cluster-ips-check",
        f"add rule {t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips",
        f"add rule {t} mark-for-masquerade mark set mark or {MASQ_MARK}",
        f"add rule {t} masquerading mark and {MASQ_MARK} == 0 return",
        f"add rule {t} masquerading mark set mark xor {MASQ_MARK}",
        f"add rule {t} masquerading masquerade fully-random",
        f"add rule {t} nat-output jump services",
        f"add rule {t} nat-postrouting jump masquerading",
        f"add rule {t} nat-prerouting jump services",
        f"add rule {t} nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap "
        "@no-endpoint-nodeports",
        f"add rule {t} reject-chain reject",
        f"add rule {t} services ip daddr . meta l4proto . th dport vmap @service-ips",
        f"add rule {t} services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports",
        *(f"add element {t} nodeport-ips {{ {ip} }}"
          for ip in ((opts.node_ip,) if opts.node_port_ips is None else opts.node_port_ips)),
        f"add rule {t} service-endpoints-check ip daddr . meta l4proto . th dport vmap "
        "@no-endpoint-services",
    ]


def _verdict(what: str) -> str:
    return "goto reject-chain" if what == "reject" else "drop"


def _service(out: list[str], v: NodeView, opts: NftablesOptions) -> None:
    plan = v.plan
    t, proto, base = TABLE, plan.protocol.lower(), service_base(plan)
    svc, local, ext, fw = names.nft_service_chains(base)
    internal_chain = local if plan.internal_local else svc
    ext_policy_chain = local if plan.external_local else svc
    eps = {e: endpoint_chain(plan, e) for e in v.reachable}
    key = f"{proto} . {plan.port}"
    comment = f'comment "{plan.spn}"'

    out += [f"add chain {t} {c}" for c in eps.values()]
    if v.uses_cluster_chain:
        out.append(f"add chain {t} {svc}")
    if v.uses_local_chain:
        out.append(f"add chain {t} {local}")
    if v.uses_ext_chain:
        out.append(f"add chain {t} {ext}")
    if v.uses_fw:
        out.append(f"add chain {t} {fw}")

    out.append(f"add element {t} cluster-ips {{ {plan.cluster_ip} }}")
    if v.has_internal:
        out.append(f"add element {t} service-ips {{ {plan.cluster_ip} . {key} : goto {internal_chain} }}")
    else:
        out.append(f"add element {t} no-endpoint-services {{ {plan.cluster_ip} . {key} {comment} : "
                   f"{_verdict(v.internal_filter)} }}")
    for ip in plan.external_ips:
        if v.has_eps:
            out.append(f"add element {t} service-ips {{ {ip} . {key} : goto {ext} }}")
        if not v.has_external:
            out.append(f"add element {t} no-endpoint-services {{ {ip} . {key} {comment} : "
                       f"{_verdict(v.external_filter)} }}")
    for ip in plan.load_balancer_ips:
        if v.has_eps:
            out.append(f"add element {t} service-ips {{ {ip} . {key} : goto {ext} }}")
        if v.uses_fw:
            out.append(f"add element {t} firewall-ips {{ {ip} . {key} : goto {fw} }}")
    if not v.has_external:
        out += [f"add element {t} no-endpoint-services {{ {ip} . {key} {comment} : "
                f"{_verdict(v.external_filter)} }}" for ip in plan.load_balancer_ips]
    if plan.node_port:
        np_key = f"{proto} . {plan.node_port}"
        if v.has_eps:
            out.append(f"add element {t} service-nodeports {{ {np_key} : goto {ext} }}")
        if not v.has_external:
            out.append(f"add element {t} no-endpoint-nodeports {{ {np_key} {comment} : "
                       f"{_verdict(v.external_filter)} }}")

    if v.has_internal:
        out.append(f"add rule {t} {internal_chain} ip daddr {plan.cluster_ip} ip saddr != "
                   f"{opts.cluster_cidr} jump mark-for-masquerade")
    if v.uses_ext_chain:
        if not plan.external_local:
            out.append(f"add rule {t} {ext} jump mark-for-masquerade")
        else:
            out += [f'add rule {t} {ext} ip saddr {opts.cluster_cidr} goto {svc} comment '
                    '"short-circuit pod traffic"',
                    f'add rule {t} {ext} fib saddr type local jump mark-for-masquerade comment '
                    '"masquerade local traffic"',
                    f'add rule {t} {ext} fib saddr type local goto {svc} comment '
                    '"short-circuit local traffic"']
        if v.has_external:
            out.append(f"add rule {t} {ext} goto {ext_policy_chain}")
    if v.uses_fw:
        allowed = " , ".join(allowed_sources(plan, opts.node_ip))
        out.append(f"add rule {t} {fw} ip saddr != {{ {allowed} }} drop")
    if plan.affinity_timeout is not None:
        out += [f"add set {t} affinity-{c.removeprefix('endpoint-')} {{ type ipv4_addr ; flags "
                f"dynamic,timeout ; timeout {plan.affinity_timeout}s ; }}" for c in eps.values()]
    if v.uses_cluster_chain:
        _dispatch(out, plan, svc, [eps[e] for e in v.cluster_eps])
    if v.uses_local_chain:
        _dispatch(out, plan, local, [eps[e] for e in v.local_eps])
    for e, chain in eps.items():
        out.append(f"add rule {t} {chain} ip saddr {e.ip} jump mark-for-masquerade")
        if plan.affinity_timeout is not None:
            out.append(f"add rule {t} {chain} update @affinity-{chain.removeprefix('endpoint-')} "
                       "{ ip saddr }")
        out.append(f"add rule {t} {chain} meta l4proto {proto} dnat to {e.ip}:{e.port}")


def _dispatch(out: list[str], plan: ServicePlan, chain: str, targets: list[str]) -> None:
    if plan.affinity_timeout is not None:
        out += [f"add rule {TABLE} {chain} ip saddr @affinity-{c.removeprefix('endpoint-')} goto {c}"
                for c in targets]
    vmap = " , ".join(f"{i} : goto {c}" for i, c in enumerate(targets))
    out.append(f"add rule {TABLE} {chain} numgen random mod {len(targets)} vmap {{ {vmap} }}")


@gc_paused
def render_nftables(plans: tuple[ServicePlan, ...], opts: NftablesOptions) -> str:
    out = base_ruleset(opts)
    for plan in plans:
        _service(out, view(plan, opts.node), opts)
    return "\n".join(out) + "\n"
