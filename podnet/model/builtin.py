"""Objects every real cluster has although manifests rarely include them.

The API server keeps Service ``default/kubernetes`` itself (``pkg/controlplane/controller/
kubernetesservice``): ClusterIP the first address of the service CIDR, port ``https``
443/TCP to targetPort 6443, no selector, and an EndpointSlice it writes by hand listing each
API server's advertise address on 6443 (no ``nodeName``: the reconciler writes addresses
only). A pod's ``kubernetes.default`` resolves to it, and kube-proxy programs it like any other
Service, so leaving it out would make DNS and every kube-proxy ruleset wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from podnet.errors import SourceRef
from podnet.model.objects import (
    Endpoint,
    EndpointGroup,
    EndpointPort,
    Node,
    Service,
    ServicePort,
    frozen_map,
)

BUILTIN_FILE = "<built-in>"
APISERVER_PORT = 6443  # kubeadm's default bind port (InitConfiguration localAPIEndpoint)
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


def control_plane_nodes(nodes: Sequence[Node]) -> list[Node]:
    """The nodes labelled as control plane (or with the legacy ``master`` role). With none
    labelled, the first node by name: the input does not say where the API server runs, one
    node must host it, and the first is the stable choice (as ``kubeadm init`` runs on the
    first machine before the others join)."""
    labelled = [n for n in nodes if any(k in n.labels for k in CONTROL_PLANE_LABELS)]
    return labelled or list(nodes[:1])


def kubernetes_service(services: Sequence[Service], groups: Sequence[EndpointGroup],
                       nodes: Sequence[Node]) -> tuple[list[Service], list[EndpointGroup]]:
    """``services`` and ``groups`` with ``default/kubernetes`` and its EndpointSlice added when
    the input does not define them. Its ClusterIP is left for IPAM (the first address)."""
    if any(s.namespace == "default" and s.name == "kubernetes" for s in services):
        return list(services), list(groups)
    svc = Service("default", "kubernetes",
                  SourceRef(file=BUILTIN_FILE, kind="Service", namespace="default",
                            name="kubernetes"),
                  selector=None, ports=(ServicePort(443, "TCP", "https", APISERVER_PORT),),
                  labels=frozen_map({"component": "apiserver", "provider": "kubernetes"}))
    out = list(groups)
    if not any(g.namespace == "default" and g.service == "kubernetes" for g in groups):
        out.append(EndpointGroup(
            "default", "kubernetes",
            SourceRef(file=BUILTIN_FILE, kind="EndpointSlice", namespace="default",
                      name="kubernetes"),
            tuple(Endpoint(n.internal_ip or "") for n in control_plane_nodes(nodes)
                  if n.internal_ip),
            (EndpointPort(APISERVER_PORT, "TCP", "https"),)))
    return [*services, svc], out


def apiserver_answer(node: str) -> str:
    """What the lab's stand-in for the API server on ``node`` answers a connection with (the
    workload server answers with a pod's name; this is no pod)."""
    return f"kube-apiserver@{node}"


def apiserver_listeners(nodes: Sequence[Node]) -> dict[str, str]:
    """Control-plane node IP -> node name: where an API server listens on APISERVER_PORT/TCP."""
    return {n.internal_ip: n.name for n in control_plane_nodes(nodes) if n.internal_ip}
