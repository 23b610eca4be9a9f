"""One asyncio process that serves every pod's declared ports from sockets opened inside each
pod's namespace, answering with the pod's name so a probe knows who it reached.

Run as ``python -m podnet.lab.workload [--gate] <state-dir>``; it reads ``pods.json`` there,
then ``listeners.json`` (the API server stand-ins on control-plane nodes, which answer with
their own name), waits at the gate (``podnet.lab.gate``), binds everything, then writes
``workload.ready``.
"""

from __future__ import annotations

import asyncio
import errno
import json
import re
import signal
import socket
import sys
from pathlib import Path

from podnet.lab import gate
from podnet.lab.nsenter import inside
from podnet.lab.sockets import sctp_supported, stream_socket

HELLO_WAIT = 0.1
_REQUEST_LINE = re.compile(rb"^[A-Z]+ \S+ HTTP/1\.[01]\r?\n$")
MAX_BODY = 64 << 20


async def _http_answer(reply: bytes, first: bytes, reader: asyncio.StreamReader) -> bytes:
    """``200`` with JSON: which pod answered, and the method, path and headers it received."""
    method, target, _ = first.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        line = await asyncio.wait_for(reader.readline(), 5)
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    if 0 < length <= MAX_BODY:
        await asyncio.wait_for(reader.readexactly(length), 30)
    body = json.dumps({"pod": reply.decode().strip(), "method": method, "path": target,
                       "headers": headers, "bodyBytes": length}, sort_keys=True).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


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

    def handler(reply: bytes):  # type: ignore[no-untyped-def]
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                # the probe says a line first; a client that says nothing gets the name after a
                # short wait; an HTTP request (from an ingress controller or `lab curl`) gets an
                # HTTP answer naming the pod and the request it saw
                try:
                    first = await asyncio.wait_for(reader.readline(), HELLO_WAIT)
                except (TimeoutError, ValueError):
                    first = b""
                if _REQUEST_LINE.match(first):
                    writer.write(await _http_answer(reply, first, reader))
                else:
                    writer.write(reply)
                await writer.drain()
            except OSError:
                pass  # the client went away first: a connect-only probe
            finally:
                writer.close()
        return handle

    for s, proto, reply in socks:
        if proto != "UDP":
            await asyncio.start_server(handler(reply), sock=s)
        else:
            await loop.create_datagram_endpoint(lambda r=reply: _Udp(r), sock=s)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    ready.write_text("ready\n")
    await stop.wait()


def main() -> None:
    state = Path(sys.argv[-1])
    pods = json.loads((state / "pods.json").read_text())
    listeners = state / "listeners.json"
    if listeners.exists():  # after the pods: a hostNetwork pod on the same port wins
        pods += json.loads(listeners.read_text())
    gate.wait(sys.argv)
    socks = _open(pods)
    asyncio.run(_serve(socks, state / "workload.ready"))


if __name__ == "__main__":
    main()
