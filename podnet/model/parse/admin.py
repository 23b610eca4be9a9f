"""policy.networking.k8s.io/v1alpha1: AdminNetworkPolicy and BaselineAdminNetworkPolicy,
checked as the API's schema (its CEL and OpenAPI validations) would check them.

A subject is either ``namespaces`` (a namespace selector: every pod in them) or ``pods``
(``namespaceSelector`` and ``podSelector``, both required). A peer is exactly one of
``namespaces``, ``pods``, and for egress also ``nodes`` (a node selector) and ``networks``
(CIDRs). A port is exactly one of ``portNumber``, ``namedPort`` and ``portRange``.
"""

from __future__ import annotations

from collections.abc import Callable

from podnet.errors import InputError
from podnet.model import validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import AdminPolicy, AdminRule, IPBlock, Peer, PolicyPort
from podnet.model.parse.common import _meta, _protocol, _warn, label_selector
from podnet.model.selectors import EVERYTHING, LabelSelector
from podnet.model.vocabulary import PROTOCOLS

ANP, BANP = "AdminNetworkPolicy", "BaselineAdminNetworkPolicy"
MAX_PRIORITY = 1000


def _one_of(f: Fields, keys: tuple[str, ...]) -> str:
    given = [k for k in keys if f.has(k)]
    if len(given) != 1:
        raise InputError(f.source, f.path, f"must set exactly one of {', '.join(keys)}"
                         + (f" (found {', '.join(given)})" if given else ""))
    return given[0]


def _selector(f: Fields, key: str) -> LabelSelector:
    if not f.has(key):
        raise f.error(key, "is required")
    return label_selector(f.sub(key)) or EVERYTHING


def read_priority(spec: Fields) -> int:
    """``spec.priority``, required and within 0..1000 (both API generations)."""
    priority = spec.int("priority")
    if priority is None:
        raise spec.error("priority", "is required")
    if not 0 <= priority <= MAX_PRIORITY:
        raise spec.error("priority", f"{priority} is outside 0..{MAX_PRIORITY}")
    return priority


def read_subject(spec: Fields, pods: Callable[[Fields], tuple[LabelSelector, LabelSelector]]
                 ) -> tuple[LabelSelector, LabelSelector]:
    """``spec.subject``: exactly one of ``namespaces`` (every pod in them) or ``pods``, read by
    ``pods`` (the generations differ on whether its namespaceSelector may be left out)."""
    subject = spec.sub("subject")
    if _one_of(subject, ("namespaces", "pods")) == "namespaces":
        return _selector(subject, "namespaces"), EVERYTHING
    return pods(subject.sub("pods"))


def _pods_selector(f: Fields, key: str) -> LabelSelector:
    """``pods.podSelector`` / ``pods.namespaceSelector``: required by the schema, but a Go
    consumer (netpol-analyzer, the CNIs' controllers) reads an absent one as empty, selecting
    all; podnet reads it the same way and says so."""
    if not f.has(key):
        _warn(f, key, "is required by the API (read as {}, selecting all, as Go readers do)")
        return EVERYTHING
    return _selector(f, key)


def _peer(f: Fields, egress: bool) -> Peer:
    kinds = ("namespaces", "pods", "nodes", "networks") if egress else ("namespaces", "pods")
    kind = _one_of(f, kinds)
    if kind == "namespaces":
        return Peer(EVERYTHING, _selector(f, "namespaces"))
    if kind == "pods":
        pods = f.sub("pods")
        return Peer(_pods_selector(pods, "podSelector"), _pods_selector(pods, "namespaceSelector"))
    if kind == "nodes":
        return Peer(node_selector=_selector(f, "nodes"))
    raise AssertionError("networks are expanded by _peers")


def network_peers(p: Fields) -> list[Peer]:
    """A ``networks`` peer (both API generations): one ipBlock per CIDR, each checked."""
    cidrs = p.str_list("networks")
    if not cidrs:
        raise p.error("networks", "must list at least one CIDR")
    out = []
    for i, cidr in enumerate(cidrs):
        why = validate.cidr_error(cidr)
        if why:
            raise p.error(f"networks[{i}]", why)
        out.append(Peer(ip_block=IPBlock(cidr)))
    return out


def _peers(f: Fields, key: str, egress: bool) -> tuple[Peer, ...]:
    out: list[Peer] = []
    for p in f.items(key):
        if egress and p.has("networks") and not any(p.has(k) for k in ("namespaces", "pods", "nodes")):
            out += network_peers(p)
        else:
            out.append(_peer(p, egress))
    if not out:
        raise f.error(key, "must list at least one peer")
    return tuple(out)


def _port_number(f: Fields, key: str) -> int:
    n = f.int(key)
    if n is None:
        raise f.error(key, "is required")
    why = validate.port_number_error(n)
    if why:
        raise f.error(key, why)
    return n


def _port(f: Fields) -> tuple[PolicyPort, ...]:
    kind = _one_of(f, ("portNumber", "namedPort", "portRange"))
    if kind == "portNumber":
        pn = f.sub("portNumber")
        return (PolicyPort(_protocol(pn), _port_number(pn, "port")),)
    if kind == "namedPort":
        name = f.str("namedPort")
        why = validate.port_name_error(name)
        if why:
            raise f.error("namedPort", why)
        # A named port carries no protocol: it matches the container port of that name,
        # whatever its protocol.
        return tuple(PolicyPort(proto, name) for proto in PROTOCOLS)
    pr = f.sub("portRange")
    start, end = _port_number(pr, "start"), _port_number(pr, "end")
    if end <= start:
        raise pr.error("end", f"{end} must be greater than start {start}")
    return (PolicyPort(_protocol(pr), start, end),)


def _rule(f: Fields, kind: str, egress: bool) -> AdminRule:
    actions = ("Allow", "Deny", "Pass") if kind == ANP else ("Allow", "Deny")
    action = f.str("action")
    if action not in actions:
        raise f.error("action", f"{action!r} is not one of {', '.join(actions)}" if action
                      else "is required")
    ports = tuple(pp for p in f.items("ports") for pp in _port(p))
    return AdminRule(f.str("name"), action, _peers(f, "to" if egress else "from", egress), ports)


def admin_policy(doc: RawDoc) -> AdminPolicy:
    meta, src, _, name = _meta(doc)
    kind = src.kind
    if not name:
        raise meta.error("name", "is required")
    if kind == BANP and name != "default":
        raise meta.error("name", f"{name!r}: a BaselineAdminNetworkPolicy must be named 'default'")
    spec = Fields(doc.body, src).sub("spec")
    priority = read_priority(spec) if kind == ANP else None
    ns_sel, pod_sel = read_subject(spec, lambda pods: (_pods_selector(pods, "namespaceSelector"),
                                                       _pods_selector(pods, "podSelector")))
    return AdminPolicy(kind, name, src, priority, ns_sel, pod_sel,
                       tuple(_rule(r, kind, False) for r in spec.items("ingress")),
                       tuple(_rule(r, kind, True) for r in spec.items("egress")))
