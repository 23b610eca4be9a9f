"""Real connections from every pod to every pod on every port, in parallel, short timeouts.

A flow counts as *reachable* when the destination answered at all: the workload's reply, or a
refusal (TCP RST / ICMP port unreachable) from a port nobody listens on, since both prove the
packets crossed the network and its policies. Silence within the timeout means dropped, and
so does a first packet the destination's or the source's node recorded as dropped by policy
(``podnet.lab.drops``): that probe is denied at once instead of waiting for its timeout.
Sockets are created inside the source pod's namespace and then driven from one event loop.
"""

from __future__ import annotations

import asyncio
import errno
import resource
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.message
import dns.rdatatype

from podnet.lab import drops
from podnet.lab.nsenter import inside

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


class _Denials:
    """Futures that resolve when the node recorded a probe's first packet as dropped by policy
    (``podnet.lab.drops``); a probe waits on its answer, its own future and its timeout."""

    def __init__(self) -> None:
        self.waiting: dict[drops.Key, list[asyncio.Future[None]]] = {}
        self.seen: set[drops.Key] = set()

    def future(self, sock: socket.socket, ip: str, port: int, proto: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            key = (sock.getsockname()[0], ip, proto.lower(), port)
        except OSError:
            return fut
        if key in self.seen:
            fut.set_result(None)
        else:
            self.waiting.setdefault(key, []).append(fut)
        return fut

    def saw(self, keys: set[drops.Key]) -> None:
        for key in keys - self.seen:
            for fut in self.waiting.pop(key, []):
                if not fut.done():
                    fut.set_result(None)
        self.seen |= keys


async def _first(aw: asyncio.Future[object], denied: asyncio.Future[None], timeout: float) -> bool:
    """Whether ``aw`` finished before the timeout and before the drop was seen."""
    done, _ = await asyncio.wait({aw, denied}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    if aw in done:
        return True
    aw.cancel()
    return False


async def _tcp(sock: socket.socket, ip: str, port: int, timeout: float, denials: _Denials) -> bool:
    loop = asyncio.get_running_loop()
    try:
        # the connect starts here, so the kernel has picked the source address the drop
        # record will carry before the probe asks for its future
        err = sock.connect_ex((ip, port))
        if err in (0, errno.ECONNREFUSED):
            return True
        if err != errno.EINPROGRESS:
            return False
        writable: asyncio.Future[object] = loop.create_future()
        loop.add_writer(sock.fileno(), lambda: writable.done() or writable.set_result(None))
        try:
            if not await _first(writable, denials.future(sock, ip, port, "tcp"), timeout):
                return False
        finally:
            loop.remove_writer(sock.fileno())
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) in (0, errno.ECONNREFUSED)
    except OSError:
        return False
    finally:
        sock.close()


async def _udp(sock: socket.socket, ip: str, port: int, timeout: float, denials: _Denials) -> bool:
    loop = asyncio.get_running_loop()
    try:
        sock.connect((ip, port))
        denied = denials.future(sock, ip, port, "udp")
        for _ in range(2):  # one retry: a first datagram can race neighbour resolution
            sock.send(PROBE_PAYLOAD)
            answer = asyncio.ensure_future(loop.sock_recv(sock, 512))
            if await _first(answer, denied, timeout / 2):
                exc = answer.exception()
                return exc is None or isinstance(exc, ConnectionRefusedError)
            if denied.done():
                return False
        return False
    except OSError:
        return False
    finally:
        sock.close()


def sctp_supported() -> bool:
    """Whether this kernel speaks SCTP (a module many hosts and CI kernels leave out)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()
        return True
    except OSError:
        return False


def stream_socket(proto: str) -> socket.socket:
    """TCP, or SCTP as a one-to-one stream socket (connect/accept like TCP)."""
    return socket.socket(socket.AF_INET, socket.SOCK_STREAM,
                         socket.IPPROTO_SCTP if proto == "SCTP" else 0)


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


POLL = 0.02  # seconds between reads of the nodes' drop records


async def _run(groups: dict[str, list[Target]], timeout: float, parallel: int,
               watch: drops.DropWatch | None) -> dict[Target, bool]:
    results: dict[Target, bool] = {}
    sem = asyncio.Semaphore(parallel)
    denials = _Denials()

    async def one_source(netns: str, targets: list[Target]) -> None:
        async with sem:
            socks = _sockets(netns, [t.proto for t in targets])
            coros = [(_udp if t.proto == "UDP" else _tcp)(s, t.ip, t.port, timeout, denials)
                     for s, t in zip(socks, targets, strict=True)]
            for t, ok in zip(targets, await asyncio.gather(*coros), strict=True):
                results[t] = ok

    async def poll() -> None:
        assert watch is not None
        pause = POLL
        while True:
            await asyncio.sleep(pause)
            start = time.monotonic()
            denials.saw(watch.read())
            # a read blocks the loop and grows with the set: never spend more than half of
            # the time reading
            pause = max(POLL, time.monotonic() - start)

    poller = asyncio.ensure_future(poll()) if watch is not None and watch.active else None
    try:
        await asyncio.gather(*(one_source(ns, ts) for ns, ts in groups.items()))
    finally:
        if poller is not None:
            poller.cancel()
    return results


def probe(groups: dict[str, list[Target]], timeout: float = 1.0,
          nodes: Sequence[str] = ()) -> dict[Target, bool]:
    """Probe every target, grouped by source namespace; returns reachability per target.
    ``nodes``: the node namespaces whose policy rules record drops; a probe whose first
    packet one of them dropped is denied at once rather than after ``timeout``."""
    with drops.DropWatch(nodes) as watch:
        watch.flush()
        return asyncio.run(_run(groups, timeout, _parallelism(groups), watch))


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
