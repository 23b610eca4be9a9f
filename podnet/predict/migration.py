"""The migrated Gateway beside the ingress controller in the lab: what ``podnet ingress
migrate`` writes for the input's Ingresses, served by its own nginx (as NGINX Gateway Fabric
would serve it) at an address of its own, and ``migrate --verify``'s request corpus sent to
both fronts.

For each request the analyzer predicts both answers (ingress-nginx's semantics and the Gateway
API's); the lab observes both. Two comparisons follow: each front against its prediction (a
mismatch is a modelling error), and the difference between the two fronts as observed against
the difference ``--verify`` predicts (they must agree: a migration that verify calls identical
is identical on the wire, and every difference it names is seen)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from podnet.analysis import Analysis
from podnet.gateway import router
from podnet.gateway.attach import Config, build
from podnet.gateway.migrate import migrate
from podnet.gateway.parse import read
from podnet.gateway.verify import Probe, _same, corpus, split
from podnet.ingress.controllers import find_controllers
from podnet.ingress.request import Outcome, handle
from podnet.ingress.routes import Table, build_all
from podnet.model.cluster import Cluster
from podnet.predict.gateway import addresses as input_addresses
from podnet.predict.ingress import reachability


@dataclass(frozen=True, slots=True)
class Migrated:
    tables: tuple[Table, ...]  # the declared controllers' route tables
    config: Config  # the input's Gateway API objects and the migrated ones
    where: dict[str, str]  # migrated Gateway (the controller's ns/name) -> its address


def migrated(cluster: Cluster) -> Migrated:
    """The migration of every declared controller's Ingresses, and where the lab serves each
    resulting Gateway: the underlay addresses below the input's own Gateways'."""
    tables = tuple(t for t in build_all(cluster, find_controllers(cluster))
                   if t.controller.declared)
    config = build(cluster, read(migrate(tables).as_others()))
    taken = {n.internal_ip for n in cluster.nodes} | set(input_addresses(cluster, build(cluster))
                                                          .values())
    ip = ipaddress.ip_network(cluster.net.node_cidr, strict=False).broadcast_address - 2
    where: dict[str, str] = {}
    for t in sorted(tables, key=lambda t: t.controller.key):
        if t.controller.key not in config.gateways:
            continue
        while str(ip) in taken:
            ip -= 1
        where[t.controller.key] = str(ip)
        ip -= 1
    return Migrated(tables, config, where)


@dataclass(frozen=True, slots=True)
class FrontProbe:
    """One corpus request, with both predictions."""

    controller: str  # also the migrated Gateway's ns/name
    probe: Probe
    ingress: Outcome
    gateway: Outcome

    def predicted_differ(self) -> bool:
        """``migrate --verify``'s verdict for this request."""
        return not _same(self.ingress, self.gateway)


def probes(analysis: Analysis, m: Migrated) -> list[FrontProbe]:
    out = []
    for table in m.tables:
        key = table.controller.key
        if key not in m.where:
            continue
        reach = reachability(analysis, table.controller)
        for p in corpus(table):
            out.append(FrontProbe(key, p, handle(table, p.request, reach),
                                  router.handle(m.config, key, p.request)))
    return out


def _location(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path or "/"))


def answer(o: Outcome) -> tuple[int, str | None, tuple[str, ...]]:
    """What a client sees of a predicted answer: status (0: no answer), redirect target, the
    Services that may answer (``--verify``'s comparison)."""
    return o.status, _location(o.location), tuple(sorted(split(o)))


def observed(status: int | None, location: str | None, pod: str | None,
             services: dict[str, set[str]]) -> tuple[int, str | None, tuple[str, ...]]:
    """The same of a real answer: the pod that answered stands for the Services it backs
    (of those either prediction names)."""
    owners = tuple(sorted(s for s, pods in services.items() if pod in pods)) if pod else ()
    return status or 0, _location(location), owners or ((pod,) if pod else ())
