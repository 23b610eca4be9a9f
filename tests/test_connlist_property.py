"""connlist over pod classes must equal the per-pair evaluation it replaced, on random clusters.

The reference below is the former implementation, kept here as the oracle only: every ordered
pair of workload representatives and every (external range, workload) pair asked of
``verdict.Evaluator`` one by one, with the external ranges cut by testing every block on every
piece.
"""

from __future__ import annotations

import ipaddress
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from podnet.model import build, read_texts
from podnet.model.objects import IPBlock
from podnet.model.selectors import EVERYTHING
from podnet.policy import Evaluator, compile_cluster
from podnet.policy import connlist as connlist_module
from podnet.policy.compile import Compiled
from podnet.policy.connlist import connlist, ingress_lines, representatives
from podnet.policy.extranges import V4_END, range_name, ranges
from podnet.policy.matcher import IPPeer, Origin, Rule, Target, TierTarget
from podnet.policy.verdict import block_contains
from tests.admin_gen import admin_docs, strategies
from tests.helpers import policy_docs
from tests.test_matrix_property import mk_peer, sel

APPS = ["a", "b", "c"]
NSS = ["x", "y"]
BLOCKS = [("10.244.0.0/16", []), ("10.244.0.0/23", ["10.244.1.0/24"]),
          ("0.0.0.0/0", ["10.0.0.0/8"]), ("192.168.0.0/16", ["192.168.1.0/24"]),
          ("192.168.1.0/24", []), ("10.0.0.0/8", ["10.0.0.0/9", "10.128.0.0/9"]),
          ("2001:db8::/32", [])]


def old_ranges(targets: tuple[Target | TierTarget, ...]) -> list[tuple[int, int]]:
    blocks = sorted({pm.block for t in targets for r in t.rules for pm in r.peers
                     if isinstance(pm, IPPeer) and ":" not in pm.block.cidr},
                    key=lambda b: (b.cidr, b.excepts))
    cuts = {0, V4_END + 1}
    for b in blocks:
        for cidr in (b.cidr, *b.excepts):
            net = ipaddress.ip_network(cidr, strict=False)
            cuts |= {int(net.network_address), int(net.broadcast_address) + 1}
    edges = sorted(cuts)
    out: list[tuple[int, int]] = []
    last = None
    for lo, nxt in zip(edges, edges[1:], strict=False):
        member = tuple(block_contains(b, str(ipaddress.IPv4Address(lo))) for b in blocks)
        if out and member == last:
            out[-1] = (out[-1][0], nxt - 1)
        else:
            out.append((lo, nxt - 1))
        last = member
    return out


def old_connlist(cluster, compiled: Compiled) -> list[str]:
    ev = Evaluator(cluster, compiled)
    reps = representatives(cluster)
    pairs = [(a, s, b, d) for a, s in reps.items() for b, d in reps.items() if a != b]
    for lo, hi in old_ranges((*compiled.ingress, *compiled.admin_ingress)):
        pairs += [(range_name(lo, hi), str(ipaddress.IPv4Address(lo)), b, d) for b, d in reps.items()]
    for lo, hi in old_ranges((*compiled.egress, *compiled.admin_egress)):
        pairs += [(a, s, range_name(lo, hi), str(ipaddress.IPv4Address(lo))) for a, s in reps.items()]
    lines = [f"{a} => {b} : {allowed}" for a, s, b, d in pairs
             if not (allowed := ev.allowed(s, d)).is_empty()]
    return sorted(lines + ingress_lines(cluster, ev))


nssel = st.one_of(st.none(), st.just({}), st.builds(lambda v: {"matchLabels": {"team": v}},
                                                    st.sampled_from(NSS)))
peer = st.builds(mk_peer, sel, nssel, st.one_of(st.none(), st.sampled_from(BLOCKS)))
port = st.one_of(st.builds(lambda p: {"port": p}, st.sampled_from([80, 81, 443])),
                 st.just({"port": "http"}), st.just({"port": "dns", "protocol": "UDP"}),
                 st.just({"protocol": "UDP"}), st.just({"protocol": "SCTP", "port": 80}),
                 st.builds(lambda lo, n: {"port": lo, "endPort": lo + n},
                           st.sampled_from([79, 80, 1000]), st.integers(0, 3)))
rule = st.fixed_dictionaries({}, optional={"peers": st.lists(peer, max_size=3),
                                           "ports": st.lists(port, max_size=3)})
policy = st.fixed_dictionaries({
    "ns": st.sampled_from(NSS), "sel": sel.map(lambda s: s if s is not None else {}),
    "types": st.sampled_from([["Ingress"], ["Egress"], ["Ingress", "Egress"]]),
    "ingress": st.lists(rule, max_size=3), "egress": st.lists(rule, max_size=3)})
anp, banp = strategies(APPS, NSS, ["10.244.0.0/16", "0.0.0.0/0", "192.168.1.0/24",
                                   "192.168.0.0/16", "2001:db8::/32"])
# namespace, app label, http port, workload (None: a bare pod), IP subnet (None: IPAM's)
podspec = st.tuples(st.sampled_from(NSS), st.sampled_from(APPS), st.sampled_from([80, 81, 8080]),
                    st.sampled_from([None, "w0", "w1", "w2"]),
                    st.sampled_from([None, "10.244.1", "192.168.1", "192.168.7", "172.16.5"]))


def manifest(pods, policies, anps=(), banp_spec=None) -> str:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {"team": n}}}
            for n in NSS]
    for i, (ns, app, http, owner, subnet) in enumerate(pods):
        meta = {"name": f"p{i}", "namespace": ns, "labels": {"app": app}}
        if owner is not None:
            meta["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "controller": True}]
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
               "spec": {"containers": [{"name": "c", "ports": [
                   {"containerPort": http, "name": "http"},
                   {"containerPort": 53 + i % 2, "name": "dns", "protocol": "UDP"}]}]}}
        if subnet is not None:
            doc["status"] = {"podIP": f"{subnet}.{i + 10}"}
        docs.append(doc)
    docs += policy_docs(policies) + admin_docs(list(anps), banp_spec)
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": docs})


@settings(max_examples=150, deadline=None)
@given(st.lists(podspec, min_size=1, max_size=8), st.lists(policy, max_size=4), st.booleans(),
       st.booleans(), st.lists(anp, max_size=3), banp)
def test_connlist_equals_per_pair_reference(pods, policies, ipb, tiny_blocks, anps, banp_spec):
    cluster = build(read_texts([("gen.json", manifest(pods, policies, anps, banp_spec))]), nodes=2)
    compiled = compile_cluster(cluster, ipblock_matches_pods=ipb)
    saved = connlist_module.BLOCK_WORDS
    connlist_module.BLOCK_WORDS = 1 if tiny_blocks else saved  # one destination per block
    try:
        got = connlist(cluster, compiled)
    finally:
        connlist_module.BLOCK_WORDS = saved
    assert got == old_connlist(cluster, compiled)


def _block(base: int, prefix: int, holes: list[tuple[int, int]]) -> IPBlock:
    net = ipaddress.ip_network((base, prefix), strict=False)
    excepts = []
    for off, plen in holes:
        if plen > prefix:
            sub = ipaddress.ip_network((int(net.network_address) + off % net.num_addresses, plen),
                                       strict=False)
            excepts.append(str(sub))
    return IPBlock(str(net), tuple(sorted(set(excepts))))


blocks = st.lists(st.builds(_block, st.sampled_from([0, 10 << 24, (10 << 24) + (1 << 20),
                                                     V4_END - 255]),
                            st.integers(0, 32),
                            st.lists(st.tuples(st.integers(0, V4_END), st.integers(1, 32)),
                                     max_size=3)),
                  max_size=6)


@settings(max_examples=300, deadline=None)
@given(blocks)
def test_external_ranges_equal_piecewise_reference(bs):
    origin = Origin("x/p", "ingress", 0, 0)
    targets = (Target("x/p", "x", EVERYTHING, "ingress",
                      (Rule(tuple(IPPeer(b, origin) for b in bs), (), origin),)),)
    assert ranges(targets) == old_ranges(targets)
