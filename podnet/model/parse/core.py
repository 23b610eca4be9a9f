"""core/v1: Pods, Services, Endpoints, Namespaces, Nodes."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from podnet.errors import SourceRef
from podnet.model import defaults, validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    ContainerPort,
    DNSConfig,
    Endpoint,
    EndpointGroup,
    EndpointPort,
    Namespace,
    Node,
    Pod,
    Service,
    ServicePort,
    frozen_map,
)
from podnet.model.parse.common import (
    IPV6_ONLY,
    _as_kube_proxy_reads,
    _checked,
    _endpoint_ip,
    _int_or_string,
    _labels,
    _meta,
    _protocol,
    _target,
    _warn,
    ipv4_of,
)


def _dns_config(f: Fields | None) -> DNSConfig | None:
    if f is None:
        return None
    options: list[tuple[str, str | None]] = []
    for o in f.items("options"):
        name = o.str("name")
        if not name:
            raise o.error("name", "is required")
        value = o.raw("value")
        options.append((name, None if value is None else str(value)))
    return DNSConfig(f.str_list("nameservers"), f.str_list("searches"), tuple(options))


def _container_ports(spec: Fields) -> tuple[ContainerPort, ...]:
    ports: list[ContainerPort] = []
    for c in spec.items("containers"):
        for p in c.items("ports"):
            number = p.int("containerPort")
            if number is None:
                _warn(p, "containerPort", "is missing (the API server requires it); port ignored")
                continue
            why = validate.port_number_error(number)
            if why:
                raise p.error("containerPort", why)
            name = p.str("name")
            if name:
                why = validate.port_name_error(name)
                if why:
                    raise p.error("name", why)
            ports.append(ContainerPort(number, _protocol(p), name))
    return tuple(ports)


def _pod_from_spec(namespace: str, name: str, labels: Mapping[str, str], spec: Fields,
                   src: SourceRef, owner_kind: str, owner_name: str, ip: str = "",
                   ready: bool = True) -> Pod:
    host_network = spec.bool("hostNetwork")
    dns_policy = spec.str("dnsPolicy", defaults.DEFAULT_DNS_POLICY)
    if dns_policy not in ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"):
        raise spec.error("dnsPolicy", f"{dns_policy!r} is not a DNS policy")
    checked = {k: _checked(spec, k, rule) for k, rule in (
        ("nodeName", validate.dns_subdomain_error), ("hostname", validate.dns_label_error),
        ("subdomain", validate.dns_label_error))}
    return Pod(namespace=namespace, name=name, labels=labels, source=src,
               node=checked["nodeName"], ip=ip, ports=_container_ports(spec),
               host_network=host_network, owner_kind=owner_kind, owner_name=owner_name,
               dns_policy=dns_policy, dns_config=_dns_config(spec.opt_sub("dnsConfig")),
               hostname=checked["hostname"], subdomain=checked["subdomain"], ready=ready)


def _pod(doc: RawDoc) -> Pod:
    meta, src, ns, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    body = Fields(doc.body, src)
    status = body.sub("status")
    ip = ipv4_of(status, "podIP", "podIPs", "ip")
    if ip:
        why = validate.ip_error(ip)
        if why:
            raise status.error("podIP", why)
    owner_kind, owner_name = "Pod", name
    for ref in meta.items("ownerReferences"):
        if ref.bool("controller", True):
            owner_kind, owner_name = ref.str("kind"), ref.str("name", name)
            break
    ready = True
    for cond in status.items("conditions"):
        if cond.str("type") == "Ready":
            ready = cond.str("status", "True") == "True"
    phase = status.str("phase")
    if phase in ("Succeeded", "Failed"):
        ready = False
    return _pod_from_spec(ns, name, _labels(meta), body.sub("spec"), src, owner_kind,
                          owner_name, ip, ready)


def _service(doc: RawDoc) -> Service:
    meta, src, ns, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    body = Fields(doc.body, src)
    spec = body.sub("spec")
    stype = spec.str("type", "ClusterIP") or "ClusterIP"
    if stype not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        raise spec.error("type", f"{stype!r} is not a Service type")
    ports: list[ServicePort] = []
    for p in spec.items("ports"):
        number = p.int("port")
        if number is None:
            raise p.error("port", "is required")
        why = validate.port_number_error(number)
        if why:
            raise p.error("port", why)
        tp = _int_or_string(p, "targetPort")
        node_port = p.int("nodePort")
        why = validate.port_number_error(node_port) if node_port else None
        if why:
            raise p.error("nodePort", why)
        ports.append(ServicePort(number, _protocol(p), p.str("name"),
                                 defaults.target_port(number, tp), node_port or None,
                                 p.str("appProtocol")))
    if len(ports) > 1 and any(not p.name for p in ports):
        _warn(spec, "ports", "every port must be named when there is more than one "
              "(the API server requires it)")
    cluster_ip = spec.str("clusterIP")
    if cluster_ip and cluster_ip != "None" and ":" in cluster_ip:
        cluster_ip = ipv4_of(spec, "clusterIP", "clusterIPs")
    if cluster_ip and cluster_ip != "None":
        cluster_ip = _as_kube_proxy_reads(spec, "clusterIP", cluster_ip)
    for i, text in enumerate(spec.str_list("clusterIPs")):
        if text != "None" and ":" not in text:
            _as_kube_proxy_reads(spec, f"clusterIPs[{i}]", text)
    lb_ip = spec.str("loadBalancerIP")
    if lb_ip and validate.ip_error(lb_ip):
        raise spec.error("loadBalancerIP", validate.ip_error(lb_ip) or "")
    sel_map = spec.str_map("selector") if spec.has("selector") else None
    affinity = spec.str("sessionAffinity", "None") or "None"
    timeout = (spec.sub("sessionAffinityConfig").sub("clientIP")
               .int("timeoutSeconds", defaults.DEFAULT_AFFINITY_TIMEOUT))
    if timeout is not None and not 1 <= timeout <= 86400:
        raise (spec.sub("sessionAffinityConfig").sub("clientIP")
               .error("timeoutSeconds", f"{timeout} is not between 1 and 86400"))
    external_ips = tuple(_as_kube_proxy_reads(spec, f"externalIPs[{i}]", text)
                         for i, text in enumerate(spec.str_list("externalIPs")))
    source_ranges = tuple(_as_kube_proxy_reads(spec, f"loadBalancerSourceRanges[{i}]", text, True)
                          for i, text in enumerate(spec.str_list("loadBalancerSourceRanges")))
    lb_ips = [_as_kube_proxy_reads(ing, "ip", ing.str("ip"))
              for ing in body.sub("status").sub("loadBalancer").items("ingress") if ing.str("ip")]
    return Service(
        namespace=ns, name=name, source=src, type=stype,
        selector=frozen_map(sel_map) if sel_map is not None else None,
        cluster_ip=cluster_ip, ports=tuple(ports), external_name=spec.str("externalName"),
        external_ips=external_ips, session_affinity=affinity,
        affinity_timeout=timeout or defaults.DEFAULT_AFFINITY_TIMEOUT,
        external_traffic_policy=defaults.traffic_policy(stype, spec.str("externalTrafficPolicy")),
        internal_traffic_policy=defaults.traffic_policy(stype, spec.str("internalTrafficPolicy")),
        load_balancer_ip=lb_ip,
        load_balancer_source_ranges=source_ranges,
        status_lb_ips=tuple(lb_ips), health_check_node_port=spec.int("healthCheckNodePort"),
        publish_not_ready=spec.bool("publishNotReadyAddresses"),
        allocate_lb_node_ports=spec.bool("allocateLoadBalancerNodePorts", True), labels=_labels(meta),
        annotations=frozen_map(meta.str_map("annotations")))


def _endpoints(doc: RawDoc) -> EndpointGroup:
    meta, src, ns, name = _meta(doc)
    eps: list[Endpoint] = []
    ports: list[EndpointPort] = []
    for s in Fields(doc.body, src).items("subsets"):
        for a in s.items("addresses"):
            eps.append(Endpoint(_endpoint_ip(a, "ip", a.str("ip")), True,
                                _checked(a, "nodeName", validate.dns_subdomain_error),
                                _target(a.opt_sub("targetRef"))))
        for a in s.items("notReadyAddresses"):
            eps.append(Endpoint(_endpoint_ip(a, "ip", a.str("ip")), False, a.str("nodeName"),
                                _target(a.opt_sub("targetRef"))))
        for p in s.items("ports"):
            ports.append(EndpointPort(p.int("port") or 0, _protocol(p), p.str("name")))
    return EndpointGroup(ns, name, src, tuple(eps), tuple(dict.fromkeys(ports)))


def _namespace(doc: RawDoc) -> Namespace:
    meta, src, _, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    why = validate.dns_label_error(name)
    if why:
        raise meta.error("name", why)
    labels = dict(_labels(meta))
    labels[defaults.NAMESPACE_NAME_LABEL] = name
    return Namespace(name, frozen_map(labels), src)


def _node(doc: RawDoc) -> Node:
    meta, src, _, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    body = Fields(doc.body, src)
    spec = body.sub("spec")
    cidr = ipv4_of(spec, "podCIDR", "podCIDRs")
    if cidr:
        why = validate.cidr_error(cidr)
        if why:
            raise spec.error("podCIDR", why)
    ip = ""
    internal = [a for a in body.sub("status").items("addresses") if a.str("type") == "InternalIP"]
    for a in internal:  # the IPv4 one of a dual-stack node
        why = validate.ip_error(a.str("address"))
        if why:
            raise a.error("address", why)
        if ":" not in a.str("address"):
            ip = a.str("address")
            break
    if internal and not ip:
        raise internal[0].error("address", f"{internal[0].str('address')!r} {IPV6_ONLY}")
    addresses: list[str] = []
    for a in body.sub("status").items("addresses"):
        value = a.str("address")
        if a.str("type") in ("InternalIP", "ExternalIP") and ":" not in value:
            why = validate.ip_error(value)
            if why:
                raise a.error("address", why)
            addresses.append(value)
    return Node(name, _labels(meta), src, cidr or None, ip or None, _node_subnet(meta),
                tuple(dict.fromkeys(addresses)))


CALICO_NODE_ADDRESS = "projectcalico.org/IPv4Address"


def _node_subnet(meta: Fields) -> str | None:
    """The subnet of calico-node's address annotation, e.g. ``10.0.1.5/24`` -> ``10.0.1.0/24``:
    what Calico's CrossSubnet compares peers against."""
    value = meta.str_map("annotations").get(CALICO_NODE_ADDRESS, "")
    if not value:
        return None
    try:
        iface = ipaddress.IPv4Interface(value)
    except ValueError:
        iface = None
    if iface is None or "/" not in value:
        raise meta.error(f"annotations.{CALICO_NODE_ADDRESS}",
                         f"{value!r} is not an IPv4 address/prefix (calico-node writes e.g. "
                         "10.0.0.5/24)")
    return str(iface.network)
