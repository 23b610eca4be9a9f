"""Drop records (podnet/lab/droplog.py) from the real kernel: an nft rule that logs to an NFLOG
group and drops, in a namespace of the test's own, and what a listener bound to that group
reads of each dropped packet."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Iterator

import pytest

from podnet.lab import droplog
from podnet.lab.nsenter import inside
from podnet.names import DROP_LOG_SNAPLEN

GROUP = 7


@pytest.fixture
def dropping_ns() -> Iterator[str]:
    """A namespace whose output hook logs and drops UDP to 10.9.9.0/24 port 53 (and nothing
    else), with a route there."""
    name = f"pn-t{uuid.uuid4().hex[:8]}-droplog"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        for argv in (["ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"],
                     ["ip", "addr", "add", "10.9.8.1/24", "dev", "d0"],
                     ["ip", "link", "set", "d0", "up"], ["ip", "link", "set", "d1", "up"],
                     ["ip", "route", "add", "10.9.9.0/24", "dev", "d0"]):
            subprocess.run(["ip", "netns", "exec", name, *argv], check=True)
        subprocess.run(["ip", "netns", "exec", name, "nft", "-f", "-"], check=True, text=True,
                       input="table inet t {\n chain out {\n  type filter hook output priority "
                             "filter; policy accept;\n  ip daddr 10.9.9.0/24 udp dport 53 "
                             f"log group {GROUP} snaplen {DROP_LOG_SNAPLEN} drop\n }}\n}}\n")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def _records(sock: socket.socket, want: int, within: float = 5.0) -> list[bytes]:
    got: list[bytes] = []
    end = time.monotonic() + within
    sock.settimeout(0.2)
    while len(got) < want and time.monotonic() < end:
        try:
            got += droplog.flows(sock.recv(1 << 16))
        except TimeoutError:
            pass
    return got


def test_each_dropped_packet_is_recorded_with_its_addresses_and_ports(dropping_ns: str) -> None:
    listener = droplog.listen(dropping_ns, GROUP)
    assert listener is not None
    try:
        sent = []
        with inside(dropping_ns):
            senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(150)]
        for i, s in enumerate(senders):
            s.connect((f"10.9.9.{1 + i % 5}", 53))
            with pytest.raises(PermissionError):  # dropped on its way out: the sender is told
                s.send(b"x")
            src, sport = s.getsockname()
            sent.append(socket.inet_aton(src) + socket.inet_aton(f"10.9.9.{1 + i % 5}")
                        + sport.to_bytes(2, "big") + (53).to_bytes(2, "big"))
        with inside(dropping_ns):  # allowed: to port 54, not recorded
            other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        other.sendto(b"x", ("10.9.9.1", 54))
        start = time.monotonic()
        got = _records(listener, len(sent))
        # more than the kernel's default batch of 100, all there within the flush time, not 1 s
        assert sorted(got) == sorted(sent)
        assert time.monotonic() - start < 0.5
        for s in [*senders, other]:
            s.close()
    finally:
        listener.close()


def test_a_second_listener_on_the_same_group_gets_none(dropping_ns: str) -> None:
    first = droplog.listen(dropping_ns, GROUP)
    assert first is not None
    try:
        assert droplog.listen(dropping_ns, GROUP) is None
    finally:
        first.close()
    again = droplog.listen(dropping_ns, GROUP)  # the group is free once the first closes
    assert again is not None
    again.close()
