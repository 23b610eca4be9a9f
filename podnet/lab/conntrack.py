"""``podnet lab conntrack``'s edge: hold a flood of real TCP connections open from a pod,
and read the source node's conntrack table (count, limit, per-CPU counters) before and after,
from inside the node's namespace. Reads only: no sysctl is written anywhere."""

from __future__ import annotations

import asyncio
import os
import platform
import resource
import socket
import subprocess

from podnet.doctor.ctflood import Flood, by_flow, parse_stats
from podnet.errors import LabError
from podnet.lab.nsenter import inside

MAX = "/proc/sys/net/netfilter/nf_conntrack_max"


def _in(netns: str, *argv: str) -> str:
    p = subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise LabError(f"read conntrack in {netns}", p.stderr.strip() or f"exit {p.returncode}")
    return p.stdout


def max_mode(netns: str) -> int | None:
    """The mode of nf_conntrack_max as the namespace sees it (None: no conntrack)."""
    try:
        return int(_in(netns, "stat", "-c", "%a", MAX).strip(), 8)
    except LabError:
        return None


def kernel() -> str:
    return platform.release()


def _reading(netns: str) -> tuple[int, int, int, dict[str, int]]:
    count, limit, buckets = (int(_in(netns, "cat", f"/proc/sys/net/netfilter/nf_conntrack_{k}"))
                             for k in ("count", "max", "buckets"))
    return count, limit, buckets, parse_stats(_in(netns, "cat", "/proc/net/stat/nf_conntrack"))


async def _connect_all(socks: list[socket.socket], ip: str, port: int, timeout: float) -> int:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(256)  # the SYN backlog of one listener, not the whole flood at once

    async def one(s: socket.socket) -> bool:
        async with sem:
            try:
                await asyncio.wait_for(loop.sock_connect(s, (ip, port)), timeout)
                return True
            except (TimeoutError, OSError):
                return False

    return sum(await asyncio.gather(*(one(s) for s in socks)))


def flood(src_netns: str, node_netns: str, node: str, ip: str, port: int, connections: int,
          timeout: float = 5.0) -> Flood:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, connections + 512):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, connections + 512), hard))
    before = _reading(node_netns)
    socks: list[socket.socket] = []
    try:
        with inside(src_netns):
            for _ in range(connections):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                socks.append(s)
        opened = asyncio.run(_connect_all(socks, ip, port, timeout))
        after = _reading(node_netns)  # read while every connection is still held
        table = _in(node_netns, "cat", "/proc/net/nf_conntrack")
    finally:
        for s in socks:
            s.close()
    return Flood(node, opened, connections - opened, before[0], after[0], after[1], after[2],
                 os.cpu_count() or 1, before[3], after[3], by_flow(table))
