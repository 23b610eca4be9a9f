"""NetworkPolicy findings: namespaces left open, pods no policy covers, selectors that match
nothing (policies that isolate nothing, rules that allow nothing), hostNetwork pods that a
policy believes it isolates."""

from __future__ import annotations

from collections.abc import Iterator

from podnet.doctor.context import Context, Group
from podnet.doctor.finding import Finding, check, object_name, to_yaml
from podnet.model.objects import NetworkPolicy, Peer
from podnet.model.selectors import LabelSelector


def _namespace_groups(ctx: Context) -> dict[str, list[Group]]:
    out: dict[str, list[Group]] = {}
    for g in ctx.groups:
        out.setdefault(g.first.namespace, []).append(g)
    return out


@check("namespace-without-default-deny",
       summary="A namespace whose pods accept connections from anywhere: no default-deny policy.",
       example="pods in namespace default accept connections from every pod and every address: "
               "no NetworkPolicy with an empty podSelector isolates them for ingress")
def namespace_without_default_deny(ctx: Context) -> Iterator[Finding]:
    for ns, groups in sorted(_namespace_groups(ctx).items()):
        pods = [p for g in groups for p in g.pods if not p.host_network]
        if not pods:
            continue
        if any(t.pod_selector.empty for t in ctx.targets["ingress"].get(ns, ())):
            continue
        open_pods = [p for p in pods if not ctx.selecting("ingress", p)]
        namespace = ctx.cluster.namespaces[ns]
        source = namespace.source
        if namespace.implicit:
            source = next(g.source for g in groups if not g.first.host_network)
        policies = sorted({t.policy for d in ("ingress", "egress")
                           for t in ctx.targets[d].get(ns, ())})
        egress_deny = any(t.pod_selector.empty for t in ctx.targets["egress"].get(ns, ()))
        yield Finding(
            "namespace-without-default-deny", "warning", object_name("Namespace", "", ns), source,
            "metadata.namespace" if namespace.implicit else "metadata.name",
            f"pods in namespace {ns} accept connections from every pod and every address unless "
            f"a policy selects them: no NetworkPolicy with an empty podSelector isolates the "
            f"namespace for ingress ({len(open_pods)} of {len(pods)} pods are open, e.g. "
            f"{open_pods[0].key if open_pods else pods[0].key})",
            {"pods": len(pods), "openPods": len(open_pods), "policies": policies,
             "egressDefaultDeny": egress_deny},
            to_yaml({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": "default-deny-ingress", "namespace": ns},
                     "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}))


@check("pod-unprotected",
       summary="Pods in a namespace that uses NetworkPolicy, but selected by none of its policies.",
       example="the 2 pods of Deployment shop/legacy accept any connection and may connect "
               "anywhere: none of the 3 NetworkPolicies in namespace shop selects them")
def pod_unprotected(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups:
        pod = g.first
        if pod.host_network:
            continue  # hostnetwork-bypasses-policy's business
        ns = pod.namespace
        policies = sorted({t.policy for d in ("ingress", "egress")
                           for t in ctx.targets[d].get(ns, ())})
        if not policies or ctx.selecting("ingress", pod) or ctx.selecting("egress", pod):
            continue
        labels = ",".join(f"{k}={v}" for k, v in pod.labels.items()) or "(none)"
        yield Finding(
            "pod-unprotected", "warning", g.object, g.source, "metadata.labels",
            f"{g.describe()} accept any connection and may connect anywhere: none of the "
            f"{len(policies)} NetworkPolicies in namespace {ns} selects them (labels {labels})",
            {"pods": len(g.pods), "labels": dict(pod.labels), "policiesInNamespace": policies},
            f"select them in a policy of namespace {ns}, or isolate the whole namespace:\n"
            + to_yaml({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "default-deny-ingress", "namespace": ns},
                       "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}))


def _values_near(ctx: Context, ns: str, selector: LabelSelector) -> dict[str, list[str]]:
    """For each key the selector names, the values pods of ``ns`` do carry (the likely typo)."""
    keys = [k for k, _ in selector.match_labels] + [r.key for r in selector.match_expressions]
    out: dict[str, set[str]] = {k: set() for k in keys}
    for labels in ctx.label_sets.get((ns, False), ()):
        for k in keys:
            if k in labels:
                out[k].add(labels[k])
    return {k: sorted(v)[:10] for k, v in out.items()}


@check("policy-selects-nothing",
       summary="A NetworkPolicy whose podSelector matches no pod: it isolates nothing.",
       example="NetworkPolicy shop/allow-web isolates nothing and lets nothing through: "
               "podSelector app=wbe matches no pod in namespace shop (pods carry app=web)")
def policy_selects_nothing(ctx: Context) -> Iterator[Finding]:
    for pol in ctx.cluster.policies:
        if ctx.any_pod(pol.namespace, pol.pod_selector):
            continue
        if ctx.any_pod(pol.namespace, pol.pod_selector, host_network=True):
            continue  # it selects hostNetwork pods only: hostnetwork-bypasses-policy says so
        near = _values_near(ctx, pol.namespace, pol.pod_selector)
        carried = "; ".join(f"pods carry {k}={', '.join(v)}" for k, v in near.items() if v)
        yield Finding(
            "policy-selects-nothing", "warning", pol.source.object(), pol.source,
            "spec.podSelector",
            f"NetworkPolicy {pol.key} isolates nothing and lets nothing through: its podSelector "
            f"{pol.pod_selector.describe()} matches no pod in namespace {pol.namespace}"
            + (f" ({carried})" if carried else ""),
            {"podSelector": pol.pod_selector.describe(),
             "podsInNamespace": sum(1 for p in ctx.cluster.pods if p.namespace == pol.namespace),
             "labelValuesInNamespace": near},
            f"kubectl get pods -n {pol.namespace} --show-labels   # and correct spec.podSelector")


def _peer_namespaces(ctx: Context, pol: NetworkPolicy, peer: Peer,
                     cache: dict[LabelSelector, tuple[str, ...]]) -> tuple[str, ...]:
    sel = peer.namespace_selector
    if sel is None:
        return (pol.namespace,)
    if sel not in cache:
        cache[sel] = tuple(ns for ns, n in ctx.cluster.namespaces.items() if sel.matches(n.labels))
    return cache[sel]


def _peer_field(direction: str, rule: int, peer: int) -> str:
    return f"spec.{direction}[{rule}].{'from' if direction == 'ingress' else 'to'}[{peer}]"


@check("peer-selects-nothing",
       summary="A from/to peer of a NetworkPolicy rule that matches no pod: the rule allows "
               "nothing the author meant it to.",
       example="spec.ingress[0].from[0] of NetworkPolicy shop/api lets nothing in: no pod has "
               "app=frontend in namespace shop")
def peer_selects_nothing(ctx: Context) -> Iterator[Finding]:
    cache: dict[tuple[str | LabelSelector, LabelSelector], bool] = {}
    namespaces_of: dict[LabelSelector, tuple[str, ...]] = {}
    for pol in ctx.cluster.policies:
        for direction, rules in (("ingress", pol.ingress), ("egress", pol.egress)):
            for ri, rule in enumerate(rules):
                for pi, peer in enumerate(rule.peers):
                    if peer.ip_block is not None:
                        continue
                    namespaces = _peer_namespaces(ctx, pol, peer, namespaces_of)
                    pods = peer.pod_selector or LabelSelector()
                    key = (peer.namespace_selector or pol.namespace, pods)
                    if key not in cache:
                        cache[key] = any(ctx.any_pod(ns, pods) for ns in namespaces)
                    if cache[key]:
                        continue
                    ns_sel = peer.namespace_selector
                    if ns_sel is None:
                        why = f"no pod has {pods.describe()} in namespace {pol.namespace}"
                    elif not namespaces:
                        why = f"its namespaceSelector {ns_sel.describe()} matches no namespace"
                    else:
                        why = (f"no pod has {pods.describe()} in the {len(namespaces)} namespaces "
                               f"its namespaceSelector {ns_sel.describe()} matches")
                    verb = "lets nothing in" if direction == "ingress" else "lets nothing out"
                    field = _peer_field(direction, ri, pi)
                    yield Finding(
                        "peer-selects-nothing", "warning", pol.source.object(), pol.source, field,
                        f"{field} of NetworkPolicy {pol.key} {verb}: {why}",
                        {"podSelector": pods.describe(),
                         "namespaceSelector": ns_sel.describe() if ns_sel is not None else None,
                         "namespacesMatched": len(namespaces)},
                        "kubectl get pods -A --show-labels; kubectl get ns --show-labels   "
                        f"# and correct {field}")


@check("hostnetwork-bypasses-policy",
       summary="A NetworkPolicy selects hostNetwork pods, which share their node's network "
               "namespace: the policy does not apply to them.",
       example="NetworkPolicy kube-system/lock-down selects the 3 pods of DaemonSet "
               "kube-system/agent, but they use their node's network: nothing isolates them")
def hostnetwork_bypasses_policy(ctx: Context) -> Iterator[Finding]:
    for g in ctx.groups:
        pod = g.first
        if not pod.host_network:
            continue
        policies = sorted({t.policy for d in ("ingress", "egress") for t in ctx.selecting(d, pod)})
        if not policies:
            continue
        yield Finding(
            "hostnetwork-bypasses-policy", "warning", g.object, g.source,
            "spec.template.spec.hostNetwork" if g.source.kind != "Pod" else "spec.hostNetwork",
            f"{', '.join(policies)} select{'s' if len(policies) == 1 else ''} {g.describe()}, "
            "but they run with hostNetwork: their packets are the node's, and the node's "
            "traffic is not judged by NetworkPolicy, so they are not isolated",
            {"pods": len(g.pods), "policies": policies,
             "nodes": sorted({p.node for p in g.pods})},
            "drop hostNetwork: true where the pod does not need the node's network, or protect "
            "the node's ports with a host firewall (NetworkPolicy cannot)")
