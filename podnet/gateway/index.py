"""Lookups on a built Gateway configuration, so one request costs a few dictionary probes and
not a scan of every listener and route (a Gateway migrated from 1,000 Ingresses has 1,100
listeners and 1,100 routes): listeners by port, protocol and hostname; per listener, the
accepted routes by the effective hostname they serve."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from podnet.gateway.hostnames import effective

if TYPE_CHECKING:
    from podnet.gateway.attach import Config, ListenerState, RouteState


T = TypeVar("T")


@dataclass
class ByHost(Generic[T]):
    """Values by hostname pattern: exact names, ``*.`` wildcards, and "" (every host)."""

    exact: dict[str, list[T]] = field(default_factory=dict)
    wild: dict[str, list[T]] = field(default_factory=dict)
    every: list[T] = field(default_factory=list)

    def add(self, pattern: str, value: T) -> None:
        if not pattern:
            self.every.append(value)
        elif pattern.startswith("*."):
            self.wild.setdefault(pattern, []).append(value)
        else:
            self.exact.setdefault(pattern, []).append(value)

    def best(self, host: str) -> tuple[str, list[T]] | None:
        """The most specific pattern that accepts ``host``, and its values: the exact name,
        else the longest wildcard, else "" (HTTPRouteSpec.Hostnames precedence)."""
        if host in self.exact:
            return host, self.exact[host]
        labels = host.split(".")
        for i in range(1, len(labels)):
            pattern = "*." + ".".join(labels[i:])
            if pattern in self.wild:
                return pattern, self.wild[pattern]
        return ("", self.every) if self.every else None


class Index:
    def __init__(self, config: Config) -> None:
        self.listeners: dict[tuple[str, int, str], ByHost[ListenerState]] = {}
        self.routes: dict[tuple[str, str], ByHost[RouteState]] = {}
        for key, state in config.gateways.items():
            for s in state.listeners:
                if s.programmed:
                    self.listeners.setdefault((key, s.listener.port, s.listener.protocol),
                                              ByHost()).add(s.listener.hostname, s)
        for r in config.routes:
            for p in r.parents:
                if not p.accepted or p.gateway not in config.gateways:
                    continue
                state = config.gateways[p.gateway]
                for name in p.listeners:
                    hosts = effective(state.listener(name).listener.hostname, r.route.hostnames)
                    by = self.routes.setdefault((p.gateway, name), ByHost())
                    for h in dict.fromkeys(hosts):
                        by.add(h, r)

    def serves(self, gateway: str, port: int) -> bool:
        """Whether some programmed listener of the Gateway is on this port."""
        return any((gateway, port, proto) in self.listeners for proto in ("HTTP", "HTTPS"))

    def listener(self, gateway: str, port: int, protocol: str, host: str
                 ) -> ListenerState | None:
        by = self.listeners.get((gateway, port, protocol))
        found = by.best(host) if by is not None else None
        return found[1][0] if found else None

    def routes_for(self, gateway: str, listener: str, host: str
                   ) -> Iterator[tuple[RouteState, str]]:
        """The routes that compete for ``host``: those whose most specific matching hostname
        is the most specific any route has (each route once, in route order)."""
        by = self.routes.get((gateway, listener))
        found = by.best(host) if by is not None else None
        if found is None:
            return
        pattern, routes = found
        seen: set[str] = set()
        for r in routes:
            if r.route.key not in seen:
                seen.add(r.route.key)
                yield r, pattern
