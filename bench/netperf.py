"""Traffic tools run inside a lab pod (``ip netns exec <pod netns> python bench/netperf.py ...``).

sink PORT                    accept one TCP stream, read to EOF, print bytes received
source IP PORT SECONDS       send as fast as possible for SECONDS, print bytes sent
echo PORT                    UDP echo server (runs until killed)
rtt IP PORT COUNT            UDP round trips to an echo server: print median and p99 in µs
accept PORT                  TCP accept-and-close loop (runs until killed)
connrate IP PORT SECONDS     open and reset TCP connections for SECONDS: print connections/s
df IP PORT SIZE...           one UDP datagram of each IP packet SIZE with DF set: print, per
                             size, "ok", "icmp <mtu>" (fragmentation needed came back) or "lost"
"""

from __future__ import annotations

import socket
import statistics
import struct
import sys
import time

IP_MTU_DISCOVER, IP_PMTUDISC_PROBE, IP_RECVERR, IP_MTU = 10, 3, 11, 14


def sink(port: int) -> None:
    srv = socket.create_server(("0.0.0.0", port))
    conn, _ = srv.accept()
    buf, total = bytearray(1 << 20), 0
    while n := conn.recv_into(buf):
        total += n
    print(total)


def source(ip: str, port: int, seconds: float) -> None:
    s = socket.create_connection((ip, port), 5)
    chunk, total = b"\0" * (1 << 18), 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s.sendall(chunk)
        total += len(chunk)
    s.close()
    print(total)


def echo(port: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(data, addr)


def rtt(ip: str, port: int, count: int) -> None:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    s.connect((ip, port))
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        s.send(b"x" * 32)
        s.recv(64)
        times.append((time.perf_counter_ns() - t0) / 1000)
    times.sort()
    print(f"{statistics.median(times):.1f} {times[int(len(times) * 0.99)]:.1f}")


def accept(port: int) -> None:
    srv = socket.create_server(("0.0.0.0", port), backlog=4096)
    while True:
        conn, _ = srv.accept()
        conn.close()


def connrate(ip: str, port: int, seconds: float) -> None:
    linger = struct.pack("ii", 1, 0)  # close with RST: no TIME_WAIT piling up on the client
    # on a loaded machine the accept server may not listen yet: wait for it, untimed
    ready = time.monotonic() + 20
    while True:
        try:
            socket.create_connection((ip, port), 5).close()
            break
        except OSError:
            if time.monotonic() > ready:
                raise
            time.sleep(0.2)
    n, end = 0, time.monotonic() + seconds
    start = time.monotonic()
    while time.monotonic() < end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.settimeout(5)  # a dropped SYN fails the run instead of retrying for two minutes
        s.connect((ip, port))
        s.close()
        n += 1
    print(f"{n / (time.monotonic() - start):.0f}")


def df(ip: str, port: int, sizes: list[int]) -> None:
    out = []
    for size in sizes:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_PROBE)  # DF, ignore PMTU cache
        s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
        s.settimeout(0.5)
        s.connect((ip, port))
        result = "lost"
        for _ in range(3):
            s.send(b"x" * (size - 28))  # 20 bytes IP + 8 bytes UDP header
            try:
                s.recv(4096)
                result = "ok"
                break
            except TimeoutError:
                continue
            except OSError:  # the ICMP error, delivered through IP_RECVERR
                result = f"icmp {s.getsockopt(socket.IPPROTO_IP, IP_MTU)}"
                break
        s.close()
        out.append(f"{size}:{result}")
    print(" ".join(out))


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "sink":
        sink(int(args[0]))
    elif cmd == "source":
        source(args[0], int(args[1]), float(args[2]))
    elif cmd == "echo":
        echo(int(args[0]))
    elif cmd == "rtt":
        rtt(args[0], int(args[1]), int(args[2]))
    elif cmd == "accept":
        accept(int(args[0]))
    elif cmd == "connrate":
        connrate(args[0], int(args[1]), float(args[2]))
    elif cmd == "df":
        df(args[0], int(args[1]), [int(a) for a in args[2:]])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
