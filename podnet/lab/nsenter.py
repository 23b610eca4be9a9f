"""Enter a network namespace for the calling thread and come back (sockets keep the namespace
they were created in, so a process can serve or probe many pods from one event loop)."""

from __future__ import annotations

import contextlib
import ctypes
import os
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        _setns(target)
        yield
    finally:
        _setns(home)
        os.close(target)
        os.close(home)


def create_netns(name: str) -> None:
    """``ip netns add`` without a process: give the calling thread a new network namespace,
    bind-mount it at /run/netns/<name> (pyroute2's ``attach`` does the mount as iproute2
    does), and return the thread to where it was. pyroute2's own ``create`` forks a helper
    for this, ~20 ms a namespace."""
    from pyroute2 import netns

    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if _libc.unshare(CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        netns.attach(name, "thread-self")
    finally:
        _setns(home)
        os.close(home)
