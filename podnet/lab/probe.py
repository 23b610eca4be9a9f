"""Real connections from every pod to every pod on every port, all at once, short timeouts.

A flow counts as *reachable* when the destination answered at all: the workload's reply, or a
refusal (TCP RST / ICMP port unreachable) from a port nobody listens on, since both prove the
packets crossed the network and its policies. Silence until the deadline means dropped.

Pod-to-pod probes cost a few system calls each: sockets are created inside the source pod's
namespace (one setns per source), connected or sent without blocking, and every probe's socket
waits in one epoll set; the probes of a source share one deadline and one UDP re-send. Sources
are shared among one forked process per CPU, because the kernel's work for a connection (the
packet's walk through both pods and the nodes' rules, inside the connect) is most of the cost.
Service probes (which pod answered) still run on asyncio: they are few.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import os
import resource
import select
import socket
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.message
import dns.rdatatype

from podnet.lab.nsenter import inside
from podnet.lab.sockets import stream_socket

# UDP probes carry a DNS query, so a DNS server answers them like any other datagram service:
# the workload server echoes its pod name whatever it receives, the lab DNS answers this name
# with a TXT record naming the pod it runs in.
WHOAMI = "whoami.podnet."
PROBE_PAYLOAD = dns.message.make_query(WHOAMI, "TXT", id=4242).to_wire()
HELLO = b"?\n"  # a TCP probe speaks first, so the workload need not wait to tell it is no HTTP




def _decode(data: bytes) -> str:
    """The pod's name, 'dns', or predict's HTTP_SERVER when nginx answered (not a workload)."""
    if data.startswith(b"HTTP/"):
        return "http-server"
    try:
        msg = dns.message.from_wire(data)
    except Exception:  # noqa: BLE001 - not DNS: the workload server's plain reply
        return data.decode(errors="replace").strip()
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b"".join(next(iter(rrset)).strings).decode()
    return "dns"


@dataclass(frozen=True)
class Target:
    src: int
    dst: int
    ip: str
    port: int
    proto: str


def _parallelism(groups: Mapping[str, Sequence[object]]) -> int:
    """How many sources may probe at once: as many as the open-file limit (raised to its hard
    limit) holds with every socket of the largest group open, each wave costing up to one
    timeout. 8 at a time took four timeouts on a 12-pod cluster."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    largest = max((len(g) for g in groups.values()), default=1)
    return max(1, min(len(groups), (hard - 512) // max(largest, 1)))


def _sockets(netns: str, protos: list[str]) -> list[socket.socket]:
    """Non-blocking sockets born inside ``netns`` (they keep it after we step back out)."""
    socks = []
    with inside(netns):
        for proto in protos:
            s = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if proto == "UDP"
                 else stream_socket(proto))
            s.setblocking(False)
            socks.append(s)
    return socks


class _Probe:
    __slots__ = ("target", "sock", "done")

    def __init__(self, target: Target, sock: socket.socket) -> None:
        self.target, self.sock, self.done = target, sock, False


class _Engine:
    """Every probe's socket in one epoll set; a probe costs its socket, its connect or send
    and, when it ends, one read or getsockopt. Sources start in order, so the probes of one
    source share their start time, their UDP re-send time and their deadline."""

    def __init__(self, timeout: float, budget: int) -> None:
        self.timeout, self.budget = timeout, budget
        self.poller = select.epoll()
        self.live: dict[int, _Probe] = {}
        self.results: dict[Target, bool] = {}
        self.resends: deque[tuple[float, list[_Probe]]] = deque()
        self.deadlines: deque[tuple[float, list[_Probe]]] = deque()

    def _finish(self, p: _Probe, ok: bool) -> None:
        self.results[p.target] = ok
        p.done = True
        self.live.pop(p.sock.fileno(), None)
        p.sock.close()  # closing also leaves the epoll set

    def start(self, netns: str, targets: list[Target]) -> None:
        socks = _sockets(netns, [t.proto for t in targets])
        batch, udp = [], []
        register = self.poller.register
        for t, s in zip(targets, socks, strict=True):
            p = _Probe(t, s)
            try:
                if t.proto == "UDP":
                    s.connect((t.ip, t.port))
                    s.send(PROBE_PAYLOAD)
                    register(s.fileno(), select.EPOLLIN)
                    udp.append(p)
                else:
                    err = s.connect_ex((t.ip, t.port))
                    if err != errno.EINPROGRESS:  # answered (or refused) at once, or no route
                        self._finish(p, err in (0, errno.ECONNREFUSED))
                        continue
                    register(s.fileno(), select.EPOLLOUT)
            except OSError as exc:
                self._finish(p, isinstance(exc, ConnectionRefusedError))
                continue
            self.live[s.fileno()] = p
            batch.append(p)
        now = time.monotonic()
        if udp:
            self.resends.append((now + self.timeout / 2, udp))
        self.deadlines.append((now + self.timeout, batch))

    def _event(self, fd: int) -> None:
        p = self.live.get(fd)
        if p is None:
            return
        if p.target.proto == "UDP":
            try:
                p.sock.recv(512)
            except BlockingIOError:
                return
            except ConnectionRefusedError:  # ICMP port unreachable: the network let it through
                pass
            except OSError:
                self._finish(p, False)
                return
            self._finish(p, True)
        else:
            err = p.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            self._finish(p, err in (0, errno.ECONNREFUSED))

    def _timers(self, now: float) -> None:
        while self.resends and self.resends[0][0] <= now:
            # one retry: a first datagram can race neighbour resolution
            for p in self.resends.popleft()[1]:
                if not p.done:
                    try:
                        p.sock.send(PROBE_PAYLOAD)
                    except OSError as exc:
                        self._finish(p, isinstance(exc, ConnectionRefusedError))
        while self.deadlines and self.deadlines[0][0] <= now:
            for p in self.deadlines.popleft()[1]:
                if not p.done:  # silence until the deadline: dropped
                    self._finish(p, False)

    def run_until(self, free: int) -> None:
        """Handle answers and timers until at most ``budget - free`` sockets are open."""
        while self.live and len(self.live) > self.budget - free:
            nxt = min([q[0][0] for q in (self.resends, self.deadlines) if q],
                      default=time.monotonic())
            # answers first: a deadline that passed while sources were starting must not
            # judge a probe whose answer is already waiting
            # (epoll.poll returns at most 1023 events unless told more)
            for fd, _ in self.poller.poll(max(0.0, nxt - time.monotonic()), len(self.live)):
                self._event(fd)
            self._timers(time.monotonic())


def _probe_here(groups: dict[str, list[Target]], timeout: float) -> dict[Target, bool]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    engine = _Engine(timeout, max(1, hard - 512))
    collecting = gc.isenabled()
    gc.disable()  # 40,000 probes allocate no cycles; a collection in the loop is pure delay
    try:
        for netns, targets in groups.items():
            if targets:
                engine.run_until(len(targets))
                engine.start(netns, targets)
        engine.run_until(engine.budget)
    finally:
        if collecting:
            gc.enable()
        for p in list(engine.live.values()):
            p.sock.close()
        engine.poller.close()
    return engine.results


def _workers(groups: dict[str, list[Target]]) -> int:
    return max(1, min(len(groups), len(os.sched_getaffinity(0))))


def probe(groups: dict[str, list[Target]], timeout: float = 1.0) -> dict[Target, bool]:
    """Probe every target, grouped by source namespace; returns reachability per target.
    Sources start as soon as the open-file limit (raised to its hard limit) has room for all
    their sockets, so every source that fits probes at once and waits one timeout.

    Most of a probe's cost is the kernel's: the connect runs the packet through the source
    pod, both nodes' rules and the destination pod inside the system call. So the sources are
    shared among one process per CPU (forked children report one byte per target)."""
    n = _workers(groups)
    shares = [dict(list(groups.items())[i::n]) for i in range(n)]
    children: list[tuple[int, int, dict[str, list[Target]]]] = []
    for share in shares[1:]:
        rd, wr = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's side is seen through the parent's result
            code = 1
            try:
                os.close(rd)
                got = _probe_here(share, timeout)
                data = bytes(got.get(t, False) for ts in share.values() for t in ts)
                with os.fdopen(wr, "wb") as out:
                    out.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(wr)
        children.append((pid, rd, share))
    reports: list[tuple[int, int, bytes, dict[str, list[Target]]]] = []
    try:
        results = _probe_here(shares[0], timeout)
    finally:  # reap every child even when this side failed: each ends within its timeout
        for pid, rd, share in children:
            with os.fdopen(rd, "rb") as src:
                data = src.read()
            reports.append((pid, os.waitpid(pid, 0)[1], data, share))
    for pid, status, data, share in reports:
        targets = [t for ts in share.values() for t in ts]
        if status != 0 or len(data) != len(targets):
            raise OSError(f"probe worker {pid} failed (status {status})")
        results.update(zip(targets, map(bool, data), strict=True))
    return results


@dataclass(frozen=True)
class ServiceTarget:
    src: int  # pod index
    service: str  # ns/name:port
    ip: str
    port: int
    proto: str
    attempt: int = 0  # repeats of one connection (session affinity)


async def _ask(sock: socket.socket, t: ServiceTarget, timeout: float) -> str:
    """'<ns/pod>' that answered, 'rejected', or 'dropped'."""
    loop = asyncio.get_running_loop()
    try:
        if t.proto != "UDP":
            await asyncio.wait_for(loop.sock_connect(sock, (t.ip, t.port)), timeout)
            await loop.sock_sendall(sock, HELLO)  # the workload answers at once, not after a wait
            data = await asyncio.wait_for(loop.sock_recv(sock, 256), timeout)
        else:
            sock.connect((t.ip, t.port))
            sock.send(PROBE_PAYLOAD)
            data = await asyncio.wait_for(loop.sock_recv(sock, 512), timeout)
        return _decode(data) or "rejected"
    except ConnectionRefusedError:
        return "rejected"
    except (TimeoutError, OSError):
        return "dropped"
    finally:
        sock.close()


def probe_services(groups: dict[str, list[ServiceTarget]], timeout: float = 1.0
                   ) -> dict[ServiceTarget, str]:
    """Connect to Service IPs from inside pods; report which pod answered each time."""
    parallel = _parallelism(groups)

    async def run() -> dict[ServiceTarget, str]:
        results: dict[ServiceTarget, str] = {}
        sem = asyncio.Semaphore(parallel)

        async def one(netns: str, targets: list[ServiceTarget]) -> None:
            async with sem:
                socks = _sockets(netns, [t.proto for t in targets])
                answers = await asyncio.gather(*(_ask(s, t, timeout)
                                                 for s, t in zip(socks, targets, strict=True)))
                results.update(zip(targets, answers, strict=True))

        await asyncio.gather(*(one(ns, ts) for ns, ts in groups.items()))
        return results

    return asyncio.run(run())
