"""`lab up` in batches: a run of consecutive namespace, link, address, route and neighbour
steps becomes one `ip -batch` that creates every namespace of the run (as `ip netns add`
does), then one `ip -batch` per namespace for what goes inside it, except for namespaces that
only bring links up and add addresses and routes (pods, the outside): those get their messages
over rtnetlink from this process (``rtnl``), one datagram each.

Each per-namespace `ip` is forked from a thread that has entered the namespace (nsenter's
``inside``), so it runs there without `ip -n`, whose remount of /sys costs ~45 ms a process
on this machine. Namespaces whose links are born in another namespace (a veth's peer end, a
VXLAN device on an `eth0` that the fabric made) go in a later wave than the namespace that
makes them; the batches of one wave run at the same time.

Every namespace is recorded in the ledger before the batch that creates it, so a failure
anywhere tears down all of them; a failed line is reported as the plan step it came from.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Callable, Sequence

from podnet.errors import LabError
from podnet.lab import rtnl
from podnet.lab.ledger import Ledger
from podnet.lab.making import Making, failures, spawn_ip
from podnet.lab.steps import (
    AddAddress,
    AddBridge,
    AddFdb,
    AddNeighbour,
    AddNetns,
    AddRoute,
    AddVeth,
    AddVxlan,
    Step,
)

IP_STEPS = (AddNetns, AddBridge, AddVeth, AddAddress, AddRoute, AddVxlan, AddNeighbour)
PARALLEL = 16  # `ip` processes at once: enough to hide their start-up on two cores
PROTO_STATIC = "static"  # what the lab's routes said when pyroute2 wrote them one by one


def _route(s: AddRoute) -> str:
    via = f" via {s.via}" if s.via else ""
    # `ip route add` without a gateway picks scope link by itself; say the scope each time
    scope = "link" if s.scope_link else "global"
    return (f"route add {s.dst}{via} dev {s.ifname} proto {PROTO_STATIC} scope {scope}"
            f"{' onlink' if s.onlink else ''}")


def lines(step: Step) -> list[tuple[str, str]]:
    """(namespace, `ip` batch line) for one step, in the order they must run."""
    if isinstance(step, AddNetns):
        return [(step.name, "link set lo up")]
    if isinstance(step, AddBridge):
        return [(step.netns, f"link add {step.ifname} type bridge"),
                (step.netns, f"link set {step.ifname} up")]
    if isinstance(step, AddVeth):
        out = [(step.netns, f"link add {step.ifname} mtu {step.mtu} type veth peer name "
                            f"{step.peer_ifname} mtu {step.mtu} netns {step.peer_netns}")]
        if step.master:
            out.append((step.netns, f"link set {step.ifname} master {step.master}"))
        return [*out, (step.netns, f"link set {step.ifname} up"),
                (step.peer_netns, f"link set {step.peer_ifname} up")]
    if isinstance(step, AddAddress):
        return [(step.netns, f"addr add {step.cidr} dev {step.ifname}")]
    if isinstance(step, AddRoute):
        return [(step.netns, _route(step))]
    if isinstance(step, AddVxlan):
        d = step.device
        out = [(step.netns, f"link add {d.name} address {d.mac} mtu {d.mtu} type vxlan id {d.vni} "
                            f"local {d.local} dstport {d.port} nolearning dev eth0"),
               (step.netns, f"link set {d.name} up")]
        if d.address:
            out.append((step.netns, f"addr add {d.address} dev {d.name}"))
        return out
    if isinstance(step, AddNeighbour):
        e = step.entry
        return [(step.netns, f"neigh add {e.ip} lladdr {e.mac} dev {e.dev} nud permanent")]
    raise TypeError(f"not an ip batch step: {step}")


def waves(steps: Sequence[Step]) -> list[dict[str, list[tuple[str, Step]]]]:
    """Per wave, namespace -> its lines with the step each came from. A namespace comes one
    wave after every namespace that makes a link in it."""
    per_ns: dict[str, list[tuple[str, Step]]] = {}
    makers: dict[str, set[str]] = {}
    for step in steps:
        for ns, line in lines(step):
            per_ns.setdefault(ns, []).append((line, step))
        if isinstance(step, AddVeth) and step.peer_netns != step.netns:
            makers.setdefault(step.peer_netns, set()).add(step.netns)
    level: dict[str, int] = {}

    def depth(ns: str, seen: frozenset[str] = frozenset()) -> int:
        if ns in seen:
            raise LabError(f"[{ns}] batch", "namespaces make links in each other")
        if ns not in level:
            level[ns] = 1 + max((depth(m, seen | {ns}) for m in makers.get(ns, ())), default=-1)
        return level[ns]

    out: list[dict[str, list[tuple[str, Step]]]] = []
    for ns in per_ns:  # first appearance: the fabric before nodes, nodes before their pods
        d = depth(ns)
        while len(out) <= d:
            out.append({})
        out[d][ns] = per_ns[ns]
    return out


def _check(ns: str, proc: subprocess.Popen[str], stdin: str | None,
           batch: list[tuple[str, Step]]) -> LabError | None:
    _, err = proc.communicate(stdin)
    if proc.returncode == 0:
        return None
    for n, why in failures(err):
        step = batch[n - 1][1]
        # a route the kernel already holds (one the plan names twice, or the prefix route
        # an address brought): pyroute2's add was told to keep going on EEXIST too
        if isinstance(step, AddRoute) and "File exists" in why:
            continue
        return LabError(str(step), why)
    if not failures(err):
        return LabError(f"[{ns}] ip -batch", err.strip() or f"exit {proc.returncode}")
    return None


def _op(ns: str, step: Step) -> rtnl.Op | None:
    if isinstance(step, AddNetns) and step.name == ns:
        return rtnl.LinkUp("lo")
    if isinstance(step, AddVeth) and step.peer_netns == ns != step.netns:
        return rtnl.LinkUp(step.peer_ifname)
    if isinstance(step, AddAddress) and step.netns == ns:
        return rtnl.Addr(step.ifname, step.cidr)
    if isinstance(step, AddRoute) and step.netns == ns:
        return rtnl.Route(step.dst, step.ifname, step.via, step.scope_link, step.onlink)
    return None


def direct_ops(ns: str, batch: list[tuple[str, Step]]) -> list[tuple[rtnl.Op, Step]] | None:
    """The namespace's batch as rtnetlink operations, when it only brings links up and adds
    addresses and routes (a pod's, the outside's); None when it needs `ip` (links made here)."""
    out: list[tuple[rtnl.Op, Step]] = []
    for _, step in batch:
        if out and out[-1][1] is step:
            return None  # a step of several lines here: it makes something
        op = _op(ns, step)
        if op is None:
            return None
        out.append((op, step))
    return out


def _direct(ns: str, ops: list[tuple[rtnl.Op, Step]]) -> LabError | None:
    for at, code in rtnl.apply(ns, [op for op, _ in ops]):
        step = ops[at][1]
        if isinstance(step, AddRoute) and code == errno.EEXIST:
            continue  # as for `ip` below: a route the kernel already holds
        return LabError(str(step), rtnl.strerror(code))
    return None


def apply_run(steps: Sequence[Step], ledger: Ledger, other: Callable[[Step], None]) -> None:
    """Run ``steps``: the namespaces, then each namespace's batch wave by wave, then the steps
    `ip` cannot do (``other``, one by one, in their order), but for the FDB entries, sent
    here."""
    _apply_links(steps, ledger)
    # VXLAN peers' FDB entries (`bridge fdb`, which `ip -batch` cannot say) over rtnetlink,
    # one datagram a node
    fdb: dict[str, list[tuple[rtnl.Op, Step]]] = {}
    for step in steps:
        if isinstance(step, AddFdb):
            e = step.entry
            fdb.setdefault(step.netns, []).append((rtnl.Fdb(e.dev, e.mac, e.dst), step))
    for ns, ops in fdb.items():
        error = _direct(ns, ops)
        if error is not None:
            raise error
    for step in steps:
        if not isinstance(step, (*IP_STEPS, AddFdb)):
            other(step)


def _apply_links(steps: Sequence[Step], ledger: Ledger) -> None:
    error = Making([s.name for s in steps if isinstance(s, AddNetns)], ledger).wait()
    if error is not None:
        raise error
    for wave in waves([s for s in steps if isinstance(s, IP_STEPS)]):
        direct = {ns: ops for ns, b in wave.items() if (ops := direct_ops(ns, b)) is not None}
        items = [(ns, b) for ns, b in wave.items() if ns not in direct]
        errors: list[LabError | None] = []
        for i in range(0, max(len(items), 1), PARALLEL):
            running = [(ns, spawn_ip(ns), batch) for ns, batch in items[i:i + PARALLEL]]
            if i == 0:  # while the first `ip` processes start
                errors += [_direct(ns, ops) for ns, ops in direct.items()]
            # every process of the group is waited for before a failure is raised, so none
            # is still adding links while teardown removes the namespaces
            errors += [_check(ns, proc, "".join(f"{line}\n" for line, _ in batch), batch)
                       for ns, proc, batch in running]
            first = next((e for e in errors if e is not None), None)
            if first is not None:
                raise first
