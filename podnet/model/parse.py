"""Raw documents → typed objects, validated and defaulted as the API server would.

Legacy apiVersions are upgraded here: ``extensions/v1beta1`` and ``networking.k8s.io/v1beta1``
Ingress (``serviceName``/``servicePort``) become v1 backends; ``extensions/v1beta1``
NetworkPolicy and ``apps/v1beta1``/``v1beta2`` workloads read as their v1 forms.
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from podnet.errors import InputError, SourceRef
from podnet.model import defaults, unmodelled, validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    ContainerPort,
    DNSConfig,
    Endpoint,
    EndpointGroup,
    EndpointPort,
    Ingress,
    IngressBackend,
    IngressPath,
    IngressRule,
    IngressTLS,
    IPBlock,
    Namespace,
    NetworkPolicy,
    Node,
    Other,
    Peer,
    Pod,
    PolicyPort,
    PolicyRule,
    Service,
    ServicePort,
    frozen_map,
)
from podnet.model.selectors import OPERATORS, LabelSelector, Requirement, selector
from podnet.model.vocabulary import PROTOCOLS

WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob",
                  "ReplicationController")
CONFIG_KINDS = ("ConfigMap", "KubeProxyConfiguration", "ClusterConfiguration",
                "KubeletConfiguration", "InitConfiguration", "IPAddressPool", "L2Advertisement",
                "BGPAdvertisement", "BGPPeer", "IPPool", "IngressClass", "FelixConfiguration",
                "BGPConfiguration")
CLUSTER_SCOPED = ("Namespace", "Node", "IngressClass", "KubeProxyConfiguration",
                  "ClusterConfiguration", "KubeletConfiguration", "InitConfiguration", "IPPool",
                  "FelixConfiguration", "BGPConfiguration", "ClusterRole",
                  "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
                  "StorageClass", "PriorityClass", *unmodelled.CLUSTER_SCOPED)


@dataclass(frozen=True, slots=True)
class Workload:
    """A controller and its pod template, expanded into pods by ``workloads.py``."""

    kind: str
    namespace: str
    name: str
    source: SourceRef
    replicas: int
    template: Pod
    node_selector: Mapping[str, str]
    env: Mapping[str, str]
    args: tuple[str, ...] = ()  # every container's command and args, in order


# Problems the API server would reject but that leave network semantics clear are reported as
# warnings, not errors: dumps from tools and test corpora carry them, and the analysis of
# everything else in the file still holds.
_warnings: ContextVar[list[str] | None] = ContextVar("podnet_parse_warnings", default=None)


def _warn(f: Fields, key: str, message: str) -> None:
    sink = _warnings.get()
    if sink is not None:
        sink.append(f"{f.source.where()}, field {f.at(key)}: {message}")


Parsed = (Namespace | Node | Pod | Workload | Service | EndpointGroup | NetworkPolicy | Ingress
          | Other)


def _meta(doc: RawDoc) -> tuple[Fields, SourceRef, str, str]:
    body = doc.body
    kind = str(body.get("kind"))
    pre = SourceRef(file=doc.file, doc=doc.doc, kind=kind)
    meta = Fields(body.get("metadata"), pre, "metadata")
    given = meta.str("name")
    name = given or meta.str("generateName")
    # Names reach rule comments, chain hashes, namespace and file names: they are checked here,
    # once, with the API server's rules, so nothing downstream meets a '/' or a newline.
    if name:
        why = validate.object_name_error(kind, name, generated=not given)
        if why and validate.name_is_tolerable(name):
            _warn(meta, "name" if given else "generateName", f"{why}; the API server would refuse it")
        elif why:
            shown = name.encode("unicode_escape").decode()  # a newline must not end the message
            bad = SourceRef(file=doc.file, doc=doc.doc, kind=kind, name=shown)
            raise InputError(bad, f"metadata.{'name' if given else 'generateName'}", why)
    namespace = "" if kind in CLUSTER_SCOPED else (meta.str("namespace")
                                                   or defaults.DEFAULT_NAMESPACE)
    why = validate.dns_label_error(namespace) if namespace else None
    if why:
        _tolerate(meta, "namespace", namespace, why)
    src = SourceRef(file=doc.file, doc=doc.doc, kind=kind, namespace=namespace, name=name)
    meta = Fields(body.get("metadata"), src, "metadata")
    return meta, src, namespace, name


def _labels(f: Fields, key: str = "labels") -> Mapping[str, str]:
    labels = f.str_map(key)
    for k, v in labels.items():
        why = validate.label_key_error(k) or validate.label_value_error(v)
        if why:
            raise f.error(f"{key}.{k}", why)
    return frozen_map(labels)


def label_selector(f: Fields | None) -> LabelSelector | None:
    """A LabelSelector, or None when the field is absent (null)."""
    if f is None:
        return None
    labels = f.str_map("matchLabels")
    for k, v in labels.items():
        why = validate.label_key_error(k) or validate.label_value_error(v)
        if why:
            raise f.error(f"matchLabels.{k}", why)
    reqs = []
    for e in f.items("matchExpressions"):
        key = e.str("key")
        op = e.str("operator")
        values = e.str_list("values")
        if not key:
            raise e.error("key", "is required")
        why = validate.label_key_error(key)
        if why:
            raise e.error("key", why)
        if op not in OPERATORS:
            raise e.error("operator", f"{op!r} is not one of {', '.join(OPERATORS)}")
        if op in ("In", "NotIn") and not values:
            raise e.error("values", f"must be non-empty for operator {op}")
        if op in ("Exists", "DoesNotExist") and values:
            raise e.error("values", f"must be empty for operator {op}")
        reqs.append(Requirement(key, op, values))
    return selector(labels, tuple(reqs))


def _int_or_string(f: Fields, key: str) -> int | str | None:
    value = f.raw(key)
    if value is None:
        return None
    if isinstance(value, bool):
        raise f.error(key, "must be a number or a name")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return int(value) if value.isdigit() else value
    raise f.error(key, f"must be a number or a name, found {value!r}")


def _protocol(f: Fields, key: str = "protocol") -> str:
    proto = f.str(key, defaults.DEFAULT_PROTOCOL) or defaults.DEFAULT_PROTOCOL
    if proto not in PROTOCOLS:
        raise f.error(key, f"{proto!r} is not one of {', '.join(PROTOCOLS)}")
    return proto


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


def _tolerate(f: Fields, key: str, value: str, why: str) -> None:
    """Warn of a name the API server would refuse but that is harmless wherever podnet puts it;
    refuse anything else (a '/', a space, a newline)."""
    if not validate.name_is_tolerable(value):
        raise f.error(key, why)
    _warn(f, key, f"{why}; the API server would refuse it")


def _checked(f: Fields, key: str, rule: Callable[[str], str | None]) -> str:
    """A name-valued field, checked with the API server's rule for it when present."""
    value = f.str(key)
    why = rule(value) if value else None
    if why:
        _tolerate(f, key, value, why)
    return value


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
    ip = status.str("podIP")
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


def _workload(doc: RawDoc) -> Workload:
    meta, src, ns, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    kind = src.kind
    spec = Fields(doc.body, src).sub("spec")
    if kind == "CronJob":
        spec = spec.sub("jobTemplate").sub("spec")
    template = spec.sub("template")
    tmeta = template.sub("metadata")
    labels = _labels(tmeta)
    sel = label_selector(spec.opt_sub("selector"))
    if sel is not None and not sel.empty and not sel.matches(labels) and kind != "Job":
        raise spec.error("selector", "does not match the pod template's labels "
                         "(the API server rejects this)")
    default_replicas = 1
    if kind in ("Job", "CronJob"):
        replicas = spec.int("parallelism", default_replicas)
    else:
        replicas = spec.int("replicas", default_replicas)
    if replicas is None or replicas < 0:
        raise spec.error("replicas", "must be zero or more")
    pspec = template.sub("spec")
    pod = _pod_from_spec(ns, name, labels, pspec, src, kind, name)
    if kind == "StatefulSet" and spec.str("serviceName") and not pod.subdomain:
        # the StatefulSet controller sets each pod's subdomain to its governing Service
        pod = pod._replace(subdomain=spec.str("serviceName"))
    env: dict[str, str] = {}
    args: list[str] = []
    for c in pspec.items("containers"):
        for e in c.items("env"):
            if e.has("value"):
                env.setdefault(e.str("name"), e.str("value"))
        args += (str(a) for a in (*_words(c, "command"), *_words(c, "args")))
    return Workload(kind, ns, name, src, replicas, pod, frozen_map(pspec.str_map("nodeSelector")),
                    frozen_map(env), tuple(args))


def _words(f: Fields, key: str) -> list[str]:
    """A container's command or args: strings, though YAML may make numbers of some."""
    value = f.raw(key, [])
    if not isinstance(value, list | tuple) or any(isinstance(v, dict | list) for v in value):
        raise f.error(key, "must be a list of strings")
    return [str(v) for v in value]


def _ip_block(f: Fields) -> IPBlock:
    cidr = f.str("cidr")
    if not cidr:
        raise f.error("cidr", "is required")
    why = validate.cidr_error(cidr)
    if why:
        raise f.error("cidr", why)
    outer = ipaddress.ip_network(cidr, strict=False)
    excepts = f.str_list("except")
    for i, e in enumerate(excepts):
        why = validate.cidr_error(e)
        if why:
            raise f.error(f"except[{i}]", why)
        inner = ipaddress.ip_network(e, strict=False)
        if inner.version != outer.version or not inner.subnet_of(outer) or inner == outer:  # type: ignore[arg-type]
            raise f.error(f"except[{i}]", f"{e} must be a strict subset of {cidr}")
    return IPBlock(cidr, excepts)


def _peer(f: Fields) -> Peer:
    pod_sel = label_selector(f.opt_sub("podSelector"))
    ns_sel = label_selector(f.opt_sub("namespaceSelector"))
    block = f.opt_sub("ipBlock")
    if block is not None and (pod_sel is not None or ns_sel is not None):
        raise f.error("ipBlock", "may not be combined with podSelector or namespaceSelector")
    if block is None and pod_sel is None and ns_sel is None:
        raise InputError(f.source, f.path, "must specify a peer (podSelector, "
                         "namespaceSelector or ipBlock)")
    return Peer(pod_sel, ns_sel, _ip_block(block) if block is not None else None)


def _policy_port(f: Fields) -> PolicyPort:
    proto = _protocol(f)
    port = _int_or_string(f, "port")
    end = f.int("endPort")
    if isinstance(port, int):
        why = validate.port_number_error(port)
        if why:
            raise f.error("port", why)
    elif isinstance(port, str):
        why = validate.port_name_error(port)
        if why:
            raise f.error("port", why)
    if end is not None:
        if not isinstance(port, int):
            raise f.error("endPort", "may only be set when port is a number")
        if end < port:
            raise f.error("endPort", f"{end} must be greater than or equal to port {port}")
        why = validate.port_number_error(end)
        if why:
            raise f.error("endPort", why)
    return PolicyPort(proto, port, end)


def _rule(f: Fields, peers_key: str) -> PolicyRule:
    return PolicyRule(tuple(_peer(p) for p in f.items(peers_key)),
                      tuple(_policy_port(p) for p in f.items("ports")))


def _network_policy(doc: RawDoc) -> NetworkPolicy:
    meta, src, ns, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    spec = Fields(doc.body, src).sub("spec")
    if "podSelector" not in spec.data:
        raise spec.error("podSelector", "is required")
    pod_sel = label_selector(spec.sub("podSelector")) or LabelSelector()
    types = spec.str_list("policyTypes")
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            raise spec.error(f"policyTypes[{i}]", f"{t!r} is not Ingress or Egress")
    ingress = tuple(_rule(r, "from") for r in spec.items("ingress"))
    egress = tuple(_rule(r, "to") for r in spec.items("egress"))
    return NetworkPolicy(ns, name, src, pod_sel, defaults.policy_types(types, bool(egress)),
                         ingress, egress)


def _as_kube_proxy_reads(f: Fields, key: str, text: str, cidr: bool = False) -> str:
    """An address or CIDR that kube-proxy parses, as it parses it (pkg/proxy/serviceport.go):
    source ranges trimmed, IPv4 with leading zeros in decimal (old API servers stored those).
    A value it reads differently from its text is a warning; one it cannot read, an error."""
    read = (validate.parse_cidr_sloppy(text.strip()) if cidr else validate.parse_ip_sloppy(text))
    if read is None:
        raise f.error(key, (validate.cidr_error if cidr else validate.ip_error)(text)
                      or f"{text!r} is not valid")
    if read != text:
        _warn(f, key, f"{text!r} is read as {read}, as kube-proxy parses it")
    return read


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
    if cluster_ip and cluster_ip != "None":
        cluster_ip = _as_kube_proxy_reads(spec, "clusterIP", cluster_ip)
    for i, text in enumerate(spec.str_list("clusterIPs")):
        if text != "None":
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


def _target(ref: Fields | None) -> str:
    if ref is None or ref.str("kind", "Pod") != "Pod":
        return ""
    return f"{ref.str('namespace')}/{ref.str('name')}"


def _endpoint_ip(f: Fields, key: str, text: str) -> str:
    """Endpoint addresses as kube-proxy reads them; anything else (an FQDN slice's names) as is."""
    return (_as_kube_proxy_reads(f, key, text) if validate.parse_ip_sloppy(text) is not None
            else text)


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


def _endpoint_slice(doc: RawDoc) -> EndpointGroup:
    meta, src, ns, _ = _meta(doc)
    service = meta.str_map("labels").get("kubernetes.io/service-name", "")
    body = Fields(doc.body, src)
    eps: list[Endpoint] = []
    for e in body.items("endpoints"):
        ready = e.sub("conditions").bool("ready", True)
        for i, addr in enumerate(e.str_list("addresses")):
            eps.append(Endpoint(_endpoint_ip(e, f"addresses[{i}]", addr), ready,
                                _checked(e, "nodeName", validate.dns_subdomain_error),
                                _target(e.opt_sub("targetRef"))))
    ports = tuple(EndpointPort(p.int("port") or 0, _protocol(p), p.str("name"))
                  for p in body.items("ports"))
    return EndpointGroup(ns, service, src, tuple(eps), ports)


def _backend(f: Fields, legacy: bool) -> IngressBackend:
    if legacy:
        port = _int_or_string(f, "servicePort")
        return IngressBackend(_checked(f, "serviceName", validate.dns1035_label_error),
                              port if isinstance(port, int) else None,
                              port if isinstance(port, str) else "")
    svc = f.opt_sub("service")
    if svc is None:
        res = f.opt_sub("resource")
        return IngressBackend(resource=res.str("name") if res else "")
    pf = svc.sub("port")
    return IngressBackend(_checked(svc, "name", validate.dns1035_label_error), pf.int("number"),
                          pf.str("name"))


def _ingress(doc: RawDoc) -> Ingress:
    meta, src, ns, name = _meta(doc)
    api = str(doc.body.get("apiVersion", ""))
    legacy = api != "networking.k8s.io/v1"
    spec = Fields(doc.body, src).sub("spec")
    annotations = frozen_map(meta.str_map("annotations"))
    ingress_class = spec.str("ingressClassName") or annotations.get("kubernetes.io/ingress.class", "")
    default_f = spec.opt_sub("defaultBackend") or spec.opt_sub("backend")
    rules: list[IngressRule] = []
    for r in spec.items("rules"):
        host = r.str("host")
        if host == "*" or (host.startswith("*") and not host.startswith("*.")):
            raise r.error("host", f"{host!r}: a wildcard must be '*.' followed by a domain")
        paths: list[IngressPath] = []
        for p in r.sub("http").items("paths"):
            path = p.str("path")
            ptype = p.str("pathType") or ("ImplementationSpecific" if legacy else "")
            if not ptype:
                raise p.error("pathType", "is required in networking.k8s.io/v1")
            if ptype not in ("Exact", "Prefix", "ImplementationSpecific"):
                raise p.error("pathType", f"{ptype!r} is not Exact, Prefix or ImplementationSpecific")
            if ptype != "ImplementationSpecific" and not path.startswith("/"):
                raise p.error("path", "must be an absolute path")
            paths.append(IngressPath(path or "/", ptype, _backend(p.sub("backend"), legacy)))
        rules.append(IngressRule(host, tuple(paths)))
    tls = tuple(IngressTLS(t.str_list("hosts"), t.str("secretName")) for t in spec.items("tls"))
    return Ingress(ns, name, src, api, ingress_class, annotations,
                   _backend(default_f, legacy) if default_f is not None else None,
                   tuple(rules), tls, spec.str("ingressClassName"),
                   _timestamp(meta, "creationTimestamp"))


def _timestamp(f: Fields, key: str) -> str:
    """An RFC 3339 time as text (YAML reads unquoted ones as datetimes)."""
    value = f.raw(key)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:  # YAML's timestamps without a zone are UTC
            value = value.replace(tzinfo=datetime.UTC)
        return value.isoformat()
    return f.str(key)


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
    cidr = spec.str("podCIDR")
    if cidr:
        why = validate.cidr_error(cidr)
        if why:
            raise spec.error("podCIDR", why)
    ip = ""
    for a in body.sub("status").items("addresses"):
        if a.str("type") == "InternalIP":
            ip = a.str("address")
            why = validate.ip_error(ip)
            if why:
                raise a.error("address", why)
            break
    return Node(name, _labels(meta), src, cidr or None, ip or None, _node_subnet(meta))


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


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


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
    if kind in _PARSERS:
        return _PARSERS[kind](doc)
    if kind in WORKLOAD_KINDS:
        return _workload(doc)
    return _other(doc)
