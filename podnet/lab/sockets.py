"""Socket kinds the workload serves: kept apart from the probe so the workload daemon starts
without the probe's imports (nftables rendering, the model), ~1 s of its start-up."""

from __future__ import annotations

import socket


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
