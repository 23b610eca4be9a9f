"""The records the Kubernetes DNS specification (schema 1.0.1) defines for a cluster.

ClusterIP Services: ``<svc>.<ns>.svc.<zone> A``, SRV for named ports, PTR; headless Services:
an A per ready endpoint at the service name and at ``<hostname>.<svc>`` (the pod's hostname
when its subdomain names the service, else its dashed IP, as CoreDNS does), SRV per endpoint
and named port; ExternalName: CNAME; pods: ``a-b-c-d.<ns>.pod.<zone>`` (CoreDNS
``pods insecure``, answered for any well-formed name, see ``server.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster

SCHEMA_VERSION = "1.0.1"
TTL = 30  # kubeadm's Corefile sets ttl 30


@dataclass(frozen=True, slots=True)
class Record:
    name: str  # absolute, lower case, trailing dot
    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.name} {TTL} IN {self.type} {self.value}"


@dataclass(frozen=True)
class Zone:
    domain: str  # "cluster.local"
    records: Mapping[str, tuple[Record, ...]]  # by name
    namespaces: frozenset[str]

    def text(self) -> str:
        return "".join(f"{r}\n" for name in sorted(self.records) for r in self.records[name])


def ptr_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa."


def dashed(ip: str) -> str:
    return ip.replace(".", "-")


def build_zone(cluster: Cluster) -> Zone:
    domain = cluster.net.dns_domain.strip(".").lower()
    recs: dict[str, list[Record]] = defaultdict(list)

    def add(name: str, rtype: str, value: str) -> None:
        recs[name.lower()].append(Record(name.lower(), rtype, value))

    add(f"dns-version.{domain}.", "TXT", f'"{SCHEMA_VERSION}"')
    for svc in cluster.services:
        base = f"{svc.name}.{svc.namespace}.svc.{domain}."
        if svc.type == "ExternalName":
            add(base, "CNAME", svc.external_name.rstrip(".") + ".")
            continue
        named = [p for p in svc.ports if p.name]
        if not svc.headless:
            if not svc.cluster_ip:
                continue
            add(base, "A", svc.cluster_ip)
            add(ptr_name(svc.cluster_ip), "PTR", base)
            for p in named:
                add(f"_{p.name}._{p.protocol.lower()}.{base}", "SRV", f"0 100 {p.port} {base}")
            continue
        for pod in sorted(cluster.service_pods(svc), key=lambda p: p.ip):
            host = pod.hostname if pod.hostname and pod.subdomain == svc.name else dashed(pod.ip)
            fqdn = f"{host}.{base}"
            add(base, "A", pod.ip)
            add(fqdn, "A", pod.ip)
            add(ptr_name(pod.ip), "PTR", fqdn)
            for p in named:
                add(f"_{p.name}._{p.protocol.lower()}.{base}", "SRV", f"0 100 {p.port} {fqdn}")
    for pod in cluster.pods:
        if pod.ip and not pod.host_network:
            add(f"{dashed(pod.ip)}.{pod.namespace}.pod.{domain}.", "A", pod.ip)
    ordered = {n: tuple(sorted(set(rs), key=lambda r: (r.type, r.value))) for n, rs in recs.items()}
    return Zone(domain, ordered, frozenset(cluster.namespaces))


def zone_data(zone: Zone) -> dict[str, Any]:
    """The zone as JSON data (`lab up` hands it to the lab's DNS server, which then needs
    neither the model nor the input); ``zone_from_data`` reads it back."""
    return {"domain": zone.domain, "namespaces": sorted(zone.namespaces),
            "records": [[r.name, r.type, r.value] for name in sorted(zone.records)
                        for r in zone.records[name]]}


def zone_from_data(data: Mapping[str, Any]) -> Zone:
    records: dict[str, list[Record]] = defaultdict(list)
    for name, rtype, value in data["records"]:
        records[name].append(Record(name, rtype, value))
    return Zone(data["domain"], {k: tuple(v) for k, v in records.items()},
                frozenset(data["namespaces"]))
