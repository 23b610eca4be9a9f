"""sendmmsg(2) from Python (podnet/lab/sendmany.py) against the real kernel: every packet
arrives, in order, to its own address; a packet the kernel refuses (no route) is named by its
index and the rest still go; the one-by-one path says the same."""

from __future__ import annotations

import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from podnet.lab import sendmany
from podnet.lab.nsenter import inside


@pytest.fixture
def ns() -> Iterator[str]:
    """A namespace with its loopback up and 10.9.0.1/16 on a veth, and no route anywhere
    else."""
    name = f"pn-t{uuid.uuid4().hex[:8]}-sendmany"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                     ["ip", "addr", "add", "10.9.0.1/16", "dev", "d0"],
                     ["ip", "link", "set", "d0", "up"], ["ip", "link", "set", "d1", "up"]):
            subprocess.run(["ip", "netns", "exec", name, *argv], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _segment(sport: int, dport: int) -> bytes:
    # a bare 20-byte TCP header with a flag nobody answers (ACK): only the ports matter here
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x10, 1024, 0, 0)


def _received(sock: socket.socket, want: int, within: float = 3.0) -> list[tuple[str, int]]:
    """(destination address, destination port) of the test's packets, as they came."""
    got: list[tuple[str, int]] = []
    sock.settimeout(0.2)
    end = time.monotonic() + within
    while len(got) < want and time.monotonic() < end:
        try:
            d = sock.recv(256)
        except TimeoutError:
            continue
        ihl = (d[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", d, ihl)
        if sport == 4242:
            got.append((socket.inet_ntoa(d[16:20]), dport))
    return got


@pytest.mark.parametrize("batch", [True, False], ids=["sendmmsg", "one-by-one"])
def test_every_packet_goes_to_its_own_address_and_a_refusal_names_its_index(
        ns: str, batch: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if batch:
        assert sendmany.BATCH, "sendmmsg is this kernel's and this ABI's: the batch must run"
    monkeypatch.setattr(sendmany, "BATCH", batch)
    ips = ["127.0.0.1", "127.0.0.2", "10.9.0.1"] * 70
    ips[100] = "192.0.2.7"  # no route: sendto says ENETUNREACH
    packets = [_segment(4242, 1000 + k) for k in range(len(ips))]
    with inside(ns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    with listener, sender:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sender.setblocking(False)
        refused = sendmany.send_all(sender, packets, ips)
        got = _received(listener, len(ips) - 1)
    assert refused == [100]
    assert got == [(ip, 1000 + k) for k, ip in enumerate(ips) if k != 100]


def test_packets_of_different_sizes_go_one_by_one(ns: str) -> None:
    packets = [_segment(4242, 2000), _segment(4242, 2001) + b"data"]
    with inside(ns):
        listener = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    with listener, sender:
        assert sendmany.send_all(sender, packets, ["127.0.0.1", "127.0.0.1"]) == []
        assert _received(listener, 2) == [("127.0.0.1", 2000), ("127.0.0.1", 2001)]


def test_nothing_to_send_sends_nothing(ns: str) -> None:
    with inside(ns):
        sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    with sender:
        assert sendmany.send_all(sender, [], []) == []
