"""DNS findings: egress policies that cut pods off from the cluster DNS, and the queries the
search list costs for every external name (ndots)."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.dns.resolvconf import ResolvConf, dns_service_ip, resolv_conf
from podnet.dns.resolver import external_lookup
from podnet.doctor.context import Context, Group
from podnet.doctor.finding import Finding, check, object_name, to_yaml
from podnet.model.objects import Pod
from podnet.policy.matcher import Target
from podnet.policy.verdict import peer_matches, rule_ports
from podnet.services.resolve import EndpointPlan

DNS_SERVICE = ("kube-system", "kube-dns")
EXTERNAL_NAME = "google.com"  # the seeds' example: one dot, as most external API hosts have


def _dns_endpoints(ctx: Context, protocol: str) -> list[EndpointPlan]:
    ns, name = DNS_SERVICE
    return [e for p in ctx.analysis.plans if (p.namespace, p.name) == (ns, name)
            and p.protocol == protocol and p.port == 53 for e in p.endpoints]


def _uses_cluster_dns(pod: Pod) -> bool:
    if pod.host_network:
        return False  # policy does not apply to it anyway
    return pod.dns_policy in ("ClusterFirst", "ClusterFirstWithHostNet")


def _reaches(ctx: Context, targets: tuple[Target, ...], ep: EndpointPlan, protocol: str) -> bool:
    dst = ctx.cluster.pod(ep.pod) if ep.pod else None
    endpoint = dst if dst is not None else ep.ip
    ns_labels = ctx.analysis.evaluator.ns_labels
    ipblocks = ctx.analysis.compiled.ipblock_matches_pods
    for t in targets:
        for rule in t.rules:
            if any(peer_matches(pm, endpoint, ns_labels, ipblocks) for pm in rule.peers):
                if rule_ports(rule, endpoint).allows(protocol, ep.port):
                    return True
    return False


def _any_rule_allows_53(targets: tuple[Target, ...], protocol: str) -> bool:
    """Without DNS endpoints in the input: does any rule let port 53 out to anything? (A named
    port might be the DNS port, so it counts: no finding without certainty.)"""
    for t in targets:
        for rule in t.rules:
            if not rule.ports or any(p.protocol == protocol and (
                    p.port is None or isinstance(p.port, str)
                    or p.port <= 53 <= (p.end_port or p.port)) for p in rule.ports):
                return True
    return False


def _dns_selector(ctx: Context) -> dict[str, str]:
    svc = next((s for s in ctx.cluster.services if (s.namespace, s.name) == DNS_SERVICE), None)
    return dict(svc.selector) if svc is not None and svc.selector else {"k8s-app": "kube-dns"}


def _dns_fix(ctx: Context, ns: str) -> str:
    """The allow-dns policy for ``ns`` (one YAML text, the namespace put in: a DNS label)."""
    def build() -> str:
        return to_yaml({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                        "metadata": {"name": "allow-dns", "namespace": "NAMESPACE"},
                        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{
                            "to": [{"namespaceSelector": {"matchLabels": {
                                "kubernetes.io/metadata.name": DNS_SERVICE[0]}},
                                "podSelector": {"matchLabels": _dns_selector(ctx)}}],
                            "ports": [{"protocol": "UDP", "port": 53},
                                      {"protocol": "TCP", "port": 53}]}]}})
    return ctx.memo("dns.fix", build).replace("namespace: NAMESPACE", f"namespace: {ns}", 1)


@check("egress-blocks-dns",
       summary="Egress-isolated pods with no rule allowing UDP/TCP 53 to the cluster DNS: "
               "they cannot resolve names.",
       example="pods in namespace shop cannot resolve names: egress default-deny "
               "(shop/deny-all) with no rule to UDP port 53 of the cluster DNS")
def egress_blocks_dns(ctx: Context) -> Iterator[Finding]:
    endpoints = {proto: _dns_endpoints(ctx, proto) for proto in ("UDP", "TCP")}
    cache: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, tuple[int, int]]] = {}
    for g in ctx.groups:
        pod = g.first
        if not _uses_cluster_dns(pod):
            continue
        targets = ctx.selecting("egress", pod)
        if not targets:
            continue
        key = (pod.namespace, tuple(pod.labels.items()))
        if key not in cache:
            reach: dict[str, tuple[int, int]] = {}
            for proto, eps in endpoints.items():
                if eps:
                    reach[proto] = (sum(_reaches(ctx, targets, e, proto) for e in eps), len(eps))
                else:
                    reach[proto] = (1, 1) if _any_rule_allows_53(targets, proto) else (0, 0)
            cache[key] = reach
        reach = cache[key]
        udp_ok, udp_all = reach["UDP"]
        tcp_ok, tcp_all = reach["TCP"]
        if udp_ok and udp_ok == udp_all and tcp_ok and tcp_ok == tcp_all:
            continue
        policies = ", ".join(t.policy for t in targets)
        dns = ", ".join(e.pod or e.ip for e in endpoints["UDP"][:4]) or "port 53 anywhere"
        evidence = {"egressPolicies": [t.policy for t in targets], "pods": len(g.pods),
                    "dnsEndpointsReachable": {"UDP": f"{udp_ok}/{udp_all}",
                                              "TCP": f"{tcp_ok}/{tcp_all}"},
                    "dnsEndpoints": [e.address for e in endpoints["UDP"]]}
        if not udp_ok:
            severity = "error"
            message = (f"{g.describe()} cannot resolve names: egress isolated by {policies} with "
                       f"no rule to UDP port 53 of the cluster DNS ({dns}); every lookup times out")
        elif udp_ok < udp_all:
            severity = "error"
            message = (f"{g.describe()} fail {udp_all - udp_ok} of {udp_all} DNS lookups: egress "
                       f"({policies}) allows UDP 53 to only {udp_ok} of the {udp_all} cluster DNS "
                       "endpoints, and kube-proxy picks one at random per query")
        else:
            severity = "warning"
            message = (f"{g.describe()} resolve over UDP only: egress ({policies}) has no rule to "
                       f"TCP port 53 of the cluster DNS, so answers too large for UDP (truncated, "
                       "retried over TCP) fail")
        yield Finding("egress-blocks-dns", severity, g.object, g.source, "spec.policyTypes",
                      message, evidence, _dns_fix(ctx, pod.namespace))


@check("ndots-amplification",
       summary="Every lookup of an external name first walks the pod's search list: queries "
               "that the cluster DNS answers NXDOMAIN before the real one.",
       example="a lookup of google.com from pods in namespace shop sends 8 queries, 6 of them "
               "NXDOMAIN (ndots:5, 3 search domains): 4 names tried before an answer")
def ndots_amplification(ctx: Context) -> Iterator[Finding]:
    cluster_dns = dns_service_ip(ctx.cluster)
    rcs: dict[tuple[object, ...], ResolvConf] = {}
    by_namespace: dict[str, list[Group]] = {}
    for g in ctx.groups:
        pod = g.first
        key = (pod.namespace, pod.dns_policy, pod.dns_config, pod.host_network)
        if key not in rcs:
            rcs[key] = resolv_conf(ctx.cluster, pod, cluster_dns=cluster_dns)
        rc = rcs[key]
        if cluster_dns not in rc.nameservers:
            continue
        if pod.dns_config is None:
            by_namespace.setdefault(pod.namespace, []).append(g)
            continue
        names, queries, wasted = external_lookup(rc, EXTERNAL_NAME)
        if not wasted:
            continue
        given = dict(pod.dns_config.options).get("ndots")
        note = (f" (its dnsConfig ndots:{given} does not make {EXTERNAL_NAME} absolute: "
                f"{EXTERNAL_NAME.count('.')} dot < {rc.ndots})"
                if given is not None and EXTERNAL_NAME.count(".") < rc.ndots else "")
        yield _finding(g.object, g, rc, names, queries, wasted, f"{g.describe()}{note}")
    for ns, groups in sorted(by_namespace.items()):
        pod = groups[0].first
        rc = rcs[(ns, pod.dns_policy, None, pod.host_network)]
        names, queries, wasted = external_lookup(rc, EXTERNAL_NAME)
        if wasted:
            yield _finding(object_name("Namespace", "", ns), groups[0], rc, names, queries, wasted,
                           f"pods in namespace {ns}", workloads=[g.object for g in groups])


def _finding(obj: str, g: Group, rc: ResolvConf, names: int, queries: int, wasted: int,
             who: str, workloads: list[str] | None = None) -> Finding:
    template = {"Pod": "spec", "CronJob": "spec.jobTemplate.spec.template.spec"}.get(
        g.source.kind, "spec.template.spec")
    evidence: dict[str, object] = {
        "name": EXTERNAL_NAME, "ndots": rc.ndots, "searchDomains": list(rc.searches),
        "namesTried": names, "queries": queries, "nxdomainQueries": wasted,
        "libc": "glibc (A and AAAA per name)"}
    if workloads is not None:
        evidence["workloads"] = workloads[:20]
        evidence["workloadCount"] = len(workloads)
    return Finding(
        "ndots-amplification", "info", obj, g.source, f"{template}.dnsConfig",
        f"a lookup of {EXTERNAL_NAME} from {who} sends {queries} queries, {wasted} of them "
        f"answered NXDOMAIN by the cluster DNS (ndots:{rc.ndots}, {len(rc.searches)} search "
        f"domains): {names} names tried, {names - 1} of them before the real one",
        evidence,
        f"write external names fully qualified ({EXTERNAL_NAME}.), or lower ndots so a name "
        "with a dot is tried as is first (in-cluster names like svc.namespace still resolve "
        "through the search list, one query later):\n"
        + to_yaml(_pod_spec_patch(g, {"dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}})))


def _pod_spec_patch(g: Group, spec: dict[str, object]) -> dict[str, object]:
    if g.source.kind == "Pod":
        return {"spec": spec}
    if g.source.kind == "CronJob":
        return {"spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}
    return {"spec": {"template": {"spec": spec}}}
