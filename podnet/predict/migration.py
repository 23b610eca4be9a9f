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
from podnet.predict.gateway import Entry, entries
from podnet.predict.gateway import reachability as gateway_reachability
from podnet.predict.ingress import reachability


@dataclass(frozen=True, slots=True)
class Migrated:
    tables: tuple[Table, ...]  # the declared controllers' route tables
    config: Config  # the migrated Gateway API objects
    where: dict[str, Entry]  # migrated Gateway (the controller's ns/name) -> where it answers


def _tables(cluster: Cluster) -> tuple[Table, ...]:
    return tuple(t for t in build_all(cluster, find_controllers(cluster)) if t.controller.declared)


def documents(cluster: Cluster) -> str:
    """What ``podnet ingress migrate`` writes for the declared controllers' Ingresses, as
    manifests: the lab adds them to its input, so the migrated Gateways get data-plane pods
    and LoadBalancer Services like any Gateway of the input."""
    import yaml

    return yaml.safe_dump_all(migrate(_tables(cluster)).objects, sort_keys=False)


def migrated(a: Analysis) -> Migrated:
    """The migration of every declared controller's Ingresses, and where the lab serves each
    resulting Gateway (its pod is in the cluster: the lab's input holds ``documents``)."""
    tables = _tables(a.cluster)
    config = build(a.cluster, read(migrate(tables).as_others()))
    found = entries(a, config)
    return Migrated(tables, config, {t.controller.key: found[t.controller.key] for t in tables
                                     if t.controller.key in found})


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
        gw_reach = gateway_reachability(analysis, key)
        for p in corpus(table):
            out.append(FrontProbe(key, p, handle(table, p.request, reach),
                                  router.handle(m.config, key, p.request, gw_reach)))
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
