"""One asyncio process that serves every pod's declared ports from sockets opened inside each
pod's namespace, answering with the pod's name so a probe knows who it reached.

Run as ``python -m podnet.lab.workload [--gate] <state-dir>``; it waits at the gate
(``podnet.lab.gate``: `lab up` starts it before the plan that names the pods exists), reads
``pods.json`` there, then ``listeners.json`` (the API server stand-ins on control-plane nodes,
which answer with their own name), binds everything, then writes ``workload.ready``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import re
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path

from podnet.lab import gate
from podnet.lab.nsenter import inside
from podnet.lab.sockets import sctp_supported, stream_socket

HELLO_WAIT = 0.1
HEAD_WAIT, BODY_WAIT = 5.0, 30.0  # an HTTP request's headers, its body
MAX_HEAD = 64 << 10
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_REQUEST_LINE = re.compile(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n$")
MAX_BODY = 64 << 20


def _http_answer(reply: bytes, head: bytes, body_bytes: int) -> bytes:
    """``200`` with JSON: which pod answered, and the method, path and headers it received."""
    first, *lines = head.decode("latin-1").splitlines()
    method, target, _ = first.split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = json.dumps({"pod": reply.decode().strip(), "method": method, "path": target,
                       "headers": headers, "bodyBytes": body_bytes}, sort_keys=True).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                return int(value.strip() or 0)
            except ValueError:
                return 0
    return 0


class _Conn:
    """One accepted connection. The probe says a line first; a client that says nothing gets
    the name after a short wait; an HTTP request (from an ingress controller or `lab curl`)
    gets an HTTP answer naming the pod and the request it saw.

    Plain sockets on the event loop's reader callbacks rather than asyncio's transports or
    streams: a probe of every pod to every pod opens thousands of connections that close at
    once, and a stream's reader, writer and task (or a transport's accept task and future)
    cost more than the connection's own kernel work: with streams, a third of a 40,000-probe
    run's CPU went to this process. A connection whose client has already gone when it is
    accepted costs its accept, one read and its close."""

    __slots__ = ("loop", "sock", "fd", "reply", "buf", "head", "body_left", "out", "timer",
                 "reading", "watched", "writing")

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, reply: bytes) -> None:
        self.loop, self.sock, self.fd, self.reply = loop, sock, sock.fileno(), reply
        self.buf = self.head = self.out = b""
        self.body_left = 0
        self.timer: asyncio.TimerHandle | None = None
        self.reading = self.watched = self.writing = False

    def start(self) -> None:
        self._set_timer(HELLO_WAIT, self._greet)
        self.reading = True
        self._readable()
        if self.reading:
            self.watched = True
            self.loop.add_reader(self.fd, self._readable)

    def _set_timer(self, seconds: float, then: Callable[[], None]) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.loop.call_later(seconds, then)

    def _greet(self) -> None:
        self._answer(self.reply)

    def _readable(self) -> None:
        while self.reading:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                self._close()
                return
            if not data:
                self._eof()
                return
            self._data(data)

    def _eof(self) -> None:
        # a line cut short by the client's end still gets the name; a probe that only connects
        # and closes gets nothing (the reply would only draw a reset)
        if self.buf and not self.head:
            self._answer(self.reply)
        else:
            self._close()

    def _data(self, data: bytes) -> None:
        if self.head:  # an HTTP body: counted, not kept
            self.body_left -= len(data)
            if self.body_left <= 0:
                self._answer(_http_answer(self.reply, self.head, _content_length(self.head)))
            return
        self.buf += data
        if len(self.buf) > MAX_HEAD:
            self._close()
            return
        line, nl, _ = self.buf.partition(b"\n")
        if not nl:
            return
        if not _REQUEST_LINE.match(line + nl):
            self._answer(self.reply)
            return
        self._set_timer(HEAD_WAIT, self._close)
        end = _HEAD_END.search(self.buf)
        if end is None:
            return
        self.head, rest = self.buf[:end.start()], self.buf[end.end():]
        self.buf = b""
        length = _content_length(self.head)
        self.body_left = length - len(rest) if 0 < length <= MAX_BODY else 0
        if self.body_left <= 0:
            self._answer(_http_answer(self.reply, self.head, length))
        else:
            self._set_timer(BODY_WAIT, self._close)

    def _answer(self, data: bytes) -> None:
        self._stop_reading()
        self.out = data
        self._set_timer(BODY_WAIT, self._close)  # a client that never reads
        self._flush()

    def _flush(self) -> None:
        try:
            sent = self.sock.send(self.out)
        except BlockingIOError:
            sent = 0
        except OSError:  # the client went away first
            self._close()
            return
        self.out = self.out[sent:]
        if not self.out:
            self._close()
        elif not self.writing:
            self.writing = True
            self.loop.add_writer(self.fd, self._flush)

    def _stop_reading(self) -> None:
        self.reading = False
        if self.watched:
            self.watched = False
            self.loop.remove_reader(self.fd)

    def _close(self) -> None:
        self._stop_reading()
        if self.writing:
            self.writing = False
            self.loop.remove_writer(self.fd)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.sock.close()


def _accepting(loop: asyncio.AbstractEventLoop, listener: socket.socket, reply: bytes
               ) -> Callable[[], None]:
    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. the client reset before the accept; or out of descriptors
                return
            sock.setblocking(False)
            _Conn(loop, sock, reply).start()
    return accept


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data, addr):  # type: ignore[no-untyped-def]
        if self.transport is not None:
            self.transport.sendto(self.reply, addr)


def _open(pods: list[dict]) -> list[tuple[socket.socket, str, bytes]]:
    socks = []
    sctp = sctp_supported()
    for p in pods:
        reply = (p["key"] + "\n").encode()
        with inside(p["netns"]):
            for port, proto in p["ports"]:
                if proto == "SCTP" and not sctp:
                    continue  # no SCTP in this kernel; the probe says it skipped those ports
                s = (socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if proto == "UDP"
                     else stream_socket(proto))
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("0.0.0.0", port))
                except OSError as e:
                    s.close()
                    if e.errno == errno.EADDRINUSE:  # two hostNetwork pods on one node
                        continue
                    raise
                if proto != "UDP":
                    s.listen(512)
                s.setblocking(False)
                socks.append((s, proto, reply))
    return socks


async def _serve(socks: list[tuple[socket.socket, str, bytes]], ready: Path) -> None:
    loop = asyncio.get_running_loop()

    for s, proto, reply in socks:
        if proto != "UDP":
            loop.add_reader(s.fileno(), _accepting(loop, s, reply))
        else:
            await loop.create_datagram_endpoint(lambda r=reply: _Udp(r), sock=s)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ready.write_text("ready\n")
    await stop.wait()


def main() -> None:
    state = Path(sys.argv[-1])
    gate.wait(sys.argv)
    pods = json.loads((state / "pods.json").read_text())
    listeners = state / "listeners.json"
    if listeners.exists():  # after the pods: a hostNetwork pod on the same port wins
        pods += json.loads(listeners.read_text())
    socks = _open(pods)
    asyncio.run(_serve(socks, state / "workload.ready"))


if __name__ == "__main__":
    main()
