"""policy.networking.k8s.io/v1alpha2: ClusterNetworkPolicy, the successor of v1alpha1's two
admin kinds, read into the same ``AdminPolicy`` and checked as its schema would check it.

``spec.tier`` is Admin (behaves as an AdminNetworkPolicy) or Baseline (as the
BaselineAdminNetworkPolicy, but there may be many, ordered by ``priority`` 0..1000 like the
admin tier). Actions are Accept, Deny and Pass in both tiers; a Baseline Pass hands the
connection to the default, which allows it. Peers: ``namespaces`` or ``pods`` (where
``namespaceSelector`` may be left out, selecting all namespaces), and for egress also ``nodes``,
``networks`` and ``domainNames``. Ports come as ``protocols``: exactly one of ``tcp``, ``udp``,
``sctp`` (each a ``destinationPort`` of ``number`` or ``range``) and ``destinationNamedPort``.
"""

from __future__ import annotations

from podnet.model import validate
from podnet.model.fields import Fields
from podnet.model.load import RawDoc
from podnet.model.objects import AdminPolicy, AdminRule, Peer, PolicyPort
from podnet.model.parse.admin import (
    _one_of,
    _pods_selector,
    _port_number,
    _selector,
    network_peers,
    read_priority,
    read_subject,
)
from podnet.model.parse.common import _meta, _warn
from podnet.model.selectors import EVERYTHING, LabelSelector
from podnet.model.vocabulary import PROTOCOLS

CNP = "ClusterNetworkPolicy"
TIERS = ("Admin", "Baseline")
ACTIONS = {"Accept": "Allow", "Deny": "Deny", "Pass": "Pass"}
_L4 = {"tcp": "TCP", "udp": "UDP", "sctp": "SCTP"}


def _namespaced_pod(f: Fields) -> tuple[LabelSelector, LabelSelector]:
    """(namespace selector, pod selector) of a ``NamespacedPod``: here ``namespaceSelector``
    is optional (absent selects all namespaces); ``podSelector`` is required."""
    ns = _selector(f, "namespaceSelector") if f.has("namespaceSelector") else EVERYTHING
    return ns, _pods_selector(f, "podSelector")


def _peers(rule: Fields, key: str, egress: bool) -> tuple[tuple[Peer, ...], bool]:
    """The rule's peers, and whether one of them is a ``networks``/``nodes``/``domainNames``
    peer (which has no named ports)."""
    kinds = (("namespaces", "pods", "nodes", "networks", "domainNames") if egress
             else ("namespaces", "pods"))
    items = rule.items(key)
    if not items:
        raise rule.error(key, "must list at least one peer")
    out: list[Peer] = []
    not_pods = False
    for p in items:
        kind = _one_of(p, kinds)
        if kind == "namespaces":
            out.append(Peer(EVERYTHING, _selector(p, "namespaces")))
        elif kind == "pods":
            ns, pods = _namespaced_pod(p.sub("pods"))
            out.append(Peer(pods, ns))
        elif kind == "nodes":
            not_pods = True
            out.append(Peer(node_selector=_selector(p, "nodes")))
        elif kind == "networks":
            not_pods = True
            out += network_peers(p)
        else:
            not_pods = True
            if not p.str_list("domainNames"):
                raise p.error("domainNames", "must list at least one domain name")
            # Which addresses a name has is learnt at run time from DNS answers; podnet has
            # no such answers, so the peer matches nothing and the answer says so.
            _warn(p, "domainNames", "domain name peers are not modelled by podnet: this peer "
                  "matches no connection in its answers")
    return tuple(out), not_pods


def _port(f: Fields) -> tuple[PolicyPort, ...]:
    kind = _one_of(f, ("tcp", "udp", "sctp", "destinationNamedPort"))
    if kind == "destinationNamedPort":
        name = f.str(kind)
        why = validate.port_name_error(name)
        if why:
            raise f.error(kind, why)
        # A named port carries no protocol: it matches the container port of that name.
        return tuple(PolicyPort(proto, name) for proto in PROTOCOLS)
    proto = _L4[kind]
    dp = f.sub(kind)
    if not dp.has("destinationPort"):
        raise dp.error("destinationPort", "is required")
    port = dp.sub("destinationPort")
    if _one_of(port, ("number", "range")) == "number":
        return (PolicyPort(proto, _port_number(port, "number")),)
    r = port.sub("range")
    start, end = _port_number(r, "start"), _port_number(r, "end")
    if end <= start:
        raise r.error("end", f"{end} must be greater than start {start}")
    return (PolicyPort(proto, start, end),)


def _rule(f: Fields, egress: bool) -> AdminRule:
    action = f.str("action")
    if action not in ACTIONS:
        raise f.error("action", f"{action!r} is not one of {', '.join(ACTIONS)}" if action
                      else "is required")
    peers, not_pods = _peers(f, "to" if egress else "from", egress)
    protocols = f.items("protocols")
    if f.has("protocols") and not protocols:
        raise f.error("protocols", "must list at least one protocol when set")
    ports = tuple(pp for p in protocols for pp in _port(p))
    if not_pods and any(p.has("destinationNamedPort") for p in protocols):
        raise f.error("protocols", "a destinationNamedPort cannot be used with networks, nodes or "
                      "domainNames peers: they have no named ports")
    return AdminRule(f.str("name"), ACTIONS[action], peers, ports)


def cluster_network_policy(doc: RawDoc) -> AdminPolicy:
    meta, src, _, name = _meta(doc)
    if not name:
        raise meta.error("name", "is required")
    spec = Fields(doc.body, src).sub("spec")
    tier = spec.str("tier")
    if tier not in TIERS:
        raise spec.error("tier", f"{tier!r} is not one of {', '.join(TIERS)}" if tier
                         else "is required")
    priority = read_priority(spec)
    ns_sel, pod_sel = read_subject(spec, _namespaced_pod)
    ingress = tuple(_rule(r, False) for r in spec.items("ingress"))
    egress = tuple(_rule(r, True) for r in spec.items("egress"))
    return AdminPolicy(CNP, name, src, priority, ns_sel, pod_sel, ingress, egress, spec_tier=tier)
