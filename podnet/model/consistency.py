"""Addresses that no real cluster could hold, or that a dump may hold but that bend podnet's
routes: checked once the model is built, so ``trace`` never draws a path through them silently.

Errors (``InputError``) are for what cannot exist: two nodes answering at one address, or
podCIDRs that overlap. Warnings are for what a live cluster can show: two pods with one IP,
or a pod outside its node's podCIDR. Every check is a dict or a bisection, never a pairwise
loop: a dump of 150,000 pods over 1,400 nodes costs a few hundred milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from podnet.errors import InputError
from podnet.model import ipam
from podnet.model.objects import Node, Pod

INTERNAL_IP_FIELD = "status.addresses[type=InternalIP].address"


def check_nodes(nodes: Sequence[Node]) -> None:
    """Raise for nodes given in the input that no cluster could hold together.

    Only addresses written in the input are compared: the ones podnet hands out skip what
    is taken, so they cannot collide.
    """
    _unique_internal_ips(nodes)
    _disjoint_pod_cidrs(nodes)


def _unique_internal_ips(nodes: Sequence[Node]) -> None:
    # An error, not a warning: an address on the node network belongs to one host. Two nodes
    # with one InternalIP would have kubelet, kube-proxy's NodePorts and every podCIDR route
    # ("via <InternalIP>") reach the same machine, so any path drawn to the second is one the
    # packets could never take. A stale dump does not produce this either: a deleted node's
    # object is gone from the API, so it is not in the dump beside its replacement.
    first: dict[tuple[int, int], Node] = {}
    for n in nodes:
        if not n.internal_ip:
            continue
        key = ipam.address(n.internal_ip)
        other = first.setdefault(key, n)
        if other is not n:
            raise InputError(n.source, INTERNAL_IP_FIELD,
                             f"InternalIP {n.internal_ip} is also the InternalIP of "
                             f"{other.source.where()}, field {INTERNAL_IP_FIELD}: two nodes "
                             "cannot share one address, so routes to either would be "
                             "impossible")


def _disjoint_pod_cidrs(nodes: Sequence[Node]) -> None:
    # An error, not a warning: kube-controller-manager's range allocator (and the cloud
    # allocators) carve node podCIDRs out of the cluster CIDR without reuse, and every
    # podCIDR-routing CNI (Flannel, kube-router, host-gw, the cloud route controllers)
    # installs one route per node podCIDR: with two overlapping, packets for the overlap
    # have two next hops and the cluster could not run. Sorted by start, ranges that do
    # not overlap follow one another, so each needs comparing with its predecessor only.
    given = sorted(((ipam.span(n.pod_cidr), n) for n in nodes if n.pod_cidr),
                   key=lambda r: (r[0], r[1].name))
    for ((pv, _, phi), prev), ((version, lo, _), n) in zip(given, given[1:], strict=False):
        if pv == version and lo <= phi:
            raise InputError(n.source, "spec.podCIDR",
                             f"podCIDR {n.pod_cidr} overlaps podCIDR {prev.pod_cidr} of "
                             f"{prev.source.where()}, field spec.podCIDR: "
                             "kube-controller-manager's node IPAM never hands out "
                             "overlapping ranges, and routes to the overlap would have two "
                             "next hops")


def pod_warnings(pods: Sequence[Pod], given_cidrs: Mapping[str, Node]) -> list[str]:
    """Warnings for pods whose IP the input gave: shared IPs, and IPs outside their node's
    podCIDR.

    ``given_cidrs`` maps node name to the node, for nodes whose podCIDR the input gave: a
    podCIDR podnet chose itself says nothing about where the real pods' IPs lie.
    """
    out = ip_owners(pods)[1]
    _outside_pod_cidr(pods, given_cidrs, out)
    return out


def ip_owners(pods: Sequence[Pod]) -> tuple[dict[str, Pod], list[str]]:
    """The pod that answers at each pod-network IP, and a warning for each other pod that
    claims the same one.

    A warning, not an error: the kubelet tears down a completed pod's sandbox and the CNI
    hands its address to a new pod, while the pod object (Succeeded or Failed) keeps it in
    status.podIP, so a dump from a live cluster holds pairs like this. The ready pod gets
    the address (a completed pod is never ready and has no network), else the first by
    name. hostNetwork pods share their node's address by design and are left out.
    """
    owner: dict[str, Pod] = {}
    shared: dict[str, list[Pod]] = {}
    for p in pods:
        if not p.ip or p.host_network:
            continue
        first = owner.setdefault(p.ip, p)
        if first is not p:
            shared.setdefault(p.ip, [first]).append(p)
            if p.ready and not owner[p.ip].ready:
                owner[p.ip] = p
    out = []
    for ip, claimants in shared.items():
        keep = owner[ip]
        why = "the ready one" if keep.ready else "the first by name"
        out += [f"{p.source.where()}, field status.podIP: {ip} is also the podIP of "
                f"{keep.source.where()}; podnet gives the address to {keep.key} ({why}). "
                "Two running pods cannot share an address, but a completed pod keeps its "
                "podIP after the CNI hands the address to another pod"
                for p in claimants if p is not keep]
    return owner, out


def _outside_pod_cidr(pods: Sequence[Pod], given: Mapping[str, Node], out: list[str]) -> None:
    # A warning, not an error: CNIs with their own IPAM do place pods outside the node's
    # podCIDR (Calico IPAM allocates /26 blocks from its IPPools and ignores podCIDR;
    # Cilium in cluster-pool mode, AWS VPC CNI). podnet routes by podCIDR, as Flannel and
    # the host-gw and BGP modes do, so the hops it draws to such a pod are not the real ones.
    if not given:
        return
    spans = {name: ipam.span(n.pod_cidr or "") for name, n in given.items()}
    owners = ipam.RangeIndex((s, given[name]) for name, s in spans.items())
    for p in pods:
        if p.host_network or not p.ip or p.node not in spans:
            continue
        version, first, last = spans[p.node]
        v, x = ipam.address(p.ip)
        if v == version and first <= x <= last:
            continue
        node = given[p.node]
        holder = owners.find(v, x)
        where = (f"; it lies in podCIDR {holder.pod_cidr} of node {holder.name}"
                 if holder is not None else "")
        out.append(f"{p.source.where()}, field status.podIP: {p.ip} is outside podCIDR "
                   f"{node.pod_cidr} of its node ({node.source.where()}, field "
                   f"spec.podCIDR){where}. CNIs with their own IPAM do this (Calico IPAM "
                   "ignores podCIDR and allocates from IPPool blocks); podnet routes by "
                   "podCIDR, so trace and lab paths to this pod are not the real ones")
