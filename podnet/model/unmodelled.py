"""Policy kinds that podnet reads but does not model, so answers can say what they leave out.

Each of these changes which connections succeed in a cluster that runs its controller, yet
podnet evaluates Kubernetes NetworkPolicy only: without a word, ``reach`` would report
"All Connections" where a CiliumNetworkPolicy denies everything. Kinds are matched on API
group and kind together, because Calico and Antrea both call a kind ``NetworkPolicy``.
"""

from __future__ import annotations

from collections.abc import Iterable

from podnet.model.objects import Other

# (API group, kind) -> whose policy it is. Staged Calico policies are left out on purpose:
# they only preview, and enforce nothing.
POLICY_KINDS: dict[tuple[str, str], str] = {
    ("cilium.io", "CiliumNetworkPolicy"): "Cilium",
    ("cilium.io", "CiliumClusterwideNetworkPolicy"): "Cilium",
    ("projectcalico.org", "NetworkPolicy"): "Calico",
    ("projectcalico.org", "GlobalNetworkPolicy"): "Calico",
    ("crd.projectcalico.org", "NetworkPolicy"): "Calico",
    ("crd.projectcalico.org", "GlobalNetworkPolicy"): "Calico",
    ("crd.antrea.io", "NetworkPolicy"): "Antrea",
    ("crd.antrea.io", "ClusterNetworkPolicy"): "Antrea",
    ("security.istio.io", "AuthorizationPolicy"): "Istio",
    ("network.openshift.io", "EgressNetworkPolicy"): "OpenShift SDN",
    ("k8s.ovn.org", "EgressFirewall"): "OVN-Kubernetes",
}

# Cluster-scoped ones: named without a namespace, as kubectl shows them.
CLUSTER_SCOPED = ("CiliumClusterwideNetworkPolicy", "GlobalNetworkPolicy", "AdminNetworkPolicy",
                  "BaselineAdminNetworkPolicy", "ClusterNetworkPolicy")

# The groups whose NetworkPolicy is Kubernetes' own ("" when apiVersion is missing, or an
# untyped list item); any other group's NetworkPolicy is someone else's kind.
KUBERNETES_NETWORK_POLICY_GROUPS = ("", "networking.k8s.io", "extensions")


def group(api_version: str) -> str:
    """The API group of an apiVersion: ``cilium.io/v2`` -> ``cilium.io``, ``v1`` -> ``""``."""
    return api_version.rpartition("/")[0]


def warnings(objects: Iterable[Other]) -> list[str]:
    """One warning per object of a policy kind podnet does not model, in input order."""
    out = []
    for o in objects:
        owner = POLICY_KINDS.get((group(o.api_version), o.kind))
        if owner is not None:
            out.append(f"{o.source.where()} ({o.api_version}): {owner} policy kind not "
                       "modelled by podnet; reach/explain/connlist/trace answers ignore it")
    return out
