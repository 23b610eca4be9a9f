"""API-server defaulting, done explicitly at load time.

Manifests written by hand (the articles' snippets) rely on the API server to fill fields in;
podnet applies the same defaults so that every later stage sees fully specified objects.
"""

from __future__ import annotations

DEFAULT_NAMESPACE = "default"
DEFAULT_PROTOCOL = "TCP"
DEFAULT_AFFINITY_TIMEOUT = 10800  # seconds, v1.SessionAffinityConfig default
DEFAULT_REPLICAS = 1
DEFAULT_DNS_POLICY = "ClusterFirst"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def policy_types(explicit: tuple[str, ...], has_egress_rules: bool) -> tuple[str, ...]:
    """``policyTypes`` when omitted: Ingress always, plus Egress when egress rules exist."""
    if explicit:
        return tuple(t for t in ("Ingress", "Egress") if t in explicit)
    return ("Ingress", "Egress") if has_egress_rules else ("Ingress",)


def target_port(port: int, given: int | str | None) -> int | str:
    """``targetPort`` defaults to ``port``."""
    if given is None or given == "" or given == 0:
        return port
    return given


def traffic_policy(service_type: str, given: str) -> str:
    if given:
        return "Local" if given == "Local" else "Cluster"
    return "Cluster"
