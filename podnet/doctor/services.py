"""Service findings: NodePorts open on every node, Services whose selector or ports give them no
endpoints, externalTrafficPolicy Local on nodes without an endpoint, and the per-connection cost
of kube-proxy's iptables mode at scale."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.doctor.context import Context
from podnet.doctor.finding import Finding, check, to_yaml
from podnet.errors import SourceRef
from podnet.model.objects import Service
from podnet.model.selectors import selector
from podnet.services.categorize import view
from podnet.services.resolve import ServicePlan

# docs/benchmarks.md, "New connections to a ClusterIP": the rate difference between the first
# and the last Service, per KUBE-SERVICES rule walked (28 ns at 1,000 Services, 21 at 5,000 and
# 10,000), measured in the lab with the real kernel.
NS_PER_RULE = 21
# Where the measured cost starts to show (the last of 1,000 Services lost 28% of its new
# connection rate) and where the seeds say iptables breaks down (5,000 Services).
IPTABLES_NOTICE, IPTABLES_WARN = 1000, 5000


def _plans_by_service(ctx: Context) -> dict[str, list[ServicePlan]]:
    out: dict[str, list[ServicePlan]] = {}
    for p in ctx.analysis.plans:
        out.setdefault(f"{p.namespace}/{p.name}", []).append(p)
    return out


def _ports(plans: list[ServicePlan]) -> str:
    return ", ".join(f"{p.port}/{p.protocol}" for p in plans)


@check("nodeport-exposed",
       summary="A NodePort Service opens its port on every node of the cluster.",
       example="NodePort 30080/TCP of shop/web is open on all 3 nodes (10.0.0.1, 10.0.0.2, "
               "10.0.0.3): anyone who reaches a node reaches the Service")
def nodeport_exposed(ctx: Context) -> Iterator[Finding]:
    nodes = [n.internal_ip or n.name for n in ctx.cluster.nodes]
    by_service = _plans_by_service(ctx)
    for svc in ctx.cluster.services:
        plans = [p for p in by_service.get(svc.key, ()) if p.node_port]
        if not plans:
            continue
        ports = ", ".join(f"{p.node_port}/{p.protocol}" for p in plans)
        evidence = {"nodePorts": [f"{p.node_port}/{p.protocol}" for p in plans],
                    "nodes": len(nodes), "nodeAddresses": nodes[:10]}
        shown = ", ".join(nodes[:5]) + (", ..." if len(nodes) > 5 else "")
        if svc.type == "NodePort":
            yield Finding(
                "nodeport-exposed", "warning", svc.source.object(), svc.source, "spec.type",
                f"NodePort {ports} of {svc.key} is open on all {len(nodes)} nodes ({shown}): "
                "anyone who reaches a node's address reaches the Service, and every node "
                "forwards to its endpoints",
                evidence,
                "expose it through an Ingress (one entry point, TLS, host routing) and make the "
                "Service internal:\n" + to_yaml({"spec": {"type": "ClusterIP"}}))
        else:  # a LoadBalancer: MetalLB and most controllers need no NodePort
            yield Finding(
                "nodeport-exposed", "info", svc.source.object(), svc.source,
                "spec.allocateLoadBalancerNodePorts",
                f"LoadBalancer {svc.key} also opens NodePort {ports} on all {len(nodes)} nodes "
                f"({shown}); a load balancer that sends to the endpoints directly (MetalLB) "
                "does not need them",
                evidence, to_yaml({"spec": {"allocateLoadBalancerNodePorts": False}}))


def _selector_misses(ctx: Context, svc: Service) -> bool:
    sel = selector(svc.selector)
    return not (ctx.any_pod(svc.namespace, sel) or ctx.any_pod(svc.namespace, sel, True))


@check("selector-matches-nothing",
       summary="A Service whose selector matches no pod: connections to it are refused.",
       example="connections to shop/api (10.96.0.20) are refused: its selector app=api-v2 "
               "matches no pod in namespace shop")
def selector_matches_nothing(ctx: Context) -> Iterator[Finding]:
    for svc in ctx.cluster.services:
        if svc.type == "ExternalName" or not svc.selector or not _selector_misses(ctx, svc):
            continue
        sel = selector(svc.selector)
        carried: dict[str, list[str]] = {}
        for labels in ctx.label_sets.get((svc.namespace, False), ()):
            for k in svc.selector:
                if k in labels:
                    carried.setdefault(k, []).append(labels[k])
        hint = "; ".join(f"pods carry {k}={', '.join(sorted(set(v))[:5])}"
                         for k, v in sorted(carried.items()))
        what = ("its DNS name has no addresses" if svc.headless
                else f"connections to {svc.cluster_ip} are refused (kube-proxy rejects them)")
        yield Finding(
            "selector-matches-nothing", "warning", svc.source.object(), svc.source,
            "spec.selector",
            f"{svc.key} has no endpoints, so {what}: its selector {sel.describe()} matches no pod "
            f"in namespace {svc.namespace}" + (f" ({hint})" if hint else ""),
            {"selector": dict(svc.selector), "labelValuesInNamespace":
             {k: sorted(set(v))[:10] for k, v in carried.items()}},
            f"kubectl get pods -n {svc.namespace} --show-labels   # and correct spec.selector")


@check("service-without-endpoints",
       summary="A Service port with no ready endpoint although its selector matches pods "
               "(not ready, or a named targetPort the pods do not declare).",
       example="connections to shop/web:80/TCP are refused: targetPort 'http' is not a "
               "containerPort name of the 3 pods its selector matches")
def service_without_endpoints(ctx: Context) -> Iterator[Finding]:
    groups = {f"{g.namespace}/{g.service}" for g in ctx.cluster.endpoint_groups}
    for svc_key, plans in sorted(_plans_by_service(ctx).items()):
        empty = [p for p in plans if not p.endpoints]
        if not empty:
            continue
        svc = next(s for s in ctx.cluster.services if s.key == svc_key)
        if svc.selector is None:
            given = svc_key in groups
            draining = [p for p in empty if p.terminating]
            if draining:
                # kube-proxy falls back to serving, terminating endpoints: not refused yet
                yield Finding(
                    "service-without-endpoints", "warning", svc.source.object(), svc.source,
                    "spec.selector",
                    f"{svc_key} ({_ports(draining)}) has no ready endpoint: kube-proxy sends its "
                    "connections to endpoints that are terminating "
                    f"({', '.join(e.address for e in draining[0].terminating)}), and refuses "
                    "them once those are gone",
                    {"ports": [f"{p.port}/{p.protocol}" for p in draining],
                     "terminating": [e.address for e in draining[0].terminating]},
                    f"kubectl get endpointslices -n {svc.namespace} "
                    f"-l kubernetes.io/service-name={svc.name}")
                empty = [p for p in empty if not p.terminating]
                if not empty:
                    continue
            yield Finding(
                "service-without-endpoints", "warning" if given else "info",
                svc.source.object(), svc.source, "spec.selector",
                f"connections to {svc_key} ({_ports(empty)}) are refused: it has no selector, and "
                + ("the Endpoints/EndpointSlices given for it list no ready address for these "
                   "ports" if given else "no Endpoints or EndpointSlice for it is in the input"),
                {"ports": [f"{p.port}/{p.protocol}" for p in empty], "endpointsGiven": given},
                f"kubectl get endpointslices -n {svc.namespace} "
                f"-l kubernetes.io/service-name={svc.name}")
            continue
        if _selector_misses(ctx, svc):
            continue  # selector-matches-nothing says so
        matched = [p for p in ctx.cluster.pods if svc.selects(p)]
        ready = [p for p in matched if p.ip and (p.ready or svc.publish_not_ready)]
        for plan in empty:
            sp = next(sp for sp in svc.ports if (sp.name, sp.port, sp.protocol)
                      == (plan.port_name, plan.port, plan.protocol))
            index = svc.ports.index(sp)
            if not ready:
                severity, field = "warning", "spec.selector"
                why = f"none of the {len(matched)} pods its selector matches is ready"
                fix = f"kubectl get pods -n {svc.namespace} -l {selector(svc.selector).describe()}"
            else:
                severity, field = "error", f"spec.ports[{index}].targetPort"
                names = sorted({cp.name for p in ready for cp in p.ports if cp.name})
                why = (f"targetPort {sp.target_port!r} is not a {sp.protocol} containerPort name "
                       f"of the {len(ready)} ready pods its selector matches (they name: "
                       f"{', '.join(names) or 'none'})")
                fix = to_yaml({"spec": {"ports": [{"port": sp.port, "protocol": sp.protocol,
                                                   "targetPort": names[0] if names else sp.port}]}})
            yield Finding(
                "service-without-endpoints", severity, svc.source.object(), svc.source, field,
                f"connections to {svc_key}:{plan.port}/{plan.protocol} are refused "
                f"(kube-proxy rejects them): {why}",
                {"port": f"{plan.port}/{plan.protocol}", "targetPort": sp.target_port,
                 "podsMatched": len(matched), "podsReady": len(ready)}, fix)


@check("local-policy-no-endpoint",
       summary="externalTrafficPolicy Local: external traffic that reaches a node without a "
               "local endpoint is dropped.",
       example="traffic to NodePort 31000/TCP of shop/web on oslo-2, oslo-3 is dropped: "
               "externalTrafficPolicy Local and its endpoints run on oslo-1 only")
def local_policy_no_endpoint(ctx: Context) -> Iterator[Finding]:
    nodes = [n.name for n in ctx.cluster.nodes]
    for svc_key, plans in sorted(_plans_by_service(ctx).items()):
        local = [p for p in plans if p.external_local and p.endpoints]
        if not local:
            continue
        with_eps = sorted({e.node for p in local for e in p.endpoints if e.node in nodes})
        without = [n for n in nodes if n not in with_eps]
        if not without:
            continue
        svc = next(s for s in ctx.cluster.services if s.key == svc_key)
        entries = [f"NodePort {p.node_port}/{p.protocol}" for p in local if p.node_port]
        entries += [f"external IP {ip}" for ip in svc.external_ips]
        lb = svc.type == "LoadBalancer" and any(p.load_balancer_ips for p in local)
        shown = ", ".join(without[:5]) + (", ..." if len(without) > 5 else "")
        message = (f"traffic to {', '.join(entries) or svc_key} on {shown} is dropped: "
                   f"externalTrafficPolicy Local and {svc_key} has endpoints on "
                   f"{', '.join(with_eps) or 'no node'} only")
        if lb:
            message += (" (its load-balancer address is announced by a node with an endpoint; "
                        "clients that use the NodePort directly are the ones dropped)")
        yield Finding(
            "local-policy-no-endpoint", "info" if lb else "warning", svc.source.object(),
            svc.source, "spec.externalTrafficPolicy", message,
            {"nodesWithEndpoints": with_eps, "nodesWithout": without,
             "entries": entries},
            "send clients only to nodes with an endpoint, run an endpoint on every node "
            "(a DaemonSet), or accept losing the client address:\n"
            + to_yaml({"spec": {"externalTrafficPolicy": "Cluster"}}))


def kube_services_rules(plans: tuple[ServicePlan, ...], node: str) -> int:
    """The rules of the nat table's KUBE-SERVICES on ``node`` that a new connection walks past
    (one per cluster IP with somewhere to go, one per external and load-balancer IP of a Service
    with endpoints), as ``services/iptables.py`` writes them, counted without rendering."""
    total = 0
    for plan in plans:
        v = view(plan, node)
        total += v.has_internal
        if v.has_eps:
            total += len(plan.external_ips) + len(plan.load_balancer_ips)
    return total


@check("iptables-at-scale",
       summary="kube-proxy in iptables mode walks KUBE-SERVICES rule by rule for every new "
               "connection: the cost grows with the number of Services.",
       example="with 10,000 KUBE-SERVICES rules a new connection walks 5,003 rules on average "
               "(~105 µs at 21 ns per rule); nftables mode does 2 map lookups")
def iptables_at_scale(ctx: Context) -> Iterator[Finding]:
    if ctx.cluster.net.proxy_mode != "iptables" or not ctx.cluster.nodes:
        return
    with_eps = [p for p in ctx.analysis.plans if p.endpoints]
    # a first cheap bound: each Service port with endpoints has a cluster-IP rule
    if len(with_eps) < IPTABLES_NOTICE:
        return
    node = ctx.cluster.nodes[0].name
    rules = kube_services_rules(ctx.analysis.plans, node)
    if rules < IPTABLES_NOTICE:
        return
    endpoints = sum(len(p.endpoints) for p in with_eps)
    chain = sum(1 + (len(p.endpoints) + 1) / 2 + 2 for p in with_eps) / len(with_eps)
    average = (rules + 1) / 2 + chain
    worst = rules + max(1 + (len(p.endpoints) + 1) / 2 + 2 for p in with_eps)
    cfg = ctx.proxy_config
    if cfg is not None:
        source, obj, field = cfg.source, cfg.source.object(), cfg.at("mode")
    else:  # kube-proxy's default mode: no object says so, point at the input
        source, obj = SourceRef(file=ctx.first_file), "KubeProxyConfiguration (default: iptables)"
        field = "mode"
    severity = "warning" if rules >= IPTABLES_WARN else "info"
    yield Finding(
        "iptables-at-scale", severity, obj, source, field,
        f"every new connection to a Service walks KUBE-SERVICES linearly: with {rules:,} rules "
        f"({len(with_eps):,} Service ports, {endpoints:,} endpoints) it evaluates {average:,.0f} "
        f"rules on average and {worst:,.0f} for the last Service, about "
        f"{average * NS_PER_RULE / 1000:,.0f} µs (worst {worst * NS_PER_RULE / 1000:,.0f} µs) "
        f"at the {NS_PER_RULE} ns per rule measured; nftables and IPVS modes do a constant "
        "2 or 1 hash lookups",
        {"kubeServicesRules": rules, "servicePorts": len(with_eps), "endpoints": endpoints,
         "rulesPerNewConnection": {"average": round(average, 1), "worst": round(worst, 1)},
         "nsPerRule": NS_PER_RULE,
         "expectedGainMicroseconds": {"average": round((average - 2) * NS_PER_RULE / 1000, 1),
                                      "worst": round((worst - 2) * NS_PER_RULE / 1000, 1)},
         "node": node},
        "switch kube-proxy to nftables (Kubernetes 1.31 and later) or IPVS mode; note that a "
        "full nftables resync of this many Services loads slowly (docs/benchmarks.md measured "
        "47 s for 10,000 with the kernel's anonymous-set naming):\n"
        + to_yaml({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                   "kind": "KubeProxyConfiguration", "mode": "nftables"}))
