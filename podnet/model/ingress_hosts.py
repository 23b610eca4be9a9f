"""Which server names an Ingress can shape: the one definition both the route table's host
scoping (``podnet.ingress.routes``) and the model cache's per-host shards use, so a request's
view of the input holds exactly the Ingresses its route table would read."""

from __future__ import annotations

from podnet.model.objects import Ingress


def shaped_hosts(ing: Ingress) -> frozenset[str] | None:
    """The lower-cased hosts of its rules and of its ``server-alias`` annotation (under any
    prefix), or None when it shapes every server: a rule without a host (the default server)
    or only a catch-all backend."""
    if not ing.rules and ing.default_backend is not None:
        return None
    hosts: set[str] = set()
    for r in ing.rules:
        if not r.host:
            return None
        hosts.add(r.host.lower())
    for k, v in ing.annotations.items():
        if k.endswith("/server-alias"):
            hosts.update(a.strip().lower() for a in v.split(","))
    return frozenset(hosts)
