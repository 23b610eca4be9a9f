"""The cost of a new connection per Service: rules walked in iptables mode vs lookups in
nftables/IPVS mode (the seeds' "O(n) vs O(1)", counted on the actual ruleset).

In iptables mode a new connection walks ``KUBE-SERVICES`` from the top until its service's
rule matches, then the service chain: the masquerade check, then the endpoint rules, each a
``statistic`` coin flip, so with n endpoints it evaluates (n+1)/2 of them on average, and the
endpoint chain's two rules. nftables mode does one verdict-map lookup on (daddr, proto, port)
and one ``numgen`` map lookup; IPVS one hash lookup of the virtual server.
"""

from __future__ import annotations

from dataclasses import dataclass

from podnet.services.resolve import ServicePlan


@dataclass(frozen=True, slots=True)
class Cost:
    service: str
    position: int  # 1-based index of its rule in KUBE-SERVICES
    iptables_rules: float  # expected rules evaluated for a new connection to the cluster IP
    nftables_lookups: int
    ipvs_lookups: int


def costs(rules_text: str, plans: tuple[ServicePlan, ...]) -> list[Cost]:
    services = [line for line in rules_text.splitlines() if line.startswith("-A KUBE-SERVICES ")
                and "--dport" in line]
    out = []
    for plan in plans:
        marker = f'"{plan.spn} cluster IP"'
        pos = next((i + 1 for i, line in enumerate(services) if marker in line), 0)
        n = len(plan.endpoints)
        walked = pos + (1 + (n + 1) / 2 + 2 if n else 0)
        out.append(Cost(plan.key, pos, walked, 2 if n else 1, 1))
    return out
