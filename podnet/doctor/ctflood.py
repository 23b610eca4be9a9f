"""What a real connection flood through a lab node says about its conntrack table (pure half of
`podnet lab conntrack`): entries each connection costs, how full the table is, how many more
such connections fill it, and the same load against the seeds' (kube-proxy's) sizing.

The drop itself is only shown where the kernel lets the node's namespace set its own limit:
``nf_conntrack_max`` is one value for the whole host, and on current kernels it is read-only
(mode 0444) outside the initial namespace (net/netfilter/nf_conntrack_standalone.c makes
nf_conntrack_max, nf_conntrack_expect_max and nf_conntrack_buckets read-only there). The count
it is compared with is per namespace, so a lab node fills its own table up to the host's limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from podnet.doctor.node import KUBE_PROXY_MAX_PER_CORE, KUBE_PROXY_MIN

DROP_COUNTERS = ("drop", "early_drop", "insert_failed")


def settable(mode: int | None, kernel: str) -> tuple[bool, str]:
    """Whether a lab may shrink a node's table to overflow it, from the sysctl's mode as seen
    inside a non-initial namespace. Never decided by writing: a writable file there could be
    the host's global limit (kernels before it was made read-only let a child write it)."""
    if mode is None:
        return False, "nf_conntrack is not loaded: there is no connection table"
    if not mode & 0o222:
        return False, (f"kernel {kernel} makes net.netfilter.nf_conntrack_max read-only (mode "
                       f"{mode:04o}) inside a non-initial network namespace: the limit is the "
                       "host's, one for every namespace, and podnet never changes host-wide "
                       "sysctls, so a node's table cannot be shrunk to show the drops")
    return False, (f"net.netfilter.nf_conntrack_max is writable (mode {mode:04o}) inside a "
                   f"non-initial namespace on kernel {kernel}: podnet cannot tell a "
                   "per-namespace limit from the host's global one without writing it, and "
                   "never changes host-wide sysctls")


def seeds_max(cpus: int) -> int:
    """kube-proxy's conntrack sizing: max(maxPerCore x CPUs, min)."""
    return max(KUBE_PROXY_MAX_PER_CORE * cpus, KUBE_PROXY_MIN)


@dataclass(frozen=True)
class Flood:
    node: str
    connections: int  # opened and held (established: entries the kernel cannot early-drop)
    failed: int  # connections that did not complete
    count_before: int
    count_after: int
    limit: int  # nf_conntrack_max as the node's namespace sees it
    buckets: int
    cpus: int
    stats_before: Mapping[str, int]
    stats_after: Mapping[str, int]
    by_flow: Mapping[str, int]  # "tcp/80", "udp/8472": entries by protocol and original dport


def report(f: Flood, can_set: tuple[bool, str]) -> dict[str, Any]:
    added = f.count_after - f.count_before
    per = added / f.connections if f.connections else 0.0
    room = f.limit - f.count_after
    seeds = seeds_max(f.cpus)
    drops = {k: f.stats_after.get(k, 0) - f.stats_before.get(k, 0) for k in DROP_COUNTERS}
    return {
        "node": f.node, "connections": f.connections, "failed": f.failed,
        "entries": {"before": f.count_before, "after": f.count_after, "added": added,
                    "per_connection": round(per, 3)},
        "limit": f.limit, "buckets": f.buckets,
        "fill": round(f.count_after / f.limit, 6) if f.limit else 0.0,
        "connections_until_full": int(room / per) if per > 0 and f.limit else None,
        "seeds": {"max": seeds, "cpus": f.cpus,
                  "fill": round(f.count_after / seeds, 6),
                  "connections_until_full": int((seeds - f.count_after) / per) if per > 0 else None},
        "by_flow": dict(sorted(f.by_flow.items(), key=lambda kv: (-kv[1], kv[0]))),
        "drops": drops,
        "overflow": {"possible": can_set[0], "reason": can_set[1]},
    }


def lines(r: dict[str, Any]) -> list[str]:
    e = r["entries"]
    out = [f"node {r['node']}: {r['connections']} connections held open ({r['failed']} failed) "
           f"added {e['added']} conntrack entries ({e['per_connection']:g} per connection): "
           f"{e['after']} of {r['limit']} ({r['fill']:.2%})",
           f"  table full after about {r['connections_until_full']} more such connections; "
           f"with the seeds' sizing (max(32768 x {r['seeds']['cpus']} CPUs, 131072) = "
           f"{r['seeds']['max']}) after {r['seeds']['connections_until_full']}",
           "  entries by protocol/port: " + ", ".join(f"{k} {v}" for k, v in r["by_flow"].items()),
           "  drops during the flood: " + ", ".join(f"{k} {v}" for k, v in r["drops"].items())]
    if not r["overflow"]["possible"]:
        out.append(f"  overflow not shown: {r['overflow']['reason']}")
    return out


def parse_stats(text: str) -> dict[str, int]:
    """/proc/net/stat/nf_conntrack: a header, then one row of hex counters per CPU; summed per
    column, except ``entries`` (the table total, repeated on every row)."""
    lines = text.splitlines()
    if not lines:
        return {}
    header = lines[0].split()
    sums = dict.fromkeys(header, 0)
    for row in lines[1:]:
        for key, value in zip(header, row.split(), strict=False):
            sums[key] = int(value, 16) if key == "entries" else sums[key] + int(value, 16)
    return sums


def by_flow(table: str) -> dict[str, int]:
    """/proc/net/nf_conntrack's entries counted by protocol and original destination port:
    under VXLAN the underlay's UDP to 8472 is tracked too, one entry per direction (the outer
    source port is a hash of the inner flow), so a pod's connection costs its node three."""
    out: dict[str, int] = {}
    for row in table.splitlines():
        f = row.split()
        if len(f) < 3:
            continue
        dport = next((x.split("=", 1)[1] for x in f if x.startswith("dport=")), "")
        key = f"{f[2]}/{dport}" if dport else f[2]
        out[key] = out.get(key, 0) + 1
    return out
