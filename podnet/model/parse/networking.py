"""networking.k8s.io: NetworkPolicy and Ingress (``extensions/v1beta1`` and
``networking.k8s.io/v1beta1`` Ingress, with ``serviceName``/``servicePort``, become v1
backends; ``extensions/v1beta1`` NetworkPolicy reads as v1)."""

from __future__ import annotations

import ipaddress

from podnet.errors import InputError
from podnet.model import defaults, validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    Ingress,
    IngressBackend,
    IngressPath,
    IngressRule,
    IngressTLS,
    IPBlock,
    NetworkPolicy,
    Peer,
    PolicyPort,
    PolicyRule,
    frozen_map,
)
from podnet.model.parse.common import (
    _checked,
    _int_or_string,
    _meta,
    _protocol,
    _timestamp,
    label_selector,
)
from podnet.model.selectors import LabelSelector


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
