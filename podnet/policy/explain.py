"""The explanation of one flow on one port, as ``podnet explain -o json`` prints it and the
HTML report embeds it: the verdict, and per side the tier that decided, the selecting policies
and the rules that admit the port."""

from __future__ import annotations

from podnet.model.cluster import Cluster
from podnet.model.objects import Pod
from podnet.policy.compile import compile_policies
from podnet.policy.matcher import ANP, BANP
from podnet.policy.verdict import DirectionResult, Endpoint, Evaluator, Verdict


def label(ep: Endpoint) -> str:
    return ep.key if isinstance(ep, Pod) else ep


def evaluator_for(cluster: Cluster, endpoints: tuple[Endpoint, ...], *,
                  ipblock_matches_pods: bool = True) -> Evaluator:
    """An evaluator for flows between these endpoints only, its answers those of one over the
    whole cluster: it compiles the NetworkPolicies of the endpoints' namespaces (a
    NetworkPolicy selects pods of its own namespace only, and compilation keeps their order)
    and every admin policy, and knows the labels of those namespaces, the only ones a verdict
    between them looks up. On 10,000 policies that is 2 compiled instead of all, and with the
    model cache only those namespaces are unpickled."""
    spaces = sorted({e.namespace for e in endpoints if isinstance(e, Pod)})
    admin = cluster.admin_policies
    compiled = compile_policies([p for ns in spaces for p in cluster.policies_in(ns)],
                                ipblock_matches_pods=ipblock_matches_pods, admin=admin,
                                nodes=cluster.nodes if admin else ())
    labels = {ns: n.labels for ns in spaces if (n := cluster.namespace(ns)) is not None}
    return Evaluator(cluster, compiled, labels)


def _np_summary(d: DirectionResult, ok: bool) -> str:
    if not d.isolated:
        return f"not isolated for {d.direction}: allowed"
    n = len(d.selecting)
    return (f"isolated by {n} polic{'y' if n == 1 else 'ies'}"
            f"; {'allowed' if ok else 'no policy allows this flow'}")


def side_data(d: DirectionResult, subject: Endpoint, number: int, proto: str) -> dict[str, object]:
    pols = []
    for t in d.selecting:
        allowing = [str(m.origin) for m in t.matches if m.allowed.allows(proto, number)]
        pols.append({"policy": t.policy, "allows": bool(allowing), "allowedBy": allowing,
                     "connections": str(t.allowed)})
    ok = d.allowed.allows(proto, number)
    # The admin rules that took this port, in evaluation order: a Pass, then the rule (if
    # any) that decided; the tier is the one whose answer stands.
    hits = [h for h in d.tiers if h.ports.allows(proto, number)]
    final = next((h for h in hits if h.action != "Pass"), None)
    # A baseline Pass (v1alpha2 ClusterNetworkPolicy) has only the default after it.
    passed = "".join(f"{h} passes to {'NetworkPolicy' if h.tier == ANP else 'the default'}; "
                     for h in hits if h.action == "Pass")
    if not d.applies:
        tier, summary = "none", "outside the cluster: no policy applies"
    elif final is not None and final.tier == ANP:
        tier, summary = ANP, f"{final}: {'allowed' if ok else 'denied'}"
    elif d.isolated:
        tier, summary = "NetworkPolicy", passed + _np_summary(d, ok)
    elif final is not None:
        tier, summary = BANP, f"{passed}not isolated for {d.direction}; {final}: " + (
            "allowed" if ok else "denied")
    else:
        tier, summary = "none", passed + _np_summary(d, ok)
    admin = [{"tier": h.tier, "policy": h.policy, "rule": h.rule, "name": h.name,
              "action": h.action} for h in hits]
    return {"pod": label(subject), "isolated": d.isolated, "allowed": ok,
            "summary": summary, "policies": pols, "tier": tier, "adminRules": admin}


def explain_data(v: Verdict, number: int, proto: str) -> dict[str, object]:
    return {"from": label(v.src), "to": label(v.dst), "port": f"{number}/{proto}",
            "allowed": v.allowed.allows(proto, number), "selfTraffic": v.self_traffic,
            "connections": str(v.allowed),
            "egress": side_data(v.egress, v.src, number, proto),
            "ingress": side_data(v.ingress, v.dst, number, proto)}
