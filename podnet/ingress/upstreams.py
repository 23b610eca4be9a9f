"""Upstreams: the endpoints behind one Ingress backend (``createUpstreams`` and
``serviceEndpoints`` in ingress-nginx's ``internal/ingress/controller/controller.go``).

The backend's port matches a Service port by number, by name, or (an ingress-nginx quirk) by
the Service port's targetPort. A missing Service, a port the Service lacks or a Service
without ready endpoints leaves the upstream empty: its requests get 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from podnet.ingress.annotations import Canary
from podnet.model.cluster import Cluster
from podnet.model.objects import EndpointGroup, Service
from podnet.services.resolve import port_endpoints

BUILTIN = "the controller's built-in default backend (404)"


@dataclass(frozen=True, slots=True)
class Upstream:
    name: str  # ingress-nginx's upstream name, ns-svc-port
    service: str = ""  # ns/name; "" for the controller's built-in default backend
    port: int | str | None = None  # as the Ingress names it
    service_port: int | None = None  # the Service port it resolved to
    endpoints: tuple[str, ...] = ()  # ip:port, ready, sorted
    pods: tuple[str, ...] = ()  # ns/name of each endpoint's pod ("" when unknown)
    problem: str = ""  # why there are no endpoints
    canary: Canary | None = None  # set when this upstream is a canary's alternative
    canary_ingress: str = ""

    @property
    def builtin(self) -> bool:
        return not self.service


class Resolver:
    """Upstreams of one cluster, each Service port resolved once."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.services: Mapping[str, Service] = {s.key: s for s in cluster.services}
        groups: dict[str, list[EndpointGroup]] = {}
        for g in cluster.endpoint_groups:
            groups.setdefault(f"{g.namespace}/{g.service}", []).append(g)
        self.groups = groups
        self._cache: dict[tuple[str, str], Upstream] = {}

    def upstream(self, namespace: str, service: str, port: int | str | None) -> Upstream:
        wanted = "" if port is None else str(port)
        key = (f"{namespace}/{service}", wanted)
        if key not in self._cache:
            self._cache[key] = self._resolve(key[0], port, wanted)
        return self._cache[key]

    def _resolve(self, svc_key: str, port: int | str | None, wanted: str) -> Upstream:
        name = f"{svc_key.replace('/', '-')}-{wanted}"
        svc = self.services.get(svc_key)
        if svc is None:
            return Upstream(name, svc_key, port, problem=f"Service {svc_key} is not in the input")
        for sp in svc.ports:
            if wanted in (str(sp.port), str(sp.target_port), sp.name):
                break
        else:
            have = ", ".join(f"{p.name or '-'}:{p.port}" for p in svc.ports) or "none"
            return Upstream(name, svc_key, port, problem=(
                f"Service {svc_key} has no port {wanted!r} (its ports: {have})"))
        if svc.type == "ExternalName":
            return Upstream(name, svc_key, port, sp.port, (f"{svc.external_name}:{sp.port}",),
                            ("",))
        eps = port_endpoints(self.cluster, svc, sp, self.groups.get(svc_key, []))
        problem = "" if eps else f"Service {svc_key} has no ready endpoints"
        return Upstream(name, svc_key, port, sp.port, tuple(e.address for e in eps),
                        tuple(e.pod for e in eps), problem)

    def default_backend(self, key: str) -> tuple[Upstream, str]:
        """``getDefaultUpstream``: the first port of --default-backend-service, falling back
        to the built-in 404 when it is missing or has no endpoints (with the reason)."""
        builtin = Upstream("upstream-default-backend", problem=BUILTIN)
        if not key:
            return builtin, ""
        svc = self.services.get(key)
        if svc is None or not svc.ports:
            why = "is not in the input" if svc is None else "has no ports"
            return builtin, f"--default-backend-service {key} {why}: the built-in 404 serves"
        up = self.upstream(svc.namespace, svc.name, svc.ports[0].port)
        if not up.endpoints:
            return builtin, f"--default-backend-service {key} has no ready endpoints: the " \
                            "built-in 404 serves"
        return Upstream("upstream-default-backend", up.service, up.port, up.service_port,
                        up.endpoints, up.pods), ""
