"""Real packets from every pod to every pod on every port, all at once, short timeouts.

A flow counts as *reachable* when the destination answered at all: the workload's reply, or a
refusal (TCP RST / ICMP port unreachable) from a port nobody listens on, since both prove the
packets crossed the network and its policies. Silence until the deadline means dropped, and so
does a drop record: the lab's policy rulesets log each drop (``podnet.lab.droplog``), so a
denied probe is known when its packet is dropped, not a timeout later.

A TCP probe from a pod's own namespace is a SYN sent from a raw socket, answered by a SYN-ACK
or a reset (the source's kernel resets the half-open connection); other probes are sockets,
connected or sent without blocking. Every probe waits in one epoll set; the probes of a source
share one deadline and one UDP re-send. Sources are started by one thread per CPU: the kernel's
work for a packet (its walk through both pods and the nodes' rules) happens inside the system
call that sends it, outside the interpreter's lock, and is most of the cost.
Service probes (which pod answered) still run on asyncio: they are few.
"""

from __future__ import annotations

import errno
import functools
import gc
import os
import random
import resource
import select
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, NoReturn

from podnet.errors import LabError
from podnet.lab import answers, droplog
from podnet.lab.nsenter import inside
from podnet.lab.sendmany import send_all
from podnet.lab.sockets import stream_socket
from podnet.names import DROP_LOG_GROUP, WHOAMI

# UDP probes carry a DNS query, so a DNS server answers them like any other datagram service:
# the workload server echoes its pod name whatever it receives, the lab DNS answers this name
# with a TXT record naming the pod it runs in.
HELLO = b"?\n"  # a TCP probe speaks first, so the workload need not wait to tell it is no HTTP




@functools.cache
def probe_payload() -> bytes:
    """A DNS query for WHOAMI (dnspython is imported when a UDP probe is sent: ~0.08 s)."""
    import dns.message

    return dns.message.make_query(WHOAMI, "TXT", id=4242).to_wire()


def _decode(data: bytes, proto: str) -> str:
    """The pod's name, 'dns', or predict's HTTP_SERVER when nginx answered (not a workload).
    Only a datagram may be a DNS answer: the workload says its name in plain text."""
    if data.startswith(b"HTTP/"):
        return "http-server"
    if proto != "UDP":
        return data.decode(errors="replace").strip()
    import dns.message
    import dns.rdatatype

    try:
        msg = dns.message.from_wire(data)
    except Exception:  # noqa: BLE001 - not DNS: the workload server's plain reply
        return data.decode(errors="replace").strip()
    for rrset in msg.answer:
        if rrset.rdtype == dns.rdatatype.TXT:
            return b"".join(next(iter(rrset)).strings).decode()
    return "dns"


class Target(NamedTuple):
    """One probe: from pod ``src`` to pod ``dst`` (indices into the caller's pod list), sent to
    ``ip``:``port``/``proto``."""

    src: int
    dst: int
    ip: str
    port: int
    proto: str


def _open_file_limit() -> int:
    """The open-file limit, raised to its hard limit first: every probe holds a socket."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _parallelism(groups: Mapping[str, Sequence[object]]) -> int:
    """How many sources may probe at once: as many as the open-file limit (raised to its hard
    limit) holds with every socket of the largest group open, each wave costing up to one
    timeout. 8 at a time took four timeouts on a 12-pod cluster."""
    hard = _open_file_limit()
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


def _words(addr: bytes) -> int:
    return (addr[0] << 8 | addr[1]) + (addr[2] << 8 | addr[3])


# A 20-byte TCP SYN (the kernel adds the IP header): ports, sequence, acknowledgement, offset,
# flags, window, checksum (over the pseudo-header too: both addresses, the protocol, the
# length), urgent pointer
_SYN = struct.Struct("!HHIIBBHHH")
WINDOW = 64240
SPORTS = (20000, 60000)  # where a run's raw probes take their source ports
SLICE = 256  # socket probes a worker opens at a time


class _Room:
    """Room for open sockets under the descriptor limit. A slice takes its room at once, and
    may when nothing is open even if it is larger: workers that each hold part of what they
    need could otherwise wait for each other for good."""

    def __init__(self, budget: int) -> None:
        self.budget, self.open = budget, 0
        self.cond = threading.Condition()

    def take(self, n: int) -> None:
        with self.cond:
            while self.open and self.open + n > self.budget:
                self.cond.wait()
            self.open += n

    def give(self) -> None:
        with self.cond:
            self.open -= 1
            self.cond.notify_all()


class _Probe:
    __slots__ = ("target", "sock", "done")

    def __init__(self, target: Target, sock: socket.socket | None) -> None:
        self.target, self.sock, self.done = target, sock, False


class _Engine:
    """Every probe in one epoll set, waited on by the calling thread, while worker threads start
    the sources' probes (the kernel's work for a packet happens inside the system call that
    sends it, outside the interpreter's lock, so the threads send on every CPU at once).

    A TCP probe from a pod whose address the caller gives is a SYN from a raw socket: a SYN-ACK
    or a reset in answer means the network let it through, as a completed connect would, in
    three packets where a connect and its close take seven (and the workload's accept and
    close); the source's kernel resets the half-open connection itself. Other probes are
    sockets: connected or sent without blocking, judged when they end (one read or getsockopt).
    The probes of a source share their start time, their UDP re-send time and their deadline;
    a drop record (``podnet.lab.droplog``) judges a probe denied before it."""

    def __init__(self, timeout: float, budget: int, logs: Sequence[socket.socket] = ()) -> None:
        self.timeout = timeout
        self.poller = select.epoll()
        self.live: dict[int, _Probe] = {}  # socket probes by descriptor
        self.raws: dict[int, socket.socket] = {}
        self.logs = {s.fileno(): s for s in logs}
        for fd in self.logs:
            self.poller.register(fd, select.EPOLLIN)
        # by flow key: raw probes (their targets: nothing else to keep), and the socket probes
        # too when drops are logged
        self.flows: dict[bytes, Target | _Probe] = {}
        self.results: dict[Target, bool] = {}
        self.silent: list[Target] = []  # denied at the deadline
        self.resends: deque[tuple[float, list[_Probe]]] = deque()
        self.deadlines: deque[tuple[float, list[_Probe] | list[Target]]] = deque()
        self.dsts: dict[tuple[str, int], tuple[bytes, int]] = {}  # address, checksum part
        self.room = _Room(budget)
        self.lock = threading.RLock()  # a socket probe's start against its judgement
        self.seq = random.getrandbits(32)
        self.ack = ((self.seq + 1) & 0xFFFFFFFF).to_bytes(4, "big")

    def _judge(self, v: Target | _Probe, ok: bool) -> None:
        if isinstance(v, _Probe):
            self._finish(v, ok)
        else:
            self.results.setdefault(v, ok)

    def _finish(self, p: _Probe, ok: bool) -> None:
        with self.lock:
            if p.done:
                return
            p.done = True
            self.results[p.target] = ok
            if p.sock is not None:
                self.live.pop(p.sock.fileno(), None)
                p.sock.close()  # closing also leaves the epoll set
                self.room.give()

    def start(self, netns: str, targets: list[Target], src_ip: str | None) -> None:
        """Send one source's probes (in a worker thread)."""
        # raw SYNs are IPv4's (the checksum counts 4-byte addresses)
        raw = ([t for t in targets if t.proto == "TCP" and ":" not in t.ip]
               if src_ip and ":" not in src_ip else [])
        if raw and src_ip:
            try:  # fails before its first SYN, or not at all
                self._start_raw(netns, raw, src_ip)
            except OSError:  # no raw sockets here, or not that address: probe with sockets
                pass
            else:
                sent = set(raw)
                targets = [t for t in targets if t not in sent]
        if targets:
            self._start_sockets(netns, targets)

    def _start_raw(self, netns: str, targets: list[Target], src_ip: str) -> None:
        with inside(netns):
            rs = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        try:  # every answer must wait here until read: a lost one would read as a drop
            rs.setsockopt(socket.SOL_SOCKET, 33, 1 << 20)  # SO_RCVBUFFORCE
            answers.attach(rs, int.from_bytes(self.ack, "big"))  # and nothing else waits
            rs.bind((src_ip, 0))  # the source address the checksum counted
        except OSError:
            rs.close()
            raise
        rs.setblocking(False)
        self.raws[rs.fileno()] = rs
        self.poller.register(rs.fileno(), select.EPOLLIN)
        src = socket.inet_aton(src_ip)
        seq, flows, dsts, pack = self.seq, self.flows, self.dsts, _SYN.pack
        # the checksum's sum, all but the destination's part and the source port
        fixed = (_words(src) + socket.IPPROTO_TCP + 20 + (seq >> 16) + (seq & 0xFFFF) + 0x5002
                 + WINDOW)
        low, high = SPORTS
        base = random.randrange(high - low)
        packets = []
        for k, t in enumerate(targets):
            dst = dsts.get((t.ip, t.port))
            if dst is None:
                address = socket.inet_aton(t.ip)
                dst = dsts[t.ip, t.port] = address, _words(address) + t.port
            sport = low + (base + k) % (high - low)
            # keyed before it is sent: its answer may come before the call returns
            flows[src + dst[0] + sport.to_bytes(2, "big") + t.port.to_bytes(2, "big")] = t
            total = fixed + dst[1] + sport
            total = (total & 0xFFFF) + (total >> 16)
            total = (total & 0xFFFF) + (total >> 16)
            packets.append(pack(sport, t.port, seq, 0, 0x50, 0x02, WINDOW, ~total & 0xFFFF, 0))
        for k in send_all(rs, packets, [t.ip for t in targets]):
            self.results.setdefault(targets[k], False)  # no route: what connect said at once
        self.deadlines.append((time.monotonic() + self.timeout, targets))

    def _start_sockets(self, netns: str, targets: list[Target]) -> None:
        # in slices: a large source starts its first probes before it has room for all
        for i in range(0, len(targets), SLICE):
            self._start_slice(netns, targets[i:i + SLICE])

    def _start_slice(self, netns: str, targets: list[Target]) -> None:
        self.room.take(len(targets))
        socks = _sockets(netns, [t.proto for t in targets])
        batch, udp = [], []
        register, keyed = self.poller.register, bool(self.logs)
        for t, s in zip(targets, socks, strict=True):
            p = _Probe(t, s)
            # its answer or its drop record may come before the socket is in the epoll set:
            # the judgement waits until it is (a socket closed first could not be added)
            with self.lock:
                if self._start_socket(p, s, register, keyed):
                    batch.append(p)
                    if t.proto == "UDP":
                        udp.append(p)
        now = time.monotonic()
        if udp:
            self.resends.append((now + self.timeout / 2, udp))
        self.deadlines.append((now + self.timeout, batch))

    def _start_socket(self, p: _Probe, s: socket.socket, register: Callable[[int, int], None],
                      keyed: bool) -> bool:
        """Send one socket probe; False when it is judged already."""
        t = p.target
        try:
            if t.proto == "UDP":
                s.connect((t.ip, t.port))
                if keyed:
                    self._key(p)
                s.send(probe_payload())
                self.live[s.fileno()] = p
                register(s.fileno(), select.EPOLLIN)
                return True
            err = s.connect_ex((t.ip, t.port))
            if err != errno.EINPROGRESS:  # answered (or refused) at once, or no route
                self._finish(p, err in (0, errno.ECONNREFUSED))
                return False
            if keyed:
                self._key(p)
            self.live[s.fileno()] = p
            register(s.fileno(), select.EPOLLOUT)
            return True
        except OSError as exc:
            self._finish(p, isinstance(exc, ConnectionRefusedError))
            return False

    def _key(self, p: _Probe) -> None:
        assert p.sock is not None
        (src, sport), dst = p.sock.getsockname(), socket.inet_aton(p.target.ip)
        self.flows[socket.inet_aton(src) + dst + sport.to_bytes(2, "big")
                   + p.target.port.to_bytes(2, "big")] = p

    def _answers(self, rs: socket.socket) -> None:
        """A raw socket's packets: a SYN-ACK or a reset acknowledging a probe's SYN answers it
        (the kernel's filter, ``answers``, drops the other TCP packets reaching the pod; those
        queued before it was attached are skipped here)."""
        ack, flows = self.ack, self.flows
        while True:
            try:
                d = rs.recv(128)
            except BlockingIOError:
                return
            ihl = (d[0] & 0x0F) * 4
            if len(d) < ihl + 20 or d[ihl + 8:ihl + 12] != ack or not d[ihl + 13] & 0x14:
                continue
            flags = d[ihl + 13]
            if flags & 0x04 or flags & 0x12 == 0x12:
                v = flows.pop(d[16:20] + d[12:16] + d[ihl + 2:ihl + 4] + d[ihl:ihl + 2], None)
                if v is not None:
                    self._judge(v, True)

    def _records(self, sock: socket.socket) -> None:
        flows = self.flows
        while True:
            try:
                data = sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:  # ENOBUFS: records lost; their probes wait for the deadline
                if exc.errno == errno.ENOBUFS:
                    continue
                raise
            for key in droplog.flows(data):
                v = flows.pop(key, None)
                if v is not None:
                    self._judge(v, False)

    def _event(self, fd: int) -> None:
        p = self.live.get(fd)
        if p is None or p.sock is None:
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
                if not p.done and p.sock is not None:
                    try:
                        p.sock.send(probe_payload())
                    except OSError as exc:
                        self._finish(p, isinstance(exc, ConnectionRefusedError))
        results = self.results
        while self.deadlines and self.deadlines[0][0] <= now:
            for v in self.deadlines.popleft()[1]:  # silence until the deadline: dropped
                if isinstance(v, _Probe):
                    if not v.done:
                        self.silent.append(v.target)
                        self._finish(v, False)
                elif v not in results:
                    self.silent.append(v)
                    results[v] = False

    def _poll(self, timeout: float) -> None:
        raws, logs = self.raws, self.logs
        # epoll.poll returns at most 1023 events unless told more
        for fd, _ in self.poller.poll(timeout, max(64, len(self.live) + len(raws) + len(logs))):
            if fd in raws:
                self._answers(raws[fd])
            elif fd in logs:
                self._records(logs[fd])
            else:
                self._event(fd)

    def run(self, groups: dict[str, list[Target]], sources: Mapping[str, str], workers: int) -> None:
        # here, in the probing process: `lab probe` forks it before importing the rest, and
        # this import (logging with it) was 8 ms of that
        from concurrent.futures import ThreadPoolExecutor

        total = sum(len(ts) for ts in groups.values())
        # each worker takes the next source when done with its last: shares fixed in advance
        # ended 0.04-0.07 s apart (200 pods), one core idle meanwhile
        queue = deque((ns, ts) for ns, ts in groups.items() if ts)

        def start_next() -> None:
            while True:
                try:
                    ns, ts = queue.popleft()
                except IndexError:
                    return
                self.start(ns, ts, sources.get(ns))

        with ThreadPoolExecutor(workers) as pool:
            starting = {pool.submit(start_next) for _ in range(workers)}
            while starting or (len(self.results) < total and (self.deadlines or self.live)):
                done = {f for f in starting if f.done()}
                for f in done:
                    f.result()  # a worker's error is the probe's
                starting -= done
                if not starting and len(self.results) >= total:
                    break
                nxt = min([q[0][0] for q in (self.resends, self.deadlines) if q],
                          default=time.monotonic() + 1)
                # answers first: a deadline that passed while sources were starting must not
                # judge a probe whose answer is already waiting
                # (a negative timeout would block for good)
                self._poll(max(0.0, min(0.01, nxt - time.monotonic()) if starting
                               else nxt - time.monotonic()))
                self._timers(time.monotonic())

    def close(self) -> None:
        for p in list(self.live.values()):
            if p.sock is not None:
                p.sock.close()
        for s in self.raws.values():
            s.close()
        self.poller.close()


def probe(groups: dict[str, list[Target]], timeout: float = 1.0,
          sources: Mapping[str, str] | None = None, drop_logs: Sequence[str] = ()
          ) -> dict[Target, bool]:
    """Probe every target, grouped by source namespace; returns reachability per target.

    ``sources`` gives the address of each source namespace whose TCP probes may be raw SYNs
    (a pod's own namespace: one address); ``drop_logs``, the namespaces whose policy rulesets
    log their drops (the nodes'). Where every one of those could be listened to, a probe met
    by silence and no drop record is probed again as a plain connection, the way it always
    was: a lost answer or record must not pass for a policy's verdict."""
    hard = _open_file_limit()
    logs = [s for s in (droplog.listen(ns, DROP_LOG_GROUP) for ns in drop_logs) if s is not None]
    engine = _Engine(timeout, max(1, hard - 512 - len(groups) - len(logs)), logs)
    workers = max(1, min(len(groups), len(os.sched_getaffinity(0))))
    collecting = gc.isenabled()
    gc.disable()  # 40,000 probes allocate no cycles; a collection in the loop is pure delay
    try:
        engine.run(groups, sources or {}, workers)
    finally:
        if collecting:
            gc.enable()
        engine.close()
        for s in logs:
            s.close()
    results = engine.results
    if drop_logs and len(logs) == len(drop_logs) and engine.silent:
        where = {t: ns for ns, ts in groups.items() for t in ts}
        again: dict[str, list[Target]] = {}
        for t in engine.silent:
            again.setdefault(where[t], []).append(t)
        results.update(probe(again, timeout))
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
    import asyncio

    loop = asyncio.get_running_loop()
    try:
        if t.proto != "UDP":
            await asyncio.wait_for(loop.sock_connect(sock, (t.ip, t.port)), timeout)
            await loop.sock_sendall(sock, HELLO)  # the workload answers at once, not after a wait
            data = await asyncio.wait_for(loop.sock_recv(sock, 256), timeout)
        else:
            sock.connect((t.ip, t.port))
            sock.send(probe_payload())
            data = await asyncio.wait_for(loop.sock_recv(sock, 512), timeout)
        return _decode(data, t.proto) or "rejected"
    except ConnectionRefusedError:
        return "rejected"
    except (TimeoutError, OSError):
        return "dropped"
    finally:
        sock.close()


def probe_services(groups: dict[str, list[ServiceTarget]], timeout: float = 1.0
                   ) -> dict[ServiceTarget, str]:
    """Connect to Service IPs from inside pods; report which pod answered each time."""
    import asyncio  # here: the pod probes start without it

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


class Apart:
    """``probe`` running in a forked child: ``result`` gives what ``probe`` returns, ``cancel``
    stops it. Its threads have an interpreter lock of their own while this process
    predicts and probes Services and HTTP; in one process the imports and the analysis held
    the lock the engine's answer loop waited for (1.5 s of probing took up to 2.5 s)."""

    def __init__(self, groups: dict[str, list[Target]], timeout: float = 1.0,
                 sources: Mapping[str, str] | None = None, drop_logs: Sequence[str] = ()) -> None:
        self._order = [t for ts in groups.values() for t in ts]
        read_end, write_end = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(read_end)
            _child(write_end, self._order, groups, timeout, sources, drop_logs)
        os.close(write_end)
        self._pipe = os.fdopen(read_end, "rb")

    def result(self) -> dict[Target, bool]:
        """One byte a target, in ``groups``' order, or the child's error."""
        with self._pipe:
            data = self._pipe.read()
        os.waitpid(self.pid, 0)
        if data[:1] == b"V" and len(data) == 1 + len(self._order):
            return {t: bool(b) for t, b in zip(self._order, data[1:], strict=True)}
        if data[:1] == b"E":
            raise LabError("probe pods", data[1:].decode(errors="replace"))
        raise LabError("probe pods", "the probing process died")

    def cancel(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._pipe.close()
        os.waitpid(self.pid, 0)


def _child(pipe: int, order: list[Target], groups: dict[str, list[Target]], timeout: float,
           sources: Mapping[str, str] | None, drop_logs: Sequence[str]) -> NoReturn:
    """Probe, write the verdicts, and leave without the parent's exit handlers and buffers."""
    status = 0
    try:
        results = probe(groups, timeout, sources, drop_logs)
        out = b"V" + bytes(results[t] for t in order)
    except BaseException as e:  # every failure is the parent's to report
        out, status = b"E" + f"{type(e).__name__}: {e}".encode(), 1
    try:
        with os.fdopen(pipe, "wb") as f:
            f.write(out)
    finally:
        os._exit(status)
