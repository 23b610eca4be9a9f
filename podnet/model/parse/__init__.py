"""Raw documents → typed objects, validated and defaulted as the API server would; one module
per API group (core, apps, networking, discovery), what they share in ``common``.

Legacy apiVersions are upgraded by each group's parser: ``extensions/v1beta1`` and
``networking.k8s.io/v1beta1`` Ingress (``serviceName``/``servicePort``) become v1 backends;
``extensions/v1beta1`` NetworkPolicy and ``apps/v1beta1``/``v1beta2`` workloads read as their
v1 forms.
"""

from __future__ import annotations

from collections.abc import Callable

from podnet.model import unmodelled
from podnet.model.load import RawDoc
from podnet.model.objects import (
    AdminPolicy,
    EndpointGroup,
    Ingress,
    Namespace,
    NetworkPolicy,
    Node,
    Other,
    Pod,
    Service,
)
from podnet.model.parse.admin import ANP, BANP, admin_policy
from podnet.model.parse.apps import Workload, _workload
from podnet.model.parse.cluster_policy import CNP, cluster_network_policy
from podnet.model.parse.common import (
    CLUSTER_SCOPED,
    CONFIG_KINDS,
    WORKLOAD_KINDS,
    _freeze,
    _meta,
    _warnings,
    label_selector,
)
from podnet.model.parse.core import _endpoints, _namespace, _node, _pod, _service
from podnet.model.parse.discovery import _endpoint_slice
from podnet.model.parse.networking import _ingress, _network_policy

Parsed = (Namespace | Node | Pod | Workload | Service | EndpointGroup | NetworkPolicy | Ingress
          | AdminPolicy | Other)


def _other(doc: RawDoc) -> Other:
    meta, src, ns, name = _meta(doc)
    return Other(src.kind, str(doc.body.get("apiVersion", "")), ns, name, src, _freeze(doc.body))


_PARSERS: dict[str, Callable[[RawDoc], Parsed]] = {
    "Namespace": _namespace, "Node": _node, "Pod": _pod, "Service": _service,
    "Endpoints": _endpoints, "EndpointSlice": _endpoint_slice,
    "NetworkPolicy": _network_policy, "Ingress": _ingress,
}


def parse(doc: RawDoc, warnings: list[str] | None = None) -> Parsed:
    """Turn one raw document into its typed object (``Other`` for kinds podnet only keeps).

    Problems that do not change network semantics are appended to ``warnings``.
    """
    token = _warnings.set(warnings)
    try:
        return _parse(doc)
    finally:
        _warnings.reset(token)


def _parse(doc: RawDoc) -> Parsed:
    kind = str(doc.body["kind"])
    if kind == "NetworkPolicy" and (unmodelled.group(str(doc.body.get("apiVersion") or ""))
                                    not in unmodelled.KUBERNETES_NETWORK_POLICY_GROUPS):
        # Calico's and Antrea's NetworkPolicy share the name but not the schema or meaning
        return _other(doc)
    if kind in (ANP, BANP) and (unmodelled.group(str(doc.body.get("apiVersion") or ""))
                                == "policy.networking.k8s.io"):
        return admin_policy(doc)
    if kind == CNP and unmodelled.group(str(doc.body.get("apiVersion") or "")) == "policy.networking.k8s.io":
        return cluster_network_policy(doc)
    if kind in _PARSERS:
        return _PARSERS[kind](doc)
    if kind in WORKLOAD_KINDS:
        return _workload(doc)
    return _other(doc)


__all__ = ["CLUSTER_SCOPED", "CONFIG_KINDS", "WORKLOAD_KINDS", "Parsed", "Workload",
           "label_selector", "parse"]
