"""The Gateway API's data plane as pods: NGINX Gateway Fabric provisions, for each Gateway it
accepts, an nginx Deployment in the Gateway's namespace and a LoadBalancer Service in front of
it. Those pods are pods like any other: NetworkPolicy judges their connections to the routes'
backends, and ``reach``, ``connlist`` and ``explain`` show them, as they show an ingress
controller's pods.

Read from the raw Gateway objects (leniently: the Gateway API reader in ``podnet.gateway``
judges them), so the pods exist before scheduling and get addresses from a node's podCIDR.
A dump that already holds a Gateway's data-plane pods (labelled with its name) gets none more.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from podnet import names
from podnet.model.objects import ContainerPort, Other, Pod, Service, ServicePort, frozen_map

GROUP = "gateway.networking.k8s.io"
GATEWAY_NAME_LABEL = f"{GROUP}/gateway-name"
APP_LABEL = "app.kubernetes.io/name"
APP = "nginx-gateway"
HTTP_PROTOCOLS = ("HTTP", "HTTPS")


def pod_name(gateway: str) -> str:
    return names.workload_pod(f"{gateway}-nginx", 0)


def service_name(gateway: str) -> str:
    return f"{gateway}-nginx"


def labels(gateway: str) -> Mapping[str, str]:
    """NGINX Gateway Fabric's labels on a Gateway's nginx pods (those a NetworkPolicy peer
    selects them by)."""
    return frozen_map({GATEWAY_NAME_LABEL: gateway, APP_LABEL: APP,
                       "app.kubernetes.io/managed-by": "ngf-nginx"})


def _is_gateway(o: Other) -> bool:
    return o.kind == "Gateway" and o.api_version.startswith(GROUP + "/") and bool(o.name)


def declared(others: Iterable[Other]) -> bool:
    """Whether the input declares any Gateway (and so a Gateway API configuration to build)."""
    return any(_is_gateway(o) for o in others)


def _ports(body: Mapping[str, Any]) -> tuple[int, ...]:
    spec = body.get("spec") or {}
    listeners = spec.get("listeners") if isinstance(spec, Mapping) else None
    out = set()
    for x in listeners if isinstance(listeners, list | tuple) else ():
        if isinstance(x, Mapping) and x.get("protocol") in HTTP_PROTOCOLS \
                and isinstance(x.get("port"), int) and 0 < x["port"] < 65536:
            out.add(int(x["port"]))
    return tuple(sorted(out))


def _addresses(body: Mapping[str, Any], where: str) -> tuple[str, ...]:
    part = body.get(where) or {}
    found = part.get("addresses") if isinstance(part, Mapping) else None
    return tuple(str(a["value"]) for a in (found if isinstance(found, list | tuple) else ())
                 if isinstance(a, Mapping) and a.get("value")
                 and a.get("type", "IPAddress") == "IPAddress")


def data_plane_pod(namespace: str, gateway: str, source: Any, ports: Iterable[int] = ()) -> Pod:
    """The pod serving one Gateway (also for a Gateway not in the input, such as the one
    ``podnet ingress migrate`` writes: NetworkPolicy judges it by labels and namespace)."""
    return Pod(namespace, pod_name(gateway), labels(gateway),
               replace(source, kind="Pod", namespace=namespace, name=pod_name(gateway)),
               ports=tuple(ContainerPort(p, "TCP", f"port-{p}") for p in ports),
               owner_kind="ReplicaSet", owner_name=f"{gateway}-nginx")


def data_plane(others: Iterable[Other], pods: Sequence[Pod],
               services: Sequence[Service]) -> tuple[list[Pod], list[Service]]:
    """A pod and a LoadBalancer Service per Gateway (status.addresses, else spec.addresses as
    the Service's loadBalancerIP, else MetalLB's pools)."""
    have = {(p.namespace, p.labels.get(GATEWAY_NAME_LABEL)) for p in pods
            if GATEWAY_NAME_LABEL in p.labels}
    taken = {(p.namespace, p.name) for p in pods} | {(s.namespace, s.name) for s in services}
    new_pods: list[Pod] = []
    new_services: list[Service] = []
    for o in sorted((o for o in others if _is_gateway(o)), key=lambda o: (o.namespace, o.name)):
        ns = o.namespace or "default"
        ports = _ports(o.body)
        if (ns, o.name) in have or (ns, pod_name(o.name)) in taken:
            continue
        new_pods.append(data_plane_pod(ns, o.name, o.source, ports))
        if not ports or (ns, service_name(o.name)) in taken:
            continue
        status = _addresses(o.body, "status")
        spec = _addresses(o.body, "spec")
        new_services.append(Service(
            ns, service_name(o.name),
            replace(o.source, kind="Service", namespace=ns, name=service_name(o.name)),
            type="LoadBalancer", selector=frozen_map({GATEWAY_NAME_LABEL: o.name}),
            ports=tuple(ServicePort(p, "TCP", f"port-{p}", p) for p in ports),
            load_balancer_ip=spec[0] if spec and not status else "", status_lb_ips=status,
            labels=labels(o.name)))
    return new_pods, new_services
