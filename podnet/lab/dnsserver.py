"""The lab's DNS: the cluster DNS inside the kube-dns endpoint pods, and the upstream resolver
in the ``external`` namespace, answering with ``podnet.dns.server.answer`` from the model.

``python -m podnet.lab.dnsserver [--gate] <state-dir>``. The cluster server answers the cluster zone
itself and forwards every other name, over the lab network, to the upstream (as CoreDNS's
``forward . /etc/resolv.conf`` does, its pods having dnsPolicy Default). Every query a server
receives is appended to ``dns-queries.jsonl`` so tests can compare it with the prediction.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from podnet.dns.records import TTL, Zone, zone_from_data
from podnet.dns.server import answer
from podnet.lab import gate
from podnet.lab.nsenter import inside
from podnet.names import WHOAMI


class Server(asyncio.DatagramProtocol):
    def __init__(self, role: str, where: str, zone: Zone, log: Any, upstream: tuple[str, int] | None,
                 forward: socket.socket | None) -> None:
        self.role, self.where, self.zone, self.log = role, where, zone, log
        self.upstream, self.forward = upstream, forward
        self.transport: asyncio.DatagramTransport | None = None
        self.lock = asyncio.Lock()

    def connection_made(self, transport):  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data, addr):  # type: ignore[no-untyped-def]
        asyncio.ensure_future(self._handle(data, addr))

    async def _handle(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            q = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - a malformed datagram is dropped, as servers do
            return
        question = q.question[0]
        name = question.name.to_text().lower()
        qtype = dns.rdatatype.to_text(question.rdtype)
        if name == WHOAMI:  # the lab probe asking who answered (not a cluster query)
            r = dns.message.make_response(q)
            r.answer.append(dns.rrset.from_text(name, 0, "IN", "TXT", f'"{self.where}"'))
            if self.transport is not None:
                self.transport.sendto(r.to_wire(), addr)
            return
        self.log.write(json.dumps({"server": self.role, "at": self.where, "from": addr[0],
                                   "name": name, "type": qtype}) + "\n")
        self.log.flush()
        in_zone = name.endswith((f".{self.zone.domain}.", ".in-addr.arpa."))
        if self.role == "cluster" and not in_zone and self.forward is not None:
            reply = await self._forward(data)
            if reply is not None and self.transport is not None:
                self.transport.sendto(reply, addr)
            return
        a = answer(self.zone, name, qtype)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA if a.source == "cluster" else 0
        r.set_rcode(dns.rcode.from_text(a.rcode))
        for rec in a.records:
            r.answer.append(dns.rrset.from_text(rec.name, TTL, "IN", rec.type, rec.value))
        if self.transport is not None:
            self.transport.sendto(r.to_wire(), addr)

    async def _forward(self, data: bytes) -> bytes | None:
        loop = asyncio.get_running_loop()
        assert self.forward is not None
        async with self.lock:
            await loop.sock_sendall(self.forward, data)
            try:
                return await asyncio.wait_for(loop.sock_recv(self.forward, 4096), 2)
            except TimeoutError:
                return None


async def serve(state: Path, argv: list[str]) -> None:
    # `lab up` starts this before its plan exists: the first gate opens once the plan's files
    # are written, the second once the namespaces bound below exist; the zone is read between
    gate.wait(argv)
    plan = json.loads((state / "dns.json").read_text())
    zone = zone_from_data(plan["zone"])  # built by `lab up` from the model this needs not load
    gate.wait(argv)
    log = (state / "dns-queries.jsonl").open("a")
    loop = asyncio.get_running_loop()
    upstream = (plan["upstream_ip"], 53)
    with inside(plan["external_netns"]):
        up = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        up.bind((plan["upstream_ip"], 53))
    up.setblocking(False)
    await loop.create_datagram_endpoint(lambda: Server("upstream", "external", zone, log, None, None),
                                        sock=up)
    for pod in plan["servers"]:
        with inside(pod["netns"]):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", 53))
            fwd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            fwd.connect(upstream)
        s.setblocking(False)
        fwd.setblocking(False)
        await loop.create_datagram_endpoint(
            lambda p=pod, f=fwd: Server("cluster", p["key"], zone, log, upstream, f), sock=s)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    (state / "dns.ready").write_text("ready\n")
    await stop.wait()


def main() -> None:
    asyncio.run(serve(Path(sys.argv[-1]), sys.argv))


if __name__ == "__main__":
    main()
