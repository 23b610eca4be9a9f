"""How `lab up` cuts its plan into `ip -batch` runs (podnet/lab/batch.py): which namespace
each line goes to, the waves that keep a link's maker before the namespace it lands in, and
the failed lines `ip -force -batch` reports."""

from __future__ import annotations

import struct

from podnet.lab import batch, making, rtnl
from podnet.lab.apply import BATCHED, after_files, runs
from podnet.lab.plan import build_plan
from podnet.lab.steps import AddNetns, AddRoute, AddVeth, LoadRules, StartDns
from podnet.model import load
from tests.conftest import ROOT

BASIC = str(ROOT / "tests" / "manifests" / "lab-basic")


def test_every_namespace_comes_after_the_one_that_makes_its_links():
    plan = build_plan(load([BASIC], nodes=2), "t1", "vxlan")
    first = runs(after_files(plan.steps))[0]
    waves = batch.waves([s for s in first if isinstance(s, batch.IP_STEPS)])
    where = {ns: i for i, wave in enumerate(waves) for ns in wave}
    vethes = [s for s in first if isinstance(s, AddVeth)]
    assert vethes
    for v in vethes:
        assert where[v.netns] < where[v.peer_netns], v
    fabric = "pn-t1_fabric"
    assert where[fabric] == 0
    pods = [p.netns for p in plan.pods if p.netns.startswith("pn-t1_p")]
    assert pods and all(where[ns] == 2 for ns in pods)
    # every line of a step lands in a namespace the step names, in the plan's order
    for ns, lines in (item for wave in waves for item in wave.items()):
        steps = [s for _, s in lines]
        assert all(ns in (getattr(s, "netns", None), getattr(s, "name", None),
                          getattr(s, "peer_netns", None)) for s in steps)
        assert [plan.steps.index(s) for s in steps] == sorted(plan.steps.index(s) for s in steps)


def test_runs_stop_at_steps_that_cannot_join_a_batch():
    plan = build_plan(load([BASIC], nodes=2), "t1", "host-gw")
    cut = runs(after_files(plan.steps))
    assert [s for run in cut for s in run] == list(after_files(plan.steps))
    for run in cut:
        if len(run) > 1:
            assert all(isinstance(s, BATCHED) for s in run)
        assert not (len(run) > 1 and any(isinstance(s, LoadRules | StartDns) for s in run))
    assert isinstance(cut[0][0], AddNetns) and len(cut[0]) > 10


def test_route_lines_say_protocol_and_scope():
    assert batch.lines(AddRoute("n", "0.0.0.0/0", "eth0", via="169.254.1.1")) == [
        ("n", "route add 0.0.0.0/0 via 169.254.1.1 dev eth0 proto static scope global")]
    assert batch.lines(AddRoute("n", "10.1.0.0/24", "flannel.1", via="10.1.0.0", onlink=True)) == [
        ("n", "route add 10.1.0.0/24 via 10.1.0.0 dev flannel.1 proto static scope global onlink")]
    assert batch.lines(AddRoute("n", "169.254.1.1/32", "eth0", scope_link=True))[0][1].endswith(
        "dev eth0 proto static scope link")


def test_failed_lines_are_read_with_their_messages():
    err = ("RTNETLINK answers: File exists\nCommand failed -:3\n"
           'Cannot find device "nope0"\nCommand failed -:4\n')
    assert making.failures(err) == [(3, "RTNETLINK answers: File exists"),
                                    (4, 'Cannot find device "nope0"')]
    assert making.failures("") == []


def test_pods_and_the_outside_go_over_rtnetlink_and_nodes_through_ip():
    plan = build_plan(load([BASIC], nodes=2), "t1", "host-gw")
    first = runs(after_files(plan.steps))[0]
    waves = batch.waves([s for s in first if isinstance(s, batch.IP_STEPS)])
    per_ns = {ns: lines for wave in waves for ns, lines in wave.items()}
    pod = next(p for p in plan.pods if p.netns.startswith("pn-t1_p"))
    ops = batch.direct_ops(pod.netns, per_ns[pod.netns])
    assert ops is not None
    kinds = [type(op).__name__ for op, _ in ops]
    # one operation for each `ip` line the pod's namespace would have had, in the same order
    assert len(ops) == len(per_ns[pod.netns])
    assert kinds[:2] == ["LinkUp", "LinkUp"] and "Addr" in kinds and kinds.count("Route") == 2
    assert [op for op, _ in ops][2] == rtnl.Addr("eth0", f"{pod.ip}/32")
    # the fabric and the nodes make links (veths, bridges): those stay with `ip`
    assert batch.direct_ops("pn-t1_fabric", per_ns["pn-t1_fabric"]) is None
    node = next(ns for ns in per_ns if ns.startswith("pn-t1_n_"))
    assert batch.direct_ops(node, per_ns[node]) is None


def test_rtnetlink_requests_are_the_ones_ip_sends():
    # iproute2's `ip route add 0.0.0.0/0 via 169.254.1.1 dev eth0 proto static`: rtmsg of
    # family AF_INET, no destination attribute for a /0, gateway and output interface attrs,
    # create|excl|ack; `ip addr add 10.244.0.2/32 dev eth0`: IFA_LOCAL and IFA_ADDRESS
    route = rtnl._encode(rtnl.Route("0.0.0.0/0", "eth0", via="169.254.1.1"), 2, 7)
    length, kind, flags, seq, _ = rtnl._HEADER.unpack_from(route)
    assert (length, kind, seq) == (len(route), rtnl.RTM_NEWROUTE, 7)
    assert flags == rtnl.NLM_F_REQUEST | rtnl.NLM_F_ACK | rtnl.NLM_F_CREATE | rtnl.NLM_F_EXCL
    body = route[rtnl._HEADER.size:]
    assert body[:12] == bytes([2, 0, 0, 0, 254, 4, 0, 1, 0, 0, 0, 0])
    assert body[12:] == (b"\x08\x00\x05\x00" + bytes([169, 254, 1, 1])
                         + b"\x08\x00\x04\x00" + (2).to_bytes(4, "little"))
    link = rtnl._encode(rtnl.Route("169.254.1.1/32", "eth0", scope_link=True, onlink=True), 2, 1)
    assert link[rtnl._HEADER.size:][:12] == bytes([2, 32, 0, 0, 254, 4, 253, 1, 4, 0, 0, 0])
    addr = rtnl._encode(rtnl.Addr("eth0", "10.244.0.2/32"), 7, 3)[rtnl._HEADER.size:]
    assert addr[:8] == bytes([2, 32, 0, 0]) + (7).to_bytes(4, "little")
    assert addr[8:] == (b"\x08\x00\x02\x00" + bytes([10, 244, 0, 2]) + b"\x08\x00\x01\x00"
                        + bytes([10, 244, 0, 2]))
    up = rtnl._encode(rtnl.LinkUp("lo"), 1, 2)[rtnl._HEADER.size:]
    assert up[:16] == struct.pack("=BxHiII", 0, 0, 1, rtnl.IFF_UP, rtnl.IFF_UP)
