"""``doctor``: the seeds' production checklists as findings, computed from the model (pure: no
kernel, no network). Each concern module registers its checks in the catalogue on import;
``diagnose`` runs the ones asked for and returns their findings in a stable order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING

from podnet.analysis import Analysis
from podnet.doctor.context import Context
from podnet.doctor.finding import CATALOGUE, RANK, SEVERITIES, Check, Finding, summary
from podnet.errors import UsageError
from podnet.model.cluster import Cluster
from podnet.model.load import RawDoc

if TYPE_CHECKING:
    from podnet.doctor.etcd import DiskReport
    from podnet.doctor.sysctls import NodeSysctls

# One module per concern; a new concern adds its name here and registers with @check.
CONCERNS = ("mtu", "policy", "dns", "services", "metallb", "cidr", "apiversions", "conntrack",
            "ingress", "gateway", "etcd")

for _name in CONCERNS:
    import_module(f"podnet.doctor.{_name}")


def select(only: Iterable[str] = (), skip: Iterable[str] = ()) -> list[Check]:
    """The checks to run, in catalogue order; unknown names are a usage error."""
    only, skip = list(only), list(skip)
    for name in (*only, *skip):
        if name not in CATALOGUE:
            raise UsageError(f"no doctor check named {name!r} (podnet doctor --list shows them)")
    return [c for n, c in sorted(CATALOGUE.items())
            if (not only or n in only) and n not in skip]


def diagnose(cluster: Cluster, docs: Sequence[RawDoc] = (), *, only: Iterable[str] = (),
             skip: Iterable[str] = (), conns_per_pod: int = 100,
             analysis: Analysis | None = None, disk_report: DiskReport | None = None,
             node_sysctls: NodeSysctls | None = None) -> list[Finding]:
    ctx = Context(analysis or Analysis(cluster), docs, conns_per_pod=conns_per_pod,
                  disk_report=disk_report, node_sysctls=node_sysctls)
    findings: list[Finding] = []
    for c in select(only, skip):
        for f in c.run(ctx):
            if f.check != c.name or f.severity not in RANK:
                raise ValueError(f"check {c.name} produced a finding for {f.check}/{f.severity}")
            findings.append(f)
    return sorted(findings, key=Finding.sort_key)


__all__ = ["CATALOGUE", "CONCERNS", "SEVERITIES", "Check", "Finding", "diagnose", "select",
           "summary"]
