"""Random AdminNetworkPolicies and a BaselineAdminNetworkPolicy for the property tests, so
the vectorised answers keep being checked against the per-pair verdict with admin tiers. Every
other ANP, and about every other BANP, is written as a v1alpha2 ClusterNetworkPolicy
(where its schema allows the same rules), so both generations meet in one cluster."""

from __future__ import annotations

import json
import zlib
from typing import Any

from hypothesis import strategies as st


def strategies(apps: list[str], nss: list[str], cidrs: list[str]) -> tuple[Any, Any]:
    """(one ANP spec, one BANP spec or None) over these app labels, namespaces and CIDRs."""
    label = st.sampled_from(apps).map(lambda v: {"matchLabels": {"app": v}})
    pod_sel = st.one_of(st.just({}), label, st.sampled_from(apps).map(
        lambda v: {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": [v]}]}))
    ns_sel = st.one_of(st.just({}), st.sampled_from(nss).map(lambda v: {"matchLabels": {"team": v}}))
    subject = st.one_of(ns_sel.map(lambda s: {"namespaces": s}),
                        st.builds(lambda n, p: {"pods": {"namespaceSelector": n, "podSelector": p}},
                                  ns_sel, pod_sel))
    in_peer = st.one_of(ns_sel.map(lambda s: {"namespaces": s}),
                        st.builds(lambda n, p: {"pods": {"namespaceSelector": n, "podSelector": p}},
                                  ns_sel, pod_sel))
    out_peer = st.one_of(in_peer, st.lists(st.sampled_from(cidrs), min_size=1, max_size=2,
                                           unique=True).map(lambda c: {"networks": c}),
                         st.just({"nodes": {}}),
                         st.just({"nodes": {"matchLabels": {"kubernetes.io/hostname": "none"}}}))
    port = st.one_of(
        st.builds(lambda pr, n: {"portNumber": {"protocol": pr, "port": n}},
                  st.sampled_from(["TCP", "UDP"]), st.sampled_from([53, 80, 81])),
        st.sampled_from(["http", "dns"]).map(lambda n: {"namedPort": n}),
        st.builds(lambda lo, k: {"portRange": {"start": lo, "end": lo + k}},
                  st.sampled_from([52, 79, 80]), st.integers(1, 2)))

    def rules(actions: list[str], peer: Any) -> Any:
        return st.lists(st.fixed_dictionaries(
            {"action": st.sampled_from(actions), "peers": st.lists(peer, min_size=1, max_size=2)},
            optional={"ports": st.lists(port, min_size=1, max_size=2)}), max_size=3)

    def spec(actions: list[str], priority: Any) -> Any:
        return st.fixed_dictionaries({"priority": priority, "subject": subject,
                                      "ingress": rules(actions, in_peer),
                                      "egress": rules(actions, out_peer)})

    # Few priorities, so equal ones (undefined upstream) come up: podnet orders them by name.
    anp = spec(["Allow", "Deny", "Pass"], st.sampled_from([1, 2, 2]))
    banp = st.one_of(st.none(), spec(["Allow", "Deny"], st.none()))
    return anp, banp


def admin_docs(anps: list[dict[str, Any]], banp: dict[str, Any] | None) -> list[dict[str, Any]]:
    def rules(rs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [{"name": f"r{i}", "action": r["action"], key: r["peers"],
                 **({"ports": r["ports"]} if "ports" in r else {})} for i, r in enumerate(rs)]

    def doc(kind: str, name: str, s: dict[str, Any]) -> dict[str, Any]:
        spec = {"subject": s["subject"], "ingress": rules(s["ingress"], "from"),
                "egress": rules(s["egress"], "to")}
        if s["priority"] is not None:
            spec["priority"] = s["priority"]
        return {"apiVersion": "policy.networking.k8s.io/v1alpha1", "kind": kind,
                "metadata": {"name": name}, "spec": spec}

    out = [cnp_doc("Admin", f"anp{i}", a) if i % 2 and _cnp_can(a) else
           doc("AdminNetworkPolicy", f"anp{i}", a) for i, a in enumerate(anps)]
    if banp is not None:
        out.append(cnp_doc("Baseline", "default", {**banp, "priority": 0})
                   if zlib.crc32(json.dumps(banp, sort_keys=True).encode()) % 2 and _cnp_can(banp)
                   else doc("BaselineAdminNetworkPolicy", "default", banp))
    return out


def _cnp_can(s: dict[str, Any]) -> bool:
    """v1alpha2 refuses a named port beside a networks or nodes peer."""
    return not any(any("networks" in p or "nodes" in p for p in r["peers"])
                   and any("namedPort" in p for p in r.get("ports", ())) for r in s["egress"])


def _protocol(port: dict[str, Any]) -> dict[str, Any]:
    if "namedPort" in port:
        return {"destinationNamedPort": port["namedPort"]}
    if "portNumber" in port:
        n = port["portNumber"]
        return {n["protocol"].lower(): {"destinationPort": {"number": n["port"]}}}
    r = port["portRange"]
    return {r.get("protocol", "TCP").lower(): {"destinationPort": {"range": {
        "start": r["start"], "end": r["end"]}}}}


def cnp_doc(tier: str, name: str, s: dict[str, Any]) -> dict[str, Any]:
    """The same policy as a ClusterNetworkPolicy: Allow is Accept, ports are protocols."""
    def rules(rs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return [{"name": f"r{i}", "action": "Accept" if r["action"] == "Allow" else r["action"],
                 key: r["peers"],
                 **({"protocols": [_protocol(p) for p in r["ports"]]} if "ports" in r else {})}
                for i, r in enumerate(rs)]

    spec = {"tier": tier, "priority": s["priority"], "subject": s["subject"],
            "ingress": rules(s["ingress"], "from"), "egress": rules(s["egress"], "to")}
    return {"apiVersion": "policy.networking.k8s.io/v1alpha2", "kind": "ClusterNetworkPolicy",
            "metadata": {"name": name}, "spec": spec}
