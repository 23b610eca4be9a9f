"""discovery.k8s.io: EndpointSlices."""

from __future__ import annotations

from podnet.model import validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import (
    Endpoint,
    EndpointGroup,
    EndpointPort,
)
from podnet.model.parse.common import (
    _checked,
    _endpoint_ip,
    _meta,
    _protocol,
    _target,
)


def _endpoint_slice(doc: RawDoc) -> EndpointGroup:
    meta, src, ns, _ = _meta(doc)
    service = meta.str_map("labels").get("kubernetes.io/service-name", "")
    body = Fields(doc.body, src)
    eps: list[Endpoint] = []
    # kube-proxy's IPv4 proxier reads only IPv4 slices: a dual-stack Service's IPv6 slice
    # adds no IPv4 endpoint (podnet models the IPv4 half of a dual-stack cluster)
    ipv6 = body.str("addressType", "IPv4") == "IPv6"
    for e in () if ipv6 else body.items("endpoints"):
        # the discovery/v1 reading kube-proxy follows (pkg/proxy/endpointslicecache.go): an
        # absent ready or serving condition counts as true, an absent terminating as false
        cond = e.sub("conditions")
        ready, serving = cond.bool("ready", True), cond.bool("serving", True)
        terminating = cond.bool("terminating", False)
        for i, addr in enumerate(e.str_list("addresses")):
            eps.append(Endpoint(_endpoint_ip(e, f"addresses[{i}]", addr), ready,
                                _checked(e, "nodeName", validate.dns_subdomain_error),
                                _target(e.opt_sub("targetRef")), serving, terminating))
    ports = tuple(EndpointPort(p.int("port") or 0, _protocol(p), p.str("name"))
                  for p in body.items("ports"))
    return EndpointGroup(ns, service, src, tuple(eps), ports)
