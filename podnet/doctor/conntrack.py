"""Connection tracking: the table size and TCP timeouts kube-proxy sets, the node sysctls the input
gives, the entries each node can expect, and kernel modules that no longer exist.

kube-proxy (``cmd/kube-proxy/app/server_linux.go`` ``getConntrackMax``, ``conntrack.go``):
``nf_conntrack_max`` = max(``conntrack.maxPerCore`` x CPUs, ``conntrack.min``) unless maxPerCore
is 0, and the hash table (``hashsize``, the buckets) raised to a quarter of it;
``nf_conntrack_tcp_timeout_established`` and ``_close_wait`` from ``tcpEstablishedTimeout`` and
``tcpCloseWaitTimeout`` unless 0. Defaults: 32768 per core, min 131072, 24h, 1h. It only ever
raises a sysctl (``setIntSysCtl`` writes when the current value is lower), so a node setting
below kube-proxy's is undone when kube-proxy starts, and kube-proxy's 24h does not shorten the
kernel's 5-day established timeout. Kernel defaults: ``nf_conntrack_proto_tcp.c``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from podnet.doctor.context import Context, raw_source, walk_strings
from podnet.doctor.finding import Finding, check, to_yaml
from podnet.doctor.sysctls import NodeValue
from podnet.errors import SourceRef
from podnet.model import kubeproxy

KERNEL_TCP_TIMEOUTS = {"established": 432000, "close_wait": 60, "time_wait": 120,
                       "fin_wait": 120, "syn_sent": 120, "syn_recv": 60, "last_ack": 30,
                       "close": 10}
FILL_WARNING = 0.75
BUCKET_WARNING = 8  # entries per hash chain of a full table: twice what kube-proxy sizes
# Kinds whose strings are names, selectors and addresses, never a script or a sysctl file.
NO_SCRIPTS = ("NetworkPolicy", "Service", "Namespace", "Node", "Endpoints", "EndpointSlice",
              "Ingress")

_SETTING = re.compile(r"(?:sysctl\s+(?:-w\s+)?)?\b(net\.netfilter\.nf_conntrack_[a-z_]+|"
                      r"net\.nf_conntrack_max)\s*=\s*(\d+)")
_MODULE = re.compile(r"\bnf_conntrack_ipv[46]\b")
_DOWN = re.compile(r"\b(reduce|lower|decrease|shorten|shrink|faster)\b", re.I)
_UP = re.compile(r"\b(increase|raise|bump|grow|enlarge|more)\b", re.I)


@dataclass(frozen=True, slots=True)
class Setting:
    key: str  # nf_conntrack_max, nf_conntrack_tcp_timeout_established, ...
    value: int
    intent: str  # "down", "up" or "" from the comment above it
    comment: str
    line: str
    source: SourceRef
    field: str


def _texts(ctx: Context) -> list[tuple[SourceRef, str, str]]:
    """Every string in the input that mentions conntrack, with its object and field."""
    def scan() -> list[tuple[SourceRef, str, str]]:
        out = []
        for doc in ctx.docs:
            if doc.body.get("kind") in NO_SCRIPTS or "conntrack" not in json.dumps(doc.body):
                continue
            src: SourceRef | None = None
            for path, text in walk_strings(doc.body):
                if "conntrack" in text:
                    src = src or raw_source(doc)
                    out.append((src, path, text))
        return out
    return ctx.memo("conntrack.texts", scan)


def _settings(ctx: Context) -> list[Setting]:
    def scan() -> list[Setting]:
        out = []
        for src, path, text in _texts(ctx):
            comment: list[str] = []
            after_setting = False
            for raw in text.splitlines():
                line = raw.strip()
                if not line:
                    comment, after_setting = [], False
                    continue
                if line.startswith("#"):
                    if after_setting:  # a new comment block starts
                        comment, after_setting = [], False
                    comment.append(line.lstrip("# "))
                    continue
                m = _SETTING.search(line)
                if m is None:
                    continue
                key = m.group(1).rsplit(".", 1)[-1]
                said = " ".join(comment)
                intent = "down" if _DOWN.search(said) else "up" if _UP.search(said) else ""
                out.append(Setting(key, int(m.group(2)), intent, said, line, src, path))
                after_setting = True
        return out
    return ctx.memo("conntrack.settings", scan)


@dataclass(frozen=True, slots=True)
class ProxyConntrack:
    max_per_core: int
    min: int
    established: int  # 0: kube-proxy leaves the sysctl alone
    close_wait: int
    source: SourceRef | None
    field: str = "conntrack"  # where its conntrack block sits in the source document

    def max_for(self, cores: int | None) -> int:
        """kube-proxy's nf_conntrack_max on a node (0: left alone); unknown cores: the floor."""
        if self.max_per_core <= 0:
            return 0
        return max(self.max_per_core * (cores or 1), self.min)


def _proxy(ctx: Context) -> ProxyConntrack:
    cfg = ctx.proxy_config
    if cfg is None:
        d = kubeproxy.DEFAULTS
        return ProxyConntrack(d["maxPerCore"], d["min"], d["tcpEstablishedTimeout"],
                              d["tcpCloseWaitTimeout"], None)
    kp = kubeproxy.settings(cfg)
    return ProxyConntrack(kp.max_per_core, kp.min, kp.established, kp.close_wait, cfg.source,
                          cfg.at("conntrack"))


def _cores(ctx: Context) -> dict[str, int]:
    """CPUs per node, from the Node objects' status.capacity where the input gives it."""
    out: dict[str, int] = {}
    for d in ctx.docs:
        if d.body.get("kind") != "Node":
            continue
        cpu = ((d.body.get("status") or {}).get("capacity") or {}).get("cpu")
        name = str((d.body.get("metadata") or {}).get("name"))
        text = str(cpu) if cpu is not None else ""
        if text.isdigit():
            out[name] = int(text)
        elif text.endswith("m") and text[:-1].isdigit():
            out[name] = max(1, int(text[:-1]) // 1000)
    return out


def _proxy_where(kp: ProxyConntrack, ctx: Context) -> tuple[str, SourceRef]:
    if kp.source is not None:
        return kp.source.object(), kp.source
    return "KubeProxyConfiguration (defaults)", SourceRef(file=ctx.first_file)


@check("conntrack-sizing",
       summary="The conntrack table each node gets (kube-proxy's sizing, node sysctls) against "
               "the entries its pods can be expected to hold; advice that does not do what it says.",
       example="node oslo-1 can expect 11,000 conntrack entries (110 pods x 100 connections) "
               "against a table of 131,072: fine; the sysctl 'increase' to 131072 changes nothing")
def conntrack_sizing(ctx: Context) -> Iterator[Finding]:
    kp = _proxy(ctx)
    cores = _cores(ctx)
    sysctls = [s for s in _settings(ctx) if s.key == "nf_conntrack_max"]
    node_sysctl = sysctls[-1].value if sysctls else 0
    nodes = [n.name for n in ctx.cluster.nodes]
    kp_max = {n: kp.max_for(cores.get(n)) for n in nodes}
    obj, src = _proxy_where(kp, ctx)
    node = ctx.node_sysctls
    node_max = node.get("nf_conntrack_max") if node is not None else None
    node_buckets = node.get("nf_conntrack_buckets") if node is not None else None
    for s in sysctls:
        if node_max is not None:
            # the node's own value already holds kube-proxy's raise and any earlier sysctl
            if s.value > node_max.value:
                continue
            effect = ("changes nothing" if s.value == node_max.value
                      else f"lowers it to {s.value:,} when applied (sysctl --system)")
            said = (f"the advice says increase, but the node has nf_conntrack_max "
                    f"{node_max.value:,} ({node_max.where})" if s.intent == "up" else
                    f"the node has nf_conntrack_max {node_max.value:,} ({node_max.where})")
            yield Finding(
                "conntrack-sizing", "warning" if s.intent == "up" else "info",
                s.source.object(), s.source, s.field, f"{s.line!r}: {said}: {s.value:,} {effect}",
                {"sysctl": s.value, "comment": s.comment or None, "node": node_max.value,
                 "nodeFrom": node_max.where},
                f"drop the line: the node already has {node_max.value:,}; a table that must "
                "grow is sized from the entries expected (conntrack.min in the "
                "KubeProxyConfiguration, or a value above the node's)")
            continue
        lowest = min(kp_max.values(), default=0)
        if not lowest or s.value > lowest:
            continue
        unknown = [n for n in nodes if n not in cores]
        floor = (f"max({kp.max_per_core} x CPUs, {kp.min})" if unknown
                 else f"{lowest:,} or more")
        if s.intent == "up":
            severity, what = "warning", (
                f"the advice says increase, but kube-proxy already sets nf_conntrack_max to "
                f"{floor} when it starts, and only raises it: {s.value:,} changes nothing")
        else:
            severity, what = "info", (
                f"it has no effect: kube-proxy raises nf_conntrack_max to {floor} when it starts")
        bigger = kp.min // max(kp.max_per_core, 1)
        yield Finding(
            "conntrack-sizing", severity, s.source.object(), s.source, s.field,
            f"{s.line!r}: {what}; applied after kube-proxy starts (sysctl --system), it lowers "
            f"the table on every node with more than {bigger} CPUs, where kube-proxy set "
            f"{kp.max_per_core:,} per CPU",
            {"sysctl": s.value, "comment": s.comment or None,
             "kubeProxy": {"maxPerCore": kp.max_per_core, "min": kp.min},
             "kubeProxyMaxByNode": {n: kp_max[n] for n in nodes[:20]},
             "cpusKnown": sorted(cores)[:20]},
            "leave nf_conntrack_max to kube-proxy and size it there:\n"
            + to_yaml({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                       "kind": "KubeProxyConfiguration",
                       "conntrack": {"maxPerCore": kp.max_per_core, "min": max(kp.min, s.value)}}))
    if not nodes:
        return
    per_node = Counter(p.node for p in ctx.cluster.pods)
    busiest = max(nodes, key=lambda n: (per_node[n], n))
    pods = per_node[busiest]
    expected = pods * ctx.conns_per_pod
    table = node_max.value if node_max is not None else max(kp_max[busiest], node_sysctl)
    if node_buckets is not None and node_max is not None and node_buckets.value and table:
        yield from _buckets(table, node_buckets, node_max, expected)
    if not table:
        return  # kube-proxy leaves it and the input sets none: the kernel's, sized by memory
    fill = expected / table
    if fill < FILL_WARNING:
        return
    if node_max is not None:
        yield Finding(
            "conntrack-sizing", "error" if fill >= 1 else "warning", f"node {busiest}",
            SourceRef(file=node_max.file), "net.netfilter.nf_conntrack_max",
            f"node {busiest} can expect {expected:,} conntrack entries ({pods} pods x "
            f"{ctx.conns_per_pod} connections) against the node's nf_conntrack_max {table:,} "
            f"({node_max.where})"
            + (": when it is full the kernel drops new connections silently ('nf_conntrack: "
               "table full, dropping packet' in the kernel log)" if fill >= 1 else
               f": {fill:.0%} full at that load, little headroom for bursts"),
            {"node": busiest, "pods": pods, "connectionsPerPod": ctx.conns_per_pod,
             "expectedEntries": expected, "max": table, "fill": round(fill, 3),
             "maxFrom": node_max.where,
             "buckets": node_buckets.value if node_buckets is not None else None},
            f"net.netfilter.nf_conntrack_max = {_enough(expected)}   # and "
            f"/sys/module/nf_conntrack/parameters/hashsize = {_enough(expected) // 4}, as "
            "kube-proxy sizes it; or raise conntrack.min in the KubeProxyConfiguration")
        return
    known = busiest in cores
    yield Finding(
        "conntrack-sizing", "error" if fill >= 1 else "warning", obj, src, f"{kp.field}.maxPerCore",
        f"node {busiest} can expect {expected:,} conntrack entries ({pods} pods x "
        f"{ctx.conns_per_pod} connections) against a table of {table:,}"
        + ("" if known else " (its CPUs are unknown: kube-proxy's floor)")
        + (": when it is full the kernel drops new connections silently ('nf_conntrack: table "
           "full, dropping packet' in the kernel log)" if fill >= 1 else
           f": {fill:.0%} full at that load, little headroom for bursts"),
        {"node": busiest, "pods": pods, "connectionsPerPod": ctx.conns_per_pod,
         "expectedEntries": expected, "max": table, "fill": round(fill, 3),
         "buckets": table // 4, "cpus": cores.get(busiest),
         "kubeProxy": {"maxPerCore": kp.max_per_core, "min": kp.min},
         "nodeSysctl": node_sysctl or None},
        to_yaml({"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration",
                 "conntrack": {"maxPerCore": kp.max_per_core, "min": _enough(expected)}}))


def _enough(expected: int) -> int:
    """A table that holds ``expected`` entries below the warning fill, in steps of 65,536."""
    return -(-int(expected / FILL_WARNING) // 65536) * 65536


def _buckets(table: int, buckets: NodeValue, node_max: NodeValue, expected: int) -> Iterator[Finding]:
    """A full table of ``table`` entries in ``buckets`` hash chains: kube-proxy sizes the
    hash table to a quarter of nf_conntrack_max (4 entries a chain when full); a table raised
    by a sysctl alone keeps the buckets it had, and every lookup walks longer chains."""
    per_bucket = table / buckets.value
    if per_bucket <= BUCKET_WARNING:
        return
    yield Finding(
        "conntrack-sizing", "warning", "node conntrack table", SourceRef(file=buckets.file),
        "net.netfilter.nf_conntrack_buckets",
        f"nf_conntrack_buckets {buckets.value:,} ({buckets.where}) for a table of {table:,}: "
        f"{per_bucket:g} entries per hash chain when full, where kube-proxy sizes 4 (buckets a "
        "quarter of nf_conntrack_max); every packet's lookup walks a chain, so a full table "
        "costs CPU on each one",
        {"buckets": buckets.value, "max": table, "entriesPerBucketWhenFull": round(per_bucket, 2),
         "expectedEntries": expected, "bucketsFrom": buckets.where,
         "maxFrom": node_max.where},
        f"echo {table // 4} > /sys/module/nf_conntrack/parameters/hashsize   # or options "
        f"nf_conntrack hashsize={table // 4} in /etc/modprobe.d")


def _human(seconds: int) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days > 1 else ''} ({seconds:,} s)"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h ({seconds:,} s)"
    return f"{seconds} s"


@check("conntrack-timeouts",
       summary="Conntrack TCP timeouts: what kube-proxy and the node sysctls really leave in "
               "force, and advice that moves a timeout the other way from what it says.",
       example="'Reduce timeout' sets nf_conntrack_tcp_timeout_close_wait to 3600: the kernel's "
               "default is 60 s, so this raises it 60-fold")
def conntrack_timeouts(ctx: Context) -> Iterator[Finding]:
    kp = _proxy(ctx)
    managed = {"established": kp.established, "close_wait": kp.close_wait}
    node = ctx.node_sysctls
    given = set()
    for s in _settings(ctx):
        if not s.key.startswith("nf_conntrack_tcp_timeout_"):
            continue
        state = s.key.removeprefix("nf_conntrack_tcp_timeout_")
        kernel = KERNEL_TCP_TIMEOUTS.get(state)
        if kernel is None:
            continue
        given.add(state)
        by_proxy = managed.get(state, 0)
        effective = max(s.value, by_proxy)
        # what the advice moves from: the node's own value when --sysctl gives it
        now = node.get(s.key) if node is not None else None
        base = now.value if now is not None else kernel
        has = (f"the node has {_human(base)} ({now.where})" if now is not None
               else f"the kernel's default is {_human(kernel)}")
        problems = []
        severity = "info"
        if s.intent == "down" and s.value > base:
            severity = "warning"
            fold = f"{s.value / base:,.0f}-fold" if base else f"from {base}"
            problems.append(f"the advice says reduce, but {has}: this raises it {fold}")
        elif s.intent == "up" and s.value < base:
            severity = "warning"
            problems.append(f"the advice says increase, but {has}: this lowers it")
        elif s.intent and now is not None and s.value == base:
            problems.append(f"{has}: the line changes nothing")
        if by_proxy and s.value < by_proxy:
            if s.intent == "down":
                severity = "warning"
            problems.append(f"kube-proxy raises it back to {_human(by_proxy)} when it starts "
                            "(it only raises), so the setting has no effect")
        elif by_proxy and s.value == by_proxy and by_proxy > kernel:
            problems.append(f"kube-proxy already sets {_human(by_proxy)}: the line changes nothing")
        if not problems:
            continue
        yield Finding(
            "conntrack-timeouts", severity, s.source.object(), s.source, s.field,
            f"{s.line!r}" + (f" (under '{s.comment}')" if s.comment else "") + ": "
            + "; ".join(problems),
            {"sysctl": s.key, "value": s.value, "kernelDefault": kernel,
             "node": base if now is not None else None,
             "nodeFrom": now.where if now is not None else None,
             "kubeProxy": by_proxy or None, "effective": effective,
             "comment": s.comment or None},
            f"net.netfilter.{s.key} = {min(s.value, base) if s.intent == 'down' else base}"
            if s.intent else "drop the line, or set the value kube-proxy's configuration names")
    kernel = KERNEL_TCP_TIMEOUTS["established"]
    now = node.get("nf_conntrack_tcp_timeout_established") if node is not None else None
    held = now.value if now is not None else kernel
    if kp.established and kp.established < held and "established" not in given:
        obj, src = _proxy_where(kp, ctx)
        has = (f"the node's {_human(held)} ({now.where})" if now is not None
               else f"the kernel's {_human(kernel)}")
        yield Finding(
            "conntrack-timeouts", "info", obj, src, f"{kp.field}.tcpEstablishedTimeout",
            f"kube-proxy's tcpEstablishedTimeout {_human(kp.established)} does not shorten "
            f"{has}: kube-proxy only raises conntrack sysctls, so an idle "
            f"established connection keeps its entry for {_human(held)}",
            {"kubeProxy": kp.established, "kernelDefault": kernel, "effective": held,
             "node": held if now is not None else None},
            f"net.netfilter.nf_conntrack_tcp_timeout_established = {kp.established}   "
            "# in the nodes' sysctl.d, if idle connections should expire sooner")


@check("conntrack-module-name",
       summary="A script or manifest names nf_conntrack_ipv4/ipv6, merged into nf_conntrack in "
               "Linux 4.19: modprobe fails and lsmod finds nothing.",
       example="'modprobe -- nf_conntrack_ipv4' fails on Linux 4.19 and later: the module "
               "was merged into nf_conntrack")
def conntrack_module_name(ctx: Context) -> Iterator[Finding]:
    for src, path, text in _texts(ctx):
        lines = [line.strip() for line in text.splitlines() if _MODULE.search(line)]
        if not lines:
            continue
        modules = sorted({m.group(0) for line in lines for m in _MODULE.finditer(line)})
        yield Finding(
            "conntrack-module-name", "warning", src.object(), src, path,
            f"{lines[0]!r} names {', '.join(modules)}, which Linux 4.19 and later do not have "
            "(merged into nf_conntrack): modprobe fails ('Module nf_conntrack_ipv4 not found'), "
            "a script run with set -e stops there, and lsmod | grep finds nothing",
            {"modules": modules, "lines": lines, "mergedInto": "nf_conntrack",
             "since": "Linux 4.19"},
            "\n".join(_MODULE.sub("nf_conntrack", line) for line in lines))
