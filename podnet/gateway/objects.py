"""Gateway API objects as podnet reads them (v1; v1beta1 and, for ReferenceGrant, v1alpha2
read the same way: the served fields are identical)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podnet.errors import SourceRef
from podnet.model.selectors import LabelSelector

GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True, slots=True)
class Ref:
    """A reference to another object: parentRefs, backendRefs, certificateRefs."""

    group: str
    kind: str
    namespace: str  # defaulted to the referrer's
    name: str
    section: str = ""  # parentRef.sectionName
    port: int | None = None
    weight: int = 1  # backendRef only


@dataclass(frozen=True, slots=True)
class Listener:
    name: str
    port: int
    protocol: str  # HTTP | HTTPS | TLS | TCP | UDP | ...
    hostname: str  # "" matches every host
    tls_mode: str  # Terminate | Passthrough ("" for plain listeners)
    certificates: tuple[Ref, ...]
    namespaces_from: str  # Same | All | Selector
    namespace_selector: LabelSelector | None
    kinds: tuple[tuple[str, str], ...]  # (group, kind) allowed; () = the protocol's default


@dataclass(frozen=True, slots=True)
class Gateway:
    namespace: str
    name: str
    class_name: str
    listeners: tuple[Listener, ...]
    source: SourceRef
    created: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class GatewayClass:
    name: str
    controller: str
    source: SourceRef


@dataclass(frozen=True, slots=True)
class HeaderMatch:
    name: str
    value: str
    type: str = "Exact"  # Exact | RegularExpression


@dataclass(frozen=True, slots=True)
class Match:
    path_type: str = "PathPrefix"  # Exact | PathPrefix | RegularExpression
    path: str = "/"
    headers: tuple[HeaderMatch, ...] = ()
    query: tuple[HeaderMatch, ...] = ()
    method: str = ""


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter, its fields kept as written (each kind has its own)."""

    type: str  # RequestRedirect | URLRewrite | RequestHeaderModifier | ...
    spec: Mapping[str, Any]  # the filter's own field, as read (frozen)

    def get(self, key: str, default: Any = None) -> Any:
        value = self.spec.get(key)
        return default if value is None else value


@dataclass(frozen=True, slots=True)
class Rule:
    matches: tuple[Match, ...]
    filters: tuple[Filter, ...]
    backends: tuple[Ref, ...]
    name: str = ""


@dataclass(frozen=True, slots=True)
class HTTPRoute:
    namespace: str
    name: str
    parents: tuple[Ref, ...]
    hostnames: tuple[str, ...]
    rules: tuple[Rule, ...]
    source: SourceRef
    created: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class Grant:
    """One ReferenceGrant: objects of these kinds in ``from`` namespaces may refer to objects
    of these kinds (optionally one by name) in the grant's own namespace."""

    namespace: str
    name: str
    sources: tuple[tuple[str, str, str], ...]  # (group, kind, namespace)
    targets: tuple[tuple[str, str, str], ...]  # (group, kind, name or "")

    def permits(self, group: str, kind: str, from_ns: str, to_group: str, to_kind: str,
                to_name: str) -> bool:
        return (any(s == (group, kind, from_ns) for s in self.sources)
                and any(t[:2] == (to_group, to_kind) and t[2] in ("", to_name)
                        for t in self.targets))


@dataclass(frozen=True, slots=True)
class GatewayAPI:
    classes: tuple[GatewayClass, ...]
    gateways: tuple[Gateway, ...]
    routes: tuple[HTTPRoute, ...]
    grants: tuple[Grant, ...]

    def permitted(self, group: str, kind: str, from_ns: str, to_group: str, to_kind: str,
                  to_ns: str, to_name: str) -> bool:
        """A reference across namespaces needs a ReferenceGrant in the target's namespace."""
        if from_ns == to_ns:
            return True
        return any(g.namespace == to_ns and g.permits(group, kind, from_ns, to_group, to_kind,
                                                      to_name) for g in self.grants)
